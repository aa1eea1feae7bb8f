"""Gang placement: all of a job's GPUs at once, chosen by best fit.

Topology placement keeps a job on one node unless it allows several, and picks the node whose
eligible free GPUs just fit, so whole nodes stay free for large jobs. Count placement ("any
GPUs") takes the first free eligible GPUs regardless of node, like the Tiresias simulator's
`count` scheme that the reference figures use.
"""

from __future__ import annotations

import heapq
from typing import Callable, Optional

from scheduler.policy.types import Gpu


class FreeView:
    """Free GPUs grouped by node (input order), with nodes bucketed by how many GPUs they have free.

    The buckets make "does a gang fit on one node" O(1), and each bucket's heap of (node rank,
    node) makes best fit O(log nodes): a pass stays linear in the queue and the cluster. Heaps
    are cleaned lazily: an entry whose node has left the bucket is dropped when it reaches the top.
    """

    def __init__(self, by_node: dict, node_rank: dict):
        self.by_node = by_node
        self.node_rank = node_rank
        self.total = sum(len(gpus) for gpus in by_node.values())
        self.buckets: dict = {}
        self.heaps: dict = {}
        for node, gpus in by_node.items():
            self.buckets.setdefault(len(gpus), set()).add(node)
        for free, nodes in self.buckets.items():
            self.heaps[free] = sorted((node_rank[node], node) for node in nodes)
        self.max_on_node = max(self.buckets, default=0)

    def remove(self, taken_ids: set, nodes: list) -> None:
        """Drop GPUs just given to a job (only `nodes` can hold them)."""
        for node in nodes:
            before = self.by_node.get(node)
            if not before:
                continue
            after = [g for g in before if g.id not in taken_ids]
            if len(after) == len(before):
                continue
            self.buckets[len(before)].discard(node)
            if after:
                self.by_node[node] = after
                self.buckets.setdefault(len(after), set()).add(node)
                heapq.heappush(self.heaps.setdefault(len(after), []), (self.node_rank[node], node))
            else:
                del self.by_node[node]
            self.total -= len(before) - len(after)
        while self.max_on_node > 0 and not self.buckets.get(self.max_on_node):
            self.max_on_node -= 1

    def best_fit_node(self, count: int):
        """The node with the fewest free GPUs that still holds `count` (ties: node order), or None."""
        for free in range(count, self.max_on_node + 1):
            nodes = self.buckets.get(free)
            if nodes:
                heap = self.heaps[free]
                while heap[0][1] not in nodes:
                    heapq.heappop(heap)
                return heap[0][1]
        return None


class FreePool(FreeView):
    """All free usable GPUs of the pass."""

    def __init__(self, gpus: list, node_rank: dict):
        by_node: dict = {}
        for gpu in gpus:
            by_node.setdefault(gpu.node, []).append(gpu)
        super().__init__(by_node, node_rank)

    def give(self, gpus: list, order: dict) -> None:
        """Return GPUs (of preempted jobs) to the pool, keeping input order."""
        for gpu in gpus:
            self.by_node.setdefault(gpu.node, []).append(gpu)
        for node in self.by_node:
            self.by_node[node].sort(key=lambda g: order[g.id])
        FreeView.__init__(self, self.by_node, self.node_rank)


def eligible_by_node(by_node: dict, accept: Optional[Callable[[Gpu], bool]]) -> dict:
    """The free GPUs a job may use, per node; `accept` None means every free GPU."""
    if accept is None:
        return by_node
    result = {}
    for node, gpus in by_node.items():
        chosen = [g for g in gpus if accept(g)]
        if chosen:
            result[node] = chosen
    return result


def best_fit_single_node(by_node: dict, count: int, node_rank: dict) -> Optional[tuple]:
    """The node with the fewest eligible free GPUs that still holds `count` (ties: node order)."""
    best = None
    best_key = None
    for node, gpus in by_node.items():
        if len(gpus) >= count:
            key = (len(gpus), node_rank[node])
            if best_key is None or key < best_key:
                best, best_key = node, key
    if best is None:
        return None
    return tuple(by_node[best][:count])


def spread_over_nodes(by_node: dict, count: int, node_rank: dict) -> Optional[tuple]:
    """A multi-node gang: whole nodes with the most free GPUs first, the remainder by best fit."""
    if sum(len(g) for g in by_node.values()) < count:
        return None
    chosen: list = []
    remaining = dict(by_node)
    while True:
        fit = best_fit_single_node(remaining, count, node_rank)
        if fit is not None:
            return tuple(chosen) + fit
        # No node holds the rest: take the fullest node whole, so the gang spans few nodes.
        node = min(remaining, key=lambda n: (-len(remaining[n]), node_rank[n]))
        taken = remaining.pop(node)
        chosen.extend(taken)
        count -= len(taken)


def choose_gpus(by_node: dict, count: int, multi_node: bool, mode: str, node_rank: dict) -> Optional[tuple]:
    """GPUs for a gang of `count` from eligible free GPUs, or None when it cannot be placed now."""
    if count <= 0:
        return None
    if mode == "count":
        chosen: list = []
        for node in sorted(by_node, key=node_rank.__getitem__):
            for gpu in by_node[node]:
                chosen.append(gpu)
                if len(chosen) == count:
                    return tuple(chosen)
        return None
    fit = best_fit_single_node(by_node, count, node_rank)
    if fit is not None or not multi_node:
        return fit
    return spread_over_nodes(by_node, count, node_rank)
