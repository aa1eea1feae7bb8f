"""The node agent: read GPUs every interval, keep the inventory, store telemetry, heartbeat, publish.

`manage.py gpu_agent` runs `Agent.run`; tests drive `Agent.tick()` one reading at a time. One agent
per GPU node (NVML), or one agent for the whole simulated fleet. A tick writes the current reading of
every GPU (one executemany), new process sightings, the node heartbeats, the agent heartbeat and one
compact board event on topic "public", each in its own short transaction. Raw samples are buffered and
written in batches (AGENT_FLUSH_INTERVAL). The agent never dies on an NVML error: the backend
reports per-device and per-field failures in its readings, and `run` logs and survives anything else.
"""

import logging
import math
import socket
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Q

from portal.ops.services import heartbeat_record
from portal.realtime.services import event_publish
from scheduler.execution.orphans import runnerless_groups_stop
from scheduler.gpu.backends import GpuBackend, GpuReading, NodeReading, SimulatedLoad
from scheduler.gpu.origins import origins_of
from scheduler.gpu.rogue import UNMATCHED, ProcessAttribution, RunningAttempt, attribute_processes
from scheduler.models import Attempt, Gpu, Node, ProcessSnapshot
from scheduler.selectors.fleet import running_attempts, simulated_load
from scheduler.services.batch_writes import rows_execute
from scheduler.services.fleet import inventory_sync
from scheduler.services.telemetry import SampleRow, samples_write

log = logging.getLogger(__name__)

FLEET_AGENT_NAME = "sim-fleet"
BOARD_EVENT = "gpu.tick"
SPARK_STEP = 10  # seconds per sparkline point
SPARK_POINTS = 60  # 10 minutes
# Raw samples kept in memory while the database cannot take them: ~3 minutes of 1,024 GPUs at 1 Hz.
MAX_PENDING_SAMPLES = 200_000
_CURRENT_COLUMNS = (
    "reading_at",
    "util_gpu_pct",
    "util_memory_pct",
    "memory_used_mb",
    "temperature_c",
    "power_w",
    "power_limit_w",
    "fan_speed_pct",
    "processes",
    "process_count",
    "rogue_count",
)


def agent_heartbeat_name(name: str) -> str:
    return f"agent:{name}"


@dataclass(frozen=True)
class TickResult:
    at: datetime
    nodes: int
    gpus: int
    samples_written: int
    event_id: int | None


