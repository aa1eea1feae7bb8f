"""Plain frozen dataclasses: what the policy reads and what it decides.

Times are seconds since the epoch as floats (the live scheduler converts datetimes); durations
are seconds. GPU, job, team and booking ids are opaque hashable values (ints or strings).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Hashable, NamedTuple, Optional

GpuId = Hashable
JobId = Hashable

TIER_LOW = 0
TIER_NORMAL = 1
TIER_HIGH = 2

HOUR = 3600.0
DAY = 24 * HOUR


@dataclass(frozen=True, slots=True)
class Gpu:
    """One GPU. `usable` is False when it is drained, lost, or its node is down."""

    id: GpuId
    node: str
    model: str = ""
    memory_mb: int = 0
    usable: bool = True


@dataclass(frozen=True, slots=True)
class RunningJob:
    """A running allocation. `end_by` is start + time limit: the latest it can still hold its GPUs."""

    id: JobId
    team: str
    gpus: tuple
    start: float
    end_by: float
    preemptible: bool = False
    tier: int = TIER_NORMAL
    booking_id: Optional[Hashable] = None
    user: str = ""


@dataclass(frozen=True, slots=True)
class Booking:
    """A booking: GPUs held for one team over the half-open window [start, end)."""

    id: Hashable
    team: str
    gpus: tuple
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class PendingJob:
    """A job waiting for GPUs.

    `multi_node` allows the gang to span nodes; `booking_id` says the job was submitted into
    its team's booking (then it runs only there, inside the window).
    """

    id: JobId
    team: str
    gpus: int
    submit: float
    time_limit: float
    user: str = ""
    tier: int = TIER_NORMAL
    preemptible: bool = False
    model: Optional[str] = None
    min_memory_mb: int = 0
    multi_node: bool = False
    booking_id: Optional[Hashable] = None


@dataclass(frozen=True, slots=True)
class TeamState:
    """A team's share, limits and usage.

    `usage_gpu_seconds` is the team's past usage decayed to the instant `usage_as_of` (the policy
    decays it further to `now`). `gpu_hours_remaining` is the monthly quota minus settled use minus
    GPUs x time limit of the team's running jobs outside bookings; None means no quota.
    `guaranteed_gpus` None means the team has no guarantee and borrowing rules do not apply.
    """

    name: str
    share: float = 1.0
    usage_gpu_seconds: float = 0.0
    usage_as_of: float = 0.0
    max_gpus: Optional[int] = None
    gpu_hours_remaining: Optional[float] = None
    guaranteed_gpus: Optional[int] = None


@dataclass(frozen=True, slots=True)
class UserState:
    """One user's past usage within one team, decayed to `usage_as_of` like TeamState's.

    Given for every user of a team (usage, running or pending jobs), they turn on the second level
    of fair share: the team's users are ordered by the same rule. A team's usage is its users' sum.
    """

    team: str
    name: str
    usage_gpu_seconds: float = 0.0
    usage_as_of: float = 0.0


@dataclass(frozen=True)
class ClusterState:
    """Everything one pass reads. Order of `pending` is the tie-break of last resort (file order).

    `users` is empty where jobs have no users (the replay): then a team's jobs share its factor.
    """

    now: float
    gpus: tuple = ()
    running: tuple = ()
    pending: tuple = ()
    bookings: tuple = ()
    teams: tuple = ()
    users: tuple = ()


@dataclass(frozen=True)
class PolicyConfig:
    """Settings of the policy. One default configuration serves every replay.

    Score (higher runs first), in "hours of waiting" units because the age term adds 1 per hour:
        score = w_tier * tier + w_fairshare * F + w_size * S + w_age * age_hours
    See docs/scheduling.md for the factors and the wait bound.
    """

    ranking: str = "multifactor"  # "multifactor" | "submit_order"
    backfill: str = "easy"  # "easy" | "none" (strict) | "first_fit" (nothing held for the head)
    placement: str = "topology"  # "topology" (gang, best fit) | "count" (any free GPUs)
    w_tier: float = 1000.0  # a tier outweighs any size difference and ~6 weeks of age
    w_fairshare: float = 120.0
    w_size: float = 720.0
    w_age: float = 1.0  # per hour waited, never capped: this bounds every wait
    size_reference_gpu_seconds: float = 1e6  # S = 0 from about 278 GPU-hours up
    half_life_s: float = 7 * DAY
    bf_max_job_test: int = 500
    reserve_min_age_s: float = 30 * DAY  # like Slurm's bf_min_age_reserve: younger jobs hold no GPUs
    starvation_factor: float = 16.0  # starving past this many median waits (starvation.py); 0: off
    starvation_floor_s: float = 5 * DAY  # ...and never sooner than this
    starvation_gpu_exponent: float = 0.0  # a job of g GPUs starves after threshold / g ** this
    borrow_limit_s: float = 4 * HOUR
    allow_preemption: bool = True  # requeue preemptible borrowers for teams under their guarantee
    explain: bool = True  # reasons, positions, estimates (the replay turns them off)


@dataclass(frozen=True)
class HeadPlan:
    """What EASY backfill holds for the highest-ranked job that cannot start now: its planned start and GPUs."""

    job_id: JobId
    start: float
    gpus: tuple


class PendingStatus(NamedTuple):
    """Why a job still waits, where it stands and when it should start (None: cannot estimate).

    A named tuple, not a dataclass: a pass makes one per waiting job (tens of thousands), and a
    tuple is built several times faster.
    """

    job_id: JobId
    reason_code: str
    reason: str
    position: int
    estimated_start: Optional[float]


@dataclass(frozen=True)
class Decision:
    """The outcome of one pass. `placements` maps job id -> tuple of GPU ids."""

    placements: dict = field(default_factory=dict)
    preemptions: tuple = ()
    pending: tuple = ()
    head: Optional[HeadPlan] = None
    order: tuple = ()
