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
from typing import NamedTuple

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
from scheduler.selectors import usage_totals
from scheduler.selectors.chunks import in_chunks
from scheduler.selectors.quotas import of_teams

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

    def where(self, *, team: str = "", user: str = "", node: str = "", model: str = "") -> Q:
        """The scope as a filter on rows that name its dimensions by these fields. Only the dimensions
        given a field narrow: a caller names the ones its rows carry."""
        narrowed = Q()
        for field, value, lookup in (
            (team, self.team_ids, "__in"),
            (user, self.user_id, ""),
            (node, self.node_id, ""),
            (model, self.gpu_model, ""),
        ):
            if field and value is not None:
                narrowed &= Q(**{field + lookup: value})
        return narrowed


def _jobs(scope: JobScope):
    jobs = Job.objects.filter(scope.where(team="team_id", user="owner_id"))
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


class IdleTotal(NamedTuple):  # a tuple: a month has tens of thousands, a frozen dataclass costs 5 µs each
    booking_id: int
    team_id: int
    user_id: int | None
    idle_hours: float  # reserved GPU-hours, already passed, while the booking was idle


@dataclass(frozen=True)
class IdleRow:
    booking_id: int
    team_id: int
    user_id: int | None
    start: datetime
    end: datetime
    state: str
    idle_hours: float


def idle_totals(*, lo: datetime, hi: datetime, scope: JobScope, now: datetime) -> list[IdleTotal]:
    """Each booking with idle reserved GPU-hours in [lo, min(hi, now)), worst first (of a node or GPU
    model: its GPUs there only). The whole hours beat has rolled come from its per-booking totals; the
    rest (a range's ragged ends, the hours not settled yet) from the idle periods, summed by the database."""
    hi = min(hi, now)
    if lo >= hi:
        return []
    seconds: dict[int, float] = defaultdict(float)
    owners: dict[int, tuple[int, int | None]] = {}
    rolled_lo, rolled_hi = usage_totals.ceil_hour(lo), usage_totals.floor_hour(hi)
    rolled_hi = min(rolled_hi, usage_totals.rolled_until() or rolled_lo)
    found, live = [], [(lo, hi)]
    if rolled_lo < rolled_hi:
        found = usage_totals.idle_seconds_by_booking(scope, lo=rolled_lo, hi=rolled_hi)
        live = [(a, b) for a, b in ((lo, rolled_lo), (rolled_hi, hi)) if a < b]
    for a, b in live:
        found += _live_idle_by_booking(lo=a, hi=b, scope=scope)
    for booking_id, team_id, user_id, held in found:
        seconds[booking_id] += held
        owners[booking_id] = (team_id, user_id)
    totals = [IdleTotal(pk, *owners[pk], held / HOUR) for pk, held in seconds.items() if held / HOUR > 0]
    return sorted(totals, key=lambda t: (-t.idle_hours, t.booking_id))


def idle_rows(totals: list[IdleTotal]) -> list[IdleRow]:
    """The bookings behind `totals`, in their order, with the fields the report shows."""
    fields = {}
    for chunk in in_chunks([t.booking_id for t in totals]):
        rows = Booking.objects.filter(pk__in=chunk).values_list("pk", "start", "end", "state")
        fields.update((pk, rest) for pk, *rest in rows)
    return [IdleRow(t.booking_id, t.team_id, t.user_id, *fields[t.booking_id], t.idle_hours) for t in totals]


