"""The score's factors, one by one, and the ranking loop checked against the plain formula."""

import math

from hypothesis import given
from hypothesis import strategies as st

from scheduler.policy.ranking import decayed, fair_share_factors, job_score, rank_pending, size_factor
from scheduler.policy.types import DAY, HOUR, ClusterState, PendingJob, PolicyConfig, TeamState

CONFIG = PolicyConfig()


def test_usage_halves_every_half_life():
    assert decayed(1000.0, 0.0, 7 * DAY, 7 * DAY) == 500.0
    assert decayed(1000.0, 0.0, 14 * DAY, 7 * DAY) == 250.0
    assert decayed(1000.0, 5.0, 5.0, 7 * DAY) == 1000.0


def test_fair_share_is_one_without_usage_and_falls_with_it():
    state = ClusterState(now=0.0, teams=(TeamState("a"), TeamState("b")))
    assert fair_share_factors(state, CONFIG) == {"a": 1.0, "b": 1.0}
    state = ClusterState(
        now=0.0, teams=(TeamState("a", usage_gpu_seconds=300.0), TeamState("b", usage_gpu_seconds=100.0))
    )
    factors = fair_share_factors(state, CONFIG)
    # a used 3/4 of everything against a share of 1/2: 2 ** (-1.5); b: 2 ** (-0.5).
    assert math.isclose(factors["a"], 2**-1.5) and math.isclose(factors["b"], 2**-0.5)


def test_size_factor_is_one_for_tiny_and_zero_from_the_reference_up():
    assert size_factor(PendingJob(1, "a", 1, 0.0, 1.0), CONFIG) == 1.0
    assert size_factor(PendingJob(1, "a", 8, 0.0, CONFIG.size_reference_gpu_seconds), CONFIG) == 0.0
    small, big = (size_factor(PendingJob(1, "a", n, 0.0, HOUR), CONFIG) for n in (1, 8))
    assert 0.0 < big < small < 1.0


jobs = st.lists(
    st.builds(
        PendingJob,
        id=st.integers(0, 10_000),
        team=st.sampled_from(("a", "b")),
        gpus=st.integers(1, 16),
        submit=st.floats(0, 100 * HOUR),
        time_limit=st.floats(1, 30 * DAY),
        tier=st.integers(0, 2),
    ),
    max_size=30,
    unique_by=lambda j: j.id,
)


@given(jobs)
def test_ranking_orders_by_the_documented_score(pending):
    state = ClusterState(
        now=100 * HOUR, pending=tuple(pending), teams=(TeamState("a", usage_gpu_seconds=5e5), TeamState("b"))
    )
    factors = fair_share_factors(state, CONFIG)
    scores = [job_score(j, state.now, factors[j.team], CONFIG) for j in rank_pending(state, CONFIG)]
    assert all(a >= b - 1e-9 for a, b in zip(scores, scores[1:]))


@given(jobs)
def test_submit_order_ranking_is_fifo_with_input_order_ties(pending):
    state = ClusterState(now=0.0, pending=tuple(pending))
    ranked = rank_pending(state, PolicyConfig(ranking="submit_order"))
    expected = sorted(range(len(pending)), key=lambda i: (pending[i].submit, i))
    assert [j.id for j in ranked] == [pending[i].id for i in expected]


@given(
    st.lists(
        st.builds(
            PendingJob,
            id=st.integers(0, 10_000),
            team=st.sampled_from(("a", "b")),
            gpus=st.sampled_from((1, 2, 8)),
            submit=st.sampled_from((0.0, HOUR, 99 * HOUR, 150 * HOUR, 200 * HOUR)),  # the last two: not yet aged
            time_limit=st.sampled_from((0.5, HOUR, 1e6, 30 * DAY)),
            tier=st.integers(0, 2),
        ),
        max_size=40,
        unique_by=lambda j: j.id,
    )
)
def test_ranking_is_exactly_the_score_order_with_its_tie_breaks(pending):
    # Few distinct values, so equal scores are common (also between different submits, both after
    # `now`): ties go to the earlier submit, then input order.
    state = ClusterState(
        now=100 * HOUR, pending=tuple(pending), teams=(TeamState("a", usage_gpu_seconds=5e5), TeamState("b"))
    )
    factors = fair_share_factors(state, CONFIG)
    expected = sorted(
        range(len(pending)),
        key=lambda i: (-job_score(pending[i], state.now, factors[pending[i].team], CONFIG), pending[i].submit, i),
    )
    assert [j.id for j in rank_pending(state, CONFIG)] == [pending[i].id for i in expected]
