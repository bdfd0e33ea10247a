"""Splitting a shell command into the simple commands that approval rules judge (spec agent-core 5.3 step 1).

Sans-I/O. `bash|zsh|sh -lc "<script>"` (or `-c`) whose script is nothing but plain words and quoted strings
joined by `&&`, `||`, `;`, `|` (or newlines) splits into its simple commands. A script that is one command
feeding a here-document (`cat <<'EOF' ... EOF`) is judged by its prefix words. Anything else (redirections,
`$` expansions and substitutions, backticks, variable assignments, globs, braces, tildes, subshells,
background `&`, comments) is judged as the whole argv, so no rule can match inside it.

The scanner is deliberately stricter than bash: it only accepts what it can prove is plain.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Literal

import attrs

SplitKind = Literal["plain", "heredoc", "whole"]

SHELLS = frozenset({"bash", "zsh", "sh"})
SHELL_FLAGS = frozenset({"-lc", "-c"})
OPERATORS = ("&&", "||", ";", "|")
_WORD_PUNCTUATION = frozenset("-_./,:=+@%^")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\[|\+?=)")
_HEREDOC_HEAD = re.compile(r"^(?P<head>[^\n]*?)\s*<<(?P<dash>-?)\s*(?P<q>['\"]?)(?P<delim>[A-Za-z_][A-Za-z0-9_]*)(?P=q)\s*$")


@attrs.frozen
class SplitCommand:
    """How a command is evaluated.

    `kind` "plain": `segments` are the script's simple commands in order; "heredoc": one segment, the words
    before `<<`; "whole": one segment, the original argv unchanged.
    """

    kind: SplitKind
    segments: tuple[tuple[str, ...], ...]


class NotPlain(ValueError):
    """The script uses shell syntax beyond plain words and `&&`/`||`/`;`/`|`."""


def shell_script(argv: Sequence[str]) -> str | None:
    """The script of `[bash|zsh|sh, -lc|-c, script]` (shell given by name or path), else None."""
    if len(argv) != 3:
        return None
    shell, flag, script = argv
    if PurePosixPath(shell).name not in SHELLS or flag not in SHELL_FLAGS:
        return None
    return script


def split_for_evaluation(argv: Sequence[str]) -> SplitCommand:
    """Split `argv` per spec 5.3 step 1; never raises (unparseable scripts fall back to "whole")."""
    whole = SplitCommand("whole", (tuple(argv),))
    script = shell_script(argv)
    if script is None:
        return whole
    try:
        segments = split_plain_script(script)
    except NotPlain:
        prefix = heredoc_prefix(script)
        return SplitCommand("heredoc", (prefix,)) if prefix is not None else whole
    return SplitCommand("plain", segments)


def split_plain_script(script: str) -> tuple[tuple[str, ...], ...]:
    """Split a plain script into simple commands (each a tuple of words); raises `NotPlain` otherwise.

    A trailing `;` and blank lines are accepted; an operator without a command on both sides is not.
    """
    tokens = _tokenize(script)
    segments: list[tuple[str, ...]] = []
    words: list[str] = []
    pending_op: str | None = None  # an operator that still needs a command after it
    for kind, value, raw in tokens:
        if kind == "word":
            if not words and _ASSIGNMENT.match(raw):
                raise NotPlain(f"variable assignment {raw!r}")
            words.append(value)
            continue
        if words:
            segments.append(tuple(words))
            words = []
            pending_op = None if value in (";", "\n") else value
        elif value == "\n" and pending_op in (None, "&&", "||", "|"):
            continue  # blank line, or a line break after an operator (bash allows both)
        else:
            raise NotPlain(f"operator {value!r} without a command before it")
    if words:
        segments.append(tuple(words))
    elif pending_op is not None:
        raise NotPlain(f"operator {pending_op!r} without a command after it")
    if not segments:
        raise NotPlain("empty script")
    return tuple(segments)


def heredoc_prefix(script: str) -> tuple[str, ...] | None:
    """The words before `<<` when `script` is exactly one plain command feeding one here-document."""
    first_line, newline, body = script.partition("\n")
    match = _HEREDOC_HEAD.match(first_line)
    if match is None or not newline:
        return None
    lines = body.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        return None
    if match["dash"]:
        lines = [line.lstrip("\t") for line in lines]
    if match["delim"] not in lines or lines.index(match["delim"]) != len(lines) - 1:
        return None  # the document must end exactly at the script's last line
    try:
        segments = split_plain_script(match["head"])
    except NotPlain:
        return None
    return segments[0] if len(segments) == 1 else None


def _tokenize(script: str) -> list[tuple[str, str, str]]:
    """Tokens as (kind, value, raw): kind "word" (value unquoted) or "op" (value in OPERATORS or newline)."""
    tokens: list[tuple[str, str, str]] = []
    word: list[str] | None = None
    start = 0
    i, n = 0, len(script)

    def end_word() -> None:
        nonlocal word
        if word is not None:
            tokens.append(("word", "".join(word), script[start:i]))
            word = None

    while i < n:
        c = script[i]
        if c in " \t":
            end_word()
            i += 1
            continue
        if c == "\n":
            end_word()
            tokens.append(("op", "\n", c))
            i += 1
            continue
        op = next((o for o in OPERATORS if script.startswith(o, i)), None)
        if op is not None:
            after = script[i + len(op): i + len(op) + 1]
            if (op == ";" and after == ";") or (op == "|" and after == "&"):
                raise NotPlain(f"operator {op + after!r}")
            end_word()
            tokens.append(("op", op, op))
            i += len(op)
            continue
        if word is None:
            word, start = [], i
            if c in "~#":
                raise NotPlain(f"{c!r} at the start of a word")
        if c == "'":
            close = script.find("'", i + 1)
            if close < 0:
                raise NotPlain("unterminated single quote")
            word.append(script[i + 1:close])
            i = close + 1
        elif c == '"':
            i = _double_quoted(script, i + 1, word)
        elif c == "\\":
            if i + 1 >= n or script[i + 1] == "\n":
                raise NotPlain("line continuation")
            word.append(script[i + 1])
            i += 2
        elif c.isalnum() or c in _WORD_PUNCTUATION:
            word.append(c)
            i += 1
        else:
            raise NotPlain(f"shell syntax {c!r}")
    end_word()
    return tokens


def _double_quoted(script: str, i: int, word: list[str]) -> int:
    """Append the text of a double-quoted string starting after its `"`; return the index after the close."""
    n = len(script)
    while i < n:
        c = script[i]
        if c == '"':
            return i + 1
        if c in "$`":
            raise NotPlain(f"{c!r} inside double quotes")
        if c == "\\" and i + 1 < n and script[i + 1] in '"\\$`\n':
            if script[i + 1] == "\n":
                raise NotPlain("line continuation")
            word.append(script[i + 1])
            i += 2
            continue
        word.append(c)
        i += 1
    raise NotPlain("unterminated double quote")
