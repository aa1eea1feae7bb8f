"""The pass's decisions on seeded random clusters are pinned: a change made for speed must give
exactly the same placements, preemptions, head, order, reasons, positions and estimates.

The digests were taken with the pass before it was restructured for speed (commit 94296b4, issue
"GPU truth and a fair queue", item 5). A change that means to alter decisions updates them and
says why in its commit.
"""

import hashlib
import random

import pytest

from scheduler.policy import bulk, policy
from scheduler.policy.policy import schedule
from scheduler.policy.types import HOUR, Booking, ClusterState, Gpu, PendingJob, PolicyConfig, RunningJob, TeamState

NOW = 1_700_000_000.0
DAY = 24 * HOUR


def random_state(seed: int, scale: int = 1) -> ClusterState:
    """A small busy cluster with every rule in play: models, memory, bookings (some submitted into),
    quotas, caps, guarantees, preemptible borrowers, users, and jobs old enough to reserve or starve.
    `scale` multiplies nodes, bookings and pending jobs (the same draws at 1)."""
    rng = random.Random(seed)
    nodes = rng.randint(4, 12) * scale
    gpus = tuple(
        Gpu(
            id=f"n{n}g{i}",
            node=f"n{n}",
            model="A100" if n % 3 else "V100",
            memory_mb=80_000 if n % 2 else 40_000,
            usable=rng.random() > 0.05,
        )
        for n in range(nodes)
        for i in range(8)
    )
    team_names = [f"t{i}" for i in range(5)]
    teams = tuple(
        TeamState(
            name=name,
            share=rng.choice((1.0, 2.0)),
            usage_gpu_seconds=rng.uniform(0, 1e6),
            usage_as_of=NOW - HOUR,
            max_gpus=rng.choice((None, None, 24)),
            gpu_hours_remaining=rng.choice((None, None, 300.0)),
            guaranteed_gpus=rng.choice((None, 8, 16)),
        )
        for name in team_names[:4]  # the last team has no quota row
    )
    bookings = []
    for i in range(rng.randint(0, 4) * scale):
        n = rng.randrange(nodes)
        bookings.append(
            Booking(
                id=f"b{i}",
                team=rng.choice(team_names),
                gpus=(f"n{n}g0", f"n{n}g1", f"n{n}g2"),
                start=NOW + rng.choice((-2, 1, 6, 30)) * HOUR,
                end=NOW + rng.choice((40, 80)) * HOUR,
            )
        )
    free = [g.id for g in gpus if g.usable]
    rng.shuffle(free)
    running = []
    cursor = 0
    while cursor < len(free) * rng.uniform(0.5, 0.95):
        size = rng.choice((1, 1, 2, 4))
        start = NOW - rng.uniform(0, 30) * HOUR
        running.append(
            RunningJob(
                id=f"r{cursor}",
                team=rng.choice(team_names),
                gpus=tuple(free[cursor : cursor + size]),
                start=start,
                end_by=start + rng.uniform(1, 60) * HOUR,
                preemptible=rng.random() < 0.3,
                tier=rng.choice((0, 1, 2)),
                user=f"u{rng.randrange(3)}",
            )
        )
        cursor += size
    pending = []
    for j in range(rng.randint(20, 400) * scale):
        booking_id = None
        if bookings and rng.random() < 0.05:
            booking_id = rng.choice(bookings).id
        pending.append(
            PendingJob(
                id=f"p{j}",
                team=rng.choice(team_names),
                gpus=rng.choice((1, 1, 1, 2, 4, 8, 16)),
                submit=NOW - rng.choice((rng.uniform(0, 48), rng.uniform(0, 2000))) * HOUR,
                time_limit=rng.uniform(0.2, 80) * HOUR,
                user=f"u{rng.randrange(3)}",
                tier=rng.choice((0, 1, 1, 2)),
                preemptible=rng.random() < 0.2,
                model=rng.choice((None, None, None, "A100", "V100", "H100")),
                min_memory_mb=rng.choice((0, 0, 0, 80_000)),
                multi_node=rng.random() < 0.4,
                booking_id=booking_id,
            )
        )
    pending.sort(key=lambda job: (job.submit, job.id))
    return ClusterState(
        now=NOW, gpus=gpus, running=tuple(running), pending=tuple(pending), bookings=tuple(bookings), teams=teams
    )


CONFIGS = {
    "default": PolicyConfig(),
    "count": PolicyConfig(placement="count"),
    "reserve-young": PolicyConfig(reserve_min_age_s=2 * DAY, starvation_factor=1.0, starvation_floor_s=DAY),
    "strict": PolicyConfig(ranking="submit_order", backfill="none"),
    "first-fit": PolicyConfig(ranking="submit_order", backfill="first_fit", placement="count"),
    "no-preemption-quiet": PolicyConfig(allow_preemption=False, explain=False),
}


