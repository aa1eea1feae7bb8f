"""Id lists split for `IN (...)` filters: SQLite bounds the parameters of one statement."""

from collections.abc import Iterator

IN_CHUNK = 10_000  # ids per `IN (...)`: under SQLite's bound (32,766 since 3.32)


def in_chunks(ids: list) -> Iterator[list]:
    """`ids` in consecutive slices of at most IN_CHUNK, each small enough for one `IN (...)`."""
    return (ids[i : i + IN_CHUNK] for i in range(0, len(ids), IN_CHUNK))
