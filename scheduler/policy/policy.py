"""One scheduling pass: `schedule(state, config) -> Decision`.

Reads as the rules in order:
1. rank the pending jobs (ranking.py);
2. walk them best first; each must pass its booking rule (bookings.py) and its team limits
   (quotas.py), then gets GPUs by gang best fit (placement.py) on GPUs it may use;
3. a job that does not fit may take back GPUs its team is guaranteed from preemptible borrowers
   (preemption.py);
4. the first job that still does not fit becomes the head: it gets a planned start and held GPUs,
   and later jobs start only where they cannot delay it (backfill.py, EASY); strict FIFO stops
   at it instead, first-fit ignores it;
5. every job left waiting gets a reason, a queue position and an estimated start.

The queue is read once into flat columns (columns.py); the walk settles long runs of jobs whose
answers cannot change with array operations (bulk.py) and decides the others one by one.
"""

from __future__ import annotations

import functools
import gc
import itertools
import math
import operator
from bisect import bisect_left
from contextlib import contextmanager
from typing import Callable, Optional

from scheduler.policy import reasons
from scheduler.policy.backfill import may_start_beside_head, plan_head, start_estimator
from scheduler.policy.bookings import booked_from, booking_block, bookings_by_gpu
from scheduler.policy.bulk import BulkWalk
from scheduler.policy.columns import PendingColumns, RankedQueue
from scheduler.policy.placement import FreePool, FreeView, choose_gpus, eligible_by_node
from scheduler.policy.preemption import preempt_for, victim_order
from scheduler.policy.quotas import TeamLedger
from scheduler.policy.ranking import rank_order
from scheduler.policy.starvation import starvation_threshold, starving_first_order
from scheduler.policy.types import (
    ClusterState,
    Decision,
    PendingJob,
    PendingStatus,
    PolicyConfig,
)

INFINITY = math.inf
RESOURCE_WAITS = (reasons.WAITING_FOR_GPUS, reasons.BOOKED_WINDOW)
# Reasons that get no estimated start (a job waiting for its booking gets the booking's start).
NO_ESTIMATE = frozenset(
    (
        reasons.NO_ELIGIBLE_GPU,
        reasons.TEAM_QUOTA,
        reasons.BOOKING_TOO_SHORT,
        reasons.BOOKING_NOT_USABLE,
        reasons.BOOKING_NOT_STARTED,
    )
)
# Jobs walked one by one since the pass last changed before a run of them is settled in bulk
# (bulk.py): near the top of the queue, where jobs start every few places, the loop is cheaper.
BULK_AFTER = 32
_code = operator.itemgetter(0)
_text = operator.itemgetter(1)
# A PendingStatus from a row tuple in C (the named tuple's own constructor is Python code).
_pending_status = functools.partial(tuple.__new__, PendingStatus)


