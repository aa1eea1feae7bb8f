"""What the admin reports (portal/reports, issue 24) read from the scheduler: one function per report,
each returning plain rows for a half-open range [lo, hi) of UTC instants and a scope, so that a monthly
snapshot can store exactly the figures the live report shows for a closed month.

Scope: `JobScope` narrows jobs and bookings to teams (None: every team) and optionally one node, one
GPU model or one user. Counting is done by the database (Count, Sum, grouped); only the wait
percentiles are taken in Python, over one duration per job started in the range.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum, Value
from django.db.models.functions import Coalesce, Greatest, Least

from portal.audit.models import AuditEntry
from scheduler.models import (
    Attempt,
    AttemptState,
    Booking,
    BookingIdlePeriod,
    Gpu,
    GpuOccupancy,
    Job,
    Node,
    OccupancyKind,
)

HOUR = 3600.0
LONG_WAIT_S = 3600.0
OUTCOMES = (
    AttemptState.SUCCEEDED,
    AttemptState.FAILED,
    AttemptState.CANCELLED,
    AttemptState.TIMED_OUT,
    AttemptState.LOST,
)
FAILURES = (AttemptState.FAILED, AttemptState.TIMED_OUT, AttemptState.LOST)


@dataclass(frozen=True)
class JobScope:
    team_ids: tuple[int, ...] | None = None  # None: every team
    node_id: int | None = None
    gpu_model: str | None = None
    user_id: int | None = None


def _jobs(scope: JobScope):
    jobs = Job.objects.all()
    if scope.team_ids is not None:
        jobs = jobs.filter(team_id__in=scope.team_ids)
    if scope.user_id is not None:
        jobs = jobs.filter(owner_id=scope.user_id)
    if scope.node_id is not None:
        jobs = jobs.filter(pk__in=Attempt.objects.filter(node_id=scope.node_id).values("job_id"))
    if scope.gpu_model is not None:
        jobs = jobs.filter(pk__in=Attempt.objects.filter(allocations__gpu__model=scope.gpu_model).values("job_id"))
    return jobs


def _attempts(scope: JobScope):
    attempts = Attempt.objects.filter(job__in=_jobs(scope))
    if scope.node_id is not None:
        attempts = attempts.filter(node_id=scope.node_id)
    return attempts


def percentile(sorted_values: list[float], share: float) -> float:
    """Nearest-rank percentile of an ascending list (0 for an empty one)."""
    if not sorted_values:
        return 0.0
    rank = max(1, -(-len(sorted_values) * share // 1))  # ceil
    return sorted_values[int(rank) - 1]


@dataclass(frozen=True)
class WaitRow:
    team_id: int
    gpus: int | None  # None: the team's row over every GPU count
    jobs: int
    p50_s: float
    p95_s: float
    waited_over_1h: int


def queue_waits(*, lo: datetime, hi: datetime, scope: JobScope) -> list[WaitRow]:
    """Submit → start of the jobs that started in [lo, hi): per team, and per team and GPU count."""
    waited = ExpressionWrapper(F("started_at") - F("submitted_at"), output_field=DurationField())
    rows = (
        _jobs(scope)
        .filter(started_at__gte=lo, started_at__lt=hi)
        .annotate(waited=waited)
        .values_list("team_id", "gpus", "waited")
    )
    groups: dict[tuple, list[float]] = defaultdict(list)
    for team_id, gpus, wait in rows:
        seconds = max(0.0, wait.total_seconds())
        groups[(team_id, None)].append(seconds)
        groups[(team_id, gpus)].append(seconds)
    out = []
    for (team_id, gpus), values in groups.items():
        values.sort()
        out.append(
            WaitRow(
                team_id=team_id,
                gpus=gpus,
                jobs=len(values),
                p50_s=percentile(values, 0.5),
                p95_s=percentile(values, 0.95),
                waited_over_1h=sum(1 for v in values if v > LONG_WAIT_S),
            )
        )
    return sorted(out, key=lambda r: (r.team_id, r.gpus is not None, r.gpus or 0))


@dataclass(frozen=True)
class OutcomeRow:
    team_id: int
    counts: dict  # attempt state -> attempts that ended in the range
    gpu_hours: float  # GPU-hours of those attempts
    gpu_hours_lost: float  # of failed, timed-out and lost attempts


def job_outcomes(*, lo: datetime, hi: datetime, scope: JobScope) -> list[OutcomeRow]:
    """Attempts that ended in [lo, hi), by team and final state; a retried job counts each attempt
    (a lost attempt is an outcome of its own, the job may succeed on the next)."""
    rows = (
        _attempts(scope)
        .filter(ended_at__gte=lo, ended_at__lt=hi, state__in=OUTCOMES)
        .values("job__team_id", "state")
        .annotate(n=Count("pk"), gpu_s=Sum("gpu_seconds"))
    )
    teams: dict[int, dict] = defaultdict(lambda: {"counts": dict.fromkeys(OUTCOMES, 0), "all": 0.0, "lost": 0.0})
    for row in rows:
        team = teams[row["job__team_id"]]
        team["counts"][row["state"]] = row["n"]
        team["all"] += row["gpu_s"] or 0.0
        if row["state"] in FAILURES:
            team["lost"] += row["gpu_s"] or 0.0
    return [
        OutcomeRow(team_id=t, counts=v["counts"], gpu_hours=v["all"] / HOUR, gpu_hours_lost=v["lost"] / HOUR)
        for t, v in sorted(teams.items())
    ]


@dataclass(frozen=True)
class IdleRow:
    booking_id: int
    team_id: int
    user_id: int
    start: datetime
    end: datetime
    state: str
    idle_hours: float  # reserved GPU-hours, already passed, while the booking was idle


def idle_bookings(*, lo: datetime, hi: datetime, scope: JobScope, now: datetime) -> list[IdleRow]:
    """Each booking with idle reserved GPU-hours in [lo, min(hi, now)), worst first."""
    bookings = Booking.objects.all()
    if scope.team_ids is not None:
        bookings = bookings.filter(team_id__in=scope.team_ids)
    if scope.user_id is not None:
        bookings = bookings.filter(user_id=scope.user_id)
    if scope.node_id is not None:
        bookings = bookings.filter(gpus__node_id=scope.node_id)
    if scope.gpu_model is not None:
        bookings = bookings.filter(gpus__model=scope.gpu_model)
    hours = _idle_by_booking(lo=lo, hi=min(hi, now), bookings=bookings.distinct())
    found = Booking.objects.filter(pk__in=[pk for pk, h in hours.items() if h > 0])
    rows = [
        IdleRow(b.pk, b.team_id, b.user_id, b.start, b.end, b.state, hours[b.pk])
        for b in found.only("team_id", "user_id", "start", "end", "state")
    ]
    return sorted(rows, key=lambda r: (-r.idle_hours, r.booking_id))


def node_exists(pk: int) -> bool:
    return Node.objects.filter(pk=pk).exists()


def node_names(pks) -> dict[int, str]:
    return dict(Node.objects.filter(pk__in=pks).values_list("pk", "name"))


@dataclass(frozen=True)
class BurnRow:
    team_id: int
    to_date_hours: float  # occupancy GPU-hours in [lo, min(now, hi))
    month_hours: float  # occupancy GPU-hours in [lo, hi), future bookings included (what the quota counts)


def quota_burn(*, lo: datetime, hi: datetime, scope: JobScope, now: datetime) -> list[BurnRow]:
    """Per team, the GPU-hours its occupancy rows (bookings, and jobs outside bookings) hold in the month
    so far and in the whole month; summed by the database."""
    upto = max(lo, min(now, hi))
    rows = _burn_rows(lo=lo, hi=hi, scope=scope)
    found = rows.values("team_id").annotate(month=_held(lo, hi), to_date=_held(lo, upto)).order_by("team_id")
    return [
        BurnRow(
            team_id=row["team_id"],
            to_date_hours=_hours(row["to_date"]),
            month_hours=_hours(row["month"]),
        )
        for row in found
    ]


def quota_burn_by_day(*, days: list[tuple[datetime, datetime]], scope: JobScope, now: datetime) -> dict:
    """Per team, the GPU-hours counted from the first day's start to each day's end (to now for the day
    that holds now; None for days not begun), in one query, a conditional sum per day: the burn-down."""
    lo = days[0][0]
    begun = [end for start, end in days if start < now]
    sums = {f"d{i}": _held(lo, min(end, now)) for i, end in enumerate(begun)}
    if not sums:
        return {}
    rows = _burn_rows(lo=lo, hi=days[-1][1], scope=scope).values("team_id").annotate(**sums).order_by("team_id")
    return {
        row["team_id"]: [_hours(row.get(f"d{i}")) if i < len(begun) else None for i in range(len(days))] for row in rows
    }


def _burn_rows(*, lo: datetime, hi: datetime, scope: JobScope):
    rows = GpuOccupancy.objects.filter(start__lt=hi, end__gt=lo)
    if scope.team_ids is not None:
        rows = rows.filter(team_id__in=scope.team_ids)
    if scope.user_id is not None:
        rows = rows.filter(user_id=scope.user_id)
    if scope.node_id is not None:
        rows = rows.filter(gpu__node_id=scope.node_id)
    if scope.gpu_model is not None:
        rows = rows.filter(gpu__model=scope.gpu_model)
    return rows


def _held(lo: datetime, until: datetime):
    """The GPU-hours occupancy rows hold in [lo, until), summed."""
    held = Least(F("end"), Value(until)) - Greatest(F("start"), Value(lo))
    return Sum(ExpressionWrapper(held, output_field=DurationField()), filter=Q(start__lt=until))


def _hours(value) -> float:
    if not value:
        return 0.0
    return max(0.0, value.total_seconds() / HOUR)


@dataclass(frozen=True)
class SplitRow:
    start: datetime
    end: datetime
    capacity_hours: float  # GPUs in the scope's fleet × the bucket's hours
    job_hours: float  # jobs outside bookings
    booked_hours: float  # bookings, used or idle
    idle_hours: float  # of booked_hours: passed while the booking was idle
    drained_hours: float = 0.0  # GPUs drained (themselves or their node) and holding nothing


def gpu_time_split(*, buckets: list[tuple[datetime, datetime]], scope: JobScope, now: datetime) -> list[SplitRow]:
    """GPU time per bucket of consecutive [lo, hi) windows: jobs, bookings (and their idle part) and the
    capacity they come out of. Occupancy is summed by the database in one query (a conditional sum per
    bucket); idle hours are one query per bucket that has started. Teams and users narrow the occupancy,
    nodes and GPU models both the occupancy and the capacity. Drained hours come from the audit log's drain
    and undrain entries (`_drained_in_buckets`): the fleet's, whatever the team or user."""
    gpus = Gpu.objects.all()
    rows = GpuOccupancy.objects.filter(start__lt=buckets[-1][1], end__gt=buckets[0][0])
    bookings = Booking.objects.all()
    if scope.node_id is not None:
        gpus, rows = gpus.filter(node_id=scope.node_id), rows.filter(gpu__node_id=scope.node_id)
        bookings = bookings.filter(gpus__node_id=scope.node_id)
    if scope.gpu_model is not None:
        gpus, rows = gpus.filter(model=scope.gpu_model), rows.filter(gpu__model=scope.gpu_model)
        bookings = bookings.filter(gpus__model=scope.gpu_model)
    if scope.team_ids is not None:
        rows, bookings = rows.filter(team_id__in=scope.team_ids), bookings.filter(team_id__in=scope.team_ids)
    if scope.user_id is not None:
        rows, bookings = rows.filter(user_id=scope.user_id), bookings.filter(user_id=scope.user_id)
    count = gpus.count()
    sums = {}
    for i, (lo, hi) in enumerate(buckets):
        held = ExpressionWrapper(
            Least(F("end"), Value(hi)) - Greatest(F("start"), Value(lo)), output_field=DurationField()
        )
        inside = Q(start__lt=hi, end__gt=lo)
        sums[f"j{i}"] = Sum(held, filter=inside & Q(kind=OccupancyKind.JOB))
        sums[f"b{i}"] = Sum(held, filter=inside & Q(kind=OccupancyKind.BOOKING))
    found = rows.aggregate(**sums)
    idle = _idle_in_buckets(buckets=buckets, bookings=bookings.distinct(), now=now)
    drained = _drained_in_buckets(buckets=buckets, gpus=gpus, now=now)
    out = []
    for i, (lo, hi) in enumerate(buckets):
        out.append(
            SplitRow(
                start=lo,
                end=hi,
                capacity_hours=count * (hi - lo).total_seconds() / HOUR,
                job_hours=_hours(found[f"j{i}"]),
                booked_hours=_hours(found[f"b{i}"]),
                idle_hours=idle[i],
                drained_hours=drained[i],
            )
        )
    return out


