"""Reads for the booking pages, the calendar feed and the GPU board."""

from datetime import timedelta

from django.db.models import Count, Q

from portal.teams.models import Membership, Team
from scheduler.models import Booking, BookingState, CalendarFeed, Gpu, GpuOccupancy, Node, OccupancyKind


def timeline_resources() -> list[dict]:
    """Rows of the timeline: nodes, each with its GPUs (drained and lost ones too, marked)."""
    gpus_by_node: dict[int, list] = {}
    for gpu in Gpu.objects.select_related("node").order_by("node__name", "index"):
        gpus_by_node.setdefault(gpu.node_id, []).append(gpu)
    return [
        {
            "id": f"node-{node.pk}",
            "title": node.name + (" (drained)" if node.drained else ""),
            "children": [_gpu_row(gpu, node_drained=node.drained) for gpu in gpus_by_node.get(node.pk, [])],
        }
        for node in Node.objects.order_by("name")
        if node.pk in gpus_by_node
    ]


def _gpu_row(gpu: Gpu, *, node_drained: bool) -> dict:
    state = "drained" if node_drained and gpu.state == "available" else gpu.state
    suffix = "" if state == "available" else f" · {state}"
    return {
        "id": f"gpu-{gpu.pk}",
        "title": f"gpu{gpu.index} · {gpu.model}{suffix}",
        "extendedProps": {"gpu": gpu.pk, "state": state, "model": gpu.model},
    }


def booking_teams_of(user):
    """Teams this user may book for: where they are a researcher or team admin (all teams for site admins)."""
    if user.is_staff:
        return Team.objects.all()
    member = Membership.objects.filter(Q(is_researcher=True) | Q(is_team_admin=True), user=user).values("team_id")
    return Team.objects.filter(pk__in=member)


def bookings_of(*, user):
    return (
        Booking.objects.filter(user=user)
        .select_related("team")
        .prefetch_related("gpus__node")
        .order_by("-start", "-id")
    )


def bookings_to_run_in(*, user, now):
    """Bookings of the user's teams a job may still run in: active, not yet over, soonest first."""
    teams = Membership.objects.filter(user=user, is_researcher=True).values("team_id")
    return (
        Booking.objects.filter(team_id__in=teams, state=BookingState.ACTIVE, end__gt=now)
        .select_related("team")
        .annotate(gpu_count=Count("gpus"))
        .order_by("start", "id")
    )


def feed_bookings(*, token: str):
    """The active bookings of the feed's owner, or None for an unknown token."""
    feed = CalendarFeed.objects.select_related("user").filter(token=token).first()
    if feed is None:
        return None, None
    bookings = bookings_of(user=feed.user).filter(state=BookingState.ACTIVE)
    return feed.user, bookings


def bookings_now_and_next(*, now, within: timedelta | None = None) -> dict[int, dict]:
    """For the GPU board: per GPU, the booking holding it now and the next one (within `within`, if given),
    as {"now": {...}, "next": {...}} with who, team, window and the idle flag. Notes are left out:
    the board is public (docs/decisions.md §2). Every GPU's: the board shows the whole fleet, and passing its
    1,024 ids as parameters cost more than the rows."""
    rows = GpuOccupancy.objects.filter(kind=OccupancyKind.BOOKING, end__gt=now)
    if within is not None:
        rows = rows.filter(start__lt=now + within)
    board: dict[int, dict] = {}
    for row in rows.select_related("booking__user", "booking__team").order_by("gpu_id", "start"):
        slot = board.setdefault(row.gpu_id, {})
        key = "now" if row.start <= now else "next"
        if key not in slot:
            booking = row.booking
            slot[key] = {
                "booking": booking.pk,
                "user": booking.user.username,
                "team": booking.team.name,
                "start": row.start,
                "end": row.end,
                "idle": booking.idle_flagged_at is not None,
            }
    return board


def job_windows_for_timeline(*, viewer, since, until) -> list[dict]:
    """Jobs running outside bookings, as background rows on the timeline. A job is private to its team
    (docs/decisions.md §2): others see that the GPU is busy with a job, not whose."""
    from portal.teams.access import team_ids_of

    mine = team_ids_of(viewer)
    rows = GpuOccupancy.objects.filter(kind=OccupancyKind.JOB, end__gt=since, start__lt=until).select_related(
        "team", "attempt"
    )
    return [
        {
            "gpu": row.gpu_id,
            "start": row.start.isoformat(),
            "end": row.end.isoformat(),
            "title": f"job {row.attempt.job_id} · {row.team.name}" if viewer.is_staff or row.team_id in mine else "job",
        }
        for row in rows.order_by("start")
    ]
