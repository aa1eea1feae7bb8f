"""The policy's rules as a table of named scenarios: each reads as one sentence of the spec."""

from dataclasses import replace

import pytest

from scheduler.policy import reasons
from scheduler.policy.policy import schedule
from scheduler.policy.types import TIER_HIGH, TIER_LOW, ClusterState, PolicyConfig, TeamState
from tests.scheduler.policy.builders import HOUR, booking, cluster, job, running

DEFAULT = PolicyConfig()
# The backfill scenarios reserve for the head at once; the default waits reserve_min_age_s first.
EASY = replace(DEFAULT, reserve_min_age_s=0.0)


def state(**fields) -> ClusterState:
    fields.setdefault("now", 0.0)
    fields.setdefault("gpus", cluster())
    return ClusterState(**fields)


def status_of(decision, job_id):
    return next(s for s in decision.pending if s.job_id == job_id)


def placed_nodes(decision, job_id):
    return {gpu_id.split("g")[0] for gpu_id in decision.placements[job_id]}


# --- gang placement -------------------------------------------------------------------------------


def gang_best_fit():
    """A 2-GPU job goes to the node whose free GPUs just fit, keeping the empty node whole."""
    s = state(running=(running("r", ("n0g0", "n0g1")),), pending=(job("a", 2),))
    return schedule(s), lambda d: placed_nodes(d, "a") == {"n0"}


def gang_stays_on_one_node():
    """Without multi-node, 4 GPUs never split over two nodes with 2 free each."""
    s = state(running=(running("r", ("n0g0", "n0g1", "n1g0", "n1g1"), hours=5),), pending=(job("a", 4),))
    return schedule(s), lambda d: "a" not in d.placements and status_of(d, "a").reason_code == reasons.WAITING_FOR_GPUS


def gang_spans_nodes_when_allowed():
    """A multi-node job takes GPUs on several nodes when no single node holds it."""
    s = state(
        running=(running("r", ("n0g0", "n0g1", "n1g0", "n1g1"), hours=5),), pending=(job("a", 4, multi_node=True),)
    )
    return schedule(s), lambda d: placed_nodes(d, "a") == {"n0", "n1"}


def count_placement_ignores_nodes():
    """Count placement (the reference's) takes any free GPUs, like the Tiresias `count` scheme."""
    s = state(running=(running("r", ("n0g0", "n0g1", "n1g0", "n1g1"), hours=5),), pending=(job("a", 4),))
    return schedule(s, replace(DEFAULT, placement="count")), lambda d: len(d.placements["a"]) == 4


def nothing_on_down_nodes():
    """GPUs of a down node are never used; a job that fits only there says so."""
    s = state(gpus=cluster(down=("n0",)), pending=(job("a", 4), job("b", 4, submit=1)))
    return schedule(
        s
    ), lambda d: placed_nodes(d, "a") == {"n1"} and status_of(d, "b").reason_code == reasons.WAITING_FOR_GPUS


def no_eligible_gpu_for_model():
    """A job asking for a model no usable GPU has waits with 'no eligible GPU' and no estimate."""
    s = state(pending=(job("a", 1, model="H100"),))
    return schedule(
        s
    ), lambda d: status_of(d, "a").reason_code == reasons.NO_ELIGIBLE_GPU and status_of(d, "a").estimated_start is None


def minimum_memory_is_kept():
    """Only GPUs with at least the requested memory are used."""
    small = cluster(nodes=1, memory_mb=16_000)
    big = tuple(replace(g, id=f"n9g{i}", node="n9", memory_mb=80_000) for i, g in enumerate(cluster(nodes=1)))
    s = state(gpus=small + big, pending=(job("a", 2, min_memory_mb=40_000),))
    return schedule(s), lambda d: placed_nodes(d, "a") == {"n9"}


# --- bookings -------------------------------------------------------------------------------------


def outside_job_ends_before_booking():
    """A 3-hour job may not start on GPUs booked from hour 2; it goes to the other node."""
    s = state(
        bookings=(booking("b", ("n0g0", "n0g1", "n0g2", "n0g3"), start_h=2, end_h=6),),
        pending=(job("a", 4, hours=3),),
    )
    return schedule(s), lambda d: placed_nodes(d, "a") == {"n1"}


def short_job_uses_gpus_before_booking():
    """A 1-hour job may use GPUs booked from hour 2: it ends before the booking begins."""
    s = state(
        gpus=cluster(nodes=1),
        bookings=(booking("b", ("n0g0", "n0g1"), start_h=2, end_h=6),),
        pending=(job("a", 4, hours=1),),
    )
    return schedule(s), lambda d: len(d.placements["a"]) == 4


