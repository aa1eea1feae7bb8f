"""A log is cut only between UTF-8 characters: whatever the cut, the kept part decodes whole and the
rest starts where the kept part stopped."""

from hypothesis import given
from hypothesis import strategies as st

from scheduler.execution.utf8 import from_character_start, whole_characters


@given(text=st.text(), cut=st.integers(min_value=0, max_value=400))
def test_the_kept_bytes_are_the_longest_prefix_of_whole_characters(text, cut):
    data = text.encode()[:cut]
    kept = whole_characters(data)
    kept.decode("utf-8")  # never raises
    assert data.startswith(kept) and len(data) - len(kept) < 4
    longest = max(
        len(prefix.encode()) for prefix in (text[:n] for n in range(len(text) + 1)) if len(prefix.encode()) <= cut
    )
    assert len(kept) == longest


@given(text=st.text(), cut=st.integers(min_value=0, max_value=400))
def test_a_tail_starts_at_a_character(text, cut):
    data = text.encode()[cut:]
    tail = from_character_start(data)
    tail.decode("utf-8")
    assert data.endswith(tail) and len(data) - len(tail) < 4


def test_bytes_the_job_wrote_invalid_stay_where_they_are():
    assert whole_characters(b"ok \xff\xfe done") == b"ok \xff\xfe done"
    assert whole_characters("가".encode()[:2]) == b""
    assert whole_characters("가나".encode()) == "가나".encode()
