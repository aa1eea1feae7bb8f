"""Preemption: only of preemptible jobs, only to give a team its guaranteed share, lowest rank first.

A job may be requeued only when its team holds more GPUs than it is guaranteed (it is borrowing)
and the waiting job's team stays within its own guarantee by starting. Non-preemptible jobs are
never touched, even when they borrow (docs/decisions.md §5).
"""

from __future__ import annotations

from typing import Callable, Optional

from scheduler.policy.placement import choose_gpus
from scheduler.policy.quotas import TeamLedger
from scheduler.policy.types import PendingJob


def victim_order(running: list, index: dict) -> list:
    """Preemptible jobs lowest rank first: lower tier, then the most recently started, then input order."""
    return sorted(running, key=lambda r: (r.tier, -r.start, -index[r.id]))


def preempt_for(
    job: PendingJob,
    victims: list,
    free_by_node: dict,
    accept: Optional[Callable],
    gpu_by_id: dict,
    ledger: TeamLedger,
    mode: str,
    node_rank: dict,
    gpu_order: dict,
) -> Optional[tuple]:
    """(GPUs, jobs to requeue) that let a job within its team's guarantee start now, or None."""
    taken: list = []
    extra: list = []
    held_after: dict = {}
    for victim in victims:
        if victim.team == job.team:
            continue
        held = held_after.get(victim.team, ledger.held(victim.team))
        guaranteed = ledger.team(victim.team).guaranteed_gpus or 0
        if held <= guaranteed:
            continue  # only GPUs a team borrows are taken back
        usable = [gpu_by_id[g] for g in victim.gpus if g in gpu_by_id and gpu_by_id[g].usable]
        usable = [g for g in usable if accept is None or accept(g)]
        if not usable:
            continue
        taken.append(victim)
        extra.extend(usable)
        held_after[victim.team] = held - len(victim.gpus)
        by_node = {node: list(gpus) for node, gpus in free_by_node.items()}
        for gpu in extra:
            by_node.setdefault(gpu.node, []).append(gpu)
        for node in by_node:
            by_node[node].sort(key=lambda g: gpu_order[g.id])
        chosen = choose_gpus(by_node, job.gpus, job.multi_node, mode, node_rank)
        if chosen is not None:
            chosen_ids = {g.id for g in chosen}
            needed = tuple(v for v in taken if chosen_ids.intersection(v.gpus))
            return chosen, needed
    return None
