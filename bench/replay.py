"""Trace-replay benchmark beside the Tiresias reference figures.

    .venv/bin/python bench/replay.py --part all --out var/bench-replay

Parts (default `all` runs them in this order, one process, one core):
- `vcs`: every VC of the reference (11 VCs with >= 300 jobs) at 64 and 128 GPUs (8 per node):
  fifo and fjf with count placement (the reference's semantics), fjf with topology placement, and
  atelier (topology placement, default PolicyConfig); noisy limits, seed 0.
- `whole`: all 82,247 jobs on 1,024 GPUs like the reference's ALL rows, with wall time.
- `fairness`: all VCs as teams on 512 GPUs: per-team mean (bounded) slowdown and its spread for
  fifo, fjf and atelier, all with topology placement.
- `starvation`: the wait bound of docs/scheduling.md: at 64 GPUs, count placement for every
  policy, on each VC where FIFO queues: maximum wait and average JCT of atelier against fjf
  (`--config name=value` replays atelier with other PolicyConfig fields; not part of `all`).
Writes `<part>.csv` and `<part>.md` under --out and prints the markdown.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from dataclasses import replace

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from scheduler.policy.replay import simulate  # noqa: E402
from scheduler.policy.traces import load_trace, select_vc, time_limits  # noqa: E402
from scheduler.policy.types import PolicyConfig  # noqa: E402

TRACES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "..", "shared", "traces")
DEFAULT_TRACE = os.path.join(TRACES, "philly_jobs_pollux.csv")
DEFAULT_REFERENCE = os.path.join(TRACES, "reference_tiresias_philly.csv")
RUNS = (("fifo", "count"), ("fjf", "count"), ("fjf", "topology"), ("atelier", "topology"))


def load_reference(path: str) -> dict:
    with open(path, newline="") as handle:
        return {(int(r["gpus"]), r["vc"], r["policy"]): r for r in csv.DictReader(handle)}


def write(out: str, name: str, rows: list, markdown: list) -> None:
    os.makedirs(out, exist_ok=True)
    if rows:
        with open(os.path.join(out, f"{name}.csv"), "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    with open(os.path.join(out, f"{name}.md"), "w") as handle:
        handle.write("\n".join(markdown) + "\n")
    print("\n".join(markdown), flush=True)


def part_vcs(jobs: list, limits: dict, reference: dict, out: str) -> None:
    vcs = sorted({vc for (_, vc, _) in reference if vc != "ALL"})
    rows = []
    md = [
        "| GPUs | VC | jobs | ref FIFO | our FIFO (count) | diff | ref fjf | our fjf (count) | our fjf (topology) "
        "| atelier | atelier / ref fjf | FIFO / atelier | FIFO / 2D-LAS | max wait h: fjf count / fjf topo / atelier | queues? |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for gpus in (64, 128):
        for vc in vcs:
            selection = select_vc(jobs, vc)
            results = {}
            for policy, placement in RUNS:
                results[(policy, placement)] = simulate(selection, gpus, 8, policy, limits, placement)
            ref = {p: float(reference[(gpus, vc, p)]["avg_jct_s"]) for p in ("fifo", "fjf", "dlas-gpu")}
            ref_queue = float(reference[(gpus, vc, "fifo")]["avg_queueing_s"])
            fifo, fjf_c, fjf_t, atelier = (results[r] for r in RUNS)
            queues = ref_queue > 0.10 * ref["fifo"]
            row = {
                "gpus": gpus,
                "vc": vc,
                "jobs": fifo.jobs,
                "dropped": fifo.dropped,
                "ref_fifo": ref["fifo"],
                "fifo": round(fifo.avg_jct_s),
                "fifo_diff_pct": round(100 * (fifo.avg_jct_s / ref["fifo"] - 1), 3),
                "ref_fjf": ref["fjf"],
                "fjf_count": round(fjf_c.avg_jct_s),
                "fjf_topology": round(fjf_t.avg_jct_s),
                "atelier": round(atelier.avg_jct_s),
                "atelier_median": round(atelier.median_jct_s),
                "atelier_p95": round(atelier.p95_jct_s),
                "atelier_avg_queue": round(atelier.avg_queueing_s),
                "ref_dlas": ref["dlas-gpu"],
                "fifo_over_atelier": round(ref["fifo"] / atelier.avg_jct_s, 2),
                "fifo_over_dlas": round(ref["fifo"] / ref["dlas-gpu"], 2),
                "max_wait_h_fjf_count": round(fjf_c.max_queueing_s / 3600),
                "max_wait_h_fjf_topology": round(fjf_t.max_queueing_s / 3600),
                "max_wait_h_atelier": round(atelier.max_queueing_s / 3600),
                "max_wait_h_fifo": round(fifo.max_queueing_s / 3600),
                "queues": queues,
                "atelier_beats_ref_fjf": atelier.avg_jct_s < ref["fjf"],
                "wall_s": round(sum(r.wall_s for r in results.values()), 1),
            }
            rows.append(row)
            md.append(
                f"| {gpus} | {vc} | {fifo.jobs} | {ref['fifo']:,.0f} | {fifo.avg_jct_s:,.0f} | {row['fifo_diff_pct']:+.2f}% "
                f"| {ref['fjf']:,.0f} | {fjf_c.avg_jct_s:,.0f} | {fjf_t.avg_jct_s:,.0f} | {atelier.avg_jct_s:,.0f} "
                f"| {atelier.avg_jct_s / ref['fjf']:.2f} | {row['fifo_over_atelier']:.2f}x | {row['fifo_over_dlas']:.2f}x "
                f"| {row['max_wait_h_fjf_count']} / {row['max_wait_h_fjf_topology']} / {row['max_wait_h_atelier']} "
                f"| {'yes' if queues else 'no'} |"
            )
    write(out, "vcs", rows, md)


def part_whole(jobs: list, limits: dict, reference: dict, out: str) -> None:
    selection = select_vc(jobs, None)
    rows = []
    md = [
        "| policy | placement | jobs | finished | avg JCT s | ref avg JCT s | median | p95 | avg queue s | wall s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for policy, placement in (("fifo", "count"), ("fjf", "count"), ("atelier", "topology")):
        r = simulate(selection, 1024, 8, policy, limits, placement)
        ref = reference.get((1024, "ALL", policy))
        ref_jct = float(ref["avg_jct_s"]) if ref else None
        rows.append(
            {
                "policy": policy,
                "placement": placement,
                "jobs": r.jobs,
                "finished": r.finished,
                "avg_jct_s": round(r.avg_jct_s),
                "ref_avg_jct_s": ref_jct,
                "median": round(r.median_jct_s),
                "p95": round(r.p95_jct_s),
                "avg_queue_s": round(r.avg_queueing_s),
                "wall_s": round(r.wall_s, 1),
            }
        )
        ref_text = f"{ref_jct:,.0f}" if ref else "— (no reference)"
        md.append(
            f"| {policy} | {placement} | {r.jobs} | {r.finished} | {r.avg_jct_s:,.0f} | {ref_text} | {r.median_jct_s:,.0f} "
            f"| {r.p95_jct_s:,.0f} | {r.avg_queueing_s:,.0f} | {r.wall_s:.1f} |"
        )
    write(out, "whole", rows, md)


def part_fairness(jobs: list, limits: dict, out: str) -> None:
    selection = select_vc(jobs, None)
    results = {}
    for policy in ("fifo", "fjf", "atelier"):
        results[policy] = simulate(selection, 512, 8, policy, limits, "topology")
        print(f"fairness {policy}: wall {results[policy].wall_s:.0f} s", file=sys.stderr, flush=True)
    teams = sorted(results["fifo"].team_slowdown)
    rows = [{"team": t, **{p: round(results[p].team_slowdown[t], 2) for p in results}} for t in teams]
    md = ["| team (VC) | jobs | fifo mean slowdown | fjf | atelier |", "|---|---|---|---|---|"]
    counts = {}
    for job in selection:
        counts[job.team] = counts.get(job.team, 0) + 1
    for row in rows:
        md.append(
            f"| {row['team']} | {counts[row['team']]} | {row['fifo']:.2f} | {row['fjf']:.2f} | {row['atelier']:.2f} |"
        )
    for label, attr in (("spread (max / min)", "slowdown_spread"), ("stdev", "slowdown_stdev")):
        md.append(
            f"| **{label}** | | {getattr(results['fifo'], attr):.2f} | {getattr(results['fjf'], attr):.2f} "
            f"| {getattr(results['atelier'], attr):.2f} |"
        )
    md.append(
        f"| **worst team mean** | | {max(results['fifo'].team_slowdown.values()):.2f} "
        f"| {max(results['fjf'].team_slowdown.values()):.2f} | {max(results['atelier'].team_slowdown.values()):.2f} |"
    )
    for key in ("avg_jct_s", "median_jct_s", "p95_jct_s", "avg_queueing_s", "max_queueing_s", "utilization", "wall_s"):
        md.append(
            f"| {key} | | {getattr(results['fifo'], key):,.2f} | {getattr(results['fjf'], key):,.2f} "
            f"| {getattr(results['atelier'], key):,.2f} |"
        )
    write(out, "fairness", rows, md)


QUEUEING_VCS_AT_64 = ("0e4a51", "11cb48", "2869ce", "6214e9", "6c71a0", "7f04ca", "b436b2", "ee9e8c")


def part_starvation(jobs: list, limits: dict, out: str, config: PolicyConfig, vcs: tuple) -> None:
    rows = []
    md = [
        "| VC | jobs | fjf avg JCT s | atelier avg JCT s | fjf max wait h | atelier max wait h "
        "| max wait atelier / fjf | wall s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for vc in vcs:
        selection = select_vc(jobs, vc)
        fjf = simulate(selection, 64, 8, "fjf", limits, "count")
        atelier = simulate(selection, 64, 8, "atelier", limits, "count", config)
        ratio = atelier.max_queueing_s / fjf.max_queueing_s if fjf.max_queueing_s else 1.0
        rows.append(
            {
                "vc": vc,
                "jobs": fjf.jobs,
                "fjf_avg_jct_s": round(fjf.avg_jct_s),
                "atelier_avg_jct_s": round(atelier.avg_jct_s),
                "fjf_max_wait_h": round(fjf.max_queueing_s / 3600, 1),
                "atelier_max_wait_h": round(atelier.max_queueing_s / 3600, 1),
                "max_wait_ratio": round(ratio, 2),
                "wall_s": round(fjf.wall_s + atelier.wall_s, 1),
            }
        )
        row = rows[-1]
        md.append(
            f"| {vc} | {row['jobs']} | {fjf.avg_jct_s:,.0f} | {atelier.avg_jct_s:,.0f} | {row['fjf_max_wait_h']} "
            f"| {row['atelier_max_wait_h']} | {ratio:.2f} | {row['wall_s']} |"
        )
    write(out, "starvation", rows, md)


def parse_config(pairs: list) -> PolicyConfig:
    """PolicyConfig with `name=value` overrides, each value of the field's own type."""
    defaults = PolicyConfig()
    overrides = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        kind = type(getattr(defaults, name))
        overrides[name] = value.lower() in ("1", "true", "yes") if kind is bool else kind(value)
    return replace(defaults, **overrides)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trace", default=DEFAULT_TRACE)
    parser.add_argument("--reference", default=DEFAULT_REFERENCE)
    parser.add_argument("--part", default="all", choices=("all", "vcs", "whole", "fairness", "starvation"))
    parser.add_argument("--config", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--vcs", default=",".join(QUEUEING_VCS_AT_64), help="VCs of the starvation part")
    parser.add_argument("--out", default="var/bench-replay")
    parser.add_argument("--seed", type=int, default=0)
    options = parser.parse_args(argv)
    began = time.perf_counter()
    jobs = load_trace(options.trace)
    limits = time_limits(jobs, "noisy", options.seed)
    reference = load_reference(options.reference)
    if options.part in ("all", "vcs"):
        part_vcs(jobs, limits, reference, options.out)
    if options.part in ("all", "whole"):
        part_whole(jobs, limits, reference, options.out)
    if options.part in ("all", "fairness"):
        part_fairness(jobs, limits, options.out)
    if options.part == "starvation":
        part_starvation(jobs, limits, options.out, parse_config(options.config), tuple(options.vcs.split(",")))
    print(f"total wall {time.perf_counter() - began:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
