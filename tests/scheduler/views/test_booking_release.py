""" "Release the rest" (issue 24): the page an idle notification leads to, for the booking's owner and
the team's admins; it ends a running booking now and frees its GPUs; others may not."""

from datetime import timedelta

import pytest
from django.utils import timezone

from portal.notifications.services import notification_send
from scheduler.models import Booking, GpuOccupancy
from scheduler.selectors.placement import GpuRequest
from scheduler.services import bookings as booking_services
from tests.scheduler.factories import booking, fleet, hours_from_now

pytestmark = pytest.mark.django_db
H = timedelta(hours=1)


@pytest.fixture
def running(researcher):
    """researcher's booking of one GPU, started an hour ago, ending in three hours."""
    gpus = fleet(nodes=1, per_node=1)
    now = timezone.now()
    return booking_services.booking_create(
        user=researcher, start=now - H, end=now + 3 * H, request=GpuRequest(gpu_ids=(gpus[0].pk,)), now=now - 2 * H
    )


@pytest.mark.parametrize("actor", ["researcher", "team_admin", "admin"])
def test_the_owner_and_the_teams_admins_release_the_rest(request, client, running, actor):
    client.force_login(request.getfixturevalue(actor))
    page = client.get(f"/bookings/{running.pk}/release/").content.decode()
    assert "Release the rest</button>" in page and "for the 3 h left" in page

    before = timezone.now()
    answer = client.post(f"/bookings/{running.pk}/release/", follow=True)

    released = Booking.objects.get(pk=running.pk)
    assert released.state == "active" and before <= released.end <= timezone.now()
    assert set(GpuOccupancy.objects.filter(booking=released).values_list("end", flat=True)) == {released.end}
    html = answer.content.decode()
    assert f"Booking #{running.pk} released" in html and "Nothing left to release" in html


@pytest.mark.parametrize(("actor", "status"), [("outsider", 403), ("annotator", 403)])
def test_others_may_not_release(request, client, running, actor, status):
    client.force_login(request.getfixturevalue(actor))

    assert client.get(f"/bookings/{running.pk}/release/").status_code == status
    assert client.post(f"/bookings/{running.pk}/release/").status_code == status
    assert Booking.objects.get(pk=running.pk).end == running.end


def test_anonymous_people_are_sent_to_log_in(client, running):
    response = client.post(f"/bookings/{running.pk}/release/")
    assert response.status_code == 302 and "/login" in response["Location"]


def test_a_booking_that_has_not_started_is_not_released(client, researcher):
    later = booking(user=researcher, gpus=fleet(nodes=1, per_node=1), start=hours_from_now(2), end=hours_from_now(4))
    client.force_login(researcher)

    answer = client.post(f"/bookings/{later.pk}/release/", follow=True).content.decode()

    assert booking_services.NOT_STARTED in answer
    assert Booking.objects.get(pk=later.pk).end == later.end


def test_the_released_gpus_can_be_booked_at_once(researcher, outsider, running):
    released = booking_services.booking_release(booking=running, by=researcher)

    gpu_ids = tuple(GpuOccupancy.objects.filter(booking=released).values_list("gpu_id", flat=True))
    start = max(timezone.now(), released.end) + timedelta(minutes=1)
    theirs = booking_services.booking_create(
        user=outsider, start=start, end=start + H, request=GpuRequest(gpu_ids=gpu_ids)
    )
    assert theirs.state == "active"


def test_my_bookings_and_the_notification_offer_it(client, researcher, running):
    notification_send(
        user=researcher, kind="booking_idle", title="Your booking looks idle", url=f"/bookings/{running.pk}/release/"
    )
    client.force_login(researcher)

    mine = client.get("/bookings/mine/").content.decode()
    notes = client.get("/notifications/").content.decode()

    assert f'action="/bookings/{running.pk}/release/"' in mine
    assert f'<a href="/bookings/{running.pk}/release/">Release the rest…</a>' in notes
