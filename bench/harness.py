"""What the database benchmarks share: a fresh, empty database for one run, measured in a child
process (Django reads its settings once per process), and the child's start-up."""

import contextlib
import json
import os
import shutil
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


# --- benchmarks that start real processes (agent, workers, beat, web) on their own database ------------


def stack_environment(*, var: Path, service: bool, database: str, redis_db: int, extra: dict) -> dict:
    """The processes' environment: this shell's, less Atelier's own settings, with its own var folder and,
    with `service`, PostgreSQL database `database` and Redis databases `redis_db` (broker) and the next one."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("ATELIER_", "DATABASE_URL", "CELERY_", "REDIS_URL"))
    }
    env |= {
        "ATELIER_VAR_DIR": str(var),
        "ATELIER_GPU_BACKEND": "simulated",
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "PYTHONUNBUFFERED": "1",
    } | extra
    if service:
        prefix = database.replace("_", "-")
        env |= {
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
            "CELERY_BROKER_URL": f"redis://127.0.0.1:6379/{redis_db}",
            "REDIS_URL": f"redis://127.0.0.1:6379/{redis_db + 1}",
            "CELERY_KEY_PREFIX": f"{prefix}:",
            "CHANNELS_KEY_PREFIX": prefix,
        }
    return env


def stack_reset(*, var: Path, service: bool, database: str, redis_db: int) -> None:
    """An empty var folder, and with `service` an empty PostgreSQL database and broker."""
    shutil.rmtree(var, ignore_errors=True)
    var.mkdir(parents=True)
    if not service:
        return
    for sql in (f"DROP DATABASE IF EXISTS {database}", f"CREATE DATABASE {database}"):
        psql = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-c", sql]
        subprocess.run(psql, check=True, capture_output=True)
    subprocess.run(["redis-cli", "-n", str(redis_db), "flushdb"], check=True, capture_output=True)


def bench_researcher(*, team_name: str = "Bench", username: str = "bench"):
    """A researcher of a team whose quota never refuses a benchmark's jobs."""
    from django.contrib.auth import get_user_model

    from portal.teams.models import Role
    from portal.teams.services import membership_set, quota_update, team_create

    team = team_create(name=team_name)
    quota_update(team=team, max_concurrent_gpus=4096, gpu_hours_per_month=10_000_000, guaranteed_gpus=4096)
    user = get_user_model().objects.create(username=username)
    membership_set(team=team, user=user, roles={Role.RESEARCHER})
    return team, user


def fleet_size(fleet: str) -> int:
    """GPUs in an ATELIER_SIM_FLEET value ("4x8:A100-80GB,2x4:H100" → 40)."""
    return sum(int(g.split(":")[0].split("x")[0]) * int(g.split(":")[0].split("x")[1]) for g in fleet.split(","))


def fleet_wait(gpus: int) -> None:
    """Until the agent reports `gpus` live GPUs."""
    import time
    from datetime import timedelta

    from django.utils import timezone

    from scheduler.models import Gpu

    while Gpu.objects.filter(node__last_heartbeat__gte=timezone.now() - timedelta(seconds=5)).count() < gpus:
        time.sleep(0.2)


@contextlib.contextmanager
def stack_running(*, env: dict, var: Path, commands: dict[str, list[str]]):
    """Migrate the database, start Django in this process on it, and run `commands` (name → argv, each
    logged to <var>/<name>.log) until the block ends."""
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    os.environ.update(env)
    import django

    django.setup()
    processes = []
    try:
        for name, command in commands.items():
            log = open(var / f"{name}.log", "wb")  # noqa: SIM115 (open while the process runs)
            processes.append(
                subprocess.Popen(
                    command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
            )
        yield processes
    finally:
        for process in processes:
            os.killpg(process.pid, 15)
