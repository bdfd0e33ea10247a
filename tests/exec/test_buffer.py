from hypothesis import given, strategies as st

from codex_actors.exec.buffer import HeadTailBuffer


def test_small_output_is_kept_whole():
    buf = HeadTailBuffer(cap=16)
    buf.push(b"hello ")
    buf.push(b"world")
    assert buf.getvalue() == b"hello world"
    assert buf.dropped_bytes == 0


def test_middle_is_dropped_once_over_the_cap():
    buf = HeadTailBuffer(cap=10)
    buf.push(b"0123456789abcdefghij")
    assert buf.getvalue() == b"01234fghij"
    assert buf.total_bytes == 20
    assert buf.dropped_bytes == 10


def test_take_returns_and_empties():
    buf = HeadTailBuffer(cap=8)
    buf.push(b"abc")
    assert buf.take() == b"abc"
    assert buf.getvalue() == b""
    buf.push(b"xyz")
    assert buf.take() == b"xyz"


@given(st.lists(st.binary(max_size=40), max_size=60), st.integers(min_value=2, max_value=64))
def test_keeps_exactly_the_first_and_last_bytes_within_the_cap(chunks, cap):
    buf = HeadTailBuffer(cap=cap)
    for chunk in chunks:
        buf.push(chunk)
    everything = b"".join(chunks)
    value = buf.getvalue()
    assert len(value) <= cap
    if len(everything) <= cap:
        assert value == everything
    else:
        assert value == everything[: cap // 2] + everything[len(everything) - (cap - cap // 2):]
        assert buf.dropped_bytes == len(everything) - cap
