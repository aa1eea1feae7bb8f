"""The pending queue as flat columns, read once from the job objects.

A pass goes through every pending job three times (rank, walk, explain). Tens of thousands of job
objects visited in rank order no longer stay in the CPU's caches: each visit then costs more the
longer the queue, so the pass grew faster than the queue (docs/benchmarks.md, "One pass"). Here
each field is read once, in input order (the order the jobs lie in memory), into a flat column;
the walks read the columns in rank order and touch a job object only where a decision is really
made about it (a placement, a new kind of job, a booking, the head).
"""

from __future__ import annotations

import itertools
import operator

import numpy

from scheduler.policy.types import PendingJob

_id = operator.attrgetter("id")
_team = operator.attrgetter("team")
_gpus = operator.attrgetter("gpus")
_submit = operator.attrgetter("submit")
_time_limit = operator.attrgetter("time_limit")
_preemptible = operator.attrgetter("preemptible")
_booking_id = operator.attrgetter("booking_id")
# What a job asks of its GPUs: with its booking cut, its kind (see RankedQueue).
_constraints = operator.attrgetter("model", "min_memory_mb", "booking_id", "gpus", "multi_node")


class PendingColumns:
    """Per-field columns of the pending jobs in input order (lists hold the jobs' own values)."""

    def __init__(self, pending: tuple):
        self.jobs = pending
        self.count = len(pending)
        # Each team's code is the index of its first job: one pass over the team names, then
        # per-team values are looked up in arrays (`team_column`).
        self.team_code: dict = {}
        codes = map(self.team_code.setdefault, map(_team, pending), itertools.count())
        self.team_codes = numpy.fromiter(codes, dtype=numpy.int64, count=self.count)
        self.gpus = list(map(_gpus, pending))
        self.gpu_counts = numpy.array(self.gpus, dtype=float)
        self.submits = numpy.fromiter(map(_submit, pending), dtype=float, count=self.count)
        self.time_limits = numpy.fromiter(map(_time_limit, pending), dtype=float, count=self.count)

    def team_column(self, value_of, dtype) -> numpy.ndarray:
        """Per job (input order): `value_of` its team's name."""
        table = numpy.zeros(self.count, dtype=dtype)
        codes = numpy.fromiter(self.team_code.values(), dtype=numpy.int64, count=len(self.team_code))
        table[codes] = [value_of(name) for name in self.team_code]
        return table[self.team_codes]

    def constraint_codes(self) -> numpy.ndarray:
        """One int per job, equal for jobs with equal (model, memory, booking, GPUs, multi-node)."""
        # Each distinct tuple's code is the index where it first occurs.
        first_index: dict = {}
        codes = map(first_index.setdefault, map(_constraints, self.jobs), itertools.count())
        return numpy.fromiter(codes, dtype=numpy.int64, count=self.count)


class RankedQueue:
    """The pending jobs in rank order, as flat lists, with each job's static *kind*.

    A job's kind is what decides whether it fits the free GPUs now, and why not (the head aside):
    model, memory, booking, GPUs, multi-node, and how many booking starts fall before it would end
    (its booking cut). Thousands of waiting jobs share a few kinds.
    """

    def __init__(self, columns: PendingColumns, order: list, now: float, booking_starts: list, earliest_booking: float):
        self.columns = columns
        self.jobs = columns.jobs
        self.order = order
        self.index = numpy.array(order, dtype=numpy.int64)
        self.ids = self.ranked(list(map(_id, columns.jobs)))
        self.gpus = self.ranked(columns.gpus)
        self.booking_ids = self.ranked(list(map(_booking_id, columns.jobs)))
        self.gpu_counts = columns.gpu_counts[self.index]
        self.time_limit_array = columns.time_limits[self.index]
        self.time_limits = self.time_limit_array.tolist()
        self.ends = now + self.time_limit_array
        self.in_booking = numpy.fromiter(
            map(operator.is_not, self.booking_ids, itertools.repeat(None)), dtype=bool, count=len(order)
        )
        self.kind_array = self.static_kinds(booking_starts, earliest_booking)
        self.kinds = self.kind_array.tolist()

    def ranked(self, values: list) -> list:
        """An input-order column in rank order."""
        if len(self.order) < 2:
            return [values[i] for i in self.order]
        return list(operator.itemgetter(*self.order)(values))

    def static_kinds(self, booking_starts: list, earliest_booking: float) -> numpy.ndarray:
        """Each job's kind but the head: its constraints' code and its booking cut, as one int."""
        constraint = self.columns.constraint_codes()[self.index]
        # The booking cut, as `Pass.booking_cut`: 0 when the job ends by the earliest booking or runs
        # in its own booking, else how many distinct booking starts lie before its end (bisect_left).
        cut = numpy.searchsorted(numpy.array(booking_starts, dtype=float), self.ends, side="left")
        cut[(self.ends <= earliest_booking) | self.in_booking] = 0
        return constraint * (len(booking_starts) + 1) + cut

    def teams_in(self, names) -> numpy.ndarray:
        """Per job: whether its team is one of `names`."""
        return self.columns.team_column(names.__contains__, bool)[self.index]

    def team_slots(self, slot_of: dict) -> numpy.ndarray:
        """Per job: its team's slot in `slot_of` (0 for a team not in it)."""
        return self.columns.team_column(lambda name: slot_of.get(name, 0), numpy.int64)[self.index]

    def borrows_freely(self, borrow_limit_s: float) -> numpy.ndarray:
        """Per job: preemptible, or no longer than the borrow limit (quotas: it may borrow idle GPUs)."""
        preemptible = numpy.fromiter(map(_preemptible, self.jobs), dtype=bool, count=len(self.jobs))
        return preemptible[self.index] | (self.time_limit_array <= borrow_limit_s)

    def waited_at_least(self, now: float, age_s: float) -> numpy.ndarray:
        """Per job: whether it has waited at least `age_s` (now - submit >= age_s)."""
        return (now - self.columns.submits[self.index]) >= age_s

    def job(self, position: int) -> PendingJob:
        return self.jobs[self.order[position]]

    def __len__(self) -> int:
        return len(self.order)
