"""Which GPUs a request gets, and the earliest windows where a request fits.

`gpus_pick` is pure: free GPUs grouped by node in, chosen GPUs out. It packs onto the fewest nodes and
prefers the node with the fewest free GPUs that still fits (best fit), so whole nodes stay free for
requests that need them.
"""

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from scheduler.models import Gpu, GpuOccupancy, GpuState

# How far ahead availability looks, widening stretch by stretch (the last is the horizon).
SEARCH_STRETCHES = (timedelta(days=2), timedelta(days=14), timedelta(days=120))


@dataclass(frozen=True)
class GpuRequest:
    """Explicit GPUs, or a count with constraints."""

    gpu_ids: tuple[int, ...] = ()
    count: int | None = None
    node: str | None = None
    model: str | None = None
    min_memory_mb: int | None = None
    same_node: bool = False

    @property
    def wanted(self) -> int:
        return len(self.gpu_ids) if self.gpu_ids else int(self.count or 0)


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    gpu_ids: tuple[int, ...]


def gpus_pick(free_by_node: dict[str, list], *, count: int, same_node: bool) -> list | None:
    """Choose `count` GPUs from free ones grouped by node (each list in index order), or None."""
    nodes = sorted(free_by_node.items(), key=lambda item: (len(item[1]), item[0]))
    fitting = [gpus for _, gpus in nodes if len(gpus) >= count]
    if fitting:
        return fitting[0][:count]  # best fit: the fullest node that still holds the whole request
    if same_node:
        return None
    chosen: list = []
    remaining = list(reversed(nodes))  # largest first: fewest nodes
    while len(chosen) < count and remaining:
        need = count - len(chosen)
        best_fit = [gpus for _, gpus in reversed(remaining) if len(gpus) >= need]
        gpus = best_fit[0] if best_fit else remaining[0][1]
        chosen.extend(gpus[:need])
        remaining = [item for item in remaining if item[1] is not gpus]
    return chosen if len(chosen) == count else None


LIVE_READING_FIELDS = (
    "first_seen",
    "last_seen",
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
    "spark",
)


def gpus_matching(request: GpuRequest):
    """Bookable GPUs that satisfy the request's constraints (not yet its time window)."""
    # Placement reads identity and capacity only: the agent's live reading (timestamps, the process
    # list, the sparkline) is a third of each row and decoding it dominated a booking's time.
    gpus = (
        Gpu.objects.filter(state=GpuState.AVAILABLE, node__drained=False)
        .select_related("node")
        .defer(*LIVE_READING_FIELDS, "node__last_heartbeat", "node__created_at", "node__last_error")
    )
    if request.gpu_ids:
        return gpus.filter(pk__in=request.gpu_ids)
    if request.node:
        gpus = gpus.filter(node__name=request.node)
    if request.model:
        gpus = gpus.filter(model=request.model)
    if request.min_memory_mb:
        gpus = gpus.filter(memory_total_mb__gte=request.min_memory_mb)
    return gpus.order_by("node__name", "index")


def by_node(gpus) -> dict[str, list]:
    grouped: dict[str, list] = defaultdict(list)
    for gpu in gpus:
        grouped[gpu.node.name].append(gpu)
    return grouped


def busy_gpu_ids(*, gpu_ids, start: datetime, end: datetime, exclude_booking_id: int | None = None) -> set[int]:
    rows = GpuOccupancy.objects.filter(gpu_id__in=gpu_ids, start__lt=end, end__gt=start)
    if exclude_booking_id is not None:
        rows = rows.exclude(booking_id=exclude_booking_id)
    return set(rows.values_list("gpu_id", flat=True))


