"""Invariants of one pass on random clusters, bookings and queues, each checked by an independent
oracle: a brute-force look at the output, or the policy re-run without a backfilled job."""

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.policy.policy import schedule
from scheduler.policy.types import (
    HOUR,
    Booking,
    ClusterState,
    Gpu,
    PendingJob,
    PolicyConfig,
    RunningJob,
    TeamState,
)

TEAMS = ("vision", "nlp", "audio")
MODELS = ("A100", "V100")


@st.composite
def cluster_states(draw, with_bookings=True, with_limits=True, busy=False):
    nodes = draw(st.integers(1, 3))
    per_node = draw(st.integers(1, 4))
    gpus = []
    for n in range(nodes):
        node_up = draw(st.booleans()) or n == 0
        model = draw(st.sampled_from(MODELS))
        for i in range(per_node):
            gpus.append(
                Gpu(
                    id=n * 10 + i,
                    node=f"n{n}",
                    model=model,
                    memory_mb=draw(st.sampled_from((16_000, 80_000))),
                    usable=node_up and draw(st.integers(0, 9)) > 0,
                )
            )
    now = 100 * HOUR
    ids = [g.id for g in gpus]
    # Bookings: disjoint windows per GPU, some active, some ahead.
    bookings = []
    if with_bookings:
        for r in range(draw(st.integers(0, 3))):
            chosen = draw(st.lists(st.sampled_from(ids), min_size=1, max_size=len(ids), unique=True))
            start = now + draw(st.sampled_from((-2, 0, 1, 3, 8))) * HOUR
            end = start + draw(st.sampled_from((1, 4, 12))) * HOUR
            clash = any(set(chosen) & set(b.gpus) and start < b.end and b.start < end for b in bookings)
            if not clash:
                bookings.append(
                    Booking(
                        id=f"b{r}", team=draw(st.sampled_from(TEAMS)), gpus=tuple(sorted(chosen)), start=start, end=end
                    )
                )
    # Running jobs on disjoint GPU sets.
    running = []
    free = list(ids)
    for r in range(draw(st.integers(2, 8) if busy else st.integers(0, 4))):
        if not free:
            break
        take = draw(st.lists(st.sampled_from(free), min_size=1, max_size=min(3, len(free)), unique=True))
        free = [g for g in free if g not in take]
        start = now - draw(st.sampled_from((1, 5, 20))) * HOUR
        running.append(
            RunningJob(
                id=f"r{r}",
                team=draw(st.sampled_from(TEAMS)),
                gpus=tuple(take),
                start=start,
                end_by=start + draw(st.sampled_from((2, 6, 30))) * HOUR,
                preemptible=draw(st.booleans()),
                tier=draw(st.integers(0, 2)),
            )
        )
    pending = []
    for p in range(draw(st.integers(3, 12) if busy else st.integers(0, 8))):
        booking = draw(st.sampled_from([None] + [b.id for b in bookings])) if bookings else None
        pending.append(
            PendingJob(
                id=f"p{p}",
                team=draw(st.sampled_from(TEAMS)),
                gpus=draw(st.integers(1, 5)),
                submit=now - draw(st.sampled_from((0, 1, 10, 100))) * HOUR,
                time_limit=draw(st.sampled_from((0.5, 1, 3, 6, 24))) * HOUR,
                tier=draw(st.integers(0, 2)),
                preemptible=draw(st.booleans()),
                model=draw(st.sampled_from((None, None, "A100"))),
                min_memory_mb=draw(st.sampled_from((0, 0, 40_000))),
                multi_node=draw(st.booleans()),
                booking_id=booking,
            )
        )
    teams = []
    if with_limits:
        for name in TEAMS:
            teams.append(
                TeamState(
                    name=name,
                    share=draw(st.sampled_from((1.0, 2.0))),
                    usage_gpu_seconds=draw(st.sampled_from((0.0, 1e4, 1e6))),
                    usage_as_of=now - HOUR,
                    max_gpus=draw(st.sampled_from((None, 2, 4))),
                    gpu_hours_remaining=draw(st.sampled_from((None, 5.0, 50.0))),
                    guaranteed_gpus=draw(st.sampled_from((None, 0, 2))),
                )
            )
    return ClusterState(
        now=now,
        gpus=tuple(gpus),
        running=tuple(running),
        pending=tuple(pending),
        bookings=tuple(bookings),
        teams=tuple(teams),
    )


