# Sourced by bin/codex-actors and bin/test: make sure .venv holds this checkout's package with the extras asked
# for ($1: "" or "test"). Fast path: one file comparison, so an up-to-date venv costs a few milliseconds.
# The stamp is a copy of pyproject.toml taken after a successful install; any edit to it triggers a reinstall.
codex_actors_bootstrap() {
    local extras="$1"
    local root; root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    local venv="$root/.venv"
    local stamp="$venv/.installed${extras:+-$extras}"
    if [ -x "$venv/bin/python" ] && cmp -s "$root/pyproject.toml" "$stamp"; then
        return 0
    fi
    local python="${CODEX_ACTORS_PYTHON:-python3}"
    if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        echo "codex-actors: needs Python >= 3.11 (set CODEX_ACTORS_PYTHON to one)" >&2
        return 2
    fi
    echo "codex-actors: setting up $venv (first run)..." >&2
    [ -x "$venv/bin/python" ] || "$python" -m venv "$venv" || return 2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2 || return 2
    local target="$root"
    [ -n "$extras" ] && target="$root[$extras]"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e "$target" >&2 || return 2
    if [ "$extras" = "test" ]; then
        # Packages the tests drive but whose own dependencies must not come along ([tool.codex-actors]).
        local no_deps
        no_deps="$("$venv/bin/python" -c 'import sys, tomllib; print(" ".join(tomllib.load(open(sys.argv[1], "rb")).get("tool", {}).get("codex-actors", {}).get("test-no-deps", [])))' "$root/pyproject.toml")" || return 2
        if [ -n "$no_deps" ]; then
            # shellcheck disable=SC2086
            "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps $no_deps >&2 || return 2
        fi
    fi
    cp "$root/pyproject.toml" "$stamp"
    # A test install is a superset of the runtime install.
    [ -n "$extras" ] && cp "$root/pyproject.toml" "$venv/.installed"
    return 0
}
