"""What the database benchmarks share: a fresh, empty database for one run, measured in a child
process (Django reads its settings once per process), and the child's start-up."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_VAR = ROOT / "var" / "bench"
# The web server's options, as deploy/supervisord.conf gives them (docs/architecture.md).
UVICORN_OPTIONS = ["--no-access-log", "--no-proxy-headers", "--lifespan", "off", "--timeout-graceful-shutdown", "5"]


def fresh_database_env(*, name: str, database: str) -> dict:
    """Environment for a child that measures on a new database: a SQLite file var/bench/<name>.sqlite3,
    or PostgreSQL database atelier_bench_<name> on $BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432).
    Embedded Celery and channel layer (no REDIS_URL); the in-process API client's host allowed, its rate unlimited."""
    env = dict(
        os.environ,
        ATELIER_VAR_DIR=str(BENCH_VAR),
        ATELIER_FAST_PASSWORD_HASHER="1",
        LOG_LEVEL="ERROR",
        ALLOWED_HOSTS="testserver",
        # A benchmark measures the API, not its rate limits (docs/security.md "Logins and tokens").
        ATELIER_API_RATE_TOKEN="1000000/minute",
        ATELIER_API_RATE_ANONYMOUS="1000000/minute",
    )
    env.pop("REDIS_URL", None)
    if database == "sqlite":
        db_file = BENCH_VAR / f"{name}.sqlite3"
        db_file.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_file}{suffix}").unlink(missing_ok=True)
        env["DATABASE_URL"] = f"sqlite:///{db_file}"
    else:
        base = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
        pg_db = f"atelier_bench_{name}"
        for sql in (f"DROP DATABASE IF EXISTS {pg_db}", f"CREATE DATABASE {pg_db}"):
            subprocess.run(["psql", f"{base}/postgres", "-qc", sql], check=True)
        env["DATABASE_URL"] = f"{base}/{pg_db}"
    return env


def measure_in_child(*, script: str, name: str, database: str, options: list[str]) -> dict:
    """Run `script --child <options>` on a fresh database; the child prints its result as the last line of JSON."""
    env = fresh_database_env(name=name, database=database)
    out = subprocess.run(
        [sys.executable, script, "--child", *options], env=env, check=True, capture_output=True, text=True, cwd=ROOT
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def django_migrated() -> None:
    """In the child: start Django on the fresh database and create its tables."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
