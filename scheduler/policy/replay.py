"""Trace replay: a discrete-event simulation driving the same `schedule()` as the live scheduler.

    .venv/bin/python -m scheduler.policy.replay tests/data/philly_sample.csv \
        --gpus 64 --gpus-per-node 8 --vc e13805 --policy all --limits noisy --out var/replay

(the committed sample; the full trace, where a machine has it, is described in docs/scheduling.md).

Events are submits and ends. At each instant ends release GPUs first, then submits join the
queue, then one pass runs (the Tiresias simulator's order). Jobs run for their trace duration;
the policy sees only their time limits. No database, no Django.
Policies: `fifo` (strict, no backfill), `fjf` (non-preemptive first-fit in submit order) and
`atelier` (the multifactor policy with EASY backfill), all through `schedule()`.
"""

from __future__ import annotations

import argparse
import csv
import heapq
import json
import os
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field, replace

from scheduler.policy.policy import schedule
from scheduler.policy.ranking import decayed
from scheduler.policy.traces import load_trace, select_vc, time_limits
from scheduler.policy.types import ClusterState, Gpu, PendingJob, PolicyConfig, RunningJob, TeamState

POLICIES = ("fifo", "fjf", "atelier")
SLOWDOWN_FLOOR_S = 60.0  # bounded slowdown: a 1-second job waiting 10 s is not "slowed 10x"


def policy_config(policy: str, placement: str, base: PolicyConfig = PolicyConfig()) -> PolicyConfig:
    """The configuration of each replayed policy (reasons and estimates are not needed here)."""
    quiet = replace(base, placement=placement, explain=False, allow_preemption=False)
    if policy == "fifo":
        return replace(quiet, ranking="submit_order", backfill="none")
    if policy == "fjf":
        return replace(quiet, ranking="submit_order", backfill="first_fit")
    if policy == "atelier":
        return quiet
    raise ValueError(f"unknown policy {policy!r}")


@dataclass
class JobRecord:
    job_id: int
    team: str
    num_gpu: int
    submit: float
    start: float
    end: float
    duration: float


@dataclass
class ReplayResult:
    policy: str
    gpus: int
    jobs: int
    dropped: int
    finished: int
    avg_jct_s: float
    median_jct_s: float
    p95_jct_s: float
    avg_queueing_s: float
    max_queueing_s: float
    makespan_s: float
    utilization: float
    team_slowdown: dict = field(default_factory=dict)
    slowdown_spread: float = 0.0
    slowdown_stdev: float = 0.0
    wall_s: float = 0.0
    records: list = field(default_factory=list, repr=False)

    def summary(self) -> dict:
        data = asdict(self)
        data.pop("records")
        return data


def percentile(values: list, q: float) -> float:
    """Linear-interpolated percentile of sorted `values` (numpy's default method)."""
    if not values:
        return 0.0
    position = (len(values) - 1) * q / 100.0
    low = int(position)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (position - low)


def make_cluster(total: int, per_node: int) -> tuple:
    return tuple(Gpu(id=i, node=f"node{i // per_node:04d}") for i in range(total))