@st.composite
def crowded_states(draw):
    """Busy uniform clusters with long and short jobs: the states where backfill decides a lot."""
    nodes, per_node = draw(st.integers(2, 3)), 4
    gpus = tuple(Gpu(id=n * 10 + i, node=f"n{n}") for n in range(nodes) for i in range(per_node))
    now = 100 * HOUR
    free = [g.id for g in gpus]
    running = []
    for r in range(draw(st.integers(1, 6))):
        if not free:
            break
        take = draw(st.lists(st.sampled_from(free), min_size=1, max_size=min(3, len(free)), unique=True))
        free = [g for g in free if g not in take]
        running.append(
            RunningJob(
                id=f"r{r}",
                team="vision",
                gpus=tuple(take),
                start=now - HOUR,
                end_by=now + draw(st.sampled_from((1, 2, 5, 9))) * HOUR,
            )
        )
    pending = tuple(
        PendingJob(
            id=f"p{p}",
            team="vision",
            gpus=draw(st.integers(1, 6)),
            submit=now - p,
            time_limit=draw(st.sampled_from((0.5, 1, 3, 8, 20))) * HOUR,
            multi_node=draw(st.booleans()),
        )
        for p in range(draw(st.integers(4, 12)))
    )
    return ClusterState(now=now, gpus=gpus, running=tuple(running), pending=pending)


@st.composite
def booked_states(draw):
    """Mostly idle uniform clusters with bookings ahead and outside jobs of every length: the
    states where 'ends before the booking begins' decides placements."""
    gpus = tuple(Gpu(id=n * 10 + i, node=f"n{n}") for n in range(2) for i in range(4))
    now = 100 * HOUR
    bookings = []
    taken: set = set()
    for r in range(draw(st.integers(1, 4))):
        chosen = (
            draw(
                st.lists(
                    st.sampled_from([g.id for g in gpus if g.id not in taken]), min_size=1, max_size=3, unique=True
                )
            )
            if len(taken) < len(gpus)
            else []
        )
        if not chosen:
            break
        taken.update(chosen)
        start = now + draw(st.sampled_from((-1, 1, 2, 4))) * HOUR
        bookings.append(Booking(id=f"b{r}", team="nlp", gpus=tuple(sorted(chosen)), start=start, end=start + 6 * HOUR))
    pending = tuple(
        PendingJob(
            id=f"p{p}",
            team="vision",
            gpus=draw(st.integers(1, 4)),
            submit=now - p,
            time_limit=draw(st.sampled_from((0.5, 1, 1.5, 2, 3, 5))) * HOUR,
            multi_node=draw(st.booleans()),
        )
        for p in range(draw(st.integers(1, 6)))
    )
    return ClusterState(now=now, gpus=gpus, pending=pending, bookings=tuple(bookings))


configs = st.builds(
    PolicyConfig,
    backfill=st.sampled_from(("easy", "none", "first_fit")),
    placement=st.sampled_from(("topology", "count")),
    ranking=st.sampled_from(("multifactor", "submit_order")),
    reserve_min_age_s=st.sampled_from((0.0, 5 * HOUR)),
)


def jobs_by_id(state):
    return {j.id: j for j in state.pending}


@given(cluster_states(), configs)
def test_no_gpu_is_given_twice_or_taken_from_a_running_job(state, config):
    decision = schedule(state, config)
    preempted = set(decision.preemptions)
    held = [g for r in state.running if r.id not in preempted for g in r.gpus]
    given_out = [g for gpus in decision.placements.values() for g in gpus]
    assert len(given_out) == len(set(given_out))
    assert not set(given_out) & set(held)


@given(cluster_states(), configs)
def test_nothing_lands_on_unusable_or_unknown_gpus(state, config):
    usable = {g.id for g in state.gpus if g.usable}
    decision = schedule(state, config)
    assert all(g in usable for gpus in decision.placements.values() for g in gpus)


@given(cluster_states(), configs)
def test_gangs_are_whole_and_meet_constraints(state, config):
    gpu = {g.id: g for g in state.gpus}
    jobs = jobs_by_id(state)
    for job_id, gpus in schedule(state, config).placements.items():
        job = jobs[job_id]
        assert len(gpus) == job.gpus == len(set(gpus))
        if config.placement == "topology" and not job.multi_node:
            assert len({gpu[g].node for g in gpus}) == 1
        assert all(not job.model or gpu[g].model == job.model for g in gpus)
        assert all(gpu[g].memory_mb >= job.min_memory_mb for g in gpus)


