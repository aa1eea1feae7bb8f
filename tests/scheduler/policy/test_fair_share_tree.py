"""Fair share on two levels, as Slurm's fair-share tree: teams by their usage, then each team's users
by theirs. Properties state the order; the oracle is the users' own decayed usage, not the formula."""

import math

from hypothesis import given
from hypothesis import strategies as st

from scheduler.policy.ranking import decayed, fair_share_factors, fair_shares, rank_pending
from scheduler.policy.types import DAY, HOUR, ClusterState, PolicyConfig, TeamState, UserState
from tests.scheduler.policy.builders import job, running

CONFIG = PolicyConfig()
NOW = 100 * DAY

usages = st.floats(0, 1e7, allow_nan=False)
ages = st.floats(0, 30 * DAY)


@st.composite
def teams_of_users(draw):
    """1 to 3 teams of 1 to 4 users, each with decayed usage recorded some time ago, and perhaps a
    running job outside any booking (its GPU-seconds so far count as the user's)."""
    users, running_jobs = [], []
    for t in range(draw(st.integers(1, 3))):
        for u in range(draw(st.integers(1, 4))):
            team, name = f"t{t}", f"t{t}u{u}"
            users.append(UserState(team, name, draw(usages), NOW - draw(ages)))
            if draw(st.booleans()):
                start = NOW - draw(st.floats(0, 5 * DAY))
                gpus = tuple(f"{name}g{i}" for i in range(draw(st.integers(1, 4))))
                running_jobs.append(running(f"r-{name}", gpus, team=team, start=start, hours=200, user=name))
    return users, running_jobs


def state_with(users, running_jobs, *, with_users=True) -> ClusterState:
    """One identical pending job per user, submitted at the same instant: only fair share tells them apart."""
    teams = {}
    for user in users:
        teams[user.team] = teams.get(user.team, 0.0) + decayed(
            user.usage_gpu_seconds, user.usage_as_of, NOW, CONFIG.half_life_s
        )
    return ClusterState(
        now=NOW,
        running=tuple(running_jobs),
        pending=tuple(job(f"p-{u.name}", team=u.team, submit=NOW - HOUR, user=u.name) for u in users),
        teams=tuple(TeamState(name, usage_gpu_seconds=used, usage_as_of=NOW) for name, used in sorted(teams.items())),
        users=tuple(users) if with_users else (),
    )


def own_usage(user: UserState, running_jobs) -> float:
    """The oracle: what the user used, decayed to now, plus its running jobs' GPU-seconds so far."""
    used = decayed(user.usage_gpu_seconds, user.usage_as_of, NOW, CONFIG.half_life_s)
    for r in running_jobs:
        if r.user == user.name and r.team == user.team and r.booking_id is None:
            used += len(r.gpus) * (NOW - r.start)
    return used


@given(teams_of_users())
def test_within_a_team_the_user_who_used_less_ranks_first(drawn):
    users, running_jobs = drawn
    order = [j.user for j in rank_pending(state_with(users, running_jobs), CONFIG)]
    by_name = {u.name: u for u in users}
    for team in {u.team for u in users}:
        in_team = [name for name in order if by_name[name].team == team]
        used = [own_usage(by_name[name], running_jobs) for name in in_team]
        assert all(a <= b * (1 + 1e-9) + 1e-6 for a, b in zip(used, used[1:])), (in_team, used)


@given(teams_of_users())
def test_the_user_level_leaves_the_team_factors_alone(drawn):
    users, running_jobs = drawn
    team_factors, user_factors = fair_shares(state_with(users, running_jobs), CONFIG)
    assert team_factors == fair_share_factors(state_with(users, running_jobs, with_users=False), CONFIG)
    assert all(0.0 <= f <= 1.0 for f in user_factors.values())
    # Only teams of several users have a second level; a team's only user takes the team's factor.
    sizes = {team: sum(u.team == team for u in users) for team in team_factors}
    assert {team for team, _ in user_factors} == {team for team, size in sizes.items() if size > 1}


@given(teams_of_users())
def test_teams_of_one_user_rank_exactly_as_without_users(drawn):
    users, running_jobs = drawn
    solo = {u.team for u in users} - {a.team for a in users for b in users if a.team == b.team and a is not b}
    users = [u for u in users if u.team in solo]
    running_jobs = [r for r in running_jobs if r.team in solo]
    with_users = rank_pending(state_with(users, running_jobs), CONFIG)
    assert with_users == rank_pending(state_with(users, running_jobs, with_users=False), CONFIG)


def test_a_teams_light_user_passes_its_heavy_user_but_not_a_lighter_team():
    users = (
        UserState("vision", "ana", 0.0, NOW),
        UserState("vision", "bo", 40 * HOUR, NOW),
        UserState("nlp", "cy", 10 * HOUR, NOW),
    )
    state = ClusterState(
        now=NOW,
        pending=(
            job("bo-1", team="vision", user="bo", submit=NOW - 3 * HOUR),
            job("ana-1", team="vision", user="ana", submit=NOW - HOUR),
            job("cy-1", team="nlp", user="cy", submit=NOW - HOUR),
        ),
        teams=(
            TeamState("vision", usage_gpu_seconds=40 * HOUR, usage_as_of=NOW),
            TeamState("nlp", 1.0, 10 * HOUR, NOW),
        ),
        users=users,
    )
    teams, per_user = fair_shares(state, CONFIG)
    # vision used 4/5 of everything against half the shares: 2 ** (-1.6). ana's effective usage is
    # half her team's (0 + (0.8 - 0) / 2) against a quarter of the shares: 2 ** (-1.6) as well; bo's
    # is all of it, 0.8 + (0.8 - 0.8) / 2, against a quarter: 2 ** (-3.2).
    assert math.isclose(teams["vision"], 2**-1.6) and math.isclose(per_user[("vision", "ana")], 2**-1.6)
    assert math.isclose(per_user[("vision", "bo")], 2**-3.2)
    assert [j.id for j in rank_pending(state, CONFIG)] == ["cy-1", "ana-1", "bo-1"]


def test_a_job_in_its_teams_booking_adds_no_usage_of_its_own():
    """The booking's GPU-hours are the team's usage (given by the caller); the job inside must not
    count them a second time."""
    inside = running("r1", ("g0", "g1"), team="vision", start=NOW - 10 * HOUR, hours=20, booking_id="b1", user="ana")
    outside = running("r2", ("g2",), team="vision", start=NOW - 10 * HOUR, hours=20, user="bo")
    state = ClusterState(
        now=NOW,
        running=(inside, outside),
        pending=(job("p1", team="nlp"),),
        teams=(TeamState("vision"), TeamState("nlp", usage_gpu_seconds=10 * HOUR, usage_as_of=NOW)),
        users=(UserState("vision", "ana"), UserState("vision", "bo")),
    )
    teams, per_user = fair_shares(state, CONFIG)
    # vision and nlp each used 10 GPU-hours: the job in the booking added none.
    assert math.isclose(teams["vision"], teams["nlp"]) and math.isclose(teams["nlp"], 0.5)
    assert per_user[("vision", "ana")] > per_user[("vision", "bo")]
