"""The wait bound: no job waits far longer than the queue's typical job.

The multifactor ranking favours small, short jobs, and on a busy cluster a stream of them can keep
a big job behind them for weeks: the age term alone lifts it only after w_size / w_age hours. So a
job is *starving* once its wait exceeds

    threshold = max(starvation_floor_s, starvation_factor x median wait of the pending jobs)

and starving jobs rank before all others, oldest first, as a FIFO queue would take them. They
get no reservation for that: holding GPUs is still `reserve_min_age_s`'s (EASY backfill's head).

Why these choices (docs/benchmarks.md, "Wait bound", has the replays):
- Relative to the median wait, the bound stays out of the way where every job queues for weeks
  (moving the old ones first there only trades one long wait for another and costs average JCT)
  and acts where most jobs start soon and a few are left behind.
- Reserving GPUs for starving jobs was tried and rejected: it brought the worst wait of the one
  VC it helped (6214e9) to first-fit's only at +22 % to +64 % average JCT, and cost +15 % to
  +350 % on VCs whose starving jobs are a quarter of the cluster (b436b2).
- The defaults (16 median waits, at least 5 days) are the largest bound that keeps every queueing
  VC's average JCT within 5 % of the ranking alone; lower floors cost up to 14 % (6214e9).
- Lifting wide jobs sooner (`starvation_gpu_exponent` e: a job of g GPUs starves after
  threshold / g ** e) was replayed and left off (default 0): at e = 1 it brings 6214e9's worst wait
  from 469 h to 190 h, still 1.45x fjf's, at +21 % average JCT, and the worst waits move to long
  single-GPU jobs. No rule replayed met both targets on 6214e9: there a bound relative to the
  median never fires in the saturated stretch (the median wait itself reaches 40-100 h), and the
  cheapest rule found that meets the wait target (a 4x size weight, a reservation after 3 days,
  starving after 125 h whatever the median) costs +18 % average JCT (docs/benchmarks.md, "what
  meeting 6214e9's bound costs").
"""

from __future__ import annotations

import math
import operator
import statistics
from typing import Optional

from scheduler.policy.types import PolicyConfig

NEVER = math.inf
_submit = operator.attrgetter("submit")
_gpus = operator.attrgetter("gpus")


def starvation_threshold(pending: tuple, now: float, config: PolicyConfig) -> float:
    """The wait after which a pending job is starving (infinite when the bound is off)."""
    if config.starvation_factor <= 0 or not pending or config.ranking == "submit_order":
        return NEVER
    median_wait = now - statistics.median(map(_submit, pending))
    return max(config.starvation_floor_s, config.starvation_factor * max(0.0, median_wait))


def starving_first(
    ranked: list,
    now: float,
    threshold: float,
    oldest_only: bool = False,
    gpu_exponent: float = 0.0,
    pending: Optional[tuple] = None,
) -> list:
    """The ranked queue with its starving jobs moved to the front, oldest first (ties: rank).

    With `gpu_exponent` e > 0 a job of g GPUs starves after threshold / g**e: a gang needs g GPUs
    free at one instant, which a stream of small jobs makes rarer the larger g is. `pending`, the
    same jobs in input order, makes the usual answer (nobody starves) cheaper: in input order the
    jobs lie in memory in the order they are read, in rank order they do not.
    """
    if not anyone_starving(ranked if pending is None else pending, now, threshold, gpu_exponent):
        return ranked
    positions = starving_first_positions(ranked, now, threshold, oldest_only, gpu_exponent)
    if positions is None:
        return ranked
    return [ranked[position] for position in positions]


def starving_first_order(order: list, pending: tuple, now: float, threshold: float, gpu_exponent: float = 0.0) -> list:
    """`starving_first` over a rank order given as indices into `pending` (what the pass walks)."""
    if not anyone_starving(pending, now, threshold, gpu_exponent):
        return order  # the usual case: the jobs read in input (memory) order, no list built
    positions = starving_first_positions([pending[i] for i in order], now, threshold, False, gpu_exponent)
    if positions is None:
        return order
    return [order[position] for position in positions]


def anyone_starving(jobs, now: float, threshold: float, gpu_exponent: float) -> bool:
    """Whether any of the jobs might starve (exact for gpu_exponent 0): one pass in C."""
    if threshold == NEVER or not jobs:
        return False
    if gpu_exponent > 0:
        widest = max(map(_gpus, jobs))
        return min(map(_submit, jobs)) <= now - threshold / widest**gpu_exponent
    return min(map(_submit, jobs)) <= now - threshold


def starving_first_positions(
    ranked: list, now: float, threshold: float, oldest_only: bool, gpu_exponent: float
) -> Optional[list]:
    """Rank positions in the order `starving_first` gives them, or None when nobody starves."""
    if gpu_exponent > 0:
        starving = [
            (job.submit, position)
            for position, job in enumerate(ranked)
            if now - job.submit >= threshold / max(1, job.gpus) ** gpu_exponent
        ]
    else:
        cutoff = now - threshold
        starving = [(job.submit, position) for position, job in enumerate(ranked) if job.submit <= cutoff]
    if not starving:
        return None
    starving.sort()
    if oldest_only:
        starving = starving[:1]
    moved = {position for _, position in starving}
    front = [position for _, position in starving]
    return front + [position for position in range(len(ranked)) if position not in moved]
