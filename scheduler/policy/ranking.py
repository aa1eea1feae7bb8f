"""Multifactor ranking in the manner of Slurm's priority/multifactor plugin.

    score = w_tier * T + w_fairshare * F + w_size * S + w_age * A

- T, tier: low 0, normal 1, high 2.
- F, fair share in (0, 1]: 2 ** (-usage_share / share), where usage_share is the team's decayed
  usage over all teams' decayed usage and share its normalised share (Slurm's classic formula).
  Usage decays with a half-life (default 7 days, like PriorityDecayHalfLife); GPU-seconds of
  running jobs count as used so far (not those of a job in its team's booking: the booking counts).
  Two levels, as Slurm's fair-share tree: within a team of several users (`ClusterState.users`)
  the same rule orders the users, and a job takes its user's factor (`user_factors`).
- S, job size in [0, 1]: 1 - log10(GPUs x time limit) / log10(reference), clipped: smaller
  requested GPU-time ranks higher.
- A, age: hours since submit, not capped.

Wait bound. Apart from age, a score lies in [0, B] with B = 2 w_tier + w_fairshare + w_size.
Age adds w_age per hour to every waiting job alike, so a job J submitted at t0 outranks every job
submitted after t0 + B / w_age hours; with equal tiers after (w_fairshare + w_size) / w_age hours
(defaults: 840 h, 35 days). Only the finitely many jobs submitted before that instant can ever
rank above J. Once J has waited `reserve_min_age_s` (default 30 days) and is the highest-ranked
job that does not fit, EASY backfill holds GPUs for it that no later job may delay. So J waits at
most max(35 days, 30 days) plus the time the jobs ranked above it need to start, each bounded by
its time limit. The defaults are long because they serve the overloaded Philly replays (where
FIFO waits average 20 to 60 days); a site with light queues sets shorter ones. The tighter bound in
practice is starvation.py's: jobs waiting far longer than the median go first.
"""

from __future__ import annotations

import math
import operator
from typing import Optional

import numpy

from scheduler.policy.columns import PendingColumns
from scheduler.policy.types import HOUR, ClusterState, PendingJob, PolicyConfig

_team = operator.attrgetter("team")
_tier = operator.attrgetter("tier")


def decayed(usage: float, as_of: float, now: float, half_life_s: float) -> float:
    """Usage recorded at `as_of`, decayed to `now` with the configured half-life."""
    if now <= as_of or half_life_s <= 0:
        return usage
    return usage * 0.5 ** ((now - as_of) / half_life_s)


def fair_share_factors(state: ClusterState, config: PolicyConfig) -> dict:
    """Fair-share factor F per team: 1 for a team that used nothing, falling as it uses more than its share."""
    return fair_shares(state, config)[0]


def fair_shares(state: ClusterState, config: PolicyConfig, pending_teams=None) -> tuple:
    """(F per team, F per (team, user) for the teams of two or more users in `state.users`).

    `pending_teams`: the pending jobs' team names, where the caller has them already."""
    usage, shares = team_usage_and_shares(state, config, pending_teams)
    total_usage = sum(usage[name] for name in sorted(usage))
    total_share = sum(shares[name] for name in sorted(shares)) or 1.0
    factors = {}
    for name in sorted(shares):
        share = shares[name] / total_share
        if total_usage <= 0:
            factors[name] = 1.0
        elif share <= 0:
            factors[name] = 0.0
        else:
            factors[name] = 2.0 ** (-(usage[name] / total_usage) / share)
    users = user_factors(state, config, usage, shares, total_usage, total_share) if state.users else {}
    return factors, users


def team_usage_and_shares(state: ClusterState, config: PolicyConfig, pending_teams=None) -> tuple:
    """Decayed usage (running jobs' GPU-seconds so far included) and raw share of every team in the pass."""
    now = state.now
    usage = {}
    shares = {}
    for team in state.teams:
        usage[team.name] = decayed(team.usage_gpu_seconds, team.usage_as_of, now, config.half_life_s)
        shares[team.name] = max(team.share, 0.0)
    for job in state.running:
        # Running jobs count as used so far, so a team cannot hide a week-long job until it ends. A job
        # in its team's booking adds nothing: the booking's hours count, not twice (docs/decisions.md §4).
        usage.setdefault(job.team, 0.0)
        if job.booking_id is None:
            usage[job.team] += len(job.gpus) * max(0.0, now - job.start)
        shares.setdefault(job.team, 1.0)
    for name in set(map(_team, state.pending)) if pending_teams is None else pending_teams:
        shares.setdefault(name, 1.0)
        usage.setdefault(name, 0.0)
    return usage, shares


