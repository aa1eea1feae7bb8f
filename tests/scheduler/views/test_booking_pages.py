"""The booking pages: the timeline's data (no inline script), "My bookings", and the secret .ics feed."""

import json
from datetime import timedelta

import pytest
from icalendar import Calendar

from scheduler.models import CalendarFeed, GpuState
from tests.scheduler.factories import attempt_row, booking, fleet, hours_from_now

pytestmark = pytest.mark.django_db


def test_the_timeline_lists_gpus_by_node_with_drained_and_lost_marked(client, researcher):
    gpus = fleet(nodes=2, per_node=2)
    gpus[1].state = GpuState.LOST
    gpus[1].save()
    node = gpus[2].node
    node.drained = True
    node.save()
    client.force_login(researcher)
    page = client.get("/bookings/").content.decode()
    data = json.loads(page.split('<script id="booking-page-data" type="application/json">')[1].split("</script>")[0])
    assert [(n["title"], [g["title"] for g in n["children"]]) for n in data["resources"]] == [
        ("node-00", ["gpu0 · A100-80GB", "gpu1 · A100-80GB · lost"]),
        ("node-01 (drained)", ["gpu0 · A100-80GB · drained", "gpu1 · A100-80GB · drained"]),
    ]
    assert data["teams"] == [{"id": researcher.memberships.get().team_id, "name": "Team A"}]
    assert "<script>" not in page  # scripts are files; data travels in json_script


def test_the_timeline_says_when_there_is_nothing_to_book(client, researcher):
    client.force_login(researcher)
    assert "there are no GPUs to book" in client.get("/bookings/").content.decode()


def test_my_bookings_lists_only_mine(client, researcher, outsider):
    gpus = fleet(nodes=1, per_node=2)
    booking(user=researcher, gpus=gpus[:1], start=hours_from_now(1), end=hours_from_now(2), note="mine")
    booking(user=outsider, gpus=gpus[1:], start=hours_from_now(1), end=hours_from_now(2), note="theirs")
    client.force_login(researcher)
    page = client.get("/bookings/mine/").content.decode()
    assert "mine" in page and "theirs" not in page


def test_the_calendar_feed_serves_my_bookings_with_a_secret_token(client, researcher, outsider):
    gpus = fleet(nodes=1, per_node=2)
    mine = booking(user=researcher, gpus=gpus[:1], start=hours_from_now(1), end=hours_from_now(3), note="train")
    booking(user=outsider, gpus=gpus[1:], start=hours_from_now(1), end=hours_from_now(2))
    client.force_login(researcher)
    client.get("/bookings/mine/")
    token = CalendarFeed.objects.get(user=researcher).token
    client.logout()
    response = client.get(f"/bookings/feed/{token}.ics")
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    events = [c for c in Calendar.from_ical(response.content).walk("VEVENT")]
    assert [(str(e["summary"]), e["dtstart"].dt, e["dtend"].dt, str(e["description"])) for e in events] == [
        ("GPUs: node-00/gpu0", mine.start, mine.end, "train")
    ]
    assert client.get("/bookings/feed/not-a-token.ics").status_code == 404


def test_a_new_feed_address_revokes_the_old_one(client, researcher):
    client.force_login(researcher)
    client.get("/bookings/mine/")
    old = CalendarFeed.objects.get(user=researcher).token
    assert client.post("/bookings/feed/regenerate/").status_code == 302
    new = CalendarFeed.objects.get(user=researcher).token
    assert new != old
    assert client.get(f"/bookings/feed/{old}.ics").status_code == 404
    assert client.get(f"/bookings/feed/{new}.ics").status_code == 200


def test_the_timeline_shows_jobs_outside_bookings_naming_them_only_to_their_team(client, researcher, outsider, team_a):
    from django.utils import timezone

    from scheduler.models import GpuOccupancy

    gpu = fleet(nodes=1, per_node=1)[0]
    now = timezone.now()
    attempt = attempt_row(researcher, team_a)
    GpuOccupancy.objects.create(
        gpu=gpu,
        team=team_a,
        user=researcher,
        kind="job",
        attempt=attempt,
        start=now,
        end=now + timezone.timedelta(hours=1),
    )

    def jobs_seen_by(user):
        client.force_login(user)
        page = client.get("/bookings/").content.decode()
        return [j["title"] for j in json.loads(page.split('type="application/json">')[1].split("</script>")[0])["jobs"]]

    assert jobs_seen_by(researcher) == [f"job {attempt.job_id} · Team A"]
    assert jobs_seen_by(outsider) == ["job"]


def test_my_bookings_extends_shortens_and_cancels(client, researcher):
    from zoneinfo import ZoneInfo

    from scheduler.models import Booking

    gpus = fleet(nodes=1, per_node=2)
    mine = booking(user=researcher, gpus=gpus[:1], start=hours_from_now(2), end=hours_from_now(4))
    client.force_login(researcher)
    page = client.get("/bookings/mine/").content.decode()
    assert f'action="/bookings/{mine.pk}/end/"' in page and f'action="/bookings/{mine.pk}/cancel/"' in page

    zone = ZoneInfo(researcher.time_zone)
    later = (mine.end + timedelta(hours=2)).astimezone(zone)
    answer = client.post(f"/bookings/{mine.pk}/end/", {"end_local": later.strftime("%Y-%m-%dT%H:%M")}, follow=True)
    mine.refresh_from_db()
    assert mine.end == later and "now ends" in answer.content.decode()

    backwards = (mine.start - timedelta(hours=1)).astimezone(zone)
    answer = client.post(f"/bookings/{mine.pk}/end/", {"end_local": backwards.strftime("%Y-%m-%dT%H:%M")}, follow=True)
    mine.refresh_from_db()
    assert mine.end == later and "error" in answer.content.decode()  # refused in words, nothing changed

    client.post(f"/bookings/{mine.pk}/cancel/")
    assert Booking.objects.get(pk=mine.pk).state == "cancelled"


def test_someone_elses_booking_cannot_be_changed_from_the_page(client, researcher, outsider):
    gpus = fleet(nodes=1, per_node=2)
    theirs = booking(user=researcher, gpus=gpus[:1], start=hours_from_now(2), end=hours_from_now(4))
    client.force_login(outsider)
    assert client.post(f"/bookings/{theirs.pk}/cancel/").status_code in (403, 404)
    theirs.refresh_from_db()
    assert theirs.state == "active"
