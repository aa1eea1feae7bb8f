"""Shared test set-up: hypothesis profiles and the named actors; the process stack lives in tests/stack.py."""

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=int(os.environ.get("HYPOTHESIS_MAX_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile("dev", max_examples=200, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

pytest_plugins = ["tests.stack", "tests.actors"]


def pytest_addoption(parser):
    parser.addoption(
        "--clock-ahead-days",
        type=int,
        default=0,
        help="run each in-process test with the clock this many days ahead (time-machine), so a test with a date "
        "in it fails in CI before that date passes; stack and browser tests keep the real clock",
    )


def pytest_collection_modifyitems(config, items):
    """A test that uses the stack of real processes is a `stack` test, marked or not."""
    for item in items:
        if {"stack", "live_stack"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.stack)


@pytest.fixture(autouse=True)
def _clock_ahead(request):
    """With --clock-ahead-days, each in-process test runs that far ahead (a date written in a test fails
    in CI a year before it passes). Stack and browser tests keep the real clock: the stack's processes
    cannot be moved, and comparing their instants with a moved one would fail for nothing."""
    days = request.config.getoption("--clock-ahead-days")
    if not days or request.node.get_closest_marker("stack") or request.node.get_closest_marker("e2e"):
        yield
        return
    from datetime import UTC, datetime, timedelta

    import time_machine

    with time_machine.travel(datetime.now(UTC) + timedelta(days=days), tick=True):
        yield
