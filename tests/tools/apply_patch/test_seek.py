"""The four matching passes of seek_sequence, loosest last (agent-core spec 4.5)."""

from codex_actors.tools.apply_patch.seek import seek_sequence


def test_exact_match_wins_over_a_looser_earlier_one():
    lines = ["foo  ", "foo", "bar"]
    assert seek_sequence(lines, ["foo", "bar"], 0, False) == 1


def test_trailing_whitespace_is_ignored_in_the_second_pass():
    assert seek_sequence(["x", "foo   ", "bar\t"], ["foo", "bar"], 0, False) == 1


def test_surrounding_whitespace_is_ignored_in_the_third_pass():
    assert seek_sequence(["    foo   ", "   bar\t"], ["foo", "bar"], 0, False) == 0


def test_unicode_punctuation_matches_ascii_in_the_last_pass():
    assert seek_sequence(["a \u2013 \u201cb\u201d\u3000c\u2019s"], ["a - \"b\" c's"], 0, False) == 0


def test_search_starts_at_the_cursor():
    assert seek_sequence(["a", "b", "a"], ["a"], 1, False) == 2


def test_eof_tries_the_end_first_then_falls_back_to_the_cursor():
    assert seek_sequence(["a", "b", "a"], ["a"], 0, True) == 2
    assert seek_sequence(["a", "b", "c"], ["a"], 0, True) == 0


def test_empty_and_oversized_patterns():
    assert seek_sequence(["a"], [], 1, False) == 1
    assert seek_sequence(["a"], ["a", "b"], 0, False) is None
