"""The jobs file, the results file and the stateless model, as plain functions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codex_actors.batch.jobs import BadLine, Job, JobsFileError, override_args, read_jobs
from codex_actors.batch.results import JobResult, ResultsFileError, ResultsWriter, completed_ids
from codex_actors.config import load_config
from codex_actors.testing.stateless import answer


def test_job_lines_are_checked_one_by_one_with_their_line_numbers(tmp_path):
    path = tmp_path / "jobs.jsonl"
    path.write_text("\n".join([
        json.dumps({"id": "a", "prompt": "p", "cwd": "sub", "config": {"model": "m"}, "images": ["x.png"]}),
        "",
        "[1, 2]",
        json.dumps({"id": "b", "prompt": "p", "colour": "red"}),
        json.dumps({"id": "c", "prompt": ""}),
        json.dumps({"id": "d/e", "prompt": "p"}),
        json.dumps({"id": "f", "prompt": "p", "config": {"k": None}}),
        json.dumps({"id": "a", "prompt": "again"}),
    ]) + "\n")
    items = list(read_jobs(str(path), base_cwd=tmp_path, file_safe_ids=True))
    first = items[0]
    assert isinstance(first, Job) and first.cwd == str(tmp_path / "sub") and first.line == 1
    assert [(i.line, i.error) for i in items[1:]] == [
        (3, "line 3: expected a JSON object, got list"),
        (4, "line 4: unknown key(s) colour (known: id, prompt, cwd, config, images, output_schema)"),
        (5, 'line 5: "prompt" must be a non-empty string'),
        (6, """line 6: id 'd/e' cannot name a file in --events-dir (no "/", NUL, "." or "..")"""),
        (7, """line 7: "config" key 'k': null is not a config value"""),
        (8, "line 8: duplicate id 'a'"),
    ]
    assert all(isinstance(i, BadLine) for i in items[1:])
    with pytest.raises(JobsFileError, match="cannot read"):
        list(read_jobs(str(tmp_path / "missing.jsonl"), base_cwd=tmp_path))


def test_job_config_values_become_minus_c_overrides_the_loader_reads_back(tmp_path):
    config = {"model": "o3", "model_reasoning_effort": "high", "sandbox_workspace_write.network_access": True,
              "sandbox_workspace_write.writable_roots": ["/a", "/b"], "shell_environment_policy": {"inherit": "core"}}
    loaded = load_config(cwd=tmp_path, overrides=override_args(config), environ={"CODEX_ACTORS_HOME": str(tmp_path)})
    assert loaded.get("model") == "o3"
    assert loaded.get("sandbox_workspace_write.network_access") is True
    assert loaded.get("sandbox_workspace_write.writable_roots") == ["/a", "/b"]
    assert loaded.get("shell_environment_policy.inherit") == "core"


def test_resume_reads_the_latest_status_per_id_and_drops_a_torn_last_line(tmp_path, capsys):
    path = tmp_path / "results.jsonl"
    writer = ResultsWriter(path)
    writer.write(JobResult(id="a", status="failed", error="boom"))
    writer.write(JobResult(id="a", status="completed"))
    writer.write(JobResult(id="b", status="completed"))
    writer.write(JobResult(id="b", status="interrupted"))
    writer.close()
    whole = path.read_bytes()
    path.write_bytes(whole + b'{"id": "c", "status": "comp')
    assert completed_ids(path) == {"a"}
    assert path.read_bytes() == whole
    assert "dropping an incomplete last line" in capsys.readouterr().err
    assert completed_ids(tmp_path / "none.jsonl") == set()
    path.write_bytes(whole + b'{"id": "c"}\n')
    with pytest.raises(ResultsFileError, match="line 5 is not a batch result"):
        completed_ids(path)


def _responses_body(prompt: str, *outputs: str) -> dict:
    items = [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "<env/>"}]},
             {"type": "message", "role": "user", "content": [{"type": "input_text", "text": prompt}]}]
    items += [{"type": "function_call_output", "call_id": f"c{i}", "output": o} for i, o in enumerate(outputs)]
    return {"input": items}


def test_stateless_model_answers_from_the_request_alone():
    prompt = "run: echo one\nrun: echo two\nreply: both ran"
    first = answer("responses", _responses_body(prompt))
    assert first["items"][0]["type"] == "function_call"
    assert json.loads(first["items"][0]["arguments"]) == {"cmd": "echo one"}
    second = answer("responses", _responses_body(prompt, "one"))
    assert json.loads(second["items"][0]["arguments"]) == {"cmd": "echo two"}
    assert second["items"][0]["call_id"] != first["items"][0]["call_id"]
    assert answer("responses", _responses_body(prompt, "one", "two"))["items"][0]["content"][0]["text"] == "both ran"
    assert answer("responses", _responses_body("run: echo x", "x-output"))["items"][0]["content"][0]["text"] == \
        "x-output"
    assert answer("responses", _responses_body("fail: 503 busy"))["status"] == 503
    js = answer("responses", _responses_body('js: text("hi")'))["items"][0]
    assert (js["type"], js["name"], js["input"]) == ("custom_tool_call", "exec", 'text("hi")')
    chat = answer("chat", {"messages": [{"role": "user", "content": "run: ls"},
                                        {"role": "assistant", "content": None}, {"role": "tool", "content": "out"}]})
    assert chat["items"][0]["content"][0]["text"] == "out"
    assert answer("responses", {"input": []})["status"] == 400
