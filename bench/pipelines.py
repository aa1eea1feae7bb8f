"""Pipelines with real processes (docs/pipelines.md): how fast the advance loop moves a run along.

    .venv/bin/python bench/pipelines.py                   # embedded: SQLite + filesystem broker
    .venv/bin/python bench/pipelines.py --service         # PostgreSQL + Redis (127.0.0.1)
    options: --chains 20 --fan 200 --fleet 4x8:A100-80GB --skip-loop
             --split   the deployment's roles (docs/deployment.md): the node worker without the default
                       queue, and a housekeeping worker consuming it (advances, scheduling passes)

Starts its own database (var/bench-pipelines/ or the PostgreSQL database `atelier_bench_pipelines`), the
GPU agent, the node worker and beat as subprocesses with the default intervals, then:
1. hand-off: `a → b` (two trivial job steps, never cached: they declare no code) run --chains times;
   from a's job ending to b's job submitted (the job_ended signal → advance task → job_submit), p50/p95;
2. the five-step loop (freeze → export → train → evaluate → register; the detector trained for 2 steps on
   4 generated strips), once for real, then again unchanged: the cached re-run's wall time, run created →
   run finished, with the worker's advance doing every step from the cache;
3. fan-out/fan-in: one step, --fan − 2 parallel steps, one step (trivial jobs) on the simulated fleet:
   total wall time, and the advance loop's own time per step (the worker's `training.pipeline_advance`
   task runtimes, from its log, summed and divided by the steps).
Targets (issue 23): hand-off p95 ≤ 1 s; cached re-run ≤ 2 s. Results go in docs/benchmarks.md.
"""

import argparse
import re
import statistics
import sys
import time
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
from bench.jobs import percentile  # noqa: E402

VAR = ROOT / "var" / "bench-pipelines"
DATABASE = "atelier_bench_pipelines"
REDIS_DB = 6
ADVANCE_LINE = re.compile(r"Task training\.pipeline_advance\[[^\]]+\] succeeded in ([0-9.e-]+)s")
TRAIN = "python examples/train_detector.py --steps 2 --batch 2 --tile-height 400 --scale 0.25 --threads 1"
LOOP = f"""
parameters: {{dataset: {{type: int}}}}
steps:
  freeze: {{type: dataset.freeze, parameters: {{dataset: "{{{{ params.dataset }}}}"}}}}
  export:
    type: dataset.export
    inputs: {{version: "{{{{ steps.freeze.outputs.version }}}}"}}
    parameters: {{format: coco, options: {{include_images: true}}}}
  train:
    type: train
    inputs: {{dataset: "{{{{ steps.export.outputs.export }}}}"}}
    parameters: {{command: "{TRAIN}", code: [examples/train_detector.py, training/detector/model.py]}}
  evaluate:
    type: evaluate
    inputs: {{checkpoint: "{{{{ steps.train.outputs.checkpoint }}}}", dataset: "{{{{ steps.export.outputs.export }}}}"}}
    parameters: {{command: python examples/evaluate_detector.py --threads 1, code: [examples/evaluate_detector.py]}}
  register:
    type: model.register
    inputs: {{checkpoint: "{{{{ steps.train.outputs.checkpoint }}}}", metrics: "{{{{ steps.evaluate.outputs.metrics }}}}"}}
    parameters: {{model: bench-strips, gate: "map50 >= 0"}}
"""
HANDOFF = """
steps:
  a: {type: job, parameters: {command: 'echo a > "$ATELIER_OUTPUT_DIR/a.txt"'}, outputs: {a: a.txt}}
  b: {type: job, inputs: {a: "{{ steps.a.outputs.a }}"}, parameters: {command: "true"}}
"""


def fan_spec(steps: int) -> str:
    middle = "\n".join(
        f"  w{i}: {{type: job, after: [first], parameters: {{command: 'true'}}}}" for i in range(steps - 2)
    )
    last = ", ".join(f"w{i}" for i in range(steps - 2))
    return (
        "steps:\n  first: {type: job, parameters: {command: 'true'}}\n"
        f"{middle}\n  last: {{type: job, after: [{last}], parameters: {{command: 'true'}}}}\n"
    )