def blocked_by_booking_says_booked_window():
    """When only booked GPUs are free, a long job waits with 'booked window'."""
    s = state(
        gpus=cluster(nodes=1),
        bookings=(booking("b", ("n0g0", "n0g1"), start_h=2, end_h=6),),
        pending=(job("a", 4, hours=3),),
    )
    return schedule(s), lambda d: status_of(d, "a").reason_code == reasons.BOOKED_WINDOW


def job_in_booking_runs_only_there():
    """A job submitted into its team's active booking runs on that booking's GPUs only."""
    s = state(
        bookings=(booking("b", ("n1g2", "n1g3"), team="vision", start_h=0, end_h=4),),
        pending=(job("a", 2, hours=3, booking_id="b"),),
    )
    return schedule(s), lambda d: set(d.placements["a"]) == {"n1g2", "n1g3"}


def job_in_booking_waits_for_window():
    """Before the window opens the job waits, its estimated start the booking's start."""
    s = state(
        bookings=(booking("b", ("n1g2", "n1g3"), team="vision", start_h=2, end_h=6),),
        pending=(job("a", 2, hours=3, booking_id="b"),),
    )
    return (
        schedule(s),
        lambda d: (
            status_of(d, "a").reason_code == reasons.BOOKING_NOT_STARTED
            and status_of(d, "a").estimated_start == 2 * HOUR
        ),
    )


def job_in_booking_must_fit_inside():
    """A time limit longer than what is left of the window is refused with a reason."""
    s = state(
        now=3 * HOUR,
        bookings=(booking("b", ("n1g2",), team="vision", start_h=0, end_h=4),),
        pending=(job("a", 1, hours=2, booking_id="b"),),
    )
    return schedule(s), lambda d: status_of(d, "a").reason_code == reasons.BOOKING_TOO_SHORT


def other_team_cannot_use_booking():
    """A job naming another team's booking is not placed."""
    s = state(
        bookings=(booking("b", ("n1g2",), team="nlp", start_h=0, end_h=4),),
        pending=(job("a", 1, booking_id="b"),),
    )
    return schedule(s), lambda d: status_of(d, "a").reason_code == reasons.BOOKING_NOT_USABLE


def active_booking_closed_to_outsiders():
    """During another team's booking its free GPUs stay empty for outside jobs."""
    s = state(
        gpus=cluster(nodes=1),
        bookings=(booking("b", ("n0g0", "n0g1", "n0g2", "n0g3"), start_h=0, end_h=2),),
        pending=(job("a", 1, hours=0.5),),
    )
    return schedule(s), lambda d: "a" not in d.placements


# --- quotas and borrowing -------------------------------------------------------------------------


def max_concurrent_gpus_is_a_hard_cap():
    """A team at its maximum of concurrent GPUs waits even on an idle cluster."""
    s = state(teams=(TeamState("vision", max_gpus=2),), running=(running("r", ("n0g0",)),), pending=(job("a", 2),))
    return schedule(s), lambda d: status_of(d, "a").reason_code == reasons.TEAM_GPU_CAP


def gpu_hours_admit_by_gpus_times_limit():
    """2 GPUs x 3 h needs 6 GPU-hours: with 5 left the job waits for quota, a 2-hour one starts."""
    s = state(
        teams=(TeamState("vision", gpu_hours_remaining=5),),
        pending=(job("a", 2, hours=3), job("b", 2, hours=2, submit=1)),
    )
    return schedule(s), lambda d: status_of(d, "a").reason_code == reasons.TEAM_QUOTA and "b" in d.placements


def long_job_may_not_borrow():
    """Beyond the guarantee a long non-preemptible job waits; a 4-hour or a preemptible one borrows."""
    s = state(
        teams=(TeamState("vision", guaranteed_gpus=1),),
        running=(running("r", ("n0g0",)),),
        pending=(
            job("long", 1, hours=8),
            job("short", 1, hours=4, submit=1),
            job("pre", 1, hours=8, preemptible=True, submit=2),
        ),
    )
    return schedule(
        s
    ), lambda d: status_of(d, "long").reason_code == reasons.BORROW_LIMIT and {"short", "pre"} <= set(d.placements)


def preempts_borrower_for_guarantee():
    """A team within its guarantee takes back GPUs from another team's preemptible borrower."""
    s = state(
        gpus=cluster(nodes=1),
        teams=(TeamState("vision", guaranteed_gpus=2), TeamState("nlp", guaranteed_gpus=0)),
        running=(running("nlp-job", ("n0g0", "n0g1", "n0g2", "n0g3"), team="nlp", preemptible=True),),
        pending=(job("a", 2),),
    )
    return schedule(s), lambda d: d.preemptions == ("nlp-job",) and len(d.placements["a"]) == 2


