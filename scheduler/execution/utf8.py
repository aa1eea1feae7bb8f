"""Cutting a log's bytes only between UTF-8 characters.

A job writes its log in whatever pieces its buffers flush; a page or chunk boundary can fall inside a
multi-byte character (Korean dialogue, emoji in a progress bar). Cut there, each half decodes to a
replacement mark and the reader's byte offsets no longer match the text it shows.
"""

MAX_CHARACTER_BYTES = 4


def whole_characters(data: bytes) -> bytes:
    """`data` without a character cut at its end (one still being written, or cut by a read's limit):
    the next read starts at that character and gets it whole. Only the last bytes are looked at, so a
    megabyte page costs no full decode; invalid bytes elsewhere are the job's own and stay."""
    for back in range(1, min(MAX_CHARACTER_BYTES, len(data)) + 1):
        byte = data[-back]
        if byte & 0b1100_0000 == 0b1000_0000:  # a continuation byte: look further back for the lead
            continue
        if byte < 0b1100_0000:  # ASCII: nothing is cut
            return data
        return data[:-back] if back < _character_length(byte) else data
    return data


def from_character_start(data: bytes) -> bytes:
    """`data` without the continuation bytes at its start: a tail read from the middle of a file begins
    at a character, not at the rest of one."""
    start = 0
    while start < min(MAX_CHARACTER_BYTES - 1, len(data)) and data[start] & 0b1100_0000 == 0b1000_0000:
        start += 1
    return data[start:]


def _character_length(lead: int) -> int:
    if lead >= 0b1111_0000:
        return 4
    if lead >= 0b1110_0000:
        return 3
    return 2
