"""AGENTS.md project instructions (spec agent-core 7.4).

Global instructions come from `<home>/AGENTS.override.md`, else `<home>/AGENTS.md` (the first non-empty),
together with `instructions` from config. Project docs: walk up from cwd to the project root (the first
directory holding a `project_root_markers` entry, default `.git`; none found or no markers = cwd only), then
for each directory from root down to cwd take the first existing file among `AGENTS.override.md`,
`AGENTS.md` and the fallback names. They are joined with blank lines, reading at most
`project_doc_max_bytes` in total (later files truncated or skipped; 0 disables project docs). Global and
project text are joined with `PROJECT_DOC_SEPARATOR`. Reads small files with blocking I/O: from the trio
thread, call `load_user_instructions` through `trio.to_thread.run_sync`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from codex_actors.config.loader import find_project_root

DEFAULT_PROJECT_DOC_MAX_BYTES = 32 * 1024
DEFAULT_PROJECT_ROOT_MARKERS = (".git",)
OVERRIDE_FILENAME = "AGENTS.override.md"
DEFAULT_FILENAME = "AGENTS.md"
PROJECT_DOC_SEPARATOR = "\n\n--- project-doc ---\n\n"


def agents_md_message_text(cwd: str | os.PathLike[str], text: str) -> str:
    """The user message that carries the instructions: `# AGENTS.md instructions for <cwd>` + block."""
    return f"# AGENTS.md instructions for {os.fspath(cwd)}\n\n<INSTRUCTIONS>\n{text}\n</INSTRUCTIONS>"


def load_global_instructions(home: str | os.PathLike[str]) -> str | None:
    """The first non-empty of `<home>/AGENTS.override.md`, `<home>/AGENTS.md` (stripped), else None."""
    for name in (OVERRIDE_FILENAME, DEFAULT_FILENAME):
        try:
            text = (Path(home) / name).read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            continue
        if text:
            return text
    return None


def discover_project_docs(
    cwd: str | os.PathLike[str],
    *,
    markers: Sequence[str] = DEFAULT_PROJECT_ROOT_MARKERS,
    fallback_filenames: Sequence[str] = (),
) -> list[Path]:
    """The instruction file of each directory from the project root down to `cwd`, in that order."""
    cwd = Path(os.path.abspath(cwd))
    root = find_project_root(cwd, markers)
    directories = [cwd]
    while directories[-1] != root:
        directories.append(directories[-1].parent)
    names = [OVERRIDE_FILENAME, DEFAULT_FILENAME, *[n for n in fallback_filenames if n]]
    found = []
    for directory in reversed(directories):
        for name in names:
            candidate = directory / name
            if candidate.is_file():
                found.append(candidate)
                break
    return found


def load_project_docs(
    cwd: str | os.PathLike[str],
    *,
    max_bytes: int = DEFAULT_PROJECT_DOC_MAX_BYTES,
    markers: Sequence[str] = DEFAULT_PROJECT_ROOT_MARKERS,
    fallback_filenames: Sequence[str] = (),
) -> str | None:
    """Concatenated project docs (root → cwd, blank-line separated), at most `max_bytes` bytes read in total.

    Whitespace-only files are skipped. None when nothing is found or `max_bytes` is 0. Raises ValueError for
    a negative `max_bytes` (config values are checked by the schema; this guards direct callers).
    """
    if max_bytes < 0:
        raise ValueError(f"project_doc_max_bytes must be >= 0, got {max_bytes}")
    if max_bytes == 0:
        return None
    remaining = max_bytes
    parts: list[str] = []
    for path in discover_project_docs(cwd, markers=markers, fallback_filenames=fallback_filenames):
        if remaining <= 0:
            break
        try:
            with open(path, "rb") as f:
                data = f.read(remaining)
        except OSError:
            continue
        remaining -= len(data)
        text = data.decode("utf-8", errors="ignore")
        if text.strip():
            parts.append(text)
    return "\n\n".join(parts) if parts else None


def load_user_instructions(
    home: str | os.PathLike[str],
    cwd: str | os.PathLike[str],
    *,
    config_instructions: str | None = None,
    project_doc_max_bytes: int = DEFAULT_PROJECT_DOC_MAX_BYTES,
    project_root_markers: Sequence[str] = DEFAULT_PROJECT_ROOT_MARKERS,
    project_doc_fallback_filenames: Sequence[str] = (),
    fallback_home: str | os.PathLike[str] | None = None,
) -> str | None:
    """Global text (global AGENTS file, then config `instructions`, blank-line joined) and project docs,
    joined with `PROJECT_DOC_SEPARATOR`; None when there is neither. The global file comes from `home`, else
    from `fallback_home` (Codex's home, so a Codex user's global AGENTS.md applies until we have our own)."""
    global_text = load_global_instructions(home)
    if global_text is None and fallback_home is not None:
        global_text = load_global_instructions(fallback_home)
    base_parts = [p for p in (global_text, (config_instructions or "").strip()) if p]
    base = "\n\n".join(base_parts) or None
    docs = load_project_docs(
        cwd,
        max_bytes=project_doc_max_bytes,
        markers=project_root_markers,
        fallback_filenames=project_doc_fallback_filenames,
    )
    if base and docs:
        return base + PROJECT_DOC_SEPARATOR + docs
    return base or docs
