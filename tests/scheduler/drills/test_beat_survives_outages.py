"""Processes around the jobs survive outages: beat keeps ticking in the same process through a
database cut (it used to exit on the first failed write, and then nothing was reaped)."""

import signal
import subprocess
import time

import pytest
from django.conf import settings
from django.utils import timezone

from portal.ops.models import Heartbeat
from tests.stack import BIN, ROOT, wait_for
from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.stack


def beat_seen_since(instant) -> bool:
    return Heartbeat.objects.filter(name="beat", last_seen__gt=instant).exists()


def test_beat_ticks_on_in_the_same_process_after_a_database_cut_of_20_s(live_stack, service_only):
    port = settings.DATABASES["default"].get("PORT") or 5432
    proxy = TcpProxy(upstream_port=int(port))
    url = live_stack.env["DATABASE_URL"].replace(f":{port}/", f":{proxy.port}/")
    assert f":{proxy.port}/" in url
    live_stack.stop("beat")
    log = open(live_stack.log_dir / "drill-beat.log", "ab")
    beat = subprocess.Popen(
        [str(BIN / "celery"), "-A", "portal", "beat", "--loglevel", "INFO"],
        cwd=ROOT,
        env={**live_stack.env, "DATABASE_URL": url},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        started = timezone.now()
        wait_for(lambda: beat_seen_since(started), timeout=60, what="beat's first heartbeat")
        proxy.cut()
        time.sleep(20)
        assert beat.poll() is None, "beat exited during the cut"
        proxy.restore()
        restored = timezone.now()
        wait_for(lambda: beat_seen_since(restored), timeout=30, what="beat's heartbeat after the cut")
        assert beat.poll() is None
        assert "the database is unreachable" in (live_stack.log_dir / "drill-beat.log").read_text()
    finally:
        beat.send_signal(signal.SIGKILL)
        beat.wait(10)
        proxy.close()
