"""Environment for a test run, set before Django reads its settings (loaded with `-p tests.testenv`).

The run gets its own var/ (SQLite test file, filesystem broker, media) and its own Redis key prefixes,
so it never meets a `make run` on the same machine. Intervals are short so the stack reacts fast.
"""

import os
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN_ID = uuid.uuid4().hex[:8]

TEST_ENV = {
    # Own folder and PostgreSQL test database per run: two runs on one machine never share state.
    "ATELIER_VAR_DIR": str(ROOT / "var" / "test" / RUN_ID),
    "ATELIER_TEST_DB_NAME": f"test_atelier_{RUN_ID}",
    "CELERY_KEY_PREFIX": f"atelier-test-{RUN_ID}:",
    "CHANNELS_KEY_PREFIX": f"atelier-test-{RUN_ID}",
    "ATELIER_CACHE_KEY_PREFIX": f"atelier-test-{RUN_ID}-cache",
    "ATELIER_WORKER_HEARTBEAT_INTERVAL": "0.5",
    "ATELIER_BEAT_TICK_INTERVAL": "0.5",
    "ATELIER_HEALTH_MIN_STALE_SECONDS": "3",
    "ATELIER_REALTIME_POLL_INTERVAL": "0.2",
    "ATELIER_GPU_BACKEND": "simulated",
    "ATELIER_DEMO_TRAINING": "0",  # the demo's detector job: tests/training/test_demo_training.py turns it on
    "ATELIER_FAST_PASSWORD_HASHER": "1",
    "ATELIER_SIM_FLEET": "1x4:A100-80GB,1x4:L40S-48GB",
    "ATELIER_AGENT_INTERVAL": "0.5",
    "ATELIER_AGENT_FLUSH_INTERVAL": "1",
    "ATELIER_NODE_DOWN_MIN_SECONDS": "3",
    "ATELIER_JOB_WORKDIR_ROOT": str(ROOT / "var" / "test" / RUN_ID / "work"),
    "ATELIER_JOB_POLL_INTERVAL": "0.1",
    "ATELIER_JOB_MIN_TIME_LIMIT": "1",
    "ATELIER_JOB_HEARTBEAT_INTERVAL": "0.5",
    "ATELIER_JOB_HEARTBEAT_TTL": "4",
    "ATELIER_JOB_CLAIM_TIMEOUT": "5",
    "ATELIER_JOB_DB_OUTAGE_GRACE": "10",
    "ATELIER_JOB_NODE_DOWN_GRACE": "15",  # more than the outage grace + TTL (settings refuse less)
    "ATELIER_JOB_KILL_GRACE_SECONDS": "1",
    "ATELIER_JOB_DISK_RESERVE": "100M",  # twice the log cap: a CI disk with little room still runs jobs
    "ATELIER_SCHEDULER_PASS_INTERVAL": "1",
    "ATELIER_REAPER_INTERVAL": "1",
    # Generous limits, so tests and benchmarks never measure lockouts or 429s; the tests of the limits
    # lower them (tests/portal/test_login_throttling.py, tests/portal/api/test_throttling.py).
    "ATELIER_LOGIN_FAILURE_LIMIT": "1000",
    "ATELIER_API_RATE_TOKEN": "1000000/minute",
    "ATELIER_API_RATE_ANONYMOUS": "1000000/minute",
}
for name, value in TEST_ENV.items():
    os.environ.setdefault(name, value)
# A pytest-xdist worker inherits the controller's environment: it gets a folder (SQLite file, broker,
# media) and Redis key prefixes of its own; pytest-django suffixes the test database name. The job
# workdir root stays shared: it only bounds where a job may run, and test ids quote it (equal on all workers).
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if XDIST_WORKER and not os.environ.get("ATELIER_XDIST_ENV_FOR") == XDIST_WORKER:
    os.environ["ATELIER_XDIST_ENV_FOR"] = XDIST_WORKER
    os.environ["ATELIER_VAR_DIR"] = str(Path(os.environ["ATELIER_VAR_DIR"]) / XDIST_WORKER)
    for name in ("CELERY_KEY_PREFIX", "CHANNELS_KEY_PREFIX", "ATELIER_CACHE_KEY_PREFIX"):
        os.environ[name] = f"{os.environ[name].rstrip(':')}-{XDIST_WORKER}" + (
            ":" if os.environ[name].endswith(":") else ""
        )
Path(os.environ["ATELIER_JOB_WORKDIR_ROOT"]).mkdir(parents=True, exist_ok=True)
# Playwright's sync API runs an event loop in the test thread; Django must still allow ORM calls there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
os.environ.setdefault("HYPOTHESIS_PROFILE", "ci")


def pytest_sessionfinish(session, exitstatus):
    """Remove this run's folder (SQLite test file, broker queue) unless asked to keep it."""
    import shutil

    if not os.environ.get("ATELIER_KEEP_TEST_VAR"):
        shutil.rmtree(os.environ["ATELIER_VAR_DIR"], ignore_errors=True)
