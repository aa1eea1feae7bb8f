"""The walk's bulk step: settle a run of jobs at once while nothing in the pass changes.

Past the first few thousand jobs of a long queue nothing more starts: each job is blocked by a team
limit or waits for a reason its kind already has (`Pass.run`). Between two changes of the pass's
state (a start, a preemption, the head) every such answer is a function of the job's columns, so
a run of jobs is settled with array operations instead of one loop turn each. The run stops at the
first job whose answer is not such a function, and the walk decides that one itself:
- a job in a booking, or one that may preempt;
- a job of a kind not seen yet that would start now (a kind not seen yet that does not fit gets
  its answer here, exactly as `Pass.start_or_wait` gives it);
- a job that would hold GPUs as the head, or end the walk (strict FIFO, EASY's test limit).
The answers are the walk's own: tests/scheduler/policy/test_pass_equivalence.py pins them, with the
bulk step on and off.
"""

from __future__ import annotations

import math

import numpy

from scheduler.policy import reasons
from scheduler.policy.types import HOUR

INFINITY = math.inf
RESOURCE_WAITS = (reasons.WAITING_FOR_GPUS, reasons.BOOKED_WINDOW)
FIRST_RUN = 256  # jobs settled by the first call after a change; doubled while nothing changes
LONGEST_RUN = 8192


