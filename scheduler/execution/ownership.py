"""Who runs what on a node: this worker's identity, the attempts its runners supervise, and the
host-local runner files the node's agent reads (docs/decisions.md §6 and §11: attempts are owned per node and
worker instance, never per host name).

- A worker serves the nodes named in ATELIER_WORKER_NODES (`manage.py node_worker` sets it from the
  node queues it consumes). Its orphan sweep looks only at attempts of those nodes.
- A runner registers its attempt only after its claim succeeded: a second delivery of the same task
  claims nothing, so it never touches what the first one runs.
- A runner writes a file per attempt (the worker's pid and start time, the process group). The node's
  agent stops the groups whose worker is gone: a host-local signal that a database outage does not
  stop (the database heartbeat does stop then).
"""

import json
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.conf import settings

WORKER_NODES_ENV = "ATELIER_WORKER_NODES"


@dataclass(frozen=True)
class WorkerIdentity:
    host: str
    instance: str  # unique per worker process start: "<host>:<pid>:<random>"
    nodes: frozenset[str]  # empty: not started by node_worker; its sweep then touches nothing


@cache
def worker_identity() -> WorkerIdentity:
    host = socket.gethostname()
    nodes = frozenset(name for name in os.environ.get(WORKER_NODES_ENV, "").split(",") if name)
    return WorkerIdentity(host=host, instance=f"{host}:{os.getpid()}:{uuid.uuid4().hex[:8]}", nodes=nodes)


# -- attempts this worker's runners supervise ------------------------------------------------------

_supervised: set[int] = set()
_lock = threading.Lock()


@contextmanager
def supervising(attempt_id: int) -> Iterator[None]:
    """Mark the attempt as run by this worker while the block runs (enter only after the claim)."""
    with _lock:
        _supervised.add(attempt_id)
    try:
        yield
    finally:
        with _lock:
            _supervised.discard(attempt_id)


def supervised_attempts() -> frozenset[int]:
    with _lock:
        return frozenset(_supervised)


# -- runner files: read by the node's agent --------------------------------------------------------


@dataclass(frozen=True)
class RunnerFile:
    path: Path
    attempt_id: int
    node: str
    pgid: int
    worker_pid: int
    worker_started: str  # /proc start time of the worker: a recycled pid is not the worker
    part_id: int | None = None  # one node's part of an attempt across nodes (docs/jobs.md)


def runner_files_dir() -> Path:
    return Path(settings.JOB_DATA_ROOT) / "runners"


def _runner_file_name(attempt_id: int, part_id: int | None) -> str:
    # A part's own name: the parts of one attempt on emulated nodes share a host and this folder.
    return f"attempt-{attempt_id}.json" if part_id is None else f"part-{part_id}.json"


def runner_file_write(*, attempt_id: int, node: str, pgid: int, part_id: int | None = None) -> None:
    directory = runner_files_dir()
    directory.mkdir(parents=True, exist_ok=True)
    body = {
        "attempt": attempt_id,
        "node": node,
        "pgid": pgid,
        "worker_pid": os.getpid(),
        "worker_started": process_start_time(os.getpid()),
        "part": part_id,
    }
    name = _runner_file_name(attempt_id, part_id)
    temporary = directory / f".{name}.tmp"
    temporary.write_text(json.dumps(body))
    temporary.replace(directory / name)  # atomic: the agent never reads half a file


def runner_file_remove(attempt_id: int, *, part_id: int | None = None) -> None:
    (runner_files_dir() / _runner_file_name(attempt_id, part_id)).unlink(missing_ok=True)


def runner_files(*, nodes: frozenset[str] | None = None) -> list[RunnerFile]:
    """The runner files on this host, of these nodes (None: every node, as the simulated fleet's agent)."""
    found = []
    directory = runner_files_dir()
    if not directory.is_dir():
        return found
    for path in [*directory.glob("attempt-*.json"), *directory.glob("part-*.json")]:
        try:
            body = json.loads(path.read_text())
            part = body.get("part")
            entry = RunnerFile(
                path,
                int(body["attempt"]),
                str(body["node"]),
                int(body["pgid"]),
                int(body["worker_pid"]),
                str(body["worker_started"]),
                None if part is None else int(part),
            )
        except (OSError, ValueError, KeyError, TypeError):
            continue  # removed meanwhile, or not ours
        if nodes is None or entry.node in nodes:
            found.append(entry)
    return found


def runner_alive(entry: RunnerFile) -> bool:
    """The worker process that wrote the file still runs (same pid and same start time)."""
    return process_start_time(entry.worker_pid) == entry.worker_started


def process_start_time(pid: int) -> str:
    """Field 22 of /proc/<pid>/stat (clock ticks since boot), "" when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat[stat.rindex(")") + 2 :].split()[19]
