"""Fuzzy search for a block of lines inside a file's lines (agent-core spec 4.5, "Application algorithm").

Four passes, each looser than the last, and the first pass with a hit wins:
exact → ignoring trailing whitespace → ignoring surrounding whitespace → after mapping Unicode dashes, quotes
and odd spaces to ASCII (and trimming). Within a pass the earliest position at or after `start` wins.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

_PUNCTUATION_TO_ASCII = str.maketrans(
    {
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
        **dict.fromkeys("\u2018\u2019\u201a\u201b", "'"),
        **dict.fromkeys("\u201c\u201d\u201e\u201f", '"'),
        **dict.fromkeys(
            "\u00a0\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000", " "
        ),
    }
)


def normalise(line: str) -> str:
    """`line` trimmed, with Unicode dashes → `-`, curly quotes → `'` / `"`, and non-breaking or typographic
    spaces → ` ` (the last, most permissive comparison)."""
    return line.strip().translate(_PUNCTUATION_TO_ASCII)


_PASSES: tuple[Callable[[str], str], ...] = (
    lambda s: s,
    str.rstrip,
    str.strip,
    normalise,
)


def seek_sequence(lines: Sequence[str], pattern: Sequence[str], start: int, eof: bool) -> int | None:
    """Index in `lines` where `pattern` occurs at or after `start`, or None.

    An empty pattern matches at `start`. With `eof`, the block is first tried where it would end the file
    (all four passes), and only then searched from `start`.
    """
    if not pattern:
        return start
    if len(pattern) > len(lines):
        return None
    if eof:
        at_end = len(lines) - len(pattern)
        found = _search(lines, pattern, at_end, at_end)
        if found is not None:
            return found
    return _search(lines, pattern, start, len(lines) - len(pattern))


def _search(lines: Sequence[str], pattern: Sequence[str], first: int, last: int) -> int | None:
    for key in _PASSES:
        wanted = [key(p) for p in pattern]
        keyed = [key(line) for line in lines[first:last + len(pattern)]]
        for offset in range(last - first + 1):
            if keyed[offset:offset + len(wanted)] == wanted:
                return first + offset
    return None
