from codex_actors.exec.truncation import approx_token_count, formatted_truncate, truncate_middle


def test_text_within_budget_is_unchanged():
    assert formatted_truncate("line one\nline two\n", 100) == "line one\nline two\n"


def test_long_text_gets_line_count_header_and_middle_marker():
    text = "".join(f"{i:03d}\n" for i in range(100))  # 400 bytes, 100 lines
    out = formatted_truncate(text, 10)  # 40 bytes: 20 head + 20 tail
    assert out == "Total output lines: 100\n\n000\n001\n002\n003\n004\n…90 tokens truncated…095\n096\n097\n098\n099\n"


def test_cut_never_splits_a_character():
    text = "é" * 100
    out = truncate_middle(text, 5)
    assert "…" in out
    assert out.startswith("éééé") and out.endswith("éééé")


def test_token_estimate_is_four_bytes_each_rounded_up():
    assert approx_token_count("") == 0
    assert approx_token_count("abcd") == 1
    assert approx_token_count("abcde") == 2