@settings(max_examples=150)
@given(st.one_of(cluster_states(), booked_states()), configs)
def test_no_booking_is_violated(state, config):
    now = state.now
    jobs = jobs_by_id(state)
    for job_id, gpus in schedule(state, config).placements.items():
        job = jobs[job_id]
        end = now + job.time_limit
        if job.booking_id is None:
            for b in state.bookings:
                if b.end > now and set(gpus) & set(b.gpus):
                    assert end <= b.start, (job, b)
        else:
            b = next(b for b in state.bookings if b.id == job.booking_id)
            assert b.team == job.team and set(gpus) <= set(b.gpus) and b.start <= now and end <= b.end


@given(cluster_states(), configs)
def test_team_caps_quota_and_borrowing_are_kept(state, config):
    decision = schedule(state, config)
    jobs = jobs_by_id(state)
    teams = {t.name: t for t in state.teams}
    preempted = set(decision.preemptions)
    held = {}
    for r in state.running:
        if r.booking_id is None and r.id not in preempted:
            held[r.team] = held.get(r.team, 0) + len(r.gpus)
    hours = {}
    for job_id in decision.order:
        if job_id not in decision.placements or jobs[job_id].booking_id is not None:
            continue
        job = jobs[job_id]
        team = teams.get(job.team, TeamState(job.team))
        before = held.get(job.team, 0)
        held[job.team] = before + job.gpus
        hours[job.team] = hours.get(job.team, 0.0) + job.gpus * job.time_limit / HOUR
        if team.max_gpus is not None:
            assert held[job.team] <= team.max_gpus
        if team.gpu_hours_remaining is not None:
            assert hours[job.team] <= team.gpu_hours_remaining + 1e-6
        if team.guaranteed_gpus is not None and held[job.team] > team.guaranteed_gpus:
            assert job.preemptible or job.time_limit <= config.borrow_limit_s


@given(cluster_states(), configs)
def test_preemption_only_of_preemptible_borrowers_of_other_teams(state, config):
    decision = schedule(state, config)
    running = {r.id: r for r in state.running}
    teams = {t.name: t for t in state.teams}
    winners = {jobs_by_id(state)[j].team for j in decision.placements}
    for victim_id in decision.preemptions:
        victim = running[victim_id]
        assert victim.preemptible
        guaranteed = teams.get(victim.team, TeamState(victim.team)).guaranteed_gpus or 0
        held = sum(len(r.gpus) for r in state.running if r.team == victim.team and r.booking_id is None)
        assert held > guaranteed
        assert winners - {victim.team}


@given(cluster_states(), configs)
def test_every_waiting_job_has_a_reason_position_and_estimate_slot(state, config):
    decision = schedule(state, config)
    waiting = [j for j in decision.order if j not in decision.placements]
    assert [s.job_id for s in decision.pending] == waiting
    assert [s.position for s in decision.pending] == list(range(1, len(waiting) + 1))
    assert all(s.reason for s in decision.pending)
    assert all(s.estimated_start is None or s.estimated_start >= state.now for s in decision.pending)


@given(cluster_states(), configs)
def test_same_input_same_output(state, config):
    rebuilt = ClusterState(
        now=state.now,
        gpus=tuple(state.gpus),
        running=tuple(state.running),
        pending=tuple(replace(j) for j in state.pending),
        bookings=tuple(state.bookings),
        teams=tuple(state.teams),
    )
    assert schedule(state, config) == schedule(rebuilt, config)


def head_gpus_free_by_planned_start(state, decision):
    """Brute force: every GPU held for the head is usable and free by its planned start."""
    head = decision.head
    jobs = jobs_by_id(state)
    preempted = set(decision.preemptions)
    usable = {g.id for g in state.gpus if g.usable}
    for g in head.gpus:
        assert g in usable
        for r in state.running:
            if r.id not in preempted and g in r.gpus:
                assert r.end_by <= head.start or r.end_by <= state.now
        for job_id, gpus in decision.placements.items():
            if g in gpus:
                assert state.now + jobs[job_id].time_limit <= head.start


