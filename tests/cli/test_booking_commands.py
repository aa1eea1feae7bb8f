"""`atelier book` and `atelier submit --booking` against the portal in this process (httpx's WSGI
transport): the CLI speaks /api/v1/bookings/, and `--reservation` stays a hidden alias of `--booking`."""

from datetime import timedelta

import httpx
import pytest
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from typer.testing import CliRunner

from cli import main as cli
from cli.client import Api, Config
from portal.accounts.services import api_token_create
from scheduler.models import Booking, Job
from tests.scheduler.factories import booking, fleet, hours_from_now

pytestmark = pytest.mark.django_db


@pytest.fixture
def calls(researcher, monkeypatch):
    """The CLI logged in as the researcher, served in process; the list collects (method, path) it called."""
    _, token = api_token_create(user=researcher, name="cli", expires_in_days=1)
    called = []

    def in_process() -> Api:
        api = Api(Config(url="http://testserver", token=token))
        api.http = httpx.Client(
            base_url=api.http.base_url,
            headers=api.http.headers,
            transport=httpx.WSGITransport(app=get_wsgi_application()),
            event_hooks={"request": [lambda request: called.append((request.method, request.url.path))]},
        )
        return api

    monkeypatch.setattr(cli, "api", in_process)
    # As Django's test client does: the request must not close the test's connection (and its transaction).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield called
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def atelier(*args: str) -> str:
    result = CliRunner().invoke(cli.app, list(args))
    assert result.exit_code == 0, result.output or result.exception
    return result.output


def test_book_posts_to_the_bookings_path(calls, db):
    fleet(nodes=1, per_node=2)
    start, end = hours_from_now(1).isoformat(), hours_from_now(3).isoformat()
    output = atelier("book", "--gpus", "2", "--start", start, "--end", end, "--note", "sweep")
    made = Booking.objects.get()
    assert (made.note, made.gpus.count()) == ("sweep", 2)
    assert f"Booking {made.pk}: 2 GPUs from " in output
    assert calls == [("POST", "/api/v1/bookings/")]


@pytest.mark.parametrize("option", ["--booking", "--reservation"])
def test_submit_runs_inside_a_booking_named_by_either_option(calls, researcher, option):
    gpus = fleet(nodes=1, per_node=2)
    mine = booking(user=researcher, gpus=gpus, start=timezone.now() + timedelta(minutes=1), end=hours_from_now(3))
    atelier("submit", "--gpus", "2", "--time", "1h", option, str(mine.pk), "--", "python", "train.py")
    assert Job.objects.get().booking_id == mine.pk
    assert calls == [("POST", "/api/v1/jobs/")]


def test_the_old_option_name_is_hidden_from_help():
    help_text = CliRunner().invoke(cli.app, ["submit", "--help"], env={"COLUMNS": "200"}).output
    assert "--booking" in help_text and "--reservation" not in help_text


def test_submit_names_its_runtime_environment_and_environments_lists_them(calls, researcher):
    from scheduler.services.environments import SHIPPED_NAME

    fleet(nodes=1, per_node=1)
    atelier("submit", "--environment", SHIPPED_NAME, "--", "python", "examples/train.py")
    assert Job.objects.get().environment.name == SHIPPED_NAME
    listed = CliRunner().invoke(cli.app, ["environments"], env={"COLUMNS": "300"}).output
    assert SHIPPED_NAME in listed and "yes" in listed


def test_submit_multi_node_asks_for_a_job_that_may_span_nodes(calls, researcher):
    fleet(nodes=2, per_node=2)
    atelier("submit", "--gpus", "4", "--multi-node", "--", "torchrun", "train.py")
    job = Job.objects.get()
    assert (job.gpus, job.multi_node) == (4, True)
    atelier("submit", "--gpus", "1", "--", "python", "train.py")
    assert Job.objects.order_by("-pk").first().multi_node is False