def _drained_in_buckets(*, buckets, gpus, now: datetime) -> list[float]:
    """GPU-hours per bucket, before now, that a GPU of `gpus` was drained — itself or its node — while it
    held no job or booking (a drain that let running work finish counts from when the work ended).
    Drained periods come from the audit log: each GPU's and node's drain and undrain entries in time
    order; before its first entry a GPU (or node) was as that entry's `before` says, or, with no entry,
    as it is now (drained before the audit log existed: drained all along)."""
    first, last = buckets[0][0], min(buckets[-1][1], now)
    if first >= last:
        return [0.0] * len(buckets)
    rows = list(gpus.values_list("pk", "node_id", "state"))
    nodes = dict(Node.objects.filter(pk__in={node for _, node, _ in rows}).values_list("pk", "drained"))
    node_periods = _drain_periods("node", nodes, key="drained", now=last)
    gpu_periods = _drain_periods("gpu", {pk: state == "drained" for pk, _, state in rows}, key="state", now=last)
    drained_by_gpu = {
        pk: _union(gpu_periods.get(pk, []) + node_periods.get(node, []), lo=first, hi=last) for pk, node, _ in rows
    }
    busy = _occupied_by_gpu([pk for pk, periods in drained_by_gpu.items() if periods], lo=first, hi=last)
    out = []
    for lo, hi in buckets:
        hi = min(hi, now)
        total = 0.0
        for pk, periods in drained_by_gpu.items():
            for start, end in periods:
                total += _overlap(start, end, lo, hi) - sum(
                    _overlap(*both, lo, hi) for both in _cut(busy.get(pk, []), start, end)
                )
        out.append(total / HOUR)
    return out


