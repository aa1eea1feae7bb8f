"""Reads of jobs, attempts and their logs."""

from pathlib import Path

from scheduler.execution.runner import attempt_output_dir
from scheduler.models import Attempt, Job, LogChunk

LOG_PAGE_BYTES = 1024 * 1024


def job_attempt(*, job: Job, number: int | None) -> Attempt | None:
    attempts = job.attempts.order_by("-number")
    return attempts.filter(number=number).first() if number is not None else attempts.first()


def log_read(*, attempt: Attempt, offset: int, limit: int = LOG_PAGE_BYTES) -> tuple[bytes, int]:
    """Bytes of the log from `offset` (at most `limit`), and the offset to ask for next."""
    chunks = LogChunk.objects.filter(attempt=attempt, offset__lt=offset + limit).order_by("offset")
    out = bytearray()
    for chunk in chunks.filter(offset__gte=_chunk_start(attempt, offset)):
        data = bytes(chunk.data)
        start = max(offset - chunk.offset, 0)
        if start >= len(data):
            continue
        out += data[start:]
    out = out[:limit]
    return bytes(out), offset + len(out)


def _chunk_start(attempt: Attempt, offset: int) -> int:
    """Offset of the chunk that holds byte `offset` (chunks are contiguous)."""
    chunk = (
        LogChunk.objects.filter(attempt=attempt, offset__lte=offset)
        .order_by("-offset")
        .values_list("offset", flat=True)
        .first()
    )
    return chunk if chunk is not None else 0


def job_outputs(*, job: Job) -> list[dict]:
    """Files the job wrote under ATELIER_OUTPUT_DIR, shared by its attempts."""
    latest = job_attempt(job=job, number=None)
    if latest is None:
        return []
    root = attempt_output_dir(latest)
    if not root.is_dir():
        return []
    return [
        {"path": str(path.relative_to(root)), "size": path.stat().st_size}
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.is_symlink()
    ]


def job_output_file(*, job: Job, relative: str) -> Path | None:
    latest = job_attempt(job=job, number=None)
    if latest is None:
        return None
    root = attempt_output_dir(latest).resolve()
    path = (root / relative).resolve()
    if root not in path.parents or not path.is_file():
        return None
    return path