def _live_idle_by_booking(*, lo: datetime, hi: datetime, scope: JobScope) -> list[tuple]:
    """(booking, team, user, idle seconds) from the (idle period, occupancy row) pairs in [lo, hi)."""
    pairs = _idle_pairs(who=_booked_by(scope), first=lo, last=hi, held_on=_held_on(scope))
    owners = ("booking_id", "booking__team_id", "booking__user_id")
    found = pairs.values(*owners).annotate(held=Sum(_idle_stretch(lo, hi))).values_list(*owners, "held")
    return [(pk, team_id, user_id, _seconds(held)) for pk, team_id, user_id, held in found]


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
    so far and in the whole month: beat's hourly totals up to the last rolled hour, then the rows,
    summed by the database."""
    upto = max(lo, min(now, hi))
    rows, start = _team_totals(scope, lo=lo, upto=upto)
    to_date: dict[int, float] = defaultdict(float)
    month: dict[int, float] = defaultdict(float)
    if rows is not None:
        for team_id, seconds in usage_totals.held_seconds_by_team(rows, [(lo, start)]).items():
            to_date[team_id] += seconds[0]
            month[team_id] += seconds[0]
    if start < hi:  # else every hour of the range is rolled
        live = _burn_rows(lo=start, hi=hi, scope=scope).values("team_id")
        for row in live.annotate(month=_held(start, hi), to_date=_held(start, upto)):
            to_date[row["team_id"]] += _seconds(row["to_date"])
            month[row["team_id"]] += _seconds(row["month"])
    return [
        BurnRow(team_id=team_id, to_date_hours=to_date[team_id] / HOUR, month_hours=month[team_id] / HOUR)
        for team_id in sorted(month)
    ]


def quota_burn_by_day(*, days: list[tuple[datetime, datetime]], scope: JobScope, now: datetime) -> dict:
    """Per team, the GPU-hours counted from the first day's start to each day's end (to now for the day
    that holds now; None for days not begun): the burn-down. Beat's hourly totals give the days up to
    the last rolled hour; the rows give the rest, in one query, a conditional sum per day."""
    begun = [min(end, now) for start, end in days if start < now]
    if not begun:
        return {}
    rows, live_from = _team_totals(scope, lo=days[0][0], upto=begun[-1])
    held: dict[int, list[float]] = defaultdict(lambda: [0.0] * len(begun))
    if rows is not None:
        pieces = [(start, min(end, live_from)) for start, end in days if start < live_from]
        for team_id, seconds in usage_totals.held_seconds_by_team(rows, pieces).items():
            for i in range(len(begun)):
                held[team_id][i] += sum(seconds[: i + 1])
    if live_from < days[-1][1]:  # else every hour of the month is rolled
        sums = {f"d{i}": _held(live_from, end) for i, end in enumerate(begun) if end > live_from}
        live = _burn_rows(lo=live_from, hi=days[-1][1], scope=scope).values("team_id")
        for row in live.annotate(**sums) if sums else live.distinct():  # a team with only bookings ahead: 0 so far
            for i in range(len(begun)):
                held[row["team_id"]][i] += _seconds(row.get(f"d{i}"))
    return {team_id: [s / HOUR for s in values] + [None] * (len(days) - len(begun)) for team_id, values in held.items()}


def _team_totals(scope: JobScope, *, lo: datetime, upto: datetime):
    """(the per-team totals rows of the scope, the instant they reach) where beat has rolled hours in
    [lo, upto); else (None, lo): everything is read live from lo."""
    rows = usage_totals.scope_rows(scope, by_team=True)
    if rows is None or not usage_totals.is_whole_hour(lo):
        return None, lo
    rolled = usage_totals.rolled_until()
    until = None if rolled is None else min(rolled, usage_totals.floor_hour(upto))
    if until is None or until <= lo:
        return None, lo
    return rows, until


def _burn_rows(*, lo: datetime, hi: datetime, scope: JobScope):
    rows = GpuOccupancy.objects.filter(scope.where(user="user_id", node="gpu__node_id", model="gpu__model"))
    rows = rows.filter(start__lt=hi, end__gt=lo)
    return rows if scope.team_ids is None else of_teams(rows, scope.team_ids)


def _held(lo: datetime, until: datetime):
    """The GPU-hours occupancy rows hold in [lo, until), summed."""
    held = Least(F("end"), Value(until)) - Greatest(F("start"), Value(lo))
    return Sum(ExpressionWrapper(held, output_field=DurationField()), filter=Q(start__lt=until))


def _hours(value) -> float:
    return _seconds(value) / HOUR


def _seconds(value) -> float:
    if not value:
        return 0.0
    return max(0.0, value.total_seconds())


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
    capacity they come out of. Teams and users narrow the occupancy, nodes and GPU models both the
    occupancy and the capacity. Hours beat has rolled are read from their totals (_held_in_buckets), the
    rest live. Drained hours come from the audit log's drain and undrain entries
    (`_drained_in_buckets`): the fleet's, whatever the team or user."""
    gpus = Gpu.objects.filter(scope.where(node="node_id", model="model"))
    count = gpus.count()
    held = _held_in_buckets(buckets=buckets, scope=scope, now=now)
    drained = _drained_in_buckets(buckets=buckets, gpus=gpus, now=now)
    return [
        SplitRow(
            start=lo,
            end=hi,
            capacity_hours=count * (hi - lo).total_seconds() / HOUR,
            job_hours=job / HOUR,
            booked_hours=booked / HOUR,
            idle_hours=idle / HOUR,
            drained_hours=drained[i],
        )
        for i, ((lo, hi), (job, booked, idle)) in enumerate(zip(buckets, held, strict=True))
    ]


def _held_in_buckets(*, buckets, scope: JobScope, now: datetime) -> list[tuple[float, float, float]]:
    """(job, booked, idle) seconds per bucket: from beat's hourly totals before `rolled_until`, where
    the scope has totals and the buckets fall on whole hours; from the occupancy rows after it."""
    rows = usage_totals.scope_rows(scope)
    whole_hours = all(usage_totals.is_whole_hour(lo) and usage_totals.is_whole_hour(hi) for lo, hi in buckets)
    rolled = usage_totals.rolled_until() if rows is not None and whole_hours else None
    if rolled is not None:
        rolled = min(rolled, usage_totals.floor_hour(now))
    if rolled is None or rolled <= buckets[0][0]:
        return _live_held_in_buckets(buckets=buckets, scope=scope, now=now)
    early = [(lo, min(hi, rolled)) for lo, hi in buckets if lo < rolled]
    late = [(max(lo, rolled), hi) for lo, hi in buckets if hi > rolled]
    sums = [[0.0, 0.0, 0.0] for _ in buckets]
    pieces = list(enumerate(usage_totals.seconds_in_buckets(rows, early)))
    if late:  # the buckets after the rolled hours, the one across them included, are the last ones
        first_late = len(buckets) - len(late)
        pieces += [(first_late + i, s) for i, s in enumerate(_live_held_in_buckets(buckets=late, scope=scope, now=now))]
    for i, seconds in pieces:
        for measure in range(3):
            sums[i][measure] += seconds[measure]
    return [tuple(s) for s in sums]