def availability_find(
    *,
    request: GpuRequest,
    duration: timedelta,
    after: datetime,
    limit: int = 3,
    exclude_booking_id: int | None = None,
) -> list[Window]:
    """The earliest windows of `duration` starting at or after `after` that fit the request.

    Reads the occupancy of a short stretch first and widens it only when too few windows fit there:
    windows starting inside a stretch depend only on rows inside it, so the answer is the same as
    searching the whole horizon at once, and the common case reads days of rows, not months.
    """
    candidates = list(gpus_matching(request))
    if request.gpu_ids and len(candidates) != len(set(request.gpu_ids)):
        return []
    found: list[Window] = []
    for stretch in SEARCH_STRETCHES:
        until = after + stretch
        timeline = _occupancy_by_gpu(candidates, after=after, until=until + duration, exclude=exclude_booking_id)
        found = _search(candidates, timeline, request, after=after, until=until, duration=duration, limit=limit)
        if len(found) == limit:
            break
    return found


def _search(candidates, timeline, request: GpuRequest, *, after, until, duration, limit) -> list[Window]:
    """Jumps instead of scanning: for a start t, each GPU's earliest free start e(g) >= t is computed;
    no window can start before the k-th smallest e(g) (fewer than k GPUs are free earlier), so the
    search moves there until a start fits. After a fit, the next try is the next moment some
    occupancy ends."""
    ends = sorted({end for rows in timeline.values() for _, end in rows})
    found: list[Window] = []
    start = after
    while start <= until and len(found) < limit:
        earliest = {gpu.pk: _earliest_fit(timeline[gpu.pk], start, duration) for gpu in candidates}
        fit_at = _first_possible(candidates, earliest, request)
        if fit_at is None or fit_at > until:
            break
        if fit_at > start:
            start = fit_at
            continue
        free = [gpu for gpu in candidates if earliest[gpu.pk] == start]
        window = _window_from(free, request, start=start, end=start + duration)
        if window:
            found.append(window)
        following = bisect_right(ends, start)
        if following == len(ends):
            break
        start = ends[following]
    return found


def _earliest_fit(rows: list[tuple[datetime, datetime]], start: datetime, duration: timedelta) -> datetime:
    """The earliest s >= start with [s, s + duration) free on a GPU whose rows are sorted and disjoint."""
    i = bisect_right(rows, (start, start))
    if i and rows[i - 1][1] > start:
        i -= 1
    s = start
    while i < len(rows) and rows[i][0] < s + duration:
        s = max(s, rows[i][1])
        i += 1
    return s


def _first_possible(candidates, earliest: dict[int, datetime], request: GpuRequest) -> datetime | None:
    """The earliest start at which enough GPUs (on one node, if asked) could all be free."""
    if request.gpu_ids:
        return max(earliest.values()) if earliest else None
    k = request.wanted
    if request.same_node:
        per_node = [sorted(earliest[g.pk] for g in gpus) for gpus in by_node(candidates).values()]
        options = [times[k - 1] for times in per_node if len(times) >= k]
        return min(options) if options else None
    times = sorted(earliest.values())
    return times[k - 1] if len(times) >= k else None


def _window_from(free, request: GpuRequest, *, start, end) -> Window | None:
    if request.gpu_ids:
        return Window(start, end, tuple(sorted(g.pk for g in free)))
    chosen = gpus_pick(by_node(free), count=request.wanted, same_node=request.same_node)
    return Window(start, end, tuple(sorted(g.pk for g in chosen))) if chosen else None


def _occupancy_by_gpu(gpus, *, after, until, exclude) -> dict[int, list[tuple[datetime, datetime]]]:
    rows = GpuOccupancy.objects.filter(gpu_id__in=[g.pk for g in gpus], end__gt=after, start__lt=until)
    if exclude is not None:
        rows = rows.exclude(booking_id=exclude)
    timeline: dict[int, list] = {gpu.pk: [] for gpu in gpus}
    for gpu_id, start, end in rows.values_list("gpu_id", "start", "end"):
        timeline[gpu_id].append((start, end))
    for windows in timeline.values():
        windows.sort()
    return timeline