class _Spark:
    """Ten-second means of utilization over the last ten minutes, for the board's sparkline."""

    __slots__ = ("bucket", "total", "count", "points")

    def __init__(self) -> None:
        self.bucket, self.total, self.count = -1, 0.0, 0
        self.points: deque[tuple[int, int]] = deque(maxlen=SPARK_POINTS)

    def add(self, util: int | None, now: float) -> bool:
        """Add a reading; True when a ten-second point was completed (the row needs writing)."""
        bucket = int(now // SPARK_STEP)
        closed = bucket != self.bucket and self.count > 0
        if closed:
            self.points.append((self.bucket, round(self.total / self.count)))
        if bucket != self.bucket:
            self.bucket, self.total, self.count = bucket, 0.0, 0
        if util is not None:
            self.total, self.count = self.total + util, self.count + 1
        return closed

    def load(self, stored: Mapping) -> None:
        end, values = stored.get("end"), stored.get("util") or []
        if not isinstance(end, int) or stored.get("step") != SPARK_STEP:
            return
        first = end // SPARK_STEP - len(values) + 1
        self.points.extend((first + i, value) for i, value in enumerate(values) if value is not None)

    def export(self) -> dict:
        if not self.points:
            return {}
        last = self.points[-1][0]
        by_bucket = dict(self.points)
        return {
            "end": last * SPARK_STEP,
            "step": SPARK_STEP,
            "util": [by_bucket.get(b) for b in range(last - SPARK_POINTS + 1, last + 1)],
        }


class Agent:
    """One agent process's state between ticks: the inventory it synced and its buffers."""

    def __init__(
        self,
        *,
        backend: GpuBackend,
        node: str | None = None,
        attempts_provider: Callable[[], Iterable[RunningAttempt]] = running_attempts,
        load_provider: Callable[[tuple[RunningAttempt, ...]], Mapping[str, SimulatedLoad]] | None = None,
        clock: Callable[[], float] = time.time,
        flush_interval: float | None = None,
        inventory_interval: float | None = None,
    ) -> None:
        self.backend = backend
        self.node = node
        self.name = node or (FLEET_AGENT_NAME if backend.simulated else socket.gethostname())
        self.attempts_provider = attempts_provider
        self.load_provider = load_provider or (lambda attempts: simulated_load(attempts=attempts))
        self.clock = clock
        self.flush_interval = settings.AGENT_FLUSH_INTERVAL if flush_interval is None else flush_interval
        self.inventory_interval = (
            settings.AGENT_INVENTORY_INTERVAL if inventory_interval is None else inventory_interval
        )
        self._pending: list[SampleRow] = []
        self._flushed_at = clock()
        self._sparks: dict[int, _Spark] = {}
        self._seen_processes: dict[int, frozenset[tuple[int, str]]] = {}
        self._reset()

    def _reset(self) -> None:
        """Forget the inventory: the next tick syncs it again (after a DB error or a flush under us)."""
        self._gpu_ids: dict[str, int] = {}
        self._node_ids: dict[str, int] = {}
        self._signature: tuple | None = None
        self._synced_at = -math.inf

    # -- one tick ---------------------------------------------------------------------------
    def tick(self) -> TickResult:
        now = self.clock()
        at = datetime.fromtimestamp(now, tz=UTC)
        attempts = tuple(self._attempts())
        readings = self._read(attempts=attempts, now=now)
        attributions = {
            (a.gpu_uuid, a.pid): a
            for a in attribute_processes(nodes=readings, attempts=attempts, origins=origins_of(readings))
        }
        try:
            if self._inventory_due(readings=readings, now=now):
                self._sync(readings=readings, at=at, now=now)
            event_id = self._write(readings=readings, attributions=attributions, at=at, now=now)
            written = self.flush() if now - self._flushed_at >= self.flush_interval else 0
        except Exception:
            self._reset()
            raise
        return TickResult(
            at=at,
            nodes=len(readings),
            gpus=sum(len(r.gpus) for r in readings),
            samples_written=written,
            event_id=event_id,
        )

    def _attempts(self) -> Iterable[RunningAttempt]:
        try:
            return self.attempts_provider()
        except Exception:  # attribution is a check, not a reason to stop sampling
            log.exception("could not read running attempts; attributing every process as unknown")
            return ()

    def _read(self, *, attempts: tuple[RunningAttempt, ...], now: float) -> tuple[NodeReading, ...]:
        if self.backend.simulated:
            return self.backend.read_fleet(self.load_provider(attempts), now=now)
        return (self.backend.read(now=now),)

    def _node_name(self, reading: NodeReading) -> str:
        return self.node if self.node and not self.backend.simulated else reading.hostname

    def _inventory_due(self, *, readings: tuple[NodeReading, ...], now: float) -> bool:
        signature = tuple(
            (r.hostname, r.error is None, tuple((g.index, g.uuid, g.lost) for g in r.gpus)) for r in readings
        )
        due = signature != self._signature or now - self._synced_at >= self.inventory_interval
        self._signature = signature
        return due

    def _sync(self, *, readings: tuple[NodeReading, ...], at: datetime, now: float) -> None:
        for reading in readings:
            synced = inventory_sync(reading=reading, node_name=self._node_name(reading), now=at)
            self._node_ids[reading.hostname] = synced.node.id
            self._gpu_ids.update(synced.gpu_ids)
        self._synced_at = now
        self._load_sparks()

    def _load_sparks(self) -> None:
        missing = [gpu_id for gpu_id in self._gpu_ids.values() if gpu_id not in self._sparks]
        for gpu_id, stored in Gpu.objects.filter(id__in=missing).values_list("id", "spark"):
            self._sparks[gpu_id] = _Spark()
            self._sparks[gpu_id].load(stored or {})

    # -- writing ----------------------------------------------------------------------------
    def _write(self, *, readings, attributions, at: datetime, now: float) -> int | None:
        current, sparks, snapshots, board, changed_processes = [], [], [], [], {}
        for reading in readings:
            for gpu in reading.gpus:
                gpu_id = self._gpu_ids.get(gpu.uuid) if gpu.uuid else None
                if gpu_id is None:
                    continue
                processes = _processes_json(gpu, attributions)
                current.append((gpu_id, *_current_params(gpu, processes)))
                if not gpu.lost:  # a lost GPU has no values; the chart shows a gap
                    self._pending.append(_sample(gpu_id, gpu, at))
                spark = self._sparks.setdefault(gpu_id, _Spark())
                if spark.add(None if gpu.lost else gpu.util_gpu_pct, now):
                    sparks.append((spark.export(), gpu_id))
                if self._processes_changed(gpu_id, processes, at, snapshots):
                    changed_processes[str(gpu_id)] = processes
                board.append(_board_row(gpu_id, gpu, processes))
        # One short transaction per table, not one for the tick: the agent writes every second, and a
        # transaction holding locks on several tables can deadlock with anything that locks them in
        # another order (a TRUNCATE, a migration). Each write stands on its own; the event goes last,
        # so a page never hears of a reading the database does not have yet.
        with transaction.atomic():
            self._update_current(rows=current, at=at)
            self._update_sparks(sparks)
        ProcessSnapshot.objects.bulk_create(snapshots)
        _raise_process_memory_peaks(attributions.values())
        self._heartbeat(readings=readings, at=at)
        if not board:
            return None
        payload = {
            "t": round(now, 3),
            "sim": self.backend.simulated,
            "nodes": sorted(self._node_ids.values()),
            "g": board,
        }
        if changed_processes:
            payload["p"] = changed_processes
        return event_publish(topic="public", kind=BOARD_EVENT, payload=payload).id

    def _processes_changed(self, gpu_id: int, processes: list[dict] | None, at: datetime, snapshots: list) -> bool:
        seen = frozenset((p["pid"], p["owner"]) for p in processes or ())
        before = self._seen_processes.get(gpu_id)
        self._seen_processes[gpu_id] = seen
        new = seen - (before or frozenset())
        snapshots.extend(
            ProcessSnapshot(
                gpu_id=gpu_id, at=at, pid=p["pid"], used_memory_mb=p["mem"], owner=p["owner"], rogue_reason=p["rogue"]
            )
            for p in processes or ()
            if (p["pid"], p["owner"]) in new
        )
        return before is None or seen != before

    def _update_current(self, *, rows: list[tuple[int, tuple, bool]], at: datetime) -> None:
        """One UPDATE per GPU in one executemany: far cheaper than bulk_update's CASE per column."""
        if not rows:
            return
        table = connection.ops.quote_name(Gpu._meta.db_table)
        assignments = ", ".join(f"{connection.ops.quote_name(c)} = %s" for c in _CURRENT_COLUMNS)
        at_value = _AT.get_db_prep_value(at, connection)  # one instant for the whole tick: converted once
        prepared = [_prepared(reading, at_value=at_value, seen=seen, gpu_id=gpu_id) for gpu_id, reading, seen in rows]
        sql = f"UPDATE {table} SET {assignments}, last_seen = COALESCE(%s, last_seen) WHERE id = %s"  # nosec B608 # names quoted, values bound
        rows_execute(sql, prepared)

    def _update_sparks(self, sparks: list[tuple[dict, int]]) -> None:
        if not sparks:
            return
        field = Gpu._meta.get_field("spark")
        table = connection.ops.quote_name(Gpu._meta.db_table)
        rows_execute(
            f"UPDATE {table} SET spark = %s WHERE id = %s",  # nosec B608 # the quoted model table, values bound
            [(field.get_db_prep_value(spark, connection), gpu_id) for spark, gpu_id in sparks],
        )

    def _heartbeat(self, *, readings: tuple[NodeReading, ...], at: datetime) -> None:
        node_ids = sorted(set(self._node_ids.values()))
        if Node.objects.filter(id__in=node_ids).update(last_heartbeat=at) != len(node_ids):
            # Nodes vanished under us (an admin deleted one, a test flushed the tables): resync.
            self._reset()
        detail = {
            "backend": self.backend.name,
            "simulated": self.backend.simulated,
            "reason": getattr(self.backend, "reason", None),
            "nodes": len(readings),
            "gpus": sum(len(r.gpus) for r in readings),
            "errors": [r.error for r in readings if r.error][:5],
        }
        heartbeat_record(name=agent_heartbeat_name(self.name), detail=detail)

    def flush(self) -> int:
        """Write the buffered raw samples in one batch; on failure keep what can still be written."""
        pending, self._pending = self._pending, []
        self._flushed_at = self.clock()
        try:
            return samples_write(rows=pending)
        except IntegrityError:
            # GPUs deleted under us (an admin, a test flushing tables): their rows can never be written,
            # and retrying them would fail every later batch too.
            known = set(Gpu.objects.filter(id__in={row.gpu_id for row in pending}).values_list("id", flat=True))
            self._pending = [row for row in pending if row.gpu_id in known] + self._pending
            raise
        except Exception:
            # The database is unreachable: keep the newest rows for the next try, within a bound.
            self._pending = (pending + self._pending)[-MAX_PENDING_SAMPLES:]
            raise

    # -- the loop -----------------------------------------------------------------------------
    def run(self, *, interval: float, stop: threading.Event, once: bool = False) -> None:
        while not stop.is_set():
            started = time.monotonic()
            self._tick_safely()
            if once:
                break
            stop.wait(max(0.0, interval - (time.monotonic() - started)))
        self._flush_safely()

    def _tick_safely(self) -> None:
        try:
            self.tick()
        except Exception as exc:  # NVML, the database, anything: log it and sample again next interval
            log.exception("GPU agent tick failed; retrying next interval")
            if isinstance(exc, DatabaseError) and not connection.in_atomic_block:
                connection.close()  # a broken connection (database restarted) reopens on the next tick
        self._stop_runnerless_groups()

    def _stop_runnerless_groups(self) -> None:
        """Jobs whose worker died stop within a tick, even if it never comes back (host-local: no
        database needed to decide). The fleet agent looks after every simulated node on this host."""
        nodes = None if self.backend.simulated and not self.node else frozenset({self.name})
        try:
            runnerless_groups_stop(nodes=nodes)
        except Exception:
            log.exception("could not check for process groups whose runner is gone")

    def _flush_safely(self) -> None:
        try:
            self.flush()
        except Exception:
            log.exception("could not write the last batch of GPU samples")


def _raise_process_memory_peaks(attributions) -> None:
    """Each running attempt's processes' memory summed over its GPUs this tick; kept if a new high."""
    totals: dict[int, int] = defaultdict(int)
    for attribution in attributions:
        if attribution.attempt_id is not None and attribution.used_memory_mb is not None:
            totals[attribution.attempt_id] += attribution.used_memory_mb
    for attempt_id, total in totals.items():
        Attempt.objects.filter(pk=attempt_id).filter(
            Q(process_memory_peak_mb__isnull=True) | Q(process_memory_peak_mb__lt=total)
        ).update(process_memory_peak_mb=total)


def _processes_json(gpu: GpuReading, attributions: Mapping[tuple, ProcessAttribution]) -> list[dict] | None:
    if gpu.lost or gpu.processes is None:
        return None
    found = []
    for process in gpu.processes:
        attribution = attributions.get((gpu.uuid, process.pid))
        rogue = attribution.rogue.name.lower() if attribution and attribution.rogue else ""
        owner = str(attribution.owner) if attribution else "unknown"
        if attribution and attribution.unmatched:
            owner = UNMATCHED  # not in the agent's /proc (another pid namespace): not flagged
        job, user = (attribution.job_id, attribution.user) if attribution else (None, "")
        found.append(
            {
                "pid": process.pid,
                "mem": process.used_memory_mb,
                "owner": owner,
                "rogue": rogue,
                "job": job,
                "user": user,
            }
        )
    return found


def _current_params(gpu: GpuReading, processes: list[dict] | None) -> tuple:
    """The GPU's current reading, in _CURRENT_COLUMNS order between reading_at and last_seen (the
    tick's instant, added when written), and whether the GPU was seen (a lost one keeps last_seen)."""
    if gpu.lost:
        return (None, None, None, None, None, None, None, None, 0, 0), False
    rogue = sum(1 for p in processes or () if p["rogue"])
    return (
        gpu.util_gpu_pct,
        gpu.util_memory_pct,
        gpu.memory_used_mb,
        gpu.temperature_c,
        gpu.power_w,
        gpu.power_limit_w,
        gpu.fan_speed_pct,
        processes,
        len(processes or ()),
        rogue,
    ), True


_AT = Gpu._meta.get_field("reading_at")
_PROCESSES = Gpu._meta.get_field("processes")


def _prepared(reading: tuple, *, at_value, seen: bool, gpu_id: int) -> tuple:
    *middle, processes, count, rogue = reading
    return (
        at_value,
        *middle,
        # None goes in as SQL NULL ("could not list"), not as JSON null.
        None if processes is None else _PROCESSES.get_db_prep_value(processes, connection),
        count,
        rogue,
        at_value if seen else None,
        gpu_id,
    )


def _sample(gpu_id: int, gpu: GpuReading, at: datetime) -> SampleRow:
    return SampleRow(
        gpu_id, at, gpu.util_gpu_pct, gpu.util_memory_pct, gpu.memory_used_mb, gpu.temperature_c, gpu.power_w
    )


def _board_row(gpu_id: int, gpu: GpuReading, processes: list[dict] | None) -> list:
    """Compact per-GPU row of the board event: id, util, memory used, temp, power, processes, rogue, lost."""
    power = None if gpu.power_w is None else round(gpu.power_w)
    rogue = sum(1 for p in processes or () if p["rogue"])
    return [
        gpu_id,
        gpu.util_gpu_pct,
        gpu.memory_used_mb,
        gpu.temperature_c,
        power,
        len(processes or ()),
        rogue,
        int(gpu.lost),
    ]