def _drain_periods(kind: str, drained_now: dict[int, bool], *, key: str, now: datetime) -> dict[int, list]:
    drain, undrain = (
        (AuditEntry.Action.GPU_DRAIN, AuditEntry.Action.GPU_UNDRAIN)
        if kind == "gpu"
        else (AuditEntry.Action.NODE_DRAIN, AuditEntry.Action.NODE_UNDRAIN)
    )
    entries = defaultdict(list)
    found = AuditEntry.objects.filter(target_type=kind, action__in=(drain, undrain), at__lt=now)
    for target, at, action, before in found.order_by("at", "id").values_list("target_id", "at", "action", "before"):
        if target.isdigit() and int(target) in drained_now:
            entries[int(target)].append((at, action == drain, before or {}))
    periods = {}
    for pk, now_drained in drained_now.items():
        mine = entries.get(pk, [])
        was = _drained_before(mine[0][2], key) if mine else now_drained
        since, spans = (datetime.min.replace(tzinfo=now.tzinfo) if was else None), []
        for at, drains, _ in mine:
            if drains and since is None:
                since = at
            elif not drains and since is not None:
                spans.append((since, at))
                since = None
        if since is not None:
            spans.append((since, now))
        periods[pk] = spans
    return periods


def _drained_before(before: dict, key: str) -> bool:
    return before.get(key) is True or before.get(key) == "drained"


