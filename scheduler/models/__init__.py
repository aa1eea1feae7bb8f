"""Scheduler state, one module per area. Import models from here: `from scheduler.models import Gpu`."""

from scheduler.models.bookings import (
    Booking,
    BookingIdlePeriod,
    BookingState,
    CalendarFeed,
    GpuOccupancy,
    OccupancyKind,
)
from scheduler.models.environments import RuntimeEnvironment
from scheduler.models.fleet import Gpu, GpuState, Node
from scheduler.models.jobs import (
    ATTEMPT_LIVE_STATES,
    JOB_FINAL_STATES,
    Attempt,
    AttemptPart,
    AttemptPartState,
    AttemptState,
    Job,
    JobAllocation,
    JobState,
    LogChunk,
    Priority,
)
from scheduler.models.telemetry import GpuRollup, GpuSample, ProcessSnapshot, RollupWidth
from scheduler.models.usage import BookingIdleHour, FairShareUsage, UsageDimension, UsageHour

__all__ = [
    "Gpu",
    "GpuState",
    "Node",
    "CalendarFeed",
    "GpuOccupancy",
    "OccupancyKind",
    "Booking",
    "BookingIdlePeriod",
    "BookingState",
]
__all__ += ["GpuRollup", "GpuSample", "ProcessSnapshot", "RollupWidth"]
__all__ += ["BookingIdleHour", "FairShareUsage", "RuntimeEnvironment", "UsageDimension", "UsageHour"]
__all__ += [
    "ATTEMPT_LIVE_STATES",
    "JOB_FINAL_STATES",
    "Attempt",
    "AttemptPart",
    "AttemptPartState",
    "AttemptState",
    "Job",
    "JobAllocation",
    "JobState",
    "LogChunk",
    "Priority",
]
