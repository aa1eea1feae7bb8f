"""EASY backfill with booking-aware shadow time.

The highest-ranked job that cannot start now (the head) gets a planned start: the earliest
instant its gang fits on GPUs freed by running jobs' time limits, also respecting bookings. The
GPUs it would use then are held for it: a lower-ranked job may start now only if it ends, by its
time limit, before that planned start, or uses none of those GPUs. So backfill never delays the
head; the head still cannot freeze the cluster because every other job may use what it does not
need.
"""

from __future__ import annotations

import heapq
import math
from typing import Callable, Optional

from scheduler.policy.placement import choose_gpus
from scheduler.policy.types import Booking, HeadPlan, PendingJob

INFINITY = math.inf


def start_windows(free_at: float, time_limit: float, windows: list, booking: Optional[Booking]) -> list:
    """Intervals [a, c] of instants at which a job may start on one GPU that frees at `free_at`."""
    if booking is not None:
        # Inside its own booking the job must start in the window and end before it closes.
        start, last = max(free_at, booking.start), booking.end - time_limit
        return [(start, last)] if start <= last else []
    intervals = []
    start = free_at
    for booked_start, booked_end in windows:
        if booked_end <= start:
            continue
        if start + time_limit <= booked_start:
            intervals.append((start, booked_start - time_limit))
        start = max(start, booked_end)
    intervals.append((start, INFINITY))
    return intervals


def plan_head(
    job: PendingJob,
    candidates: list,
    free_at: dict,
    windows_by_gpu: dict,
    booking: Optional[Booking],
    mode: str,
    node_rank: dict,
    gpu_order: dict,
) -> Optional[HeadPlan]:
    """The earliest start and GPUs for the head job, sweeping instants at which GPUs become usable.

    `candidates` are the usable GPUs that meet the job's constraints; `free_at` says when each
    frees by the time limits of the jobs on it (now for free GPUs).
    """
    enters = []
    leaves = []
    for gpu in candidates:
        for a, c in start_windows(free_at[gpu.id], job.time_limit, windows_by_gpu.get(gpu.id, ()), booking):
            enters.append((a, gpu_order[gpu.id], gpu))
            if c != INFINITY:
                leaves.append((c, gpu_order[gpu.id], gpu))
    enters.sort(key=lambda e: (e[0], e[1]))
    leaves.sort(key=lambda e: (e[0], e[1]))
    available: dict = {}
    total = 0
    li = 0
    i = 0
    while i < len(enters):
        instant = enters[i][0]
        touched = []
        while i < len(enters) and enters[i][0] == instant:
            gpu = enters[i][2]
            available.setdefault(gpu.node, {})[gpu.id] = gpu
            touched.append(gpu.node)
            total += 1
            i += 1
        # A GPU whose last valid start is before this instant has left (its booking comes first).
        while li < len(leaves) and leaves[li][0] < instant:
            gpu = leaves[li][2]
            if available.get(gpu.node, {}).pop(gpu.id, None) is not None:
                total -= 1
            li += 1
        if total < job.gpus:
            continue
        if mode == "topology" and not job.multi_node and not any(len(available[node]) >= job.gpus for node in touched):
            continue
        by_node = {
            node: sorted(gpus.values(), key=lambda g: gpu_order[g.id]) for node, gpus in available.items() if gpus
        }
        chosen = choose_gpus(by_node, job.gpus, job.multi_node, mode, node_rank)
        if chosen is not None:
            return HeadPlan(job_id=job.id, start=instant, gpus=tuple(g.id for g in chosen))
    return None


def may_start_beside_head(job: PendingJob, now: float, head: Optional[HeadPlan]) -> bool:
    """True when the job ends before the head's planned start, so it may use the head's GPUs too."""
    return head is None or now + job.time_limit <= head.start


def start_estimator(free_times: list, now: float, head: Optional[HeadPlan], head_job) -> Callable:
    """A function giving each job (its GPUs and time limit), called in rank order, its approximate start.

    It ignores nodes and bookings (the head's own plan is exact), so it is an estimate a person
    can read, not a promise. Jobs needing more GPUs than exist get None. GPUs are counted per
    instant they free (`free_at`), with a heap of those instants: a gang costs a few heap
    operations, not one per GPU, and the heap holds plain floats, which compare several times
    faster than (instant, count) tuples (the explain step makes one estimate per waiting job).
    """
    free_at: dict = {}  # instant -> how many GPUs free then
    for t in free_times:
        free_at[t] = free_at.get(t, 0) + 1
    heap = sorted(free_at)
    size = len(free_times)
    heappop, heappush, heapreplace = heapq.heappop, heapq.heappush, heapq.heapreplace

    def claim(gpus: int) -> float:
        """Take the earliest-free GPUs; the instant the last of them frees (or now)."""
        latest = now
        while gpus > 0:
            t = heap[0]
            free = free_at[t]
            latest = t if t > latest else latest
            if free <= gpus:
                heappop(heap)
                del free_at[t]
                gpus -= free
            else:
                free_at[t] = free - gpus
                gpus = 0
        return latest

    def release(t: float, gpus: int) -> None:
        if t in free_at:
            free_at[t] += gpus
        else:
            free_at[t] = gpus
            heappush(heap, t)

    if head is not None and head_job is not None and head_job.gpus <= size:
        claim(head_job.gpus)
        release(head.start + head_job.time_limit, head_job.gpus)

    def estimate(gpus: int, time_limit: float) -> Optional[float]:
        if gpus > size or gpus <= 0:
            return None
        t = heap[0]
        if free_at[t] == gpus:  # the earliest GPUs are exactly the gang's: one heap operation
            start = t if t > now else now
            end = start + time_limit
            del free_at[t]
            if end in free_at:
                free_at[end] += gpus
                heappop(heap)
            else:
                free_at[end] = gpus
                heapreplace(heap, end)
            return start
        start = claim(gpus)
        release(start + time_limit, gpus)
        return start

    return estimate
