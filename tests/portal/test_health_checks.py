"""What /healthz checks besides heartbeats: the database takes a write, and the disk keeps the reserve
below which jobs are stopped (docs/jobs.md "Disks")."""

import pytest
from django.db import connection
from django.test import override_settings

from portal.ops.health import HEALTH_PROBE, check_database, check_disk, health_report
from portal.ops.models import Heartbeat


@pytest.mark.django_db
def test_the_database_check_writes_a_row():
    assert check_database().ok
    assert Heartbeat.objects.filter(name=HEALTH_PROBE).exists()


READ_ONLY = {  # a database that answers reads but refuses writes, as a full disk does
    "sqlite": ("PRAGMA query_only = ON", "PRAGMA query_only = OFF"),
    "postgresql": ("SET default_transaction_read_only = on", "SET default_transaction_read_only = off"),
}


@pytest.mark.django_db(transaction=True)
def test_a_database_that_reads_but_cannot_write_is_reported_down():
    refuse_writes, allow_writes = READ_ONLY[connection.vendor]
    with connection.cursor() as cursor:
        cursor.execute(refuse_writes)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")  # what the check did before: it passes
        health = check_database()
    finally:
        with connection.cursor() as cursor:
            cursor.execute(allow_writes)
    assert not health.ok
    assert "read" in health.detail.lower()  # "readonly database", "read-only transaction"


@pytest.mark.django_db
def test_the_disk_is_healthy_above_the_reserve(settings, tmp_path):
    settings.JOB_DATA_ROOT = tmp_path / "jobs"  # not there yet: its parent's disk counts
    with override_settings(JOB_DISK_RESERVE=0):
        health = check_disk()
    assert health.ok and "GiB free under" in health.detail


@pytest.mark.django_db
def test_a_disk_below_the_reserve_turns_healthz_red(settings, tmp_path):
    settings.JOB_DATA_ROOT = tmp_path
    settings.JOB_DISK_RESERVE = 1024**5  # a petabyte: no test disk has that much free
    healthy, components = health_report()
    assert not healthy
    assert not components["disk"]["ok"] and components["disk"]["detail"].startswith("below the reserve")
