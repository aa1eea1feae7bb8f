"""The disk under the job data folder (docs/jobs.md "Disks").

A job's output log on disk is capped like its database copy: the first ATELIER_JOB_LOG_CAP_BYTES are
kept, then the truncation marker; what the job writes after that is cut off at every poll. The job
writes straight to the file (no pipe through the runner), so a runner that dies never takes the job
down with it; the price is that, between two polls, the file may grow past the cap by what the job
wrote in one poll interval.

A job is stopped when free space under ATELIER_JOB_DATA_ROOT falls below ATELIER_JOB_DISK_RESERVE,
before the disk is full: in embedded mode the database shares that disk, and the runner must still
be able to record why the job ended.
"""

import shutil
from pathlib import Path

from django.conf import settings

TRUNCATION_MARKER = b"\n[atelier] log truncated: this attempt wrote more than the per-attempt limit.\n"
MIB = 1024 * 1024


def free_bytes(path: Path) -> int:
    return shutil.disk_usage(path).free


def disk_full_reason(path: Path) -> str:
    """Why a job on this disk must stop now, or "" while free space is above the reserve."""
    free = free_bytes(path)
    if free >= settings.JOB_DISK_RESERVE:
        return ""
    return (
        f"Disk full: {free / MIB:.0f} MiB free under {path}, below the reserve of "
        f"{settings.JOB_DISK_RESERVE / MIB:.0f} MiB (ATELIER_JOB_DISK_RESERVE). The job was stopped and is "
        "not requeued: free space on the node (old job outputs), then submit it again."
    )


def log_file_cap(path: Path) -> None:
    """Cut the log file back to its first JOB_LOG_CAP_BYTES and the marker, if the job wrote more.

    The job's stdout is opened for appending, so after a truncate its next write lands at the new end
    (never at a stale offset that would leave a hole)."""
    cap, marker = settings.JOB_LOG_CAP_BYTES, TRUNCATION_MARKER
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    if size <= cap + len(marker):
        return
    with open(path, "r+b") as handle:
        handle.seek(cap)
        if handle.read(len(marker)) != marker:
            handle.seek(cap)
            handle.write(marker)
        handle.truncate(cap + len(marker))
