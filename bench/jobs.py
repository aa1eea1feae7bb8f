"""Jobs end to end with real processes: submit → running latency, and throughput of trivial jobs.

    .venv/bin/python bench/jobs.py                      # embedded: SQLite + filesystem broker
    .venv/bin/python bench/jobs.py --service            # PostgreSQL + Redis (127.0.0.1)
    options: --latency-jobs 30 --jobs 1000 --fleet 4x8:A100-80GB

Starts its own database (var/bench-jobs/ or the PostgreSQL database `atelier_bench`), the GPU agent,
the node worker and beat as subprocesses with the default intervals, then
1. latency: one `sleep 2` job at a time on the idle cluster; submit commit → attempt claimed (running);
2. throughput: N `true` jobs submitted at once through the simulated fleet; jobs per minute until all
   ended, and the duration of scheduling passes with that queue.
Results go in docs/benchmarks.md.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere
VAR = ROOT / "var" / "bench-jobs"


def environment(service: bool, fleet: str) -> dict:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("ATELIER_", "DATABASE_URL", "CELERY_", "REDIS_URL"))
    }
    env |= {
        "ATELIER_VAR_DIR": str(VAR),
        "ATELIER_GPU_BACKEND": "simulated",
        "ATELIER_SIM_FLEET": fleet,
        "ATELIER_JOB_WORKDIR_ROOT": str(VAR),
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "PYTHONUNBUFFERED": "1",
    }
    if service:
        env |= {
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/atelier_bench",
            "CELERY_BROKER_URL": "redis://127.0.0.1:6379/2",
            "REDIS_URL": "redis://127.0.0.1:6379/3",
            "CELERY_KEY_PREFIX": "atelier-bench:",
            "CHANNELS_KEY_PREFIX": "atelier-bench",
        }
    return env


def reset(service: bool) -> None:
    shutil.rmtree(VAR, ignore_errors=True)
    VAR.mkdir(parents=True)
    if service:
        for sql in ("DROP DATABASE IF EXISTS atelier_bench", "CREATE DATABASE atelier_bench"):
            subprocess.run(
                ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-c", sql],
                check=True,
                capture_output=True,
            )
        subprocess.run(["redis-cli", "-n", "2", "flushdb"], check=True, capture_output=True)


def start(env: dict) -> list[subprocess.Popen]:
    python = sys.executable
    commands = [
        [python, "manage.py", "gpu_agent"],
        [python, "manage.py", "node_worker"],
        [python, "-m", "celery", "-A", "portal", "beat"],
    ]
    logs = [open(VAR / f"proc{i}.log", "wb") for i in range(len(commands))]
    return [
        subprocess.Popen(c, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        for c, log in zip(commands, logs)
    ]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--service", action="store_true")
    parser.add_argument("--latency-jobs", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--fleet", default="4x8:A100-80GB")
    args = parser.parse_args()
    reset(args.service)
    env = environment(args.service, args.fleet)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    os.environ.update(env)
    import django

    django.setup()
    processes = start(env)
    try:
        run(args)
    finally:
        for process in processes:
            os.killpg(process.pid, 15)


def run(args) -> None:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from portal.teams.models import Role
    from portal.teams.services import membership_set, quota_update, team_create
    from scheduler.models import Attempt, Gpu, Job
    from scheduler.services.jobs import job_submit
    from scheduler.services.scheduling import scheduling_pass

    team = team_create(name="Bench")
    quota_update(team=team, max_concurrent_gpus=4096, gpu_hours_per_month=10_000_000, guaranteed_gpus=4096)
    user = get_user_model().objects.create(username="bench")
    membership_set(team=team, user=user, roles={Role.RESEARCHER})
    expected = sum(
        int(g.split(":")[0].split("x")[0]) * int(g.split(":")[0].split("x")[1]) for g in args.fleet.split(",")
    )
    while Gpu.objects.filter(node__last_heartbeat__gte=timezone.now() - timedelta(seconds=5)).count() < expected:
        time.sleep(0.2)

    latencies = []
    for _ in range(args.latency_jobs):
        job = job_submit(user=user, command="sleep 2", gpus=1, time_limit=timedelta(minutes=10))
        submitted = job.submitted_at
        while not (attempt := Attempt.objects.filter(job=job, started_at__isnull=False).first()):
            time.sleep(0.01)
        latencies.append((attempt.started_at - submitted).total_seconds())
        while not Job.objects.get(pk=job.pk).ended_at:
            time.sleep(0.05)
    print(
        f"submit→running: p50 {statistics.median(latencies):.2f} s, p95 {percentile(latencies, 0.95):.2f} s over {len(latencies)} jobs"
    )

    started = time.monotonic()
    for _ in range(args.jobs):
        job_submit(user=user, command="true", gpus=1, time_limit=timedelta(minutes=10))
    submitted = time.monotonic() - started
    pass_times = []
    while Job.objects.filter(ended_at__isnull=True).exists():
        t0 = time.perf_counter()
        scheduling_pass()
        pass_times.append((time.perf_counter() - t0) * 1000)
        time.sleep(1.0)
    elapsed = time.monotonic() - started
    done = Job.objects.filter(state="succeeded", command="true").count()
    print(
        f"{args.jobs} jobs (`true`) through {expected} GPUs: {done} succeeded in {elapsed:.1f} s "
        f"(submitting took {submitted:.1f} s) = {done / elapsed * 60:.0f} jobs/min"
    )
    print(
        f"scheduling pass while draining the queue: median {statistics.median(pass_times):.0f} ms, p95 {percentile(pass_times, 0.95):.0f} ms, max {max(pass_times):.0f} ms ({len(pass_times)} passes)"
    )


if __name__ == "__main__":
    main()