def simulate(
    jobs: list,
    total_gpus: int,
    per_node: int,
    policy: str,
    limits: dict,
    placement: str = "topology",
    config: PolicyConfig = PolicyConfig(),
) -> ReplayResult:
    """Replay `jobs` (relative submits, submit order) on a cluster of `total_gpus`."""
    began = time.perf_counter()
    cfg = policy_config(policy, placement, config)
    gpus = make_cluster(total_gpus, per_node)
    runnable = [job for job in jobs if job.gpus <= total_gpus]
    dropped = len(jobs) - len(runnable)
    by_index = {job.index: job for job in runnable}
    pending_jobs = {
        job.index: PendingJob(
            id=job.index,
            team=job.team,
            gpus=job.gpus,
            submit=job.submit,
            time_limit=max(1.0, limits[job.index]),
            multi_node=job.gpus > per_node,
        )  # trace jobs larger than a node span nodes
        for job in runnable
    }
    uses_teams = cfg.ranking == "multifactor"
    usage: dict = {}
    usage_as_of: dict = {}
    team_names = sorted({job.team for job in runnable})
    teams = tuple(TeamState(name=name) for name in team_names)
    running: dict = {}
    ends: list = []
    pending: list = []
    sizes_waiting: dict = {}  # GPUs requested -> how many waiting jobs ask for that many
    free = total_gpus
    records = {}
    arrival = 0
    changed = False
    while arrival < len(runnable) or ends:
        next_arrival = runnable[arrival].submit if arrival < len(runnable) else float("inf")
        now = min(next_arrival, ends[0][0] if ends else float("inf"))
        released = False
        while ends and ends[0][0] == now:
            _, index = heapq.heappop(ends)
            job = running.pop(index)
            free += len(job.gpus)
            released = True
            if uses_teams:
                team = job.team
                usage[team] = (
                    decayed(usage.get(team, 0.0), usage_as_of.get(team, now), now, cfg.half_life_s)
                    + len(job.gpus) * by_index[index].duration
                )
                usage_as_of[team] = now
                changed = True
        arrived = False
        while arrival < len(runnable) and runnable[arrival].submit == now:
            pending.append(pending_jobs[runnable[arrival].index])
            sizes_waiting[runnable[arrival].gpus] = sizes_waiting.get(runnable[arrival].gpus, 0) + 1
            arrival += 1
            arrived = True
        if not pending or free < smallest_request(pending, sizes_waiting, cfg):
            continue  # no waiting job fits in the free GPUs: a pass could start nothing
        if cfg.backfill == "none" and not released and arrived and not all_arrived_now(pending, now):
            continue  # strict FIFO: nothing was released, so the older queue head is still blocked
        if uses_teams and changed:
            teams = tuple(
                TeamState(name=n, usage_gpu_seconds=usage.get(n, 0.0), usage_as_of=usage_as_of.get(n, 0.0))
                for n in team_names
            )
            changed = False
        state = ClusterState(
            now=now,
            gpus=gpus,
            running=tuple(running.values()),
            pending=tuple(pending),
            teams=teams if uses_teams else (),
        )
        decision = schedule(state, cfg)
        if not decision.placements:
            continue
        for index in sorted(decision.placements, key=lambda i: (by_index[i].submit, i)):
            chosen = decision.placements[index]
            trace_job = by_index[index]
            pj = pending_jobs[index]
            running[index] = RunningJob(id=index, team=pj.team, gpus=chosen, start=now, end_by=now + pj.time_limit)
            free -= len(chosen)
            sizes_waiting[pj.gpus] -= 1
            end = now + trace_job.duration
            heapq.heappush(ends, (end, index))
            records[index] = JobRecord(
                index, trace_job.team, trace_job.gpus, trace_job.submit, now, end, trace_job.duration
            )
        pending = [job for job in pending if job.id not in decision.placements]
    result = summarise(policy, total_gpus, len(jobs), dropped, records)
    result.wall_s = time.perf_counter() - began
    return result


def smallest_request(pending: list, sizes_waiting: dict, cfg: PolicyConfig) -> int:
    """The fewest GPUs a pass could start a job with: strict FIFO only ever starts its head."""
    if cfg.backfill == "none":
        return pending[0].gpus
    return min(size for size, count in sizes_waiting.items() if count > 0)


def all_arrived_now(pending: list, now: float) -> bool:
    """True when the queue was empty before this instant's submits."""
    return all(job.submit == now for job in pending)


