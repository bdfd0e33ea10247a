"""read_json_object: the one reader of JSON-object files (auth.json, --output-schema), and its reasons."""

import os

import pytest

from codex_actors.config.json_file import JsonFileError, read_json_object


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b'{"a": ', "invalid JSON: Expecting value (line 1)"),
        (b"[1, 2]", "expected a JSON object, got list"),
        (b"\xff\xfe{}", "not UTF-8 text"),
    ],
)
def test_each_problem_has_a_one_line_reason(tmp_path, content, reason):
    path = tmp_path / "f.json"
    path.write_bytes(content)
    with pytest.raises(JsonFileError) as caught:
        read_json_object(path)
    assert str(caught.value) == reason


def test_an_object_is_returned_and_a_missing_file_is_the_callers_call(tmp_path):
    path = tmp_path / "f.json"
    path.write_text('{"type": "object"}', encoding="utf-8")
    assert read_json_object(str(path)) == {"type": "object"}
    with pytest.raises(FileNotFoundError):
        read_json_object(tmp_path / "missing.json")


def test_a_directory_cannot_be_read(tmp_path):
    with pytest.raises(JsonFileError, match="^cannot read: Is a directory$"):
        read_json_object(tmp_path)
    assert os.path.isdir(tmp_path)
