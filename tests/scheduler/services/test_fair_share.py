"""Live fair share: usage folded into its table as attempts end and bookings pass, decayed with the
half-life, and read by every scheduling pass (docs/scheduling.md, "Live fair share").

The clock is time-machine's throughout: instants are built from T0, never from today."""

import math
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from portal.teams.models import TeamQuota
from scheduler.models import Attempt, AttemptState, Booking, FairShareUsage, Job
from scheduler.selectors.fair_share import usage_by_team_and_user
from scheduler.services.bookings import booking_cancel
from scheduler.services.fair_share import usage_record
from scheduler.services.jobs import attempt_claim, attempt_finish, job_submit
from scheduler.services.scheduling import scheduling_pass
from tests.actors import api_client_for
from tests.scheduler.factories import booking, fleet

T0 = datetime(2031, 3, 3, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@pytest.fixture(autouse=True)
def only_this_tests_gpus(db):
    from scheduler.models import Gpu

    Gpu.objects.update(state="drained")  # a session stack's agent may have written its fleet here


@pytest.fixture
def gpus(db):
    return fleet(nodes=1, per_node=4, prefix="fs")


def up(gpus) -> None:
    """The node heartbeats now: placeable until it falls silent past the node-down threshold."""
    node = gpus[0].node
    node.last_heartbeat = timezone.now()
    node.save(update_fields=["last_heartbeat"])


def submit(user, **fields) -> Job:
    return job_submit(user=user, **({"command": "true", "gpus": 1, "time_limit": HOUR} | fields))


def ran(clock, user, gpus, *, count: int, hours: float, **fields) -> Attempt:
    """A job placed and claimed now, run for `hours` and ended: the clock is left at its end."""
    up(gpus)
    job = submit(user, gpus=count, time_limit=timedelta(hours=hours + 1), **fields)
    assert job.pk in scheduling_pass().placements
    attempt = Attempt.objects.get(job=job)
    assert attempt_claim(attempt_id=attempt.pk, host="fs-host", worker="fs-host:1:test")
    clock.move_to(timezone.now() + timedelta(hours=hours), tick=False)
    return attempt_finish(attempt=attempt, state=AttemptState.SUCCEEDED, exit_code=0)


def decay(seconds: float, since: datetime, until: datetime) -> float:
    """The oracle: a contribution halves every half-life after the instant it was complete."""
    return seconds * 0.5 ** ((until - since).total_seconds() / settings.SCHEDULER_HALF_LIFE)


def row_of(user) -> FairShareUsage:
    return FairShareUsage.objects.get(user=user)


def test_an_ended_attempt_adds_its_gpu_seconds_once(time_machine, researcher, gpus):
    time_machine.move_to(T0, tick=False)
    attempt = ran(time_machine, researcher, gpus, count=2, hours=3)
    # A retried end (the runner after a database outage, or the reaper) finds it ended: nothing more.
    attempt_finish(attempt=attempt, state=AttemptState.SUCCEEDED, exit_code=0)
    attempt_finish(attempt=attempt, state=AttemptState.LOST, reason="no heartbeat")
    row = row_of(researcher)
    assert (row.team_id, row.gpu_seconds, row.as_of) == (attempt.job.team_id, 2 * 3 * 3600.0, T0 + 3 * HOUR)


def test_the_row_is_folded_forward_with_the_half_life_in_any_order(db, researcher, team_a):
    half_life = timedelta(seconds=settings.SCHEDULER_HALF_LIFE)
    record = {"team_id": team_a.pk, "user_id": researcher.pk}
    usage_record(**record, gpu_seconds=100 * 3600.0, at=T0)
    usage_record(**record, gpu_seconds=10 * 3600.0, at=T0 + half_life)
    assert math.isclose(row_of(researcher).gpu_seconds, (50 + 10) * 3600.0)
    usage_record(**record, gpu_seconds=8 * 3600.0, at=T0)  # folded late: decayed to the row's instant
    row = row_of(researcher)
    assert math.isclose(row.gpu_seconds, (50 + 10 + 4) * 3600.0) and row.as_of == T0 + half_life
    now = T0 + 2 * half_life
    assert usage_by_team_and_user(now=now, half_life_s=settings.SCHEDULER_HALF_LIFE) == {
        (team_a.pk, researcher.pk): pytest.approx(32 * 3600.0)
    }


def test_a_booking_counts_while_it_lasts_and_is_folded_once_when_it_has_passed(time_machine, researcher, gpus):
    time_machine.move_to(T0, tick=False)
    held = booking(user=researcher, gpus=gpus[:2], start=T0 + HOUR, end=T0 + 5 * HOUR)
    key = (held.team_id, researcher.pk)
    half_life = settings.SCHEDULER_HALF_LIFE
    # Withheld from its start, used or not; undecayed while it lasts, like a running job.
    assert usage_by_team_and_user(now=T0 + 3 * HOUR, half_life_s=half_life) == {key: 2 * 2 * 3600.0}
    time_machine.move_to(T0 + 6 * HOUR, tick=False)
    scheduling_pass()
    scheduling_pass()
    row = row_of(researcher)
    assert (row.gpu_seconds, row.as_of) == (2 * 4 * 3600.0, T0 + 5 * HOUR)
    assert Booking.objects.get(pk=held.pk).usage_folded_at == T0 + 6 * HOUR
    now = T0 + 6 * HOUR
    expected = decay(2 * 4 * 3600.0, T0 + 5 * HOUR, now)
    assert usage_by_team_and_user(now=now, half_life_s=half_life) == {key: pytest.approx(expected)}


def test_a_cancelled_booking_counts_what_it_held(time_machine, researcher, gpus):
    time_machine.move_to(T0, tick=False)
    started = booking(user=researcher, gpus=gpus[:2], start=T0 + HOUR, end=T0 + 5 * HOUR)
    never = booking(user=researcher, gpus=gpus[2:], start=T0 + 2 * HOUR, end=T0 + 5 * HOUR)
    time_machine.move_to(T0 + HOUR + HOUR / 2, tick=False)
    booking_cancel(booking=started, by=researcher)
    booking_cancel(booking=never, by=researcher)
    time_machine.move_to(T0 + 6 * HOUR, tick=False)
    scheduling_pass()
    assert row_of(researcher).gpu_seconds == 2 * 1800.0  # half an hour on two GPUs; the other none


def test_a_job_in_its_teams_booking_counts_only_as_the_booking(time_machine, researcher, gpus):
    time_machine.move_to(T0, tick=False)
    held = booking(user=researcher, gpus=gpus[:2], start=T0 + timedelta(minutes=1), end=T0 + 3 * HOUR)
    time_machine.move_to(T0 + timedelta(minutes=2), tick=False)
    ran(time_machine, researcher, gpus, count=2, hours=1, booking_id=held.pk)
    assert not FairShareUsage.objects.exists()
    time_machine.move_to(T0 + 4 * HOUR, tick=False)
    scheduling_pass()
    assert row_of(researcher).gpu_seconds == 2 * (3 * 3600.0 - 60)


def test_decayed_usage_ranks_the_light_team_first_and_the_order_flips_back_as_time_passes(
    time_machine, researcher, outsider, gpus
):
    # Team A runs 2 GPUs for 10 h, then books 2 GPUs for 10 h; team B books 1 GPU for 2 h.
    time_machine.move_to(T0, tick=False)
    ran(time_machine, researcher, gpus, count=2, hours=10)
    booking(user=researcher, gpus=gpus[:2], start=T0 + 11 * HOUR, end=T0 + 21 * HOUR)
    booking(user=outsider, gpus=gpus[2:3], start=T0 + 11 * HOUR, end=T0 + 13 * HOUR)
    # Two days on (the node long silent, so nothing starts): A's job waits an hour longer than B's.
    t1 = T0 + 2 * DAY
    time_machine.move_to(t1, tick=False)
    heavy = submit(researcher)
    time_machine.move_to(t1 + HOUR, tick=False)
    light = submit(outsider)
    time_machine.move_to(t1 + 2 * HOUR, tick=False)
    scheduling_pass()
    heavy.refresh_from_db()
    light.refresh_from_db()
    assert (light.queue_position, heavy.queue_position) == (1, 2)
    assert heavy.fair_share_factor < light.fair_share_factor

    # Five weeks on, A's 40 GPU-hours have halved five times; B has just booked a GPU for a day.
    t2 = t1 + 35 * DAY
    time_machine.move_to(t2 - 2 * DAY - HOUR, tick=False)
    booking(user=outsider, gpus=gpus[3:], start=t2 - 2 * DAY, end=t2 - DAY)
    time_machine.move_to(t2, tick=False)
    scheduling_pass()
    heavy.refresh_from_db()
    light.refresh_from_db()
    assert (heavy.queue_position, light.queue_position) == (1, 2)
    assert heavy.fair_share_factor > light.fair_share_factor
    # The usage the pass read, against contributions decayed one by one.
    a = decay(20 * 3600.0, T0 + 10 * HOUR, t2) + decay(20 * 3600.0, T0 + 21 * HOUR, t2)
    b = decay(2 * 3600.0, T0 + 13 * HOUR, t2) + decay(24 * 3600.0, t2 - DAY, t2)
    usage = usage_by_team_and_user(now=t2, half_life_s=settings.SCHEDULER_HALF_LIFE)
    assert usage == {
        (heavy.team_id, researcher.pk): pytest.approx(a),
        (light.team_id, outsider.pk): pytest.approx(b),
    }
    assert a < b < 40 * 3600.0  # without the decay A would still be the heavier team


def test_two_users_of_one_team_are_ordered_by_their_own_usage(time_machine, researcher, team_admin, gpus):
    time_machine.move_to(T0, tick=False)
    ran(time_machine, researcher, gpus, count=2, hours=5)
    time_machine.move_to(T0 + DAY, tick=False)
    busy = submit(researcher)
    time_machine.move_to(T0 + DAY + HOUR, tick=False)
    idle = submit(team_admin)
    scheduling_pass()
    busy.refresh_from_db()
    idle.refresh_from_db()
    assert (idle.queue_position, busy.queue_position) == (1, 2)
    assert idle.fair_share_factor > busy.fair_share_factor


def test_a_team_without_a_quota_row_takes_part_with_no_limits(time_machine, researcher, outsider, team_b, gpus):
    TeamQuota.objects.filter(team=team_b).delete()
    time_machine.move_to(T0, tick=False)
    up(gpus)
    # Beyond the default limits of a team with a row (a week per job, 16 GPUs at once).
    job = submit(outsider, gpus=4, time_limit=8 * DAY)
    assert list(scheduling_pass().placements) == [job.pk]
    attempt = Attempt.objects.get(job=job)
    assert attempt_claim(attempt_id=attempt.pk, host="fs-host", worker="fs-host:1:test")
    time_machine.move_to(T0 + 10 * HOUR, tick=False)
    attempt_finish(attempt=attempt, state=AttemptState.SUCCEEDED, exit_code=0)
    # Its usage counts like any team's: team A's later job now ranks first.
    time_machine.move_to(T0 + DAY, tick=False)
    first = submit(outsider)
    time_machine.move_to(T0 + DAY + HOUR, tick=False)
    later = submit(researcher)
    scheduling_pass()
    first.refresh_from_db()
    later.refresh_from_db()
    assert (later.queue_position, first.queue_position) == (1, 2)


def test_the_job_list_and_the_api_show_a_pending_jobs_fair_share(time_machine, client, researcher, gpus):
    time_machine.move_to(T0, tick=False)
    job = submit(researcher)
    scheduling_pass()  # the node never heartbeated: the job waits
    job.refresh_from_db()
    assert job.fair_share_factor == 1.0 and job.pending_reason
    client.force_login(researcher)
    page = client.get("/jobs/").content.decode()
    assert f"{job.pending_reason} · " in page and "fair share 1.00" in page
    assert api_client_for(researcher).get(f"/api/v1/jobs/{job.pk}/").json()["fair_share_factor"] == 1.0