class Pass:
    """The working state of one pass: what is free, who holds what, what was decided so far."""

    def __init__(self, state: ClusterState, config: PolicyConfig):
        self.state = state
        self.config = config
        self.now = state.now
        self.gpu_by_id = {g.id: g for g in state.gpus}
        self.gpu_order = {g.id: i for i, g in enumerate(state.gpus)}
        self.node_rank: dict = {}
        for gpu in state.gpus:
            self.node_rank.setdefault(gpu.node, len(self.node_rank))
        busy = set()
        for job in state.running:
            busy.update(job.gpus)
        self.pool = FreePool([g for g in state.gpus if g.usable and g.id not in busy], self.node_rank)
        self.bookings = {b.id: b for b in state.bookings}
        self.horizon = booked_from(state.bookings, self.now)
        self.earliest_booking = min(self.horizon.values(), default=INFINITY)
        self.booking_starts = sorted(set(self.horizon.values()))
        self.ledger = TeamLedger(state.teams, state.running)
        self.placements: dict = {}
        self.placed_jobs: list = []
        self.preempted: list = []
        self.statuses: list = []  # per rank position: (code, message) while waiting, None when placed
        self.head = None
        self.head_job: Optional[PendingJob] = None
        self.head_position: Optional[int] = None
        self.head_gpus: frozenset = frozenset()
        self.eligible_cache: dict = {}
        self.texts: dict = {}
        self.usable_per_class: dict = {}
        self.no_fit: dict = {}  # kind -> why jobs of that kind wait, until the pool or the head changes
        self.any_preemptible = any(r.preemptible and r.booking_id is None for r in state.running)

    # --- which GPUs a job may use -------------------------------------------------------------

    def constraint(self, job: PendingJob) -> Optional[Callable]:
        """Model and minimum memory, and for a job in a booking, that booking's GPUs."""
        model, memory = job.model, job.min_memory_mb
        if job.booking_id is not None:
            booked = frozenset(self.bookings[job.booking_id].gpus)
            return lambda g: g.id in booked and (not model or g.model == model) and g.memory_mb >= memory
        if not model and memory <= 0:
            return None
        return lambda g: (not model or g.model == model) and g.memory_mb >= memory

    def accept_now(self, job: PendingJob, honour_bookings: bool = True, honour_head: bool = True) -> Optional[Callable]:
        """The predicate on free GPUs for starting now: constraints, bookings ahead, the head's GPUs."""
        return self.make_accept(job, self.booking_cut(job, honour_bookings), self.avoids_head(job, honour_head))

    def booking_cut(self, job: PendingJob, honour_bookings: bool) -> int:
        """How many distinct booking starts fall before the job would end (0: bookings do not matter)."""
        end = self.now + job.time_limit
        if end <= self.earliest_booking or not honour_bookings or job.booking_id is not None:
            return 0
        return bisect_left(self.booking_starts, end)

    def avoids_head(self, job: PendingJob, honour_head: bool) -> bool:
        """A job ending after the head's planned start may not use the GPUs held for the head."""
        return honour_head and bool(self.head_gpus) and not may_start_beside_head(job, self.now, self.head)

    def make_accept(self, job: PendingJob, cut: int, avoid_head: bool) -> Optional[Callable]:
        base = self.constraint(job)
        if cut == 0 and not avoid_head:
            return base
        # GPUs whose next booking starts at or before the cut-th start are out: the job ends later.
        last_start = self.booking_starts[cut - 1] if cut > 0 else -INFINITY
        horizon, head_gpus = self.horizon, self.head_gpus

        def accept(g) -> bool:
            if base is not None and not base(g):
                return False
            if horizon.get(g.id, INFINITY) <= last_start:
                return False
            return not (avoid_head and g.id in head_gpus)

        return accept

    def eligible(self, job: PendingJob, honour_bookings: bool = True, honour_head: bool = True) -> tuple:
        """(free GPUs by node, total, most on one node) the job may use now.

        Cached per kind of job (constraints, bookings cut, head) and kept up to date as GPUs are
        taken, because thousands of waiting jobs share a handful of kinds.
        """
        cut = self.booking_cut(job, honour_bookings)
        avoid_head = self.avoids_head(job, honour_head)
        key = (job.model, job.min_memory_mb, job.booking_id, cut, avoid_head)
        view = self.eligible_cache.get(key)
        if view is None:
            accept = self.make_accept(job, cut, avoid_head)
            if accept is None:
                view = self.pool
            else:
                view = FreeView(eligible_by_node(self.pool.by_node, accept), self.node_rank)
            self.eligible_cache[key] = view
        return view

    def take(self, gpus: tuple) -> None:
        """Remove GPUs from the pool and from every cached eligible view."""
        taken = {g.id for g in gpus}
        nodes = sorted({g.node for g in gpus}, key=self.node_rank.__getitem__)
        self.pool.remove(taken, nodes)
        self.no_fit.clear()
        for view in self.eligible_cache.values():
            if view is not self.pool:
                view.remove(taken, nodes)

    def fits_somewhere(self, job: PendingJob) -> bool:
        """Could the gang ever fit on usable GPUs meeting its constraints (busy or not)?"""
        key = (job.model, job.min_memory_mb, job.booking_id)
        counts = self.usable_per_class.get(key)
        if counts is None:
            base = self.constraint(job)
            per_node: dict = {}
            for gpu in self.state.gpus:
                if gpu.usable and (base is None or base(gpu)):
                    per_node[gpu.node] = per_node.get(gpu.node, 0) + 1
            counts = self.usable_per_class[key] = (sum(per_node.values()), max(per_node.values(), default=0))
        if self.config.placement == "count" or job.multi_node:
            return counts[0] >= job.gpus
        return counts[1] >= job.gpus

    # --- placing --------------------------------------------------------------------------------

    def fits_now(self, job: PendingJob, honour_bookings: bool = True, honour_head: bool = True) -> bool:
        """Whether the gang fits the free GPUs it may use, by counts alone.

        Exact for our placements: count and multi-node placement need enough GPUs in all, a
        single-node gang one node with enough; so a job that cannot start costs no search.
        """
        view = self.eligible(job, honour_bookings, honour_head)
        if job.gpus > view.total:
            return False
        return self.config.placement != "topology" or job.multi_node or job.gpus <= view.max_on_node

    def place_now(self, job: PendingJob) -> Optional[tuple]:
        """Gang GPUs for the job from the free GPUs it may use, or None."""
        if not self.fits_now(job):
            return None
        view = self.eligible(job)
        if self.config.placement == "topology":
            node = view.best_fit_node(job.gpus)
            if node is not None:
                return tuple(view.by_node[node][: job.gpus])
        return choose_gpus(view.by_node, job.gpus, job.multi_node, self.config.placement, self.node_rank)

    def commit(self, job: PendingJob, gpus: tuple) -> None:
        self.take(gpus)
        self.ledger.charge(job)
        self.placements[job.id] = tuple(g.id for g in gpus)
        self.placed_jobs.append(job)

    def try_preemption(self, job: PendingJob) -> Optional[tuple]:
        """Take GPUs back from preemptible borrowers for a job within its team's guarantee (`may_preempt`)."""
        done = {v.id for v in self.preempted}
        index = {r.id: i for i, r in enumerate(self.state.running)}
        # A job inside its own booking frees nothing an outside job may use: never a victim.
        candidates = [r for r in self.state.running if r.preemptible and r.id not in done and r.booking_id is None]
        if not candidates:
            return None
        accept = self.accept_now(job)
        free_by_node = eligible_by_node(self.pool.by_node, accept)
        found = preempt_for(
            job,
            victim_order(candidates, index),
            free_by_node,
            accept,
            self.gpu_by_id,
            self.ledger,
            self.config.placement,
            self.node_rank,
            self.gpu_order,
        )
        if found is None:
            return None
        chosen, victims = found
        chosen_ids = {g.id for g in chosen}
        for victim in victims:
            self.preempted.append(victim)
            self.ledger.release(victim)
            spare = [
                self.gpu_by_id[g]
                for g in victim.gpus
                if g in self.gpu_by_id and self.gpu_by_id[g].usable and g not in chosen_ids
            ]
            if spare:
                self.pool.give(spare, self.gpu_order)
                self.eligible_cache.clear()
                self.no_fit.clear()  # GPUs came back: views are rebuilt on demand
        # The chosen GPUs that were free before are taken from the pool; victims' ones never entered it.
        free_chosen = tuple(g for g in chosen if any(g is f for f in self.pool.by_node.get(g.node, ())))
        self.take(free_chosen)
        self.ledger.charge(job)
        self.placements[job.id] = tuple(g.id for g in chosen)
        self.placed_jobs.append(job)
        return chosen

    # --- why a job waits ------------------------------------------------------------------------

    def wait_reason(self, job: PendingJob) -> str:
        """Classify a job that did not fit: never fits, blocked by bookings, or waiting for GPUs."""
        if not self.fits_somewhere(job):
            return reasons.NO_ELIGIBLE_GPU
        if job.booking_id is None and self.now + job.time_limit > self.earliest_booking:
            if self.fits_now(job, honour_bookings=False):
                return reasons.BOOKED_WINDOW
        return reasons.WAITING_FOR_GPUS

    def status_for(self, code: str, gpus: int) -> tuple:
        # One (code, text) tuple per kind of reason, shared by the thousands of jobs that wait for it.
        key = (code, gpus)
        status = self.texts.get(key)
        if status is None:
            status = self.texts[key] = (code, reasons.reason_text(code, gpus=gpus))
        return status

    # --- the head ---------------------------------------------------------------------------------

    def make_head(self, job: PendingJob, position: int) -> None:
        """Plan the head's start over GPU free times (running jobs and this pass's placements)."""
        base = self.constraint(job)
        free_at = {}
        for gpu in self.pool_gpus():
            free_at[gpu.id] = self.now
        preempted = {v.id for v in self.preempted}
        for running in self.state.running:
            if running.id in preempted:
                continue
            for gpu_id in running.gpus:
                free_at[gpu_id] = max(self.now, running.end_by)
        for placed in self.placed_jobs:
            for gpu_id in self.placements[placed.id]:
                free_at[gpu_id] = self.now + placed.time_limit
        candidates = [g for g in self.state.gpus if g.usable and g.id in free_at and (base is None or base(g))]
        booking = self.bookings.get(job.booking_id) if job.booking_id is not None else None
        self.head = plan_head(
            job,
            candidates,
            free_at,
            bookings_by_gpu(self.state.bookings, self.now),
            booking,
            self.config.placement,
            self.node_rank,
            self.gpu_order,
        )
        self.head_job = job
        self.head_position = position
        self.no_fit.clear()  # jobs may now wait behind the head
        if self.head is not None:
            self.head_gpus = frozenset(self.head.gpus)

    def pool_gpus(self) -> list:
        return [g for gpus in self.pool.by_node.values() for g in gpus]

    # --- the walk ---------------------------------------------------------------------------------

    def run(self, queue: RankedQueue) -> None:
        """Walk the ranked queue once: start each job that may start, record why the others wait.

        Written as one loop over the queue's flat columns with the per-job fast path inline (a
        dictionary lookup for a job whose kind is already known not to fit): it runs for every
        pending job each pass, and touches a job object only where a decision is made about it.
        """
        config = self.config
        explain = config.explain
        backfill = config.backfill
        bf_max_job_test = config.bf_max_job_test
        quiet_stop = not explain and not config.allow_preemption
        ledger, pool, no_fit = self.ledger, self.pool, self.no_fit
        time_limits = queue.time_limits
        slot_names = [None, *sorted(ledger.limited)]
        slots = queue.team_slots({name: slot for slot, name in enumerate(slot_names) if slot})  # 0: no limits
        borrows_freely = queue.borrows_freely(config.borrow_limit_s)
        preempt_teams = self.preempting_teams()
        preempting = queue.teams_in(preempt_teams) if preempt_teams else None
        # Only a job waiting at least `reserve_min_age_s` holds GPUs as the head (Slurm's
        # bf_min_age_reserve): a big young job does not idle GPUs that small jobs could use.
        may_reserve = queue.waited_at_least(self.now, config.reserve_min_age_s) if backfill == "easy" else None
        bulk = BulkWalk(self, queue, slot_names, slots, borrows_freely, preempting, may_reserve)
        # The loop reads plain lists (indexing a numpy array per job costs more).
        slots, borrows_freely = slots.tolist(), borrows_freely.tolist()
        preempting = None if preempting is None else preempting.tolist()
        may_reserve = None if may_reserve is None else may_reserve.tolist()
        statuses = self.statuses = [None] * len(queue)
        settled_before = 0  # jobs up to here are settled in bulk
        since_change = 0  # jobs walked one by one since the pass last changed (or the bulk step stopped)
        head_set = False
        ends_after_head = ends_after_head_array = None  # per job, once the head holds GPUs: may it not use them
        strict_stop = False
        tested_after_head = 0
        columns = zip(queue.gpus, queue.kinds, slots, queue.booking_ids)
        for position, (gpus, kind, team_limited, booking_id) in enumerate(columns):
            if position < settled_before:
                continue
            if strict_stop or (head_set and tested_after_head >= bf_max_job_test):
                if not explain:
                    break  # nothing behind can start; reasons are not wanted (the replay)
                statuses[position] = self.status_for(reasons.BEHIND_HIGHER_PRIORITY, gpus)
                continue
            if quiet_stop and pool.total == 0:
                break  # no free GPU and no preemption: nothing more can start this pass
            if since_change >= BULK_AFTER:
                settled_before, tested, stopped = bulk.settle(
                    position, head_set, tested_after_head, ends_after_head_array
                )
                tested_after_head += tested
                if stopped:
                    since_change = 0
                if settled_before > position:
                    continue
            since_change += 1
            if booking_id is not None:
                code = booking_block(queue.job(position), self.bookings.get(booking_id), self.now)
                if code is not None:
                    statuses[position] = self.status_for(code, gpus)
                    continue
            elif team_limited:
                blocked = ledger.limit_block(
                    slot_names[team_limited], gpus, time_limits[position], borrows_freely[position], config
                )
                if blocked is not None:
                    statuses[position] = blocked  # (code, message), shared by the jobs it blocks alike
                    continue
            if head_set:
                tested_after_head += 1
                if ends_after_head is not None and ends_after_head[position]:
                    kind = ~kind  # the same kind, but it may not use the GPUs held for the head
            may_preempt = preempting is not None and preempting[position] and self.may_preempt(queue.job(position))
            status = no_fit.get(kind)
            if status is None or may_preempt:
                since_change = 0
                status = self.start_or_wait(queue.job(position), kind, may_preempt)
                if status is None:
                    continue  # started
            statuses[position] = status
            if status[0] in RESOURCE_WAITS:
                if backfill == "none":
                    strict_stop = True
                elif may_reserve is not None and not head_set and may_reserve[position]:
                    self.make_head(queue.job(position), position)
                    head_set = True
                    if self.head_gpus:
                        ends_after_head_array = queue.ends > self.head.start
                        ends_after_head = ends_after_head_array.tolist()

    def start_or_wait(self, job: PendingJob, kind: int, may_preempt: bool) -> Optional[tuple]:
        """Start the job now (free GPUs, else preempted borrowers' GPUs), or say why it waits.

        None when it started, else its status. Whether a job fits, and why not, depends only on its
        kind (see `run`) while no GPU is taken and no head is set; thousands of waiting jobs share a
        few kinds, so the answer (its status) is remembered until the pool changes.
        """
        gpus = self.place_now(job)
        if gpus is None and may_preempt:
            if self.try_preemption(job) is not None:
                return None
        if gpus is not None:
            self.commit(job, gpus)
            return None
        status = self.no_fit[kind] = self.wait_status(job)
        return status

    def preempting_teams(self) -> frozenset:
        """Teams whose jobs may preempt at all this pass: those with a guarantee, when anyone may be preempted."""
        if not (self.any_preemptible and self.config.allow_preemption):
            return frozenset()
        return frozenset(t.name for t in self.state.teams if t.guaranteed_gpus is not None)

    def may_preempt(self, job: PendingJob) -> bool:
        if not (self.any_preemptible and self.config.allow_preemption):
            return False
        return job.booking_id is None and self.head is None and self.ledger.within_guarantee(job)

    def wait_status(self, job: PendingJob) -> tuple:
        """Why a job that cannot start now waits: (code, message)."""
        if not self.config.explain and self.config.backfill != "easy" and self.config.backfill != "none":
            return self.status_for(reasons.WAITING_FOR_GPUS, job.gpus)
        code = self.wait_reason(job)
        if code == reasons.WAITING_FOR_GPUS and self.head_job is not None:
            # It could be waiting only because the head's GPUs are held for it.
            if self.fits_now(job, honour_head=False):
                code = reasons.BEHIND_HIGHER_PRIORITY
        return self.status_for(code, job.gpus)

    # --- the decision -----------------------------------------------------------------------------

    def decision(self, queue: RankedQueue) -> Decision:
        statuses = ()
        if self.config.explain:
            statuses = self.explain(queue)
        return Decision(
            placements=self.placements,
            preemptions=tuple(v.id for v in self.preempted),
            pending=statuses,
            head=self.head,
            order=tuple(queue.ids),
        )

    def explain(self, queue: RankedQueue) -> tuple:
        """Reason, position and estimated start for every job left waiting, in queue order.

        Built column by column with C-level maps; only the estimates, which depend on the jobs
        before, are a loop (a heap operation or two per job).
        """
        statuses = self.statuses
        waiting = list(map(operator.is_not, statuses, itertools.repeat(None)))  # per rank: not placed
        waiting_statuses = list(filter(None, statuses))
        codes = list(map(_code, waiting_statuses))
        starts = [None] * len(codes)
        estimated = list(map(operator.not_, map(NO_ESTIMATE.__contains__, codes)))
        if self.head is not None:
            head_index = waiting[: self.head_position].count(True)
            starts[head_index], estimated[head_index] = self.head.start, False
        estimate = start_estimator(self.free_times(), self.now, self.head, self.head_job)
        # In queue order: each estimate claims GPUs the jobs after it cannot have.
        gpus = itertools.compress(itertools.compress(queue.gpus, waiting), estimated)
        time_limits = itertools.compress(itertools.compress(queue.time_limits, waiting), estimated)
        for index, start in zip(itertools.compress(range(len(codes)), estimated), map(estimate, gpus, time_limits)):
            starts[index] = start
        if reasons.BOOKING_NOT_STARTED in codes:
            booking_ids = list(itertools.compress(queue.booking_ids, waiting))
            for index, code in enumerate(codes):
                if code == reasons.BOOKING_NOT_STARTED:
                    starts[index] = self.bookings[booking_ids[index]].start
        rows = zip(
            itertools.compress(queue.ids, waiting),
            codes,
            map(_text, waiting_statuses),
            range(1, len(codes) + 1),
            starts,
        )
        return tuple(map(_pending_status, rows))

    def free_times(self) -> list:
        """When each usable GPU frees, by the time limits of running jobs and of this pass's placements."""
        preempted = {v.id for v in self.preempted}
        busy_end = {}
        for running in self.state.running:
            if running.id not in preempted:
                for gpu_id in running.gpus:
                    busy_end[gpu_id] = max(self.now, running.end_by)
        for placed in self.placed_jobs:
            for gpu_id in self.placements[placed.id]:
                busy_end[gpu_id] = self.now + placed.time_limit
        return [busy_end.get(g.id, self.now) for g in self.state.gpus if g.usable]