def never_preempts_non_preemptible():
    """A non-preemptible borrower keeps its GPUs: the job waits."""
    s = state(
        gpus=cluster(nodes=1),
        teams=(TeamState("vision", guaranteed_gpus=2), TeamState("nlp", guaranteed_gpus=0)),
        running=(running("nlp-job", ("n0g0", "n0g1", "n0g2", "n0g3"), team="nlp"),),
        pending=(job("a", 2),),
    )
    return schedule(s), lambda d: d.preemptions == () and "a" not in d.placements


def no_preemption_beyond_guarantee():
    """A team already at its guarantee does not preempt anyone."""
    s = state(
        gpus=cluster(nodes=1),
        teams=(TeamState("vision", guaranteed_gpus=1), TeamState("nlp")),
        running=(
            running("nlp-job", ("n0g1", "n0g2", "n0g3"), team="nlp", preemptible=True),
            running("mine", ("n0g0",)),
        ),
        pending=(job("a", 1, hours=1),),
    )
    return schedule(s), lambda d: d.preemptions == ()


def preempts_lowest_rank_first():
    """Of two preemptible borrowers, the low-tier job goes first."""
    s = state(
        gpus=cluster(nodes=1),
        teams=(TeamState("vision", guaranteed_gpus=2), TeamState("nlp")),
        running=(
            running("normal", ("n0g0", "n0g1"), team="nlp", preemptible=True),
            running("low", ("n0g2", "n0g3"), team="nlp", preemptible=True, tier=TIER_LOW),
        ),
        pending=(job("a", 2),),
    )
    return schedule(s), lambda d: d.preemptions == ("low",)


def preempts_nothing_for_jobs_in_bookings():
    """Jobs inside bookings never trigger preemption (their GPUs are held by the booking)."""
    s = state(
        gpus=cluster(nodes=1),
        teams=(TeamState("vision", guaranteed_gpus=4), TeamState("nlp")),
        bookings=(booking("b", ("n0g0",), team="vision", start_h=0, end_h=4),),
        running=(running("nlp-job", ("n0g1", "n0g2", "n0g3"), team="nlp", preemptible=True),),
        pending=(job("a", 2, booking_id="b"),),
    )
    return schedule(s), lambda d: d.preemptions == ()


# --- ranking --------------------------------------------------------------------------------------


def high_tier_first():
    """Of two jobs wanting the last GPU, the high-tier one starts."""
    s = state(gpus=cluster(nodes=1, per_node=1), pending=(job("normal", 1), job("high", 1, submit=1, tier=TIER_HIGH)))
    return schedule(s), lambda d: list(d.placements) == ["high"]


def smaller_gpu_time_first():
    """Of two equal-age jobs the one asking for less GPU-time ranks first."""
    s = state(gpus=cluster(nodes=1, per_node=1), pending=(job("big", 1, hours=48), job("small", 1, hours=1)))
    return schedule(s), lambda d: list(d.placements) == ["small"]


def waiting_raises_rank():
    """A big job waiting longer than the wait bound outranks a fresh small job."""
    bound_h = (DEFAULT.w_fairshare + DEFAULT.w_size) / DEFAULT.w_age
    now = (bound_h + 1) * HOUR
    s = state(
        now=now,
        gpus=cluster(nodes=1, per_node=1),
        pending=(job("old-big", 1, hours=1000), job("new-small", 1, hours=0.01, submit=now)),
    )
    return schedule(s), lambda d: list(d.placements) == ["old-big"]


def fair_share_favours_light_users():
    """Of two equal jobs, the team that used less recently starts first."""
    s = state(
        gpus=cluster(nodes=1, per_node=1),
        teams=(TeamState("heavy", usage_gpu_seconds=1e6), TeamState("light", usage_gpu_seconds=1e3)),
        pending=(job("h", 1, team="heavy"), job("l", 1, team="light")),
    )
    return schedule(s), lambda d: list(d.placements) == ["l"]


def ties_follow_input_order():
    """Identical jobs start in input order (file order in a replay)."""
    s = state(gpus=cluster(nodes=1, per_node=1), pending=(job("first", 1), job("second", 1)))
    return schedule(s), lambda d: list(d.placements) == ["first"]


# --- backfill -------------------------------------------------------------------------------------


def _backfill_state():
    # 8 GPUs, 3 free (n0g3, n1g2, n1g3). Node n1 is whole again at hour 6, n0 only at hour 10,
    # so the 4-GPU head plans on n1 at hour 6 and n1g2, n1g3 are held for it.
    return state(
        running=(
            running("long", ("n0g0", "n0g1", "n0g2"), hours=10),
            running("mid", ("n1g0",), hours=6),
            running("soon", ("n1g1",), hours=2),
        ),
        pending=(
            job("head", 4, hours=5, tier=TIER_HIGH),
            job("fits-before", 1, hours=1, submit=1),
            job("too-long", 2, hours=20, submit=2),
        ),
    )


