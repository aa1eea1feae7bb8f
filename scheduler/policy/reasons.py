"""Why a job still waits: stable codes (stored, filtered on) and messages a person understands."""

import functools

WAITING_FOR_GPUS = "waiting_for_gpus"
BEHIND_HIGHER_PRIORITY = "behind_higher_priority"
TEAM_GPU_CAP = "team_gpu_cap"
TEAM_QUOTA = "team_quota"
BORROW_LIMIT = "borrow_limit"
BOOKED_WINDOW = "booked_window"
NO_ELIGIBLE_GPU = "no_eligible_gpu"
BOOKING_NOT_STARTED = "booking_not_started"
BOOKING_TOO_SHORT = "booking_too_short"
BOOKING_NOT_USABLE = "booking_not_usable"

MESSAGES = {
    WAITING_FOR_GPUS: "Waiting for {gpus} GPUs to become free",
    BEHIND_HIGHER_PRIORITY: "Behind higher-priority jobs in the queue",
    TEAM_GPU_CAP: "Team is at its maximum of {limit} concurrent GPUs",
    TEAM_QUOTA: "Team GPU-hour quota would be exceeded ({remaining:.1f} GPU-hours left)",
    BORROW_LIMIT: (
        "Beyond the team's {guaranteed} guaranteed GPUs only preemptible jobs or jobs with a "
        "time limit of at most {borrow_hours:g} h may borrow idle GPUs"
    ),
    BOOKED_WINDOW: "Free GPUs are booked before this job's time limit would end",
    NO_ELIGIBLE_GPU: "No usable GPU matches the request (node down, drained, model or memory)",
    BOOKING_NOT_STARTED: "Waiting for its booking window to begin",
    BOOKING_TOO_SHORT: "Time limit does not fit inside the booking window",
    BOOKING_NOT_USABLE: "The booking does not exist or belongs to another team",
}


def reason_text(code: str, **values) -> str:
    """The message for a reason code, filled with the numbers that explain it."""
    return MESSAGES[code].format(**values)


@functools.lru_cache(maxsize=4096, typed=True)  # typed: 8 and 8.0 read differently
def status(code: str, **values) -> tuple:
    """(code, message), one shared tuple per distinct message: thousands of a team's jobs wait for the
    same limit in one pass, and formatting its message for each cost a sixth of the pass."""
    return code, reason_text(code, **values)
