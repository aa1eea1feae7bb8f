"""A JSON array written one element at a time into a temporary file, then spliced into a document."""
import json
import shutil
import tempfile
from pathlib import Path

dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode


class ArrayFile:
    def __init__(self, workdir: Path):
        self.file = tempfile.TemporaryFile("w+", encoding="utf-8", dir=workdir, buffering=1 << 20)
        self.count = 0

    def append(self, value) -> None:
        self.file.write("," + dumps(value) if self.count else dumps(value))
        self.count += 1

    def extend(self, values: list) -> None:
        """Many elements in one encoder call (the C encoder's per-call cost dominates small objects)."""
        if values:
            body = dumps(values)[1:-1]
            self.file.write("," + body if self.count else body)
            self.count += len(values)

    def copy_into(self, out) -> None:
        """Write `[...]` into the text stream `out`, then close the temporary file."""
        self.file.seek(0)
        out.write("[")
        shutil.copyfileobj(self.file, out, 1 << 20)
        out.write("]")
        self.file.close()
