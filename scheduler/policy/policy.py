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
"""

from __future__ import annotations

import gc
import math
from bisect import bisect_left
from contextlib import contextmanager
from typing import Callable, Optional

from scheduler.policy import reasons
from scheduler.policy.backfill import may_start_beside_head, plan_head, start_estimator
from scheduler.policy.bookings import booked_from, booking_block, bookings_by_gpu
from scheduler.policy.placement import FreePool, FreeView, choose_gpus, eligible_by_node
from scheduler.policy.preemption import preempt_for, victim_order
from scheduler.policy.quotas import TeamLedger
from scheduler.policy.ranking import rank_pending
from scheduler.policy.starvation import starvation_threshold, starving_first
from scheduler.policy.types import (
    ClusterState,
    Decision,
    PendingJob,
    PendingStatus,
    PolicyConfig,
)

INFINITY = math.inf
RESOURCE_WAITS = (reasons.WAITING_FOR_GPUS, reasons.BOOKED_WINDOW)
NO_ESTIMATE = (
    reasons.NO_ELIGIBLE_GPU,
    reasons.TEAM_QUOTA,
    reasons.BOOKING_TOO_SHORT,
    reasons.BOOKING_NOT_USABLE,
)


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
        self.statuses: dict = {}
        self.head = None
        self.head_job: Optional[PendingJob] = None
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

    def set_status(self, job: PendingJob, code: str) -> None:
        # One (code, text) tuple per kind of reason, shared by the thousands of jobs that wait for it.
        key = (code, job.gpus)
        status = self.texts.get(key)
        if status is None:
            status = self.texts[key] = (code, reasons.reason_text(code, gpus=job.gpus))
        self.statuses[job.id] = status

    # --- the head ---------------------------------------------------------------------------------

    def make_head(self, job: PendingJob) -> None:
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
        self.no_fit.clear()  # jobs may now wait behind the head
        if self.head is not None:
            self.head_gpus = frozenset(self.head.gpus)

    def pool_gpus(self) -> list:
        return [g for gpus in self.pool.by_node.values() for g in gpus]

    # --- the walk ---------------------------------------------------------------------------------

    def run(self, ranked: list) -> None:
        """Walk the ranked queue once: start each job that may start, record why the others wait.

        Written as one loop with the per-job fast path inline (a dictionary lookup for a job whose
        kind is already known not to fit): it runs for every pending job each pass.
        """
        config = self.config
        explain = config.explain
        backfill = config.backfill
        bf_max_job_test = config.bf_max_job_test
        quiet_stop = not explain and not config.allow_preemption
        limited = self.ledger.limited
        preempt_teams = self.preempting_teams()
        statuses, no_fit, pool = self.statuses, self.no_fit, self.pool
        now, earliest_booking, booking_starts = self.now, self.earliest_booking, self.booking_starts
        strict_stop = False
        tested_after_head = 0
        for job in ranked:
            if strict_stop or (self.head_job is not None and tested_after_head >= bf_max_job_test):
                if not explain:
                    break  # nothing behind can start; reasons are not wanted (the replay)
                self.set_status(job, reasons.BEHIND_HIGHER_PRIORITY)
                continue
            if quiet_stop and pool.total == 0:
                break  # no free GPU and no preemption: nothing more can start this pass
            booking_id = job.booking_id
            if booking_id is not None:
                code = booking_block(job, self.bookings.get(booking_id), now)
                if code is not None:
                    self.set_status(job, code)
                    continue
            elif job.team in limited:
                blocked = self.ledger.admission_block(job, config)
                if blocked is not None:
                    statuses[job.id] = blocked  # (code, message), shared by the jobs it blocks alike
                    continue
            if self.head_job is not None:
                tested_after_head += 1
            # The job's kind: what decides whether it fits the free GPUs now, and why not (all but
            # its team and age).
            end = now + job.time_limit
            cut = 0 if end <= earliest_booking or booking_id is not None else bisect_left(booking_starts, end)
            avoid_head = bool(self.head_gpus) and end > self.head.start
            kind = (job.model, job.min_memory_mb, booking_id, job.gpus, job.multi_node, cut, avoid_head)
            may_preempt = job.team in preempt_teams and self.may_preempt(job)
            known = no_fit.get(kind)
            if known is not None and not may_preempt:
                statuses[job.id] = known
                code = known[0]
            elif self.start_or_wait(job, kind, may_preempt):
                code = statuses[job.id][0]
            else:
                continue
            if code in RESOURCE_WAITS:
                if backfill == "none":
                    strict_stop = True
                elif backfill == "easy" and self.head_job is None and self.old_enough_to_reserve(job):
                    self.make_head(job)

    def start_or_wait(self, job: PendingJob, kind: tuple, may_preempt: bool) -> bool:
        """Start the job now (free GPUs, else preempted borrowers' GPUs) or record why it waits.

        False when it started. Whether a job fits, and why not, depends only on its kind (see
        `run`) while no GPU is taken and no head is set; thousands of waiting jobs share a few
        kinds, so the answer (its status) is remembered until the pool changes.
        """
        gpus = self.place_now(job)
        if gpus is None and may_preempt:
            if self.try_preemption(job) is not None:
                return False
        if gpus is not None:
            self.commit(job, gpus)
            return False
        self.record_wait(job)
        self.no_fit[kind] = self.statuses[job.id]
        return True

    def preempting_teams(self) -> frozenset:
        """Teams whose jobs may preempt at all this pass: those with a guarantee, when anyone may be preempted."""
        if not (self.any_preemptible and self.config.allow_preemption):
            return frozenset()
        return frozenset(t.name for t in self.state.teams if t.guaranteed_gpus is not None)

    def may_preempt(self, job: PendingJob) -> bool:
        if not (self.any_preemptible and self.config.allow_preemption):
            return False
        return job.booking_id is None and self.head is None and self.ledger.within_guarantee(job)

    def old_enough_to_reserve(self, job: PendingJob) -> bool:
        """A young job that does not fit is passed over first-fit style; only a job waiting at least
        `reserve_min_age_s` holds GPUs as the head (Slurm's bf_min_age_reserve), so a big young job
        does not idle GPUs that small jobs could use."""
        return self.now - job.submit >= self.config.reserve_min_age_s

    def record_wait(self, job: PendingJob) -> None:
        if not self.config.explain and self.config.backfill != "easy" and self.config.backfill != "none":
            self.set_status(job, reasons.WAITING_FOR_GPUS)
            return
        code = self.wait_reason(job)
        if code == reasons.WAITING_FOR_GPUS and self.head_job is not None:
            # It could be waiting only because the head's GPUs are held for it.
            if self.fits_now(job, honour_head=False):
                code = reasons.BEHIND_HIGHER_PRIORITY
        self.set_status(job, code)

    # --- the decision -----------------------------------------------------------------------------

    def decision(self, ranked: list) -> Decision:
        statuses = ()
        if self.config.explain:
            statuses = self.explain(ranked)
        return Decision(
            placements=self.placements,
            preemptions=tuple(v.id for v in self.preempted),
            pending=statuses,
            head=self.head,
            order=tuple([job.id for job in ranked]),
        )

    def explain(self, ranked: list) -> tuple:
        """Reason, position and estimated start for every job left waiting, in one walk of the queue."""
        preempted = {v.id for v in self.preempted}
        busy_end = {}
        for running in self.state.running:
            if running.id not in preempted:
                for gpu_id in running.gpus:
                    busy_end[gpu_id] = max(self.now, running.end_by)
        for placed in self.placed_jobs:
            for gpu_id in self.placements[placed.id]:
                busy_end[gpu_id] = self.now + placed.time_limit
        free_times = [busy_end.get(g.id, self.now) for g in self.state.gpus if g.usable]
        # Queued jobs get their estimates in queue order; the head has its plan, others none.
        estimate = start_estimator(free_times, self.now, self.head, self.head_job)
        head_id = self.head.job_id if self.head is not None else None
        no_estimate = set(NO_ESTIMATE) | {reasons.BOOKING_NOT_STARTED}
        booking_wait = reasons.BOOKING_NOT_STARTED
        statuses, placements, make = self.statuses, self.placements, PendingStatus
        result = []
        position = 0
        for job in ranked:
            job_id = job.id
            if job_id in placements:
                continue
            position += 1
            code, text = statuses[job_id]
            if job_id == head_id:
                start = self.head.start
            elif code in no_estimate:
                start = self.bookings[job.booking_id].start if code == booking_wait else None
            else:
                start = estimate(job)
            result.append(make(job_id, code, text, position, start))
        return tuple(result)


def schedule(state: ClusterState, config: PolicyConfig = PolicyConfig()) -> Decision:
    """Decide which pending jobs start now on which GPUs, which jobs to requeue, and why others wait."""
    with cyclic_gc_paused():
        starving_after = starvation_threshold(state.pending, state.now, config)
        ranked = starving_first(
            rank_pending(state, config),
            state.now,
            starving_after,
            gpu_exponent=config.starvation_gpu_exponent,
            pending=state.pending,
        )
        work = Pass(state, config)
        work.run(ranked)
        return work.decision(ranked)


@contextmanager
def cyclic_gc_paused():
    """A pass allocates a status per waiting job and makes no reference cycles; left on, the cyclic
    collector would rescan the whole state (every pending job) several times a pass, a cost that
    grows faster than the queue (bench/policy.py: about a sixth of the pass at 4x)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
