"""The pre-label job's output, `predictions.jsonl`: one line per item, `{"item": id, "shapes": [...]}`,
written and flushed whole per item. Read here by the job itself (which items are done, to resume) and by
the ingest (new complete lines after a byte offset). No Django, no torch."""

import json
from dataclasses import dataclass
from pathlib import Path

PREDICTIONS_FILE = "predictions.jsonl"
MANIFEST_FILE = "manifest.json"
LOAD_ERROR_FILE = "load-error.txt"  # the loader's message, when the checkpoint does not load


@dataclass(frozen=True)
class LinesRead:
    records: list[dict]  # complete lines that parse as an object with an integer "item"
    offset: int  # byte offset just after the last complete line read
    bad_lines: int  # complete lines that are not a record (counted, skipped)


def lines_read(path: Path, *, offset: int = 0) -> LinesRead:
    """Complete lines after `offset`; a last line without its newline is still being written: left for later."""
    try:
        with open(path, "rb") as source:
            source.seek(offset)
            data = source.read()
    except FileNotFoundError:
        return LinesRead(records=[], offset=offset, bad_lines=0)
    end = data.rfind(b"\n")
    if end < 0:
        return LinesRead(records=[], offset=offset, bad_lines=0)
    records, bad = [], 0
    for raw in data[: end + 1].splitlines():
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except ValueError:
            bad += 1
            continue
        if (
            not isinstance(record, dict)
            or type(record.get("item")) is not int
            or not isinstance(record.get("shapes"), list)
        ):
            bad += 1
            continue
        records.append(record)
    return LinesRead(records=records, offset=offset + end + 1, bad_lines=bad)


def items_done(path: Path) -> tuple[set[int], int]:
    """Items a previous attempt finished, and the byte length of its complete lines (a partial last line
    is cut off before this attempt appends)."""
    read = lines_read(path)
    return {record["item"] for record in read.records}, read.offset
