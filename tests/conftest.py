"""Shared test set-up: hypothesis profiles and the named actors; the process stack lives in tests/stack.py."""

import os

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
        help="run with the clock this many days ahead (time-machine), so a test with a date in it fails in CI before "
        "that date passes; with -m 'not stack': the stack's processes keep the real clock",
    )


def pytest_collection_modifyitems(config, items):
    """A test that uses the stack of real processes is a `stack` test, marked or not."""
    import pytest

    for item in items:
        if {"stack", "live_stack"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.stack)


def pytest_sessionstart(session):
    days = session.config.getoption("--clock-ahead-days")
    if days:
        from datetime import UTC, datetime, timedelta

        import time_machine

        session.config._clock_ahead = time_machine.travel(datetime.now(UTC) + timedelta(days=days), tick=True)
        session.config._clock_ahead.start()
