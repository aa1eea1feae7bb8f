"""Jobs end to end with real processes: submit → running latency, and throughput of trivial jobs.

    .venv/bin/python bench/jobs.py                      # embedded: SQLite + filesystem broker
    .venv/bin/python bench/jobs.py --service            # PostgreSQL + Redis (127.0.0.1)
    options: --latency-jobs 30 --two-node-jobs 10 --jobs 1000 --fleet 4x8:A100-80GB (0 skips a part)

Starts its own database (var/bench-jobs/ or the PostgreSQL database `atelier_bench`), the GPU agent,
the node worker and beat as subprocesses with the default intervals, then
1. latency: one `sleep 2` job at a time on the idle cluster; submit commit → attempt claimed (running);
   then the same for multi-node jobs one GPU larger than a node (two parts: running once both claimed);
2. throughput: N `true` jobs submitted at once through the simulated fleet; jobs per minute until all
   ended, and the duration of scheduling passes with that queue.
Results go in docs/benchmarks.md.
"""

import argparse
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

from bench.harness import (  # noqa: E402
    bench_researcher,
    fleet_size,
    fleet_wait,
    stack_environment,
    stack_reset,
    stack_running,
)

VAR = ROOT / "var" / "bench-jobs"
DATABASE = "atelier_bench"
REDIS_DB = 2


PROCESSES = {
    "agent": [sys.executable, "manage.py", "gpu_agent"],
    "worker": [sys.executable, "manage.py", "node_worker"],
    "beat": [sys.executable, "-m", "celery", "-A", "portal", "beat"],
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--service", action="store_true")
    parser.add_argument("--latency-jobs", type=int, default=30)
    parser.add_argument("--two-node-jobs", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--fleet", default="4x8:A100-80GB")
    args = parser.parse_args()
    stack_reset(var=VAR, service=args.service, database=DATABASE, redis_db=REDIS_DB)
    extra = {"ATELIER_SIM_FLEET": args.fleet, "ATELIER_JOB_WORKDIR_ROOT": str(VAR)}
    env = stack_environment(var=VAR, service=args.service, database=DATABASE, redis_db=REDIS_DB, extra=extra)
    with stack_running(env=env, var=VAR, commands=PROCESSES):
        run(args)


def run(args) -> None:
    from scheduler.models import Attempt, Job
    from scheduler.services.jobs import job_submit
    from scheduler.services.scheduling import scheduling_pass

    _, user = bench_researcher()
    expected = fleet_size(args.fleet)
    fleet_wait(expected)

    per_node = int(args.fleet.split("x")[1].split(":")[0])
    for label, count, fields in [
        ("", args.latency_jobs, {"gpus": 1}),
        (f"two-node ({per_node + 1} GPUs) ", args.two_node_jobs, {"gpus": per_node + 1, "multi_node": True}),
    ]:
        latencies = []
        for _ in range(count):
            job = job_submit(user=user, command="sleep 2", time_limit=timedelta(minutes=10), **fields)
            submitted = job.submitted_at
            while not (attempt := Attempt.objects.filter(job=job, started_at__isnull=False).first()):
                time.sleep(0.01)
            latencies.append((attempt.started_at - submitted).total_seconds())
            while not Job.objects.get(pk=job.pk).ended_at:
                time.sleep(0.05)
            assert Job.objects.get(pk=job.pk).state == "succeeded", Job.objects.get(pk=job.pk).state_reason
        if latencies:
            print(
                f"{label}submit→running: p50 {statistics.median(latencies):.2f} s, "
                f"p95 {percentile(latencies, 0.95):.2f} s over {len(latencies)} jobs"
            )
    if not args.jobs:
        return

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