def digest(state: ClusterState, config: PolicyConfig) -> str:
    decision = schedule(state, config)
    text = repr(
        (
            sorted(decision.placements.items()),
            decision.preemptions,
            decision.head,
            decision.order,
            [(s.job_id, s.reason_code, s.reason, s.position, s.estimated_start) for s in decision.pending],
        )
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


PINNED = {
    "count": {
        0: "55e44912c67e42ab",
        1: "a722d7442089ee98",
        2: "847b3b857f0b6912",
        3: "2117f803abb082e7",
        4: "ce7c1e6eab3203fd",
        5: "fd884944e943d446",
        6: "3b36c978637e5688",
        7: "3f93408a56ddb76d",
        8: "35f540d661b2d821",
        9: "46b4411807eeb7a0",
        10: "e51ce430d7729285",
        11: "4e7a4614e3135b16",
    },
    "default": {
        0: "ca708fcebe46ba6b",
        1: "23d28042827db830",
        2: "6a20764669c0a8bd",
        3: "96af372716fdb142",
        4: "1399e6bc3bfc993d",
        5: "fa651772a3b3a048",
        6: "38916da727cfc5b5",
        7: "df5c5468e4e6a031",
        8: "e31783907e5291ea",
        9: "18694f0cb4405394",
        10: "c9ac736fe4c0b9bc",
        11: "bb487b3efc100658",
    },
    "first-fit": {
        0: "af01508cb4db7819",
        1: "e64625c81bfe8f7d",
        2: "5f9793142088580b",
        3: "49ecf6652aed0716",
        4: "e72a53a4e2ced230",
        5: "91079fe6f3509aae",
        6: "6063a20fe722c342",
        7: "d45ed90f5ef22fb7",
        8: "d6a4555d3d0634f8",
        9: "5821f117e84da245",
        10: "123bbffe7287c4cf",
        11: "5f7b86fc3d6ca690",
    },
    "no-preemption-quiet": {
        0: "7b4e614e5959027a",
        1: "6d30edd71c853c05",
        2: "52fca06ee65bb5eb",
        3: "f50696b98c098e27",
        4: "e5070fae9bec25ce",
        5: "59fab13088c02d54",
        6: "40cb5714fc865975",
        7: "c73f71c00cd236c8",
        8: "f6494e56402d1ea9",
        9: "d5565938202def9f",
        10: "3dcaca278ef825f5",
        11: "7cd0ce0c5e498a04",
    },
    "reserve-young": {
        0: "470a385b8f152ab0",
        1: "0de04632f93f623c",
        2: "782aeb78ea28aa10",
        3: "7d71ebba325b6362",
        4: "be7b616679779a4b",
        5: "56219fb8cd8858d7",
        6: "ca4a7c762d3ba04f",
        7: "4be95f5a51c083f7",
        8: "b71c1c0fcbeb0f05",
        9: "0711786dc23bbeca",
        10: "f97bbbfefa308853",
        11: "1d475be9768aa124",
    },
    "strict": {
        0: "f75fcbb95379794f",
        1: "73bc9290d5b16c8a",
        2: "149766c3e8cd31b1",
        3: "472d189200033f4e",
        4: "6cecb3d5850ebbe4",
        5: "8cf7a1d67e8606e1",
        6: "aa8e7bacce780cae",
        7: "be5b1c1502cc8b5f",
        8: "43b648a8dce50cff",
        9: "66f7cbf5ba03e5cc",
        10: "1b4660be979f1276",
        11: "0d29657f9d88b7ae",
    },
}


# Eight times the nodes, bookings and jobs (632 to 2,592 pending): enough jobs of each kind that the
# pass's columns, kinds and booking cuts are exercised at a size nearer a real queue's. Taken with
# the code before the pass read its queue as flat columns (commit 3bcbc94).
PINNED_LARGE = {
    "count": {0: "141f4b68918f421f", 1: "a9e6723e45597cae", 2: "dcb56b16ea3f2827", 3: "34e03fc7d886de27"},
    "default": {0: "abb0771ab030d781", 1: "56dc920792bdb82a", 2: "e9064664682b2ae5", 3: "1a96682c3b532eaf"},
    "first-fit": {0: "e5a732c8e0d9da58", 1: "7148268bac8b13fb", 2: "057ada03a4cc456b", 3: "87df5af00ee0f467"},
    "no-preemption-quiet": {0: "b091557124a8b7ff", 1: "310c2777d512f2a9", 2: "7bb09ddbc9ebb32c", 3: "2ff358eb298c2042"},
    "reserve-young": {0: "153f7b4598e604d1", 1: "157e6d70714b2735", 2: "512cf8e929e14377", 3: "eeaf61a5372e6495"},
    "strict": {0: "9d21ecd16b581ade", 1: "cc96ece611c41198", 2: "1fa41a26e0a2c853", 3: "293a7ef094f0365d"},
}


@pytest.fixture(params=["as-shipped", "bulk-from-the-first-job", "one-by-one"])
def walk(request, monkeypatch):
    """The walk as it runs, with its bulk step (bulk.py) taking every run of jobs it can in short
    runs (so its stops and restarts are exercised on small queues too), and without it."""
    if request.param == "bulk-from-the-first-job":
        monkeypatch.setattr(policy, "BULK_AFTER", 0)
        monkeypatch.setattr(bulk, "FIRST_RUN", 3)
    elif request.param == "one-by-one":
        monkeypatch.setattr(policy, "BULK_AFTER", 10**9)
    return request.param


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_decisions_on_seeded_random_clusters_are_unchanged(name, walk):
    config = CONFIGS[name]
    found = {seed: digest(random_state(seed), config) for seed in range(12)}
    assert found == PINNED[name]


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_decisions_on_larger_seeded_clusters_are_unchanged(name, walk):
    config = CONFIGS[name]
    found = {seed: digest(random_state(seed, scale=8), config) for seed in range(4)}
    assert found == PINNED_LARGE[name]


def test_the_states_exercise_every_rule():
    """The digests would prove little if the seeded states never preempted, reserved or booked."""
    decisions = [schedule(random_state(seed), CONFIGS["reserve-young"]) for seed in range(12)]
    assert any(d.head is not None for d in decisions)
    assert any(d.preemptions for d in decisions)
    codes = {s.reason_code for d in decisions for s in d.pending}
    assert {"waiting_for_gpus", "booked_window", "no_eligible_gpu"} <= codes
    assert len(codes) >= 6
