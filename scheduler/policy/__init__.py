"""The scheduling policy: a pure function over plain data (no Django, no clock, no I/O).

Entry point: :func:`scheduler.policy.policy.schedule`. The same function drives the live
scheduler and the trace-replay simulator (:mod:`scheduler.policy.replay`).
"""

from scheduler.policy.policy import schedule
from scheduler.policy.types import (
    Booking,
    ClusterState,
    Decision,
    Gpu,
    HeadPlan,
    PendingJob,
    PendingStatus,
    PolicyConfig,
    RunningJob,
    TeamState,
    UserState,
)

__all__ = [
    "ClusterState",
    "Decision",
    "Gpu",
    "HeadPlan",
    "PendingJob",
    "PendingStatus",
    "PolicyConfig",
    "Booking",
    "RunningJob",
    "TeamState",
    "UserState",
    "schedule",
]
