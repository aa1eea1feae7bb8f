"""Reads of jobs, attempts and their logs."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.utils import timezone

from scheduler.execution.rendezvous import Rendezvous
from scheduler.execution.runner import attempt_dir, attempt_output_dir
from scheduler.execution.utf8 import from_character_start, whole_characters
from scheduler.models import Attempt, AttemptPart, AttemptPartState, Job, JobAllocation, LogChunk

LOG_PAGE_BYTES = 1024 * 1024
PART_LOG_TAIL_BYTES = 64 * 1024  # what the job page shows of each other part's log; the rest downloads
PART_FOLLOW_AFTER_ATTEMPT = timedelta(minutes=1)  # see part_log_live


@dataclass(frozen=True)
class PartLog:
    """One part of a multi-node attempt and the end of its log (rank 0's is the attempt's own log)."""

    rank: int
    node: str
    state: str
    size: int
    tail: str
    live: bool  # the part has not ended: the page follows its file

    @property
    def truncated(self) -> bool:
        return self.size > PART_LOG_TAIL_BYTES


@dataclass(frozen=True)
class PartLogPage:
    """A stretch of one part's log file from `offset`, for a page that follows it."""

    rank: int
    offset: int
    next_offset: int
    data: bytes
    complete: bool  # the part has ended (or is no longer followed) and nothing is left to read


@dataclass(frozen=True)
class PartLaunch:
    """What one part's process group starts with: its rank in the rendezvous and its node's GPUs."""

    rank: int
    rendezvous: Rendezvous
    gpu_uuids: list[str]


def attempt_part_launch(*, part_id: int) -> PartLaunch:
    """Read once every part claimed (the attempt runs): rank 0's host and port are known then."""
    part = AttemptPart.objects.get(pk=part_id)
    parts = AttemptPart.objects.filter(attempt_id=part.attempt_id)
    host, port = parts.filter(rank=0).values_list("host", "port").get()
    gpus = JobAllocation.objects.filter(attempt_id=part.attempt_id, gpu__node_id=part.node_id)
    return PartLaunch(
        rank=part.rank,
        rendezvous=Rendezvous(master_addr=host, master_port=port, nnodes=parts.count()),
        gpu_uuids=list(gpus.order_by("gpu__index").values_list("gpu__uuid", flat=True)),
    )


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
    if len(out) > limit:  # cut by the page's limit: the next page starts at the cut character
        out = whole_characters(bytes(out[:limit]))
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


def part_log_file(attempt: Attempt, rank: int) -> Path:
    """Where a part's output goes on the shared filesystem: rank 0's is the attempt's `output.log`."""
    return attempt_dir(attempt) / ("output.log" if rank == 0 else f"output.part-{rank}.log")


def part_log_read(*, attempt: Attempt, part: AttemptPart, offset: int, limit: int = LOG_PAGE_BYTES) -> PartLogPage:
    """At most `limit` bytes of a part's log file from `offset`. A part that has written nothing yet
    reads as an empty page (its file appears when its process starts), not as missing."""
    path = part_log_file(attempt, part.rank)
    ended = not part_log_live(attempt=attempt, part=part)
    data = b""
    if path.is_file():
        with path.open("rb") as log_file:
            log_file.seek(offset)
            data = log_file.read(limit)
        if not ended or len(data) == limit:  # an ended file's last bytes are final, whole or not
            data = whole_characters(data)
    size = path.stat().st_size if path.is_file() else 0
    return PartLogPage(
        rank=part.rank,
        offset=offset,
        next_offset=offset + len(data),
        data=data,
        complete=ended and offset + len(data) >= size,
    )


def attempt_part_logs(*, attempt: Attempt | None) -> list[PartLog]:
    """The other parts' logs of a multi-node attempt (ranks 1 and up), each with its last
    PART_LOG_TAIL_BYTES as text; empty for a single-node attempt."""
    if attempt is None:
        return []
    logs = []
    for part in attempt.parts.filter(rank__gt=0).select_related("node").order_by("rank"):
        start, tail = _log_tail(part_log_file(attempt, part.rank))
        logs.append(
            PartLog(
                rank=part.rank,
                node=part.node.name,
                state=part.get_state_display(),
                size=start + len(tail),  # where the page goes on reading
                tail=tail.decode("utf-8", errors="replace"),
                live=part_log_live(attempt=attempt, part=part),
            )
        )
    return logs


def part_log_live(*, attempt: Attempt, part: AttemptPart, now: datetime | None = None) -> bool:
    """Whether the part's file may still grow. A part that never recorded its end (its node was lost
    with it) is given PART_FOLLOW_AFTER_ATTEMPT after its attempt ended: its node's worker, back, kills
    its leftover group well within that, and a page must not follow a dead file for ever."""
    if part.state == AttemptPartState.ENDED:
        return False
    if attempt.ended_at is None:
        return True
    return (now or timezone.now()) - attempt.ended_at < PART_FOLLOW_AFTER_ATTEMPT


def _log_tail(path: Path) -> tuple[int, bytes]:
    """The last PART_LOG_TAIL_BYTES of a log file, cut only between characters, and where they start."""
    size = path.stat().st_size if path.is_file() else 0
    start = max(0, size - PART_LOG_TAIL_BYTES)
    if not size:
        return 0, b""
    with path.open("rb") as log_file:
        log_file.seek(start)
        read = whole_characters(log_file.read(PART_LOG_TAIL_BYTES))
    tail = from_character_start(read) if start else read
    return start + len(read) - len(tail), tail
