"""Pure parser for the apply_patch format: patch text in, a tuple of typed hunks out (agent-core spec 4.5).

Rules, as the spec states them and the lenient parser applies them:

* The input is trimmed. Its first line must be `*** Begin Patch` and its last `*** End Patch` (whitespace around
  either marker is tolerated). If not, and the text is a heredoc (`<<EOF`, `<<'EOF'` or `<<"EOF"` first, a line
  ending in `EOF` last, at least 4 lines), the wrapper is stripped and the markers are checked again.
* Hunks: `*** Add File: p` followed by `+` lines; `*** Delete File: p`; `*** Update File: p`, an optional
  `*** Move to: q`, then chunks. Only the first chunk of an update may omit its `@@` / `@@ anchor` header.
* Inside an update, blank lines between chunks are skipped, an empty line inside a chunk is an empty context line,
  and a line starting with `*` ends the file section (`*** End of File` marks the chunk as anchored at EOF).

Lines are split on `\\n` only (a trailing `\\r` is dropped, like Rust's `str::lines`), never on the other Unicode
line breaks `str.splitlines` knows: those are ordinary characters inside a line of code.
"""

from __future__ import annotations

import attrs

BEGIN_PATCH_MARKER = "*** Begin Patch"
END_PATCH_MARKER = "*** End Patch"
ADD_FILE_MARKER = "*** Add File: "
DELETE_FILE_MARKER = "*** Delete File: "
UPDATE_FILE_MARKER = "*** Update File: "
MOVE_TO_MARKER = "*** Move to: "
EOF_MARKER = "*** End of File"
CHANGE_CONTEXT_MARKER = "@@ "
EMPTY_CHANGE_CONTEXT_MARKER = "@@"

_HEREDOC_OPENERS = ("<<EOF", "<<'EOF'", '<<"EOF"')


class PatchParseError(ValueError):
    """A patch that does not follow the format; `str(err)` is the message the model sees after
    `apply_patch verification failed: `."""