def _occupied_by_gpu(gpu_ids: list[int], *, lo: datetime, hi: datetime) -> dict[int, list]:
    found = defaultdict(list)
    rows = GpuOccupancy.objects.filter(gpu_id__in=gpu_ids, start__lt=hi, end__gt=lo)
    for gpu, start, end in rows.values_list("gpu_id", "start", "end"):
        found[gpu].append((start, end))
    return {gpu: _union(spans, lo=lo, hi=hi) for gpu, spans in found.items()}


def _union(spans: list, *, lo: datetime, hi: datetime) -> list[tuple[datetime, datetime]]:
    """The spans clipped to [lo, hi), merged where they overlap, in time order."""
    merged: list[list] = []
    for start, end in sorted((max(a, lo), min(b, hi)) for a, b in spans):
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(a, b) for a, b in merged]


def _cut(spans: list, lo: datetime, hi: datetime) -> list[tuple[datetime, datetime]]:
    return [(max(a, lo), min(b, hi)) for a, b in spans if a < hi and b > lo]


def _overlap(start: datetime, end: datetime, lo: datetime, hi: datetime) -> float:
    return max(0.0, (min(end, hi) - max(start, lo)).total_seconds())


def _idle_in_buckets(*, buckets, bookings, now: datetime) -> list[float]:
    """Idle reserved GPU-hours per bucket, as idle_hours_by_booking counts them (each idle period over
    each of its booking's occupancy rows, only before now), in one query: a conditional sum per bucket
    over the (idle period, occupancy row) pairs the join yields."""
    first, last = buckets[0][0], min(buckets[-1][1], now)
    if first >= last:
        return [0.0] * len(buckets)
    pairs = _idle_pairs(bookings=bookings, first=first, last=last)
    sums = {}
    for i, (lo, hi) in enumerate(buckets):
        hi = min(hi, now)
        if lo >= hi:
            continue
        ends = Least(F("booking__occupancy__end"), Coalesce(F("end"), Value(hi)), Value(hi))
        starts = Greatest(F("booking__occupancy__start"), F("start"), Value(lo))
        # Intervals that overlap pairwise share a stretch: the row, the period and the bucket.
        inside = Q(booking__occupancy__start__lt=hi, booking__occupancy__end__gt=lo, start__lt=hi) & (
            Q(end__isnull=True) | Q(end__gt=lo)
        )
        sums[f"i{i}"] = Sum(ExpressionWrapper(ends - starts, output_field=DurationField()), filter=inside)
    if not sums:
        return [0.0] * len(buckets)
    found = pairs.aggregate(**sums)
    return [_hours(found.get(f"i{i}")) for i in range(len(buckets))]