def user_factors(
    state: ClusterState, config: PolicyConfig, usage: dict, shares: dict, total_usage: float, total_share: float
) -> dict:
    """F per (team, user), one level down the tree with Slurm's classic effective usage.

    Each of a team's k users holds 1/k of the team's normalised share; a user's effective usage is
    its own share of all usage pulled towards the team's: ue = u + (ue_team - u) / k. So within a
    team less usage always ranks higher, and a team's single user gets exactly the team's factor.
    """
    now = state.now
    user_usage = {}
    members: dict = {}
    for user in state.users:
        key = (user.team, user.name)
        user_usage[key] = decayed(user.usage_gpu_seconds, user.usage_as_of, now, config.half_life_s)
        members.setdefault(user.team, []).append(key)
    for job in state.running:
        key = (job.team, job.user)
        if job.booking_id is None and key in user_usage:
            user_usage[key] += len(job.gpus) * max(0.0, now - job.start)
    factors = {}
    for team in sorted(members):
        keys = members[team]
        if len(keys) < 2 or team not in shares:
            continue
        share = shares[team] / total_share / len(keys)
        team_effective = usage.get(team, 0.0) / total_usage if total_usage > 0 else 0.0
        for key in keys:
            if total_usage <= 0:
                factors[key] = 1.0
            elif share <= 0:
                factors[key] = 0.0
            else:
                own = user_usage[key] / total_usage
                factors[key] = 2.0 ** (-(own + (team_effective - own) / len(keys)) / share)
    return factors


def fair_share_of(job: PendingJob, factors: dict, users: dict) -> float:
    """A waiting job's fair-share factor: its user's within a team of several, else its team's."""
    return users.get((job.team, job.user), factors[job.team]) if users else factors[job.team]


def size_factor(job: PendingJob, config: PolicyConfig) -> float:
    """S in [0, 1]: smaller requested GPU-time (GPUs x time limit) ranks higher, on a log scale."""
    gpu_seconds = max(1.0, job.gpus * job.time_limit)
    value = 1.0 - math.log10(gpu_seconds) / math.log10(config.size_reference_gpu_seconds)
    return min(1.0, max(0.0, value))


def job_score(job: PendingJob, now: float, fair_share: float, config: PolicyConfig) -> float:
    """The multifactor score of one waiting job; higher runs first."""
    age_hours = max(0.0, now - job.submit) / HOUR
    return (
        config.w_tier * job.tier
        + config.w_fairshare * fair_share
        + config.w_size * size_factor(job, config)
        + config.w_age * age_hours
    )


def rank_pending(state: ClusterState, config: PolicyConfig) -> list:
    """Pending jobs best first. Ties: earlier submit, then input order (file order in a replay)."""
    pending = state.pending
    return [pending[i] for i in rank_order(state, config)]


def rank_order(state: ClusterState, config: PolicyConfig, columns: Optional[PendingColumns] = None) -> list:
    """Indices into `state.pending`, best first (`rank_pending`'s order).

    The jobs are read once, in memory order, into flat per-field arrays and scored there: a loop
    over tens of thousands of job objects costs more per job the more there are (they no longer
    stay in the CPU's caches), arrays do not. Each element is computed with the same operations in
    the same order as `job_score` (math.log10 itself for the size term), so scores, and the order,
    are exactly those of the formula (a test compares them).
    """
    pending = state.pending
    count = len(pending)
    if columns is None:
        columns = PendingColumns(pending)
    submits = columns.submits
    if config.ranking == "submit_order":
        # A stable sort: ties stay in input order.
        return numpy.argsort(submits, kind="stable").tolist()
    factors, users = fair_shares(state, config, columns.team_code)
    if users:
        fair_share = numpy.array([users.get((job.team, job.user), factors[job.team]) for job in pending], dtype=float)
    else:
        fair_share = columns.team_column(factors.__getitem__, float)
    gpus = columns.gpu_counts
    time_limits = columns.time_limits
    tiers = numpy.fromiter(map(_tier, pending), dtype=float, count=count)
    gpu_seconds = numpy.maximum(gpus * time_limits, 1.0)
    log_size = numpy.fromiter(map(math.log10, gpu_seconds.tolist()), dtype=float, count=count)
    size = numpy.clip(1.0 - log_size / math.log10(config.size_reference_gpu_seconds), 0.0, 1.0)
    age = numpy.maximum(state.now - submits, 0.0)
    score = config.w_tier * tiers + config.w_fairshare * fair_share + config.w_size * size + config.w_age * age / HOUR
    # Best score first; ties by submit, then input order (lexsort is stable, its last key leads).
    return numpy.lexsort((submits, -score)).tolist()