def summarise(policy: str, total_gpus: int, jobs: int, dropped: int, records: dict) -> ReplayResult:
    done = [records[i] for i in sorted(records)]
    jcts = sorted(r.end - r.submit for r in done)
    waits = [r.start - r.submit for r in done]
    first = min((r.submit for r in done), default=0.0)
    last = max((r.end for r in done), default=0.0)
    makespan = last - first
    busy = sum(r.num_gpu * r.duration for r in done)
    per_team: dict = {}
    for r in done:
        slowdown = max(1.0, (r.end - r.submit) / max(r.duration, SLOWDOWN_FLOOR_S))
        per_team.setdefault(r.team, []).append(slowdown)
    team_slowdown = {team: statistics.fmean(v) for team, v in sorted(per_team.items())}
    values = list(team_slowdown.values())
    return ReplayResult(
        policy=policy,
        gpus=total_gpus,
        jobs=jobs,
        dropped=dropped,
        finished=len(done),
        avg_jct_s=statistics.fmean(jcts) if jcts else 0.0,
        median_jct_s=percentile(jcts, 50),
        p95_jct_s=percentile(jcts, 95),
        avg_queueing_s=statistics.fmean(waits) if waits else 0.0,
        max_queueing_s=max(waits, default=0.0),
        makespan_s=makespan,
        utilization=busy / (total_gpus * makespan) if makespan > 0 else 0.0,
        team_slowdown=team_slowdown,
        slowdown_spread=(max(values) / min(values)) if values else 0.0,
        slowdown_stdev=statistics.pstdev(values) if len(values) > 1 else 0.0,
        records=done,
    )


def write_jobs_csv(result: ReplayResult, path: str) -> None:
    """Per-job CSV comparable with the Tiresias simulator's job.csv."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["job_id", "team", "num_gpu", "submit", "start", "end"])
        for r in result.records:
            writer.writerow([r.job_id, r.team, r.num_gpu, f"{r.submit:.0f}", f"{r.start:.0f}", f"{r.end:.0f}"])


def replay(
    trace: str,
    gpus: int = 128,
    gpus_per_node: int = 8,
    vc: str | None = None,
    policies: tuple = POLICIES,
    limits: str = "noisy",
    placement: str = "topology",
    seed: int = 0,
    jobs_cache: list | None = None,
) -> list:
    """Run the chosen policies over one selection of the trace; the library entry point."""
    everything = jobs_cache if jobs_cache is not None else load_trace(trace)
    jobs = select_vc(everything, vc)
    limit_by_index = time_limits(everything, limits, seed)
    return [simulate(jobs, gpus, gpus_per_node, policy, limit_by_index, placement) for policy in policies]


def format_row(result: ReplayResult) -> str:
    return (
        f"{result.policy:8s} jobs={result.jobs} dropped={result.dropped} finished={result.finished} "
        f"avg_jct={result.avg_jct_s:.0f} median={result.median_jct_s:.0f} p95={result.p95_jct_s:.0f} "
        f"avg_queue={result.avg_queueing_s:.0f} max_queue={result.max_queueing_s:.0f} "
        f"makespan={result.makespan_s:.0f} util={result.utilization:.3f} "
        f"slowdown_spread={result.slowdown_spread:.2f} wall={result.wall_s:.1f}s"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="replay_trace", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The replay's options; shared with the `replay_trace` management command."""
    parser.add_argument("trace", help="path to philly_jobs_pollux.csv")
    parser.add_argument("--gpus", type=int, default=128)
    parser.add_argument("--gpus-per-node", type=int, default=8)
    parser.add_argument("--vc", default=None, help="one virtual cluster (team); default all")
    parser.add_argument("--policy", default="all", choices=POLICIES + ("all",))
    parser.add_argument("--limits", default="noisy", choices=("oracle", "noisy"))
    parser.add_argument("--placement", default="topology", choices=("topology", "count"))
    parser.add_argument("--out", default=None, help="folder for summary.json and jobs-<policy>.csv")
    parser.add_argument("--seed", type=int, default=0)


def run_from_options(options, stdout=None) -> list:
    """Run a replay from parsed options, print one line per policy, write files under --out."""
    stdout = stdout or sys.stdout
    policies = POLICIES if options.policy == "all" else (options.policy,)
    results = replay(
        options.trace,
        options.gpus,
        options.gpus_per_node,
        options.vc,
        policies,
        options.limits,
        options.placement,
        options.seed,
    )
    for result in results:
        stdout.write(format_row(result) + "\n")
    if options.out:
        os.makedirs(options.out, exist_ok=True)
        for result in results:
            write_jobs_csv(result, os.path.join(options.out, f"jobs-{result.policy}.csv"))
        with open(os.path.join(options.out, "summary.json"), "w") as handle:
            json.dump([r.summary() for r in results], handle, indent=2)
    return results


def main(argv: list | None = None) -> int:
    run_from_options(build_parser().parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