def _idle_by_booking(*, lo: datetime, hi: datetime, bookings) -> dict[int, float]:
    """scheduler.selectors.quotas.idle_hours_by_booking summed by the database: per booking, the
    stretch each idle period shares with each of its occupancy rows inside [lo, hi)."""
    if lo >= hi:
        return {}
    pairs = _idle_pairs(bookings=bookings, first=lo, last=hi)
    ends = Least(F("booking__occupancy__end"), Coalesce(F("end"), Value(hi)), Value(hi))
    starts = Greatest(F("booking__occupancy__start"), F("start"), Value(lo))
    found = pairs.values("booking_id").annotate(
        held=Sum(ExpressionWrapper(ends - starts, output_field=DurationField()))
    )
    return {row["booking_id"]: _hours(row["held"]) for row in found}


def _idle_pairs(*, bookings, first: datetime, last: datetime):
    """(idle period, occupancy row of its booking) pairs that overlap each other and [first, last)."""
    return BookingIdlePeriod.objects.filter(booking__in=bookings, start__lt=last).filter(
        Q(end__isnull=True) | Q(end__gt=first),
        Q(end__isnull=True) | Q(end__gt=F("booking__occupancy__start")),
        Q(booking__occupancy__end__gt=first) & Q(booking__occupancy__end__gt=F("start")),
        booking__occupancy__start__lt=last,
    )
