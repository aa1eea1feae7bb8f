"""The one place that decides who sees and changes bookings (docs/decisions.md §2).

Every signed-in user sees every booking on the timeline (who, team, when); a booking's note only its
team and site admins; changes: the owner, their team admins, site admins. What a user may not see is
a 404; what they may see but not change is a 403.
"""

from django.core.exceptions import PermissionDenied  # a styled 403 on pages, the error shape in the API
from django.http import Http404

from portal.teams.access import may_administer_team, team_ids_of
from scheduler.models import Booking, GpuOccupancy, OccupancyKind

NOT_YOURS = "Only the owner, their team admins and site admins change this booking."


def bookings_visible_to(user):
    if not user.is_authenticated:
        return Booking.objects.none()
    return Booking.objects.all()


def access_booking_for_user(user, booking_id) -> Booking:
    booking = bookings_visible_to(user).select_related("user", "team").filter(pk=booking_id).first()
    if booking is None:
        raise Http404("No such booking.")
    return booking


def access_booking_to_change(user, booking_id) -> Booking:
    booking = access_booking_for_user(user, booking_id)
    if not may_change_booking(user, booking):
        raise PermissionDenied(NOT_YOURS)
    return booking


def may_change_booking(user, booking: Booking) -> bool:
    return booking.user_id == user.pk or may_administer_team(user, booking.team_id)


def may_see_note(user, booking: Booking, team_ids: set[int] | None = None) -> bool:
    if user.is_staff:
        return True
    return booking.team_id in (team_ids if team_ids is not None else team_ids_of(user))


def occupancy_public_view(*, viewer, row: GpuOccupancy) -> dict:
    """A conflicting window as the viewer may see it: a booking's owner and team are public on the
    timeline; a job's owner only to its team and site admins (jobs are team-private)."""
    view = {
        "gpu": row.gpu_id,
        "gpu_name": str(row.gpu),
        "start": row.start.isoformat(),
        "end": row.end.isoformat(),
        "kind": row.kind,
        "booking": row.booking_id,
        "reservation": row.booking_id,  # the old name of `booking`, kept for API clients
        "job": row.attempt.job_id if row.attempt_id else None,
    }  # a 409 names the job in the way (docs/decisions.md §4)
    visible = row.kind == OccupancyKind.BOOKING or viewer.is_staff or row.team_id in team_ids_of(viewer)
    if visible:
        view.update(team=row.team.name, user=row.user.username if row.user else None)
    return view


# --- Jobs: visible to their team and site admins; cancelled by owner, team admins, site admins ------

JOB_NOT_YOURS = "Only the owner, their team admins and site admins cancel this job."


def jobs_visible_to(user):
    from scheduler.models import Job

    if not user.is_authenticated:
        return Job.objects.none()
    if user.is_staff:
        return Job.objects.all()
    return Job.objects.filter(team_id__in=team_ids_of(user))


def access_job_for_user(user, job_id):
    job = jobs_visible_to(user).select_related("owner", "team", "booking", "environment").filter(pk=job_id).first()
    if job is None:
        raise Http404("No such job.")
    return job


def access_job_to_cancel(user, job_id):
    job = access_job_for_user(user, job_id)
    if job.owner_id != user.pk and not may_administer_team(user, job.team_id):
        raise PermissionDenied(JOB_NOT_YOURS)
    return job


def may_watch_job(user, job_id: str) -> bool:
    """Guard of the realtime topic `job.<id>` (live logs and state)."""
    return job_id.isdigit() and jobs_visible_to(user).filter(pk=int(job_id)).exists()