def head_gets_planned_start():
    """The blocked head gets a planned start from running jobs' time limits and GPUs held for it."""
    d = schedule(_backfill_state(), EASY)
    return (
        d,
        lambda d: (
            d.head is not None
            and d.head.job_id == "head"
            and d.head.start == 6 * HOUR
            and set(d.head.gpus) == {"n1g0", "n1g1", "n1g2", "n1g3"}
        ),
    )


def short_job_backfills():
    """A job ending before the head's planned start starts now."""
    return schedule(_backfill_state(), EASY), lambda d: "fits-before" in d.placements


def long_job_may_not_delay_head():
    """A job ending after the planned start may not take the head's GPUs; it waits behind it."""
    return (
        schedule(_backfill_state(), EASY),
        lambda d: (
            "too-long" not in d.placements and status_of(d, "too-long").reason_code == reasons.BEHIND_HIGHER_PRIORITY
        ),
    )


def strict_fifo_stops_at_head():
    """Strict FIFO starts nothing behind a blocked job."""
    cfg = replace(DEFAULT, ranking="submit_order", backfill="none")
    return schedule(_backfill_state(), cfg), lambda d: d.placements == {}


def first_fit_takes_anything_that_fits():
    """First-fit (fjf) starts every job that fits, in submit order, holding nothing for the head."""
    cfg = replace(DEFAULT, ranking="submit_order", backfill="first_fit")
    return schedule(_backfill_state(), cfg), lambda d: set(d.placements) == {"fits-before", "too-long"}


def backfill_tests_a_bounded_number_of_jobs():
    """Beyond bf_max_job_test jobs behind the head, the rest wait 'behind higher priority'."""
    cfg = replace(EASY, bf_max_job_test=1)
    return schedule(
        _backfill_state(), cfg
    ), lambda d: status_of(d, "too-long").reason_code == reasons.BEHIND_HIGHER_PRIORITY


def young_head_reserves_nothing():
    """With reserve_min_age_s, a job younger than that holds no GPUs: a long job fills them."""
    cfg = replace(DEFAULT, reserve_min_age_s=HOUR)  # every job here is younger than an hour
    return schedule(_backfill_state(), cfg), lambda d: d.head is None and "too-long" in d.placements


def old_head_holds_gpus_by_default():
    """With the default settings a job that has waited reserve_min_age_s holds GPUs as the head."""
    now = DEFAULT.reserve_min_age_s + HOUR
    base = _backfill_state()  # jobs submitted at 0..2 s, so all are older than the threshold at `now`
    s = replace(
        base, now=now, running=tuple(replace(r, start=r.start + now, end_by=r.end_by + now) for r in base.running)
    )
    return schedule(s), lambda d: d.head is not None and d.head.job_id == "head"


def every_waiting_job_is_explained():
    """Each waiting job has a reason, a 1-based queue position and an estimate; the head's is its plan."""
    d = schedule(_backfill_state(), EASY)

    def check(d):
        positions = [s.position for s in d.pending]
        head = status_of(d, "head")
        return (
            positions == list(range(1, len(positions) + 1))
            and head.estimated_start == d.head.start
            and all(s.reason for s in d.pending)
        )

    return d, check


SCENARIOS = [
    gang_best_fit,
    gang_stays_on_one_node,
    gang_spans_nodes_when_allowed,
    count_placement_ignores_nodes,
    nothing_on_down_nodes,
    no_eligible_gpu_for_model,
    minimum_memory_is_kept,
    outside_job_ends_before_booking,
    short_job_uses_gpus_before_booking,
    blocked_by_booking_says_booked_window,
    job_in_booking_runs_only_there,
    job_in_booking_waits_for_window,
    job_in_booking_must_fit_inside,
    other_team_cannot_use_booking,
    active_booking_closed_to_outsiders,
    max_concurrent_gpus_is_a_hard_cap,
    gpu_hours_admit_by_gpus_times_limit,
    long_job_may_not_borrow,
    preempts_borrower_for_guarantee,
    never_preempts_non_preemptible,
    no_preemption_beyond_guarantee,
    preempts_lowest_rank_first,
    preempts_nothing_for_jobs_in_bookings,
    high_tier_first,
    smaller_gpu_time_first,
    waiting_raises_rank,
    fair_share_favours_light_users,
    ties_follow_input_order,
    head_gets_planned_start,
    short_job_backfills,
    long_job_may_not_delay_head,
    strict_fifo_stops_at_head,
    first_fit_takes_anything_that_fits,
    backfill_tests_a_bounded_number_of_jobs,
    young_head_reserves_nothing,
    old_head_holds_gpus_by_default,
    every_waiting_job_is_explained,
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__ for s in SCENARIOS])
def test_scenario(scenario):
    decision, holds = scenario()
    assert holds(decision), f"{scenario.__doc__}\n{decision}"
