"""Loading the Philly trace (philly_jobs_pollux.csv) for replay.

Teams are the `cluster` column (Philly virtual clusters), run times the `duration` column.
Time limits are what users would have asked for: the true duration (`oracle`) or the duration
times a seeded random factor in [1, 4] (`noisy`, because users overestimate). The factor is drawn
for every row in file order, so a job gets the same limit whichever subset is replayed.
Attribution: derived from the Microsoft Philly trace (CC BY 4.0, Jeon et al., USENIX ATC'19) via
petuum/adaptdl (Apache-2.0); see tests/data/README.md (the committed sample) and docs/scheduling.md.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from datetime import datetime, timezone

NOISY_LOW = 1.0
NOISY_HIGH = 4.0


@dataclass(frozen=True)
class TraceJob:
    """One trace row: `index` is its file order (0-based), `submit` seconds since the epoch (UTC)."""

    index: int
    submit: float
    duration: float
    gpus: int
    team: str


def parse_timestamp(text: str) -> float:
    """'2017-10-09 07:01:55' read as UTC, to seconds since the epoch."""
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


def load_trace(path: str) -> list:
    """Every row of the trace, in file order. A sample of a trace may carry each row's position in
    the full file in a `row` column: its index then stays the full trace's (seeded limits use it)."""
    jobs = []
    with open(path, newline="") as handle:
        for position, row in enumerate(csv.DictReader(handle)):
            jobs.append(
                TraceJob(
                    index=int(row["row"]) if row.get("row") else position,
                    submit=parse_timestamp(row["timestamp"]),
                    duration=float(row["duration"]),
                    gpus=int(row["num_gpus"]),
                    team=row["cluster"],
                )
            )
    return jobs


def time_limits(jobs: list, limits: str, seed: int) -> dict:
    """Job index -> time limit in seconds, `oracle` (the duration) or `noisy` (duration x U[1, 4])."""
    if limits == "oracle":
        return {job.index: job.duration for job in jobs}
    if limits != "noisy":
        raise ValueError(f"unknown limits {limits!r}: use oracle or noisy")
    rng = random.Random(seed)
    count = max(job.index for job in jobs) + 1 if jobs else 0
    factors = [rng.uniform(NOISY_LOW, NOISY_HIGH) for _ in range(count)]
    return {job.index: job.duration * factors[job.index] for job in jobs}


def select_vc(jobs: list, vc: str | None) -> list:
    """Jobs of one virtual cluster (all jobs when `vc` is None), submit times made relative.

    Like the reference runs: submit = seconds since the first submit of the selection, ties kept
    in file order.
    """
    chosen = [job for job in jobs if vc is None or job.team == vc]
    if not chosen:
        return []
    first = min(job.submit for job in chosen)
    relative = [TraceJob(job.index, job.submit - first, job.duration, job.gpus, job.team) for job in chosen]
    relative.sort(key=lambda job: (job.submit, job.index))
    return relative