def _live_held_in_buckets(*, buckets, scope: JobScope, now: datetime) -> list[tuple[float, float, float]]:
    """(job, booked, idle) seconds per bucket from the occupancy rows, summed by the database in one
    query (a conditional sum per bucket), and the idle periods (_idle_in_buckets)."""
    rows = _burn_rows(lo=buckets[0][0], hi=buckets[-1][1], scope=scope)
    sums = {}
    for i, (lo, hi) in enumerate(buckets):
        held = ExpressionWrapper(
            Least(F("end"), Value(hi)) - Greatest(F("start"), Value(lo)), output_field=DurationField()
        )
        inside = Q(start__lt=hi, end__gt=lo)
        sums[f"j{i}"] = Sum(held, filter=inside & Q(kind=OccupancyKind.JOB))
        sums[f"b{i}"] = Sum(held, filter=inside & Q(kind=OccupancyKind.BOOKING))
    found = rows.aggregate(**sums)
    idle = _idle_in_buckets(buckets=buckets, who=_booked_by(scope), held_on=_held_on(scope), now=now)
    return [(_seconds(found[f"j{i}"]), _seconds(found[f"b{i}"]), idle[i]) for i in range(len(buckets))]


def _booked_by(scope: JobScope) -> Q:
    """Narrows (idle period, occupancy row) pairs to the bookings of the scope's teams and user."""
    return scope.where(team="booking__team_id", user="booking__user_id")


def _held_on(scope: JobScope) -> Q:
    """Narrows (idle period, occupancy row) pairs to the GPUs of the scope's node or model: a booking
    across nodes is idle on a node only for its GPUs there."""
    return scope.where(node="booking__occupancy__gpu__node_id", model="booking__occupancy__gpu__model")


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


def _idle_in_buckets(*, buckets, who: Q, held_on: Q, now: datetime) -> list[float]:
    """Idle reserved GPU-seconds per bucket, as idle_hours_by_booking counts them (each idle period over
    each of its booking's occupancy rows, only before now), in one query: a conditional sum per bucket
    over the (idle period, occupancy row) pairs the join yields."""
    first, last = buckets[0][0], min(buckets[-1][1], now)
    if first >= last:
        return [0.0] * len(buckets)
    pairs = _idle_pairs(who=who, first=first, last=last, held_on=held_on)
    sums = {}
    for i, (lo, hi) in enumerate(buckets):
        hi = min(hi, now)
        if lo >= hi:
            continue
        # Intervals that overlap pairwise share a stretch: the row, the period and the bucket.
        inside = Q(booking__occupancy__start__lt=hi, booking__occupancy__end__gt=lo, start__lt=hi) & (
            Q(end__isnull=True) | Q(end__gt=lo)
        )
        sums[f"i{i}"] = Sum(_idle_stretch(lo, hi), filter=inside)
    if not sums:
        return [0.0] * len(buckets)
    found = pairs.aggregate(**sums)
    return [_seconds(found.get(f"i{i}")) for i in range(len(buckets))]


def _idle_stretch(lo: datetime, hi: datetime):
    """The stretch an idle period shares with an occupancy row of its booking inside [lo, hi)."""
    ends = Least(F("booking__occupancy__end"), Coalesce(F("end"), Value(hi)), Value(hi))
    starts = Greatest(F("booking__occupancy__start"), F("start"), Value(lo))
    return ExpressionWrapper(ends - starts, output_field=DurationField())


def _idle_pairs(*, who: Q, first: datetime, last: datetime, held_on: Q):
    """(idle period, occupancy row of its booking) pairs that overlap each other and [first, last), of
    the bookings `who` admits, the row on a GPU `held_on` admits. The row's conditions go in one
    filter() call: a second call on the booking's occupancy would join its rows again, matching any
    row of the booking and counting twice."""
    return BookingIdlePeriod.objects.filter(
        who,
        held_on,
        Q(end__isnull=True) | Q(end__gt=first),
        Q(end__isnull=True) | Q(end__gt=F("booking__occupancy__start")),
        Q(booking__occupancy__end__gt=first) & Q(booking__occupancy__end__gt=F("start")),
        start__lt=last,
        booking__occupancy__start__lt=last,
    )