def schedule(state: ClusterState, config: PolicyConfig = PolicyConfig()) -> Decision:
    """Decide which pending jobs start now on which GPUs, which jobs to requeue, and why others wait."""
    with cyclic_gc_paused():
        # In a function of its own: its working state (the queue's columns, the pass) is freed when
        # it returns, before the collector runs again, so the collector sees only the decision.
        return decide(state, config)


def decide(state: ClusterState, config: PolicyConfig) -> Decision:
    columns = PendingColumns(state.pending)
    starving_after = starvation_threshold(state.pending, state.now, config)
    order = starving_first_order(
        rank_order(state, config, columns),
        state.pending,
        state.now,
        starving_after,
        gpu_exponent=config.starvation_gpu_exponent,
    )
    work = Pass(state, config)
    queue = RankedQueue(columns, order, state.now, work.booking_starts, work.earliest_booking)
    work.run(queue)
    return work.decision(queue)


@contextmanager
def cyclic_gc_paused():
    """A pass allocates a status per waiting job and makes no reference cycles; left on, the cyclic
    collector would rescan the whole state (every pending job) several times a pass, a cost that
    grows faster than the queue (bench/policy.py: about a sixth of the pass at 4x). It runs again
    once the pass's working state is freed (see `schedule`): then it scans only the decision."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
