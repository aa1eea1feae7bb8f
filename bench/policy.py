"""One scheduling pass at scale: median milliseconds over repeats.

    .venv/bin/python bench/policy.py [--repeats 15] [--scales 1,2,4]

Base size: 1,024 GPUs (128 nodes x 8), 10,000 pending jobs, 100 bookings, 15 teams with
quotas, about 90 % of GPUs busy; 2x and 4x scale all four. Jobs follow the Philly trace's mix
(mostly 1 GPU, some 2 to 16). Seeded, so every run measures the same inputs. Targets (issue 17,
item 5): CPU-time median <= 30 ms at the base size, reasons, positions and estimates included;
at most 2.3x and 4.8x the base at 2x and 4x.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from scheduler.policy.policy import schedule  # noqa: E402
from scheduler.policy.types import (  # noqa: E402
    HOUR,
    Booking,
    ClusterState,
    Gpu,
    PendingJob,
    PolicyConfig,
    RunningJob,
    TeamState,
)

SIZES = (1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 4, 8, 16)
NOW = 1_700_000_000.0


def build_state(scale: int, seed: int = 7) -> ClusterState:
    rng = random.Random(seed)
    nodes = 128 * scale
    gpus = tuple(
        Gpu(
            id=n * 8 + i,
            node=f"node{n:04d}",
            model="A100" if n % 4 else "V100",
            memory_mb=80_000 if n % 2 else 40_000,
            usable=(n * 8 + i) % 97 != 0,
        )
        for n in range(nodes)
        for i in range(8)
    )
    teams = tuple(
        TeamState(
            name=f"team{t}",
            share=1.0 + t % 3,
            usage_gpu_seconds=rng.uniform(0, 1e7),
            usage_as_of=NOW - HOUR,
            max_gpus=None if t % 4 else 200 * scale,
            gpu_hours_remaining=None if t % 3 else 5000.0 * scale,
            guaranteed_gpus=None if t % 5 else 32 * scale,
        )
        for t in range(15)
    )
    # Bookings: each on 2 GPUs of its own node (a quarter of that node), some active, most ahead.
    booked_nodes = rng.sample(range(nodes), 100 * scale)
    bookings = tuple(
        Booking(
            id=f"res{i}",
            team=f"team{i % 15}",
            gpus=(n * 8, n * 8 + 1),
            start=NOW + rng.choice((-2, 1, 4, 12, 24, 48)) * HOUR,
            end=NOW + rng.choice((60, 72, 96)) * HOUR,
        )
        for i, n in enumerate(booked_nodes)
    )
    booked = {g for r in bookings for g in r.gpus}
    # Running jobs fill about 90 % of the unbooked GPUs.
    running = []
    unbooked = [g.id for g in gpus if g.id not in booked and g.usable]
    rng.shuffle(unbooked)
    cursor = 0
    limit = int(len(unbooked) * 0.9)
    while cursor < limit:
        size = min(rng.choice((1, 1, 1, 2, 4)), limit - cursor)
        start = NOW - rng.uniform(0, 48) * HOUR
        running.append(
            RunningJob(
                id=f"run{cursor}",
                team=f"team{rng.randrange(15)}",
                gpus=tuple(unbooked[cursor : cursor + size]),
                start=start,
                end_by=start + rng.uniform(1, 96) * HOUR,
                preemptible=rng.random() < 0.2,
            )
        )
        cursor += size
    fields = sorted(
        (
            dict(
                id=j,
                team=f"team{rng.randrange(15)}",
                gpus=rng.choice(SIZES),
                submit=NOW - rng.uniform(0, 72) * HOUR,
                time_limit=rng.uniform(0.1, 72) * HOUR,
                tier=rng.choice((0, 1, 1, 1, 2)),
                preemptible=rng.random() < 0.2,
                model="A100" if rng.random() < 0.1 else None,
                min_memory_mb=80_000 if rng.random() < 0.05 else 0,
                multi_node=rng.random() < 0.5,
            )
            for j in range(10_000 * scale)
        ),
        key=lambda job: job["submit"],
    )
    # In submit order, and made in that order, as the scheduling service reads them (order_by
    # submitted_at, id, one object per row, its values made with it): where objects lie in memory
    # follows the queue. Fresh copies of the values, not the ones drawn above in id order: those
    # lie scattered, and reading them in queue order would measure cache misses the service's
    # pass does not have.
    pending = [fresh_job(job) for job in fields]
    return ClusterState(
        now=NOW, gpus=gpus, running=tuple(running), pending=tuple(pending), bookings=bookings, teams=teams
    )


def fresh_job(fields: dict) -> PendingJob:
    """A pending job from drawn fields, each float and string a new object made with it (equal values)."""
    return PendingJob(
        id=f"job{fields['id']}",
        team="".join(("team", fields["team"][4:])),
        gpus=fields["gpus"],
        submit=fields["submit"] + 0.0,
        time_limit=fields["time_limit"] + 0.0,
        tier=fields["tier"],
        preemptible=fields["preemptible"],
        model=None if fields["model"] is None else "".join(("A1", "00")),
        min_memory_mb=fields["min_memory_mb"],
        multi_node=fields["multi_node"],
    )


def measure(state: ClusterState, repeats: int) -> tuple:
    """Wall and CPU milliseconds per pass; CPU time is the steadier one on a shared machine."""
    wall, cpu = [], []
    decision = None
    for _ in range(repeats):
        began, began_cpu = time.perf_counter(), time.process_time()
        decision = schedule(state, PolicyConfig())
        wall.append((time.perf_counter() - began) * 1000)
        cpu.append((time.process_time() - began_cpu) * 1000)
    return statistics.median(wall), min(wall), max(wall), statistics.median(cpu), decision


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--scales", default="1,2,4")
    options = parser.parse_args(argv)
    base = None
    print(f"# load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print("scale,gpus,pending,bookings,running,placed,median_ms,min_ms,max_ms,cpu_median_ms,cpu_ratio_to_base")
    for scale in [int(s) for s in options.scales.split(",")]:
        state = build_state(scale)
        median, low, high, cpu, decision = measure(state, options.repeats)
        base = base or cpu
        print(
            f"{scale},{len(state.gpus)},{len(state.pending)},{len(state.bookings)},{len(state.running)},"
            f"{len(decision.placements)},{median:.1f},{low:.1f},{high:.1f},{cpu:.1f},{cpu / base:.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