class BulkWalk:
    """Rank-ordered arrays of the queue and the settling of runs of jobs over them."""

    def __init__(self, work, queue, slot_names: list, slots, borrows_freely, preempting, may_reserve):
        self.work = work
        self.queue = queue
        self.slot_names = slot_names  # slot -> team name; slot 0: a team without limits
        self.slots = slots
        self.gpus = queue.gpu_counts
        # As `TeamLedger.limit_block` computes it: GPUs x time limit in hours.
        self.gpu_hours = queue.gpu_counts * queue.time_limit_array / HOUR
        self.borrows_freely = borrows_freely
        self.in_booking = queue.in_booking
        self.kinds = queue.kind_array
        self.preempting = preempting
        self.may_reserve = may_reserve
        self.run_length = FIRST_RUN

    def settle(self, start: int, head_set: bool, tested_after_head: int, ends_after_head) -> tuple:
        """Settle jobs from `start` on; (first job left to the walk, jobs tested after the head, whether
        the run stopped at such a job rather than at the end of its span)."""
        work = self.work
        end = min(len(self.queue), start + self.run_length)
        span = slice(start, end)
        gpus, slots = self.gpus[span], self.slots[span]
        held, cap, hours_left, guaranteed = self.team_limits()
        team_held = held[slots]
        limited = (slots > 0) & ~self.in_booking[span]
        over_cap = limited & (team_held + gpus > cap[slots])
        over_hours = limited & ~over_cap & (self.gpu_hours[span] > hours_left[slots] + 1e-9)
        over_borrow = (
            limited & ~over_cap & ~over_hours & (team_held + gpus > guaranteed[slots]) & ~self.borrows_freely[span]
        )
        passed = ~(over_cap | over_hours | over_borrow)
        stops = self.in_booking[span].copy()
        if self.preempting is not None and work.head is None:
            stops |= passed & self.preempting[span] & (team_held + gpus <= guaranteed[slots])
        if head_set:
            tested_before = tested_after_head + numpy.cumsum(passed) - passed
            stops |= tested_before >= work.config.bf_max_job_test
        stop = first_true(stops)
        kinds = self.kinds[span][:stop]
        if ends_after_head is not None:
            kinds = numpy.where(ends_after_head[span][:stop], ~kinds, kinds)
        passed = passed[:stop]
        table, rows, known = self.known_kinds(kinds)
        if not known[passed].all():
            stop = self.learn_new_kinds(start, kinds, passed & ~known, stop)
            kinds, passed = kinds[:stop], passed[:stop]
            table, rows, known = self.known_kinds(kinds)
        rows, passed = rows[:stop], passed[:stop]
        stop = self.before_head_or_strict_stop(start, table, rows, passed, head_set, stop)
        self.write_statuses(start, table, rows[:stop], passed[:stop], over_cap[:stop], over_hours[:stop])
        stopped = start + stop < end
        self.run_length = FIRST_RUN if stopped else min(2 * self.run_length, LONGEST_RUN)
        return start + stop, int(passed[:stop].sum()) if head_set else 0, stopped

    def known_kinds(self, kinds) -> tuple:
        """(statuses of the kinds known not to fit, each job's row in them, whether its kind is known)."""
        no_fit = self.work.no_fit
        table = list(no_fit.values())
        if not table:
            return table, numpy.zeros(len(kinds), dtype=numpy.int64), numpy.zeros(len(kinds), dtype=bool)
        keys = numpy.fromiter(no_fit, dtype=numpy.int64, count=len(table))
        order = numpy.argsort(keys)
        rows = order[numpy.searchsorted(keys, kinds, sorter=order).clip(0, len(keys) - 1)]
        return table, rows, keys[rows] == kinds

    def team_limits(self) -> tuple:
        """Per slot, as the ledger stands: GPUs held, cap, GPU-hours left, guarantee (infinity: none)."""
        ledger = self.work.ledger
        held, cap, hours_left, guaranteed = [0], [INFINITY], [INFINITY], [INFINITY]
        for name in self.slot_names[1:]:
            team = ledger.team(name)
            held.append(ledger.held(name))
            cap.append(INFINITY if team.max_gpus is None else team.max_gpus)
            left = ledger.hours_left.get(name)
            hours_left.append(INFINITY if left is None else left)
            guaranteed.append(INFINITY if team.guaranteed_gpus is None else team.guaranteed_gpus)
        return tuple(numpy.array(values, dtype=float) for values in (held, cap, hours_left, guaranteed))

    def learn_new_kinds(self, start: int, kinds, unknown, stop: int) -> int:
        """Give each kind not seen yet its answer, in queue order, up to the first that would start now."""
        work = self.work
        _, first = numpy.unique(kinds[unknown], return_index=True)
        for local in numpy.sort(numpy.flatnonzero(unknown)[first]).tolist():
            job = self.queue.job(start + local)
            if work.fits_now(job):
                return local  # it starts: the walk places it
            work.no_fit[int(kinds[local])] = work.wait_status(job)  # as start_or_wait: it does not fit
        return stop

    def before_head_or_strict_stop(self, start: int, table: list, rows, passed, head_set: bool, stop: int) -> int:
        """The run ends before the first job waiting for GPUs that would end the walk (strict FIFO) or
        become the head (EASY); the walk takes that job itself."""
        backfill = self.work.config.backfill
        if backfill == "none":
            candidates = passed
        elif backfill == "easy" and not head_set and self.may_reserve is not None:
            candidates = passed & self.may_reserve[start : start + stop]
        else:
            return stop
        waits = numpy.array([status[0] in RESOURCE_WAITS for status in table], dtype=bool)
        return min(stop, first_true(candidates & waits[rows])) if len(table) else stop

    def write_statuses(self, start: int, table: list, rows, passed, over_cap, over_hours) -> None:
        """The settled jobs' statuses: their kind's, or their team limit's."""
        count = len(rows)
        if count == 0:
            return
        blocked = ~passed
        if blocked.any():
            # A blocked job's row: after the kinds' statuses, its team's three limits' (limit_statuses).
            limit = numpy.where(over_cap, 0, numpy.where(over_hours, 1, 2))
            rows = numpy.where(blocked, len(table) + self.slots[start : start + count] * 3 + limit, rows)
            table = table + self.limit_statuses()
        self.work.statuses[start : start + count] = list(map(table.__getitem__, rows.tolist()))

    def limit_statuses(self) -> list:
        """Per slot, the statuses of its three limits as the ledger stands (as `limit_block` words them)."""
        ledger, config = self.work.ledger, self.work.config
        statuses = [None, None, None]
        for name in self.slot_names[1:]:
            team = ledger.team(name)
            left = ledger.hours_left.get(name)
            statuses.append(
                None if team.max_gpus is None else reasons.status(reasons.TEAM_GPU_CAP, limit=team.max_gpus)
            )
            statuses.append(None if left is None else reasons.status(reasons.TEAM_QUOTA, remaining=max(0.0, left)))
            statuses.append(
                None
                if team.guaranteed_gpus is None
                else reasons.status(
                    reasons.BORROW_LIMIT, guaranteed=team.guaranteed_gpus, borrow_hours=config.borrow_limit_s / HOUR
                )
            )
        return statuses


def first_true(flags) -> int:
    """Index of the first True, or the length when there is none."""
    index = int(numpy.argmax(flags)) if len(flags) else 0
    return index if len(flags) and flags[index] else len(flags)