@settings(max_examples=150)
@given(
    st.one_of(crowded_states(), cluster_states(with_limits=False, busy=True)), st.sampled_from(("topology", "count"))
)
def test_backfill_never_delays_the_head(state, placement):
    config = PolicyConfig(placement=placement, reserve_min_age_s=0.0)
    decision = schedule(state, config)
    if decision.head is None:
        return
    head_gpus_free_by_planned_start(state, decision)
    order = list(decision.order)
    behind = order[order.index(decision.head.job_id) + 1 :]
    for job_id in behind:
        if job_id not in decision.placements:
            continue
        # Oracle: the same pass without this backfilled job plans the head no earlier.
        without = replace(state, pending=tuple(j for j in state.pending if j.id != job_id))
        alone = schedule(without, config)
        assert alone.head is not None and alone.head.job_id == decision.head.job_id
        assert decision.head.start <= alone.head.start


@settings(max_examples=150)
@given(
    st.one_of(crowded_states(), cluster_states(with_limits=False, busy=True)), st.sampled_from(("topology", "count"))
)
def test_next_pass_plans_the_head_no_later(state, placement):
    """Oracle: apply the decision (placements become running jobs) and plan again: the head's
    planned start must not move later, so nothing started beside it delayed it."""
    config = PolicyConfig(placement=placement, reserve_min_age_s=0.0)
    decision = schedule(state, config)
    if decision.head is None:
        return
    jobs = jobs_by_id(state)
    preempted = set(decision.preemptions)
    started = tuple(
        RunningJob(
            id=job_id,
            team=jobs[job_id].team,
            gpus=gpus,
            start=state.now,
            end_by=state.now + jobs[job_id].time_limit,
            booking_id=jobs[job_id].booking_id,
        )
        for job_id, gpus in decision.placements.items()
    )
    after = replace(
        state,
        running=tuple(r for r in state.running if r.id not in preempted) + started,
        pending=tuple(j for j in state.pending if j.id not in decision.placements),
    )
    again = schedule(after, config)
    assert again.head is not None and again.head.job_id == decision.head.job_id
    assert again.head.start <= decision.head.start


def free_after(state, decision):
    """Usable GPUs nobody holds once the decision is applied (brute force)."""
    preempted = set(decision.preemptions)
    held = {g for r in state.running if r.id not in preempted for g in r.gpus}
    held |= {g for gpus in decision.placements.values() for g in gpus}
    return [g for g in state.gpus if g.usable and g.id not in held]


def could_start_on(job, gpus, state, placement):
    """Brute force: is there a gang for the job among `gpus`, honouring constraints and bookings?"""
    end = state.now + job.time_limit
    booking = next((b for b in state.bookings if b.id == job.booking_id), None)
    ok = []
    for g in gpus:
        if job.model and g.model != job.model or g.memory_mb < job.min_memory_mb:
            continue
        if booking is not None:
            if g.id in booking.gpus:
                ok.append(g)
            continue
        if all(not (g.id in b.gpus and b.end > state.now and b.start < end) for b in state.bookings):
            ok.append(g)
    if placement == "count" or job.multi_node:
        return len(ok) >= job.gpus
    return any(sum(1 for g in ok if g.node == node) >= job.gpus for node in {g.node for g in ok})


@settings(max_examples=150)
@given(st.one_of(cluster_states(), booked_states()), st.sampled_from(("topology", "count")))
def test_first_fit_leaves_no_job_waiting_for_gpus_that_it_fits(state, placement):
    """Oracle for placement and eligibility: after a first-fit pass, no job said to wait for GPUs
    (or for a booking to pass) could start on the GPUs still free."""
    config = PolicyConfig(backfill="first_fit", placement=placement, allow_preemption=False)
    decision = schedule(state, config)
    free = free_after(state, decision)
    jobs = jobs_by_id(state)
    for status in decision.pending:
        if status.reason_code in ("waiting_for_gpus", "booked_window"):
            assert not could_start_on(jobs[status.job_id], free, state, placement), status


@given(cluster_states(), configs)
def test_no_eligible_gpu_means_none_exist(state, config):
    """Oracle: 'no eligible GPU' only when usable GPUs meeting the constraints, free or busy, are too few."""
    decision = schedule(state, config)
    jobs = jobs_by_id(state)
    usable = [g for g in state.gpus if g.usable]
    for status in decision.pending:
        if status.reason_code == "no_eligible_gpu":
            job = replace(jobs[status.job_id], time_limit=0.0)  # ignore bookings ahead: they pass
            assert not could_start_on(
                job,
                usable,
                replace(state, bookings=tuple(b for b in state.bookings if b.id == job.booking_id)),
                config.placement,
            ), status
