"""Where the pids NVML lists come from, read from this node's /proc for process attribution
(scheduler/gpu/rogue.py): session and process group from /proc/<pid>/stat, which any user may read,
and the attempt marker from /proc/<pid>/environ where this agent may read it."""

from collections.abc import Iterable
from pathlib import Path

from scheduler.execution.process import attempt_marker_of
from scheduler.gpu.backends.base import NodeReading
from scheduler.gpu.rogue import ProcessOrigin


def process_origin(pid: int) -> ProcessOrigin | None:
    """None where the pid is not in this /proc (gone, or the agent runs in another pid namespace)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # After the parenthesised command name (which may hold spaces): state, ppid, pgrp, session, ...
    fields = stat[stat.rindex(")") + 2 :].split()
    return ProcessOrigin(session=int(fields[3]), group=int(fields[2]), marker=attempt_marker_of(pid))


def origins_of(readings: Iterable[NodeReading]) -> dict[tuple[str, int], ProcessOrigin | None]:
    """Every listed pid of readings taken on this host (one NVML node, or the simulated fleet whose
    jobs run here), keyed by (node, pid) as attribute_processes wants them."""
    return {
        (reading.hostname, process.pid): process_origin(process.pid)
        for reading in readings
        for gpu in reading.gpus
        for process in gpu.processes or ()
    }
