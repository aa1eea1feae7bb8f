"""Reads of the GPU fleet: nodes up or down, board rows, what a drain would affect.

A node is up while its agent's heartbeat is younger than the node-down threshold:
max(NODE_DOWN_INTERVALS x AGENT_INTERVAL, NODE_DOWN_MIN_SECONDS) (docs/decisions.md §10).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.apps import apps
from django.conf import settings
from django.db.models import Case, CharField, Count, Q, QuerySet, TextField, Value, When
from django.db.models.functions import Cast
from django.utils import timezone

from scheduler.execution.process import lifeline_guard, process_groups
from scheduler.gpu.backends import SimulatedLoad
from scheduler.gpu.rogue import RunningAttempt
from scheduler.models import (
    ATTEMPT_LIVE_STATES,
    JOB_FINAL_STATES,
    Attempt,
    AttemptState,
    Booking,
    BookingState,
    Gpu,
    GpuState,
    Job,
    Node,
)
from scheduler.selectors.bookings import bookings_now_and_next

BOARD_STATES = ("available", "drained", "lost", "node_down")


def node_down_after() -> timedelta:
    return timedelta(
        seconds=max(settings.NODE_DOWN_INTERVALS * settings.AGENT_INTERVAL, settings.NODE_DOWN_MIN_SECONDS)
    )


def node_is_up(*, node: Node, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return node.last_heartbeat is not None and now - node.last_heartbeat <= node_down_after()


def _up_condition(now: datetime, prefix: str = "") -> Q:
    return Q(**{f"{prefix}last_heartbeat__gte": now - node_down_after()})


def nodes_with_status(*, now: datetime | None = None) -> QuerySet[Node]:
    now = now or timezone.now()
    up = Case(When(_up_condition(now), then=Value(True)), default=Value(False))
    return Node.objects.annotate(up=up, gpu_count=Count("gpus")).order_by("name")


def gpus_with_board_state(*, now: datetime | None = None) -> QuerySet[Gpu]:
    """Every GPU with `board_state`: lost, node_down, drained (GPU or node), or available, in that order."""
    now = now or timezone.now()
    board_state = Case(
        When(state=GpuState.LOST, then=Value("lost")),
        When(~_up_condition(now, "node__") | Q(node__last_heartbeat__isnull=True), then=Value("node_down")),
        When(Q(state=GpuState.DRAINED) | Q(node__drained=True), then=Value("drained")),
        default=Value("available"),
        output_field=CharField(),
    )
    return Gpu.objects.select_related("node").annotate(board_state=board_state).order_by("node__name", "index")


def gpus_filter(
    *,
    queryset: QuerySet[Gpu],
    node: str = "",
    model: str = "",
    state: str = "",
    free_now: bool = False,
    now: datetime | None = None,
) -> QuerySet[Gpu]:
    """The board's and the API's filters. `free_now`: available, nothing running, not booked now."""
    if node:
        queryset = queryset.filter(node__name=node)
    if model:
        queryset = queryset.filter(model__icontains=model)
    if state:
        queryset = queryset.filter(board_state=state)
    if free_now:
        queryset = queryset.filter(board_state="available", process_count=0).exclude(
            id__in=_gpu_ids_booked_at(now or timezone.now())
        )
    return queryset


def _gpu_ids_booked_at(now: datetime) -> QuerySet:
    through = Booking.gpus.through
    return through.objects.filter(
        booking__state=BookingState.ACTIVE, booking__start__lte=now, booking__end__gt=now
    ).values("gpu_id")


def gpus_placeable(*, now: datetime | None = None) -> QuerySet[Gpu]:
    """GPUs the scheduler may book or place on now: not drained, not lost, node not drained and up (docs/decisions.md §9)."""
    return gpus_with_board_state(now=now).filter(board_state="available")


@dataclass
class BoardNode:
    node: Node
    up: bool
    gpus: list[dict] = field(default_factory=list)


# What a board card shows, read as plain rows: the board lists every GPU of the cluster, and building
# a Gpu and a Node instance per card (with their date conversions) was most of its server time.
BOARD_GPU_FIELDS = (
    "id",
    "node_id",
    "index",
    "model",
    "state",
    "board_state",
    "drain_reason",
    "util_gpu_pct",
    "memory_used_mb",
    "memory_total_mb",
    "temperature_c",
    "power_w",
    "spark_json",
    "rogue_count",
    "processes",
)


def board_rows(
    *, node: str = "", model: str = "", state: str = "", free_now: bool = False, now: datetime | None = None
) -> list[BoardNode]:
    """GPUs grouped by node for the board: each GPU a dict of BOARD_GPU_FIELDS (the sparkline as the
    JSON text the page reads) plus `bookings`, the booking holding it now and the next one
    (selectors.bookings.bookings_now_and_next)."""
    now = now or timezone.now()
    gpus = list(
        gpus_filter(
            queryset=gpus_with_board_state(now=now), node=node, model=model, state=state, free_now=free_now, now=now
        )
        .annotate(spark_json=Cast("spark", TextField()))
        .values(*BOARD_GPU_FIELDS)
    )
    bookings = bookings_now_and_next(now=now)
    nodes = Node.objects.in_bulk()  # every node, not 1,024 ids in an IN list: a fleet has far fewer nodes
    grouped: dict[int, BoardNode] = {}
    for gpu in gpus:
        gpu["bookings"] = bookings.get(gpu["id"], {})
        row = grouped.get(gpu["node_id"])
        if row is None:
            node_row = nodes[gpu["node_id"]]
            row = grouped[gpu["node_id"]] = BoardNode(node=node_row, up=node_is_up(node=node_row, now=now))
        row.gpus.append(gpu)
    return list(grouped.values())


def board_filter_choices() -> dict[str, list[str]]:
    return {
        "nodes": list(Node.objects.order_by("name").values_list("name", flat=True)),
        "models": gpu_models(),
        "states": list(BOARD_STATES),
    }


def gpu_models() -> list[str]:
    """The GPU models of the fleet, by name: what a job may ask for."""
    return list(Gpu.objects.order_by("model").values_list("model", flat=True).distinct())


def fleet_simulated() -> bool:
    return Node.objects.filter(simulated=True).exists()


def bookings_affected_by_drain(*, gpu_ids: Iterable[int], now: datetime | None = None) -> QuerySet[Booking]:
    """Active bookings on these GPUs that have not ended: the admin sees them before confirming a drain."""
    now = now or timezone.now()
    return (
        Booking.objects.filter(state=BookingState.ACTIVE, end__gt=now, gpus__id__in=list(gpu_ids))
        .select_related("user", "team")
        .distinct()
        .order_by("start", "id")
    )


def jobs_affected_by_drain(*, gpu_ids: Iterable[int]) -> QuerySet[Job]:
    """Jobs with a live attempt (queued or running) on these GPUs: what a drain that stops running
    jobs would cancel. The admin sees them before confirming."""
    return (
        Job.objects.filter(attempts__state__in=ATTEMPT_LIVE_STATES, attempts__allocations__gpu_id__in=list(gpu_ids))
        .exclude(state__in=JOB_FINAL_STATES)
        .select_related("owner", "team")
        .distinct()
        .order_by("id")
    )


def running_attempts() -> tuple[RunningAttempt, ...]:
    """The scheduler's bookkeeping for process attribution: every running job attempt with its node,
    GPU UUIDs, pid and process group (the agent attributes a GPU process to the attempt whose group
    it belongs to), and its job and the job's user, which the board shows beside each process."""
    attempts = (
        Attempt.objects.filter(state=AttemptState.RUNNING)
        .select_related("job__owner", "node")
        .prefetch_related("allocations__gpu")
    )
    return tuple(
        RunningAttempt(
            attempt_id=attempt.pk,
            node=attempt.node.name,
            gpu_uuids=frozenset(allocation.gpu.uuid for allocation in attempt.allocations.all()),
            pids=frozenset({attempt.pid} if attempt.pid else ()),
            process_group=attempt.pgid,
            job_id=attempt.job_id,
            user=attempt.job.owner.username,
        )
        for attempt in attempts
    )