class InvalidPatchError(PatchParseError):
    """The patch as a whole is malformed (its boundary markers): `invalid patch: <message>`."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(f"invalid patch: {message}")


class InvalidHunkError(PatchParseError):
    """One hunk is malformed: `invalid hunk at line <N>, <message>`, N counting from 1 at `*** Begin Patch`."""

    def __init__(self, message: str, line_number: int) -> None:
        self.message = message
        self.line_number = line_number
        super().__init__(f"invalid hunk at line {line_number}, {message}")


@attrs.frozen
class AddFile:
    """Create (or overwrite) `path` with `contents` (every `+` line plus `\\n`)."""

    path: str
    contents: str


@attrs.frozen
class DeleteFile:
    """Remove the file at `path`."""

    path: str


@attrs.frozen
class UpdateFileChunk:
    """One change inside an update: replace `old_lines` (context and `-` lines, in order) by `new_lines`
    (context and `+` lines). `change_context` is the `@@ <anchor>` line that must precede it; `is_end_of_file`
    says `old_lines` should be matched at the end of the file first."""

    change_context: str | None
    old_lines: tuple[str, ...]
    new_lines: tuple[str, ...]
    is_end_of_file: bool = False


@attrs.frozen
class UpdateFile:
    """Edit `path` chunk by chunk (chunks in file order), then write it to `move_path` if given."""

    path: str
    move_path: str | None
    chunks: tuple[UpdateFileChunk, ...]


Hunk = AddFile | DeleteFile | UpdateFile


@attrs.frozen
class ParsedPatch:
    """`patch` is the patch text without any heredoc wrapper (lines joined by `\\n`); `hunks` in patch order."""

    patch: str
    hunks: tuple[Hunk, ...]


def parse_patch(text: str) -> ParsedPatch:
    """Parse `text` leniently (spec 4.5) into hunks. Nothing is read from disk.

    Raises `InvalidPatchError` for bad boundary markers and `InvalidHunkError` for a bad hunk; both are
    `PatchParseError` whose `str()` is the spec's message.
    """
    lines = _lines(text.strip())
    patch_lines = _check_boundaries_lenient(lines)
    body = patch_lines[1:-1]
    hunks: list[Hunk] = []
    line_number = 2
    while body:
        hunk, consumed = _parse_one_hunk(body, line_number)
        hunks.append(hunk)
        line_number += consumed
        body = body[consumed:]
    return ParsedPatch(patch="\n".join(patch_lines), hunks=tuple(hunks))


def _lines(text: str) -> list[str]:
    if not text:
        return []
    parts = text.split("\n")
    if parts[-1] == "":
        parts.pop()
    return [p[:-1] if p.endswith("\r") else p for p in parts]


def _check_boundaries_strict(lines: list[str]) -> list[str]:
    first = lines[0].strip() if lines else None
    last = lines[-1].strip() if lines else None
    if first == BEGIN_PATCH_MARKER and last == END_PATCH_MARKER and len(lines) >= 2:
        return lines
    if first != BEGIN_PATCH_MARKER:
        raise InvalidPatchError("The first line of the patch must be '*** Begin Patch'")
    raise InvalidPatchError("The last line of the patch must be '*** End Patch'")


def _check_boundaries_lenient(lines: list[str]) -> list[str]:
    try:
        return _check_boundaries_strict(lines)
    except InvalidPatchError:
        if len(lines) >= 4 and lines[0] in _HEREDOC_OPENERS and lines[-1].endswith("EOF"):
            return _check_boundaries_strict(lines[1:-1])
        raise


def _parse_one_hunk(lines: list[str], line_number: int) -> tuple[Hunk, int]:
    """Parse the hunk starting at `lines[0]`; return it and how many lines it used."""
    first = lines[0].strip()
    if first.startswith(ADD_FILE_MARKER):
        contents = []
        for line in lines[1:]:
            if not line.startswith("+"):
                break
            contents.append(line[1:] + "\n")
        return AddFile(path=first[len(ADD_FILE_MARKER):], contents="".join(contents)), 1 + len(contents)
    if first.startswith(DELETE_FILE_MARKER):
        return DeleteFile(path=first[len(DELETE_FILE_MARKER):]), 1
    if first.startswith(UPDATE_FILE_MARKER):
        return _parse_update_hunk(first[len(UPDATE_FILE_MARKER):], lines, line_number)
    raise InvalidHunkError(
        f"'{first}' is not a valid hunk header. Valid hunk headers: '*** Add File: {{path}}', "
        "'*** Delete File: {path}', '*** Update File: {path}'",
        line_number,
    )


def _parse_update_hunk(path: str, lines: list[str], line_number: int) -> tuple[UpdateFile, int]:
    consumed = 1
    move_path = None
    if len(lines) > 1 and lines[1].startswith(MOVE_TO_MARKER):
        move_path = lines[1][len(MOVE_TO_MARKER):]
        consumed += 1
    chunks: list[UpdateFileChunk] = []
    while consumed < len(lines):
        line = lines[consumed]
        if not line.strip():
            consumed += 1  # blank line between chunks
            continue
        if line.startswith("*"):
            break
        chunk, used = _parse_chunk(lines[consumed:], line_number + consumed, allow_missing_context=not chunks)
        chunks.append(chunk)
        consumed += used
    if not chunks:
        raise InvalidHunkError(f"Update file hunk for path '{path}' is empty", line_number)
    return UpdateFile(path=path, move_path=move_path, chunks=tuple(chunks)), consumed


def _parse_chunk(lines: list[str], line_number: int, *, allow_missing_context: bool) -> tuple[UpdateFileChunk, int]:
    head = lines[0]
    if head == EMPTY_CHANGE_CONTEXT_MARKER:
        context, start = None, 1
    elif head.startswith(CHANGE_CONTEXT_MARKER):
        context, start = head[len(CHANGE_CONTEXT_MARKER):], 1
    elif allow_missing_context:
        context, start = None, 0
    else:
        raise InvalidHunkError(f"Expected update hunk to start with a @@ context marker, got: '{head}'", line_number)
    if start >= len(lines):
        raise InvalidHunkError("Update hunk does not contain any lines", line_number + 1)
    old: list[str] = []
    new: list[str] = []
    is_eof = False
    parsed = 0
    for line in lines[start:]:
        if line == EOF_MARKER:
            if parsed == 0:
                raise InvalidHunkError("Update hunk does not contain any lines", line_number + 1)
            is_eof = True
            parsed += 1
            break
        marker, rest = line[:1], line[1:]
        if marker == "":
            old.append("")
            new.append("")
        elif marker == " ":
            old.append(rest)
            new.append(rest)
        elif marker == "+":
            new.append(rest)
        elif marker == "-":
            old.append(rest)
        elif parsed == 0:
            raise InvalidHunkError(
                f"Unexpected line found in update hunk: '{line}'. Every line should start with ' ' (context line), "
                "'+' (added line), or '-' (removed line)",
                line_number + 1,
            )
        else:
            break  # the start of the next chunk or hunk
        parsed += 1
    chunk = UpdateFileChunk(change_context=context, old_lines=tuple(old), new_lines=tuple(new), is_end_of_file=is_eof)
    return chunk, start + parsed
