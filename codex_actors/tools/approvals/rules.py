"""Execpolicy rules (spec agent-core 5.3 step 2): `prefix_rule(...)` calls in `*.rules` files, and the lookup
that `decide_command` asks for each simple command.

A rules file is Starlark; the subset Codex documents (one `prefix_rule(...)` call per statement, keyword
arguments, string and list literals, `#` comments) is also Python syntax, so it is read with `ast` and
`ast.literal_eval`, never executed:

    prefix_rule(
        pattern = ["gh", "pr", ["view", "list"]],   # a prefix; a list at a position means any of those words
        decision = "prompt",                          # "allow" (default) | "prompt" | "forbidden"
        justification = "PR reads go over the network",
        match = ["gh pr view 7888"],                  # examples that must match (checked when the file loads)
        not_match = ["gh pr --repo openai/codex view 7888"],   # ... and examples that must not
    )

When several rules match a command the strictest decision wins (forbidden > prompt > allow), as across segments.
Pure logic; reading and appending files is `codex_actors.tools.exec_policy_files`.
"""

from __future__ import annotations

import ast
import json
import shlex
from typing import Any, Sequence

import attrs

from codex_actors.tools.approvals.decide import RULE_DECISIONS, RuleMatch

_STRICTNESS = {"allow": 0, "prompt": 1, "forbidden": 2}
_KEYWORDS = ("pattern", "decision", "justification", "match", "not_match")


class RulesError(ValueError):
    """A rules file is not valid; the message starts with `<source>:<line>:`."""


@attrs.frozen
class PrefixRule:
    """`pattern`: one tuple of accepted words per leading argv position; `source`: "file:line" for messages."""

    pattern: tuple[tuple[str, ...], ...]
    decision: str = "allow"
    justification: str | None = None
    source: str = ""

    def matches(self, argv: Sequence[str]) -> bool:
        """Whether `argv` starts with this prefix."""
        return len(argv) >= len(self.pattern) and all(word in accepted
                                                      for word, accepted in zip(argv, self.pattern))


@attrs.frozen
class ExecPolicy:
    """The loaded rules. `lookup(argv)` is the `rule_lookup` of `decide_command`."""

    rules: tuple[PrefixRule, ...] = ()

    def lookup(self, argv: tuple[str, ...]) -> RuleMatch | None:
        """The strictest matching rule's verdict for one simple command, or None when no rule matches."""
        matching = [rule for rule in self.rules if rule.matches(argv)]
        if not matching:
            return None
        rule = max(matching, key=lambda r: _STRICTNESS[r.decision])
        return RuleMatch(rule.decision, rule.justification)

    def with_rule(self, rule: PrefixRule) -> "ExecPolicy":
        return ExecPolicy((*self.rules, rule))


def allow_rule(prefix: Sequence[str], source: str = "") -> PrefixRule:
    """The rule `allow_rule_text(prefix)` writes: allow commands starting with exactly these words."""
    return PrefixRule(tuple((word,) for word in prefix), "allow", source=source)


def allow_rule_text(prefix: Sequence[str]) -> str:
    """The `prefix_rule(...)` line that allows commands starting with `prefix` (what "always allow" appends).
    Raises ValueError for an empty prefix."""
    if not prefix:
        raise ValueError("an allow rule needs a non-empty command prefix")
    words = ", ".join(json.dumps(word) for word in prefix)
    return f'prefix_rule(pattern=[{words}], decision="allow")\n'


def parse_rules(text: str, source: str) -> list[PrefixRule]:
    """The rules of one file's `text` (`source` names it in errors). Raises RulesError: bad syntax, a statement
    other than a `prefix_rule(...)` call, an unknown or malformed argument, or an example that contradicts its
    rule."""
    try:
        tree = ast.parse(text, filename=source)
    except SyntaxError as exc:
        raise RulesError(f"{source}:{exc.lineno}: invalid syntax: {exc.msg}") from None
    except (ValueError, MemoryError, RecursionError) as exc:  # NUL bytes; nesting too deep for the parser
        raise RulesError(f"{source}: cannot be parsed: {exc or type(exc).__name__}") from None
    rules = []
    for statement in tree.body:
        where = f"{source}:{statement.lineno}"
        call = statement.value if isinstance(statement, ast.Expr) else None
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "prefix_rule"):
            raise RulesError(f"{where}: only prefix_rule(...) calls are supported")
        if call.args:
            raise RulesError(f"{where}: prefix_rule takes keyword arguments only (pattern=..., decision=...)")
        args: dict[str, Any] = {}
        for keyword in call.keywords:
            if keyword.arg not in _KEYWORDS:
                raise RulesError(f"{where}: unknown argument {keyword.arg!r}; expected one of {', '.join(_KEYWORDS)}")
            try:
                args[keyword.arg] = ast.literal_eval(keyword.value)
            # literal_eval raises ValueError for a name or call, TypeError for e.g. a set of lists ({["a"]}),
            # SyntaxError, MemoryError or RecursionError for pathological literals.
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                raise RulesError(f"{where}: {keyword.arg} must be a literal (a string or a list)") from None
        rules.append(_rule(args, where))
    return rules


def _rule(args: dict[str, Any], where: str) -> PrefixRule:
    pattern = args.get("pattern")
    if not isinstance(pattern, list) or not pattern:
        raise RulesError(f"{where}: pattern must be a non-empty list")
    positions = []
    for element in pattern:
        accepted = (element,) if isinstance(element, str) else tuple(element) if isinstance(element, list) else ()
        if not accepted or not all(isinstance(word, str) and word for word in accepted):
            raise RulesError(f"{where}: each pattern element must be a word or a non-empty list of words, "
                             f"got {element!r}")
        positions.append(accepted)
    decision = args.get("decision", "allow")
    if decision not in RULE_DECISIONS:
        raise RulesError(f"{where}: decision must be one of {', '.join(RULE_DECISIONS)}, got {decision!r}")
    justification = args.get("justification")
    if justification is not None and not isinstance(justification, str):
        raise RulesError(f"{where}: justification must be a string")
    rule = PrefixRule(tuple(positions), decision, justification, where)
    for key, expected in (("match", True), ("not_match", False)):
        for example in _examples(args.get(key, []), key, where):
            if rule.matches(example) != expected:
                verb = "does not match" if expected else "matches"
                raise RulesError(f"{where}: {key} example {shlex.join(example)!r} {verb} the pattern")
    return rule


def _examples(value: Any, key: str, where: str) -> list[list[str]]:
    if not isinstance(value, list):
        raise RulesError(f"{where}: {key} must be a list of commands")
    out = []
    for example in value:
        if isinstance(example, str):
            try:
                out.append(shlex.split(example))
            except ValueError as exc:
                raise RulesError(f"{where}: {key} example {example!r}: {exc}") from None
        elif isinstance(example, list) and all(isinstance(word, str) for word in example):
            out.append(example)
        else:
            raise RulesError(f"{where}: {key} examples must be strings or lists of strings, got {example!r}")
    return out