def processes(*, split: bool) -> dict[str, list[str]]:
    commands = {
        "agent": [sys.executable, "manage.py", "gpu_agent"],
        "worker": [sys.executable, "manage.py", "node_worker", *(["--no-default"] if split else [])],
        "beat": [sys.executable, "-m", "celery", "-A", "portal", "beat"],
    }
    if split:  # as deploy/systemd/atelier-housekeeping.service
        commands["housekeeping"] = [
            *(sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool", "threads", "--concurrency", "4"),
            *("--queues", "default", "--hostname", "housekeeping@bench", "--without-mingle", "--without-gossip"),
            *("--loglevel", "INFO"),
        ]
    return commands


def advance_seconds() -> list[float]:
    logs = [VAR / "worker.log", VAR / "housekeeping.log"]
    text = "".join(log.read_text(errors="replace") for log in logs if log.exists())
    return [float(m.group(1)) for m in ADVANCE_LINE.finditer(text)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--service", action="store_true")
    parser.add_argument("--chains", type=int, default=20)
    parser.add_argument("--fan", type=int, default=200)
    parser.add_argument("--fleet", default="4x8:A100-80GB")
    parser.add_argument("--skip-loop", action="store_true", help="skip the five-step loop (it trains a detector)")
    parser.add_argument("--split", action="store_true", help="node worker and housekeeping worker apart")
    args = parser.parse_args()
    stack_reset(var=VAR, service=args.service, database=DATABASE, redis_db=REDIS_DB)
    extra = {
        "ATELIER_SIM_FLEET": args.fleet,
        "ATELIER_JOB_WORKDIR_ROOT": str(ROOT),  # the loop's jobs run the checkout's examples/
        "ATELIER_DEMO_TRAINING": "0",
    }
    env = stack_environment(var=VAR, service=args.service, database=DATABASE, redis_db=REDIS_DB, extra=extra)
    with stack_running(env=env, var=VAR, commands=processes(split=args.split)):
        run(args)


def run(args) -> None:
    team, user = bench_researcher()
    expected = fleet_size(args.fleet)
    fleet_wait(expected)
    roles = "node worker + housekeeping worker" if args.split else "one node worker serving every queue"
    print(f"fleet: {expected} simulated GPUs; database: {'PostgreSQL' if args.service else 'SQLite'}; {roles}")
    handoff(user, team, args.chains)
    if not args.skip_loop:
        cached_rerun(user, team)
    fan(user, team, args.fan, expected)


def ended(run, timeout: float = 600.0):
    from training.models import PipelineRun

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fresh = PipelineRun.objects.get(pk=run.pk)
        if fresh.finished_at:
            return fresh
        time.sleep(0.05)
    raise SystemExit(f"run {run.pk} did not end in {timeout:.0f} s")


def handoff(user, team, chains: int) -> None:
    from training.services.pipeline_runs import pipeline_run_start
    from training.services.pipelines import pipeline_create

    pipeline = pipeline_create(user=user, team_id=team.pk, name="handoff", text=HANDOFF)
    gaps = []
    for _ in range(chains):
        run = ended(pipeline_run_start(user=user, pipeline=pipeline))
        assert run.state == "succeeded", run.error
        a, b = (run.steps.get(name=name).job for name in ("a", "b"))
        gaps.append((b.submitted_at - a.ended_at).total_seconds())
    print(
        f"hand-off, a's job ended → b's job submitted: p50 {statistics.median(gaps) * 1000:.0f} ms, "
        f"p95 {percentile(gaps, 0.95) * 1000:.0f} ms, max {max(gaps) * 1000:.0f} ms over {len(gaps)} runs"
    )


def cached_rerun(user, team) -> None:
    from scheduler.models import Job
    from training.demo import detection_version_create
    from training.services.pipeline_runs import pipeline_run_start
    from training.services.pipelines import pipeline_create

    version = detection_version_create(
        user=user, team_id=team.pk, name="Bench strips", seeds=range(4), width=160, height=480
    )
    pipeline = pipeline_create(user=user, team_id=team.pk, name="loop", text=LOOP)
    first = ended(pipeline_run_start(user=user, pipeline=pipeline, parameters={"dataset": version.dataset_id}))
    assert first.state == "succeeded", first.error
    print(
        f"five-step loop, first run (trains for real): {(first.finished_at - first.created_at).total_seconds():.1f} s"
    )
    walls, jobs = [], Job.objects.count()
    for _ in range(5):
        again = ended(pipeline_run_start(user=user, pipeline=pipeline, parameters={"dataset": version.dataset_id}))
        assert again.state == "succeeded" and all(s.cache_hit_of_id for s in again.steps.all()), again.error
        walls.append((again.finished_at - again.created_at).total_seconds())
    assert Job.objects.count() == jobs
    print(
        f"five-step loop, cached re-run (run created → finished, 0 jobs): median {statistics.median(walls):.2f} s, "
        f"max {max(walls):.2f} s over {len(walls)} re-runs"
    )


def fan(user, team, steps: int, gpus: int) -> None:
    from training.services.pipeline_runs import pipeline_run_start
    from training.services.pipelines import pipeline_create

    pipeline = pipeline_create(user=user, team_id=team.pk, name=f"fan-{steps}", text=fan_spec(steps))
    before = len(advance_seconds())
    run = ended(pipeline_run_start(user=user, pipeline=pipeline), timeout=1800)
    assert run.state == "succeeded", run.error
    wall = (run.finished_at - run.created_at).total_seconds()
    advances = advance_seconds()[before:]
    print(
        f"fan-out/fan-in of {steps} trivial job steps on {gpus} GPUs: {wall:.1f} s wall; "
        f"{len(advances)} advance tasks, {sum(advances):.2f} s in all = {sum(advances) / steps * 1000:.1f} ms per step "
        f"(median task {statistics.median(advances) * 1000:.0f} ms, max {max(advances) * 1000:.0f} ms)"
    )


if __name__ == "__main__":
    main()
