"""Live fair share's usage table (docs/scheduling.md, "Live fair share").

What a team used is what it withheld from others: every GPU of an attempt of a job outside any
booking, from its placement to its end (queued GPUs are held too), and every GPU of a booking over
its window, used or not (a cancel or a release ends the window early). A job running inside its
team's booking adds nothing: the booking's hours count, not twice (docs/decisions.md §4).

Each contribution is folded into its (team, user) row once, when it is complete: an attempt in the
transaction that ends it, a booking by the first scheduling pass after its window has passed. The
row keeps one number decayed to one instant, so folding is a read, a decay and a write.
"""

from datetime import datetime

from django.conf import settings

from scheduler.models import Attempt, Booking, FairShareUsage, Job
from scheduler.policy.ranking import decayed
from scheduler.selectors.fair_share import booking_seconds_held


def usage_record(*, team_id: int, user_id: int, gpu_seconds: float, at: datetime) -> None:
    """Add GPU-seconds completed at `at` to the user's row in the team, inside the caller's transaction.

    The row is locked while it is folded forward to the later of its instant and `at`; a contribution
    older than the row (a booking that ended before the last attempt did) is decayed to the row's
    instant instead, so the order in which things are folded does not matter.
    """
    if gpu_seconds <= 0:
        return
    row, created = FairShareUsage.objects.select_for_update().get_or_create(
        team_id=team_id, user_id=user_id, defaults={"gpu_seconds": gpu_seconds, "as_of": at}
    )
    if created:
        return
    half_life, as_of = settings.SCHEDULER_HALF_LIFE, max(row.as_of, at)
    row.gpu_seconds = decayed(row.gpu_seconds, row.as_of.timestamp(), as_of.timestamp(), half_life) + decayed(
        gpu_seconds, at.timestamp(), as_of.timestamp(), half_life
    )
    row.as_of = as_of
    row.save(update_fields=["gpu_seconds", "as_of"])


def attempt_usage_record(*, attempt: Attempt, job: Job, at: datetime) -> None:
    """An ended attempt's GPU-seconds (its GPUs already released at `at`). Called once, by the
    transaction that moves the attempt out of its live states: a retried end finds it ended and
    records nothing."""
    if job.booking_id is not None:
        return
    held = sum((a.end - a.start).total_seconds() for a in attempt.allocations.all() if a.end > a.start)
    usage_record(team_id=job.team_id, user_id=job.owner_id, gpu_seconds=held, at=at)


def bookings_usage_fold(*, now: datetime) -> list[int]:
    """Fold every booking whose window has passed by `now` into the table, each once, at its end.

    Only the scheduling pass calls this, under its lock: no two folds run at once.
    """
    ended = list(
        Booking.objects.filter(usage_folded_at__isnull=True, end__lte=now)
        .order_by("team_id", "user_id", "pk")
        .values_list("pk", "team_id", "user_id", "end")
    )
    if not ended:
        return []
    held = booking_seconds_held(booking_ids=[pk for pk, *_ in ended], until=now)
    for pk, team_id, user_id, end in ended:
        usage_record(team_id=team_id, user_id=user_id, gpu_seconds=held.get(pk, 0.0), at=end)
    Booking.objects.filter(pk__in=[pk for pk, *_ in ended]).update(usage_folded_at=now)
    return [pk for pk, *_ in ended]