def simulated_load(*, attempts: Iterable[RunningAttempt]) -> dict[str, SimulatedLoad]:
    """What the simulated fleet should show: each running attempt makes its GPUs busy with the
    processes it really started (its group's members but the `/bin/sh -c` leader, or the leader if
    it is alone), as NVML would list the CUDA processes, so the agent attributes them by the same path."""
    load: dict[str, SimulatedLoad] = {}
    groups = process_groups()
    for attempt in attempts:
        pids = _started_pids(attempt, groups)
        for uuid in attempt.gpu_uuids:
            before = load.get(uuid, SimulatedLoad())
            load[uuid] = SimulatedLoad(pids=before.pids + pids, jobs=before.jobs + (str(attempt.attempt_id),))
    return load


def _started_pids(attempt: RunningAttempt, groups: dict[int, list[int]]) -> tuple[int, ...]:
    """The group's members but its lifeline guard (never a CUDA process: it only waits on a pipe)."""
    members = set(groups.get(attempt.process_group, ())) if attempt.process_group else set()
    members = {pid for pid in members if not lifeline_guard(pid)}
    started = members - {attempt.process_group} or members or set(attempt.pids)
    return tuple(sorted(started))


def queue_length() -> int:
    """Pending jobs; 0 while the Jobs model does not exist (nothing can be queued then)."""
    try:
        job = apps.get_model("scheduler", "Job")
    except LookupError:
        return 0
    return job.objects.filter(state="pending").count()


def active_bookings(*, now: datetime | None = None) -> int:
    now = now or timezone.now()
    return Booking.objects.filter(state=BookingState.ACTIVE, start__lte=now, end__gt=now).count()
