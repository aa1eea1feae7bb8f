"""Team limits at admission (docs/decisions.md §5).

- Maximum concurrent GPUs is a hard cap.
- GPU-hours: a job is admitted against the remaining GPU-hours by GPUs x time limit.
- Guaranteed share and borrowing: beyond its guaranteed GPUs a team may run only jobs that are
  preemptible or whose time limit is at most the borrow limit (default 4 h).

Jobs submitted into their team's booking are exempt: the booking was checked against the quota
when it was made and the job counts against the booking's hours, not twice.
"""

from __future__ import annotations

from typing import Optional

from scheduler.policy import reasons
from scheduler.policy.types import HOUR, PendingJob, PolicyConfig, RunningJob, TeamState


class TeamLedger:
    """GPUs each team holds outside bookings and GPU-hours left, updated as the pass places jobs."""

    def __init__(self, teams: tuple, running: tuple):
        self.teams = {team.name: team for team in teams}
        # Most teams of a replay, and many of a site, have no limit at all: skip them quickly.
        self.limited = {
            t.name
            for t in teams
            if t.max_gpus is not None or t.gpu_hours_remaining is not None or t.guaranteed_gpus is not None
        }
        self.gpus_held: dict = {}
        self.hours_left = {t.name: t.gpu_hours_remaining for t in teams}
        for job in running:
            if job.booking_id is None:
                self.gpus_held[job.team] = self.gpus_held.get(job.team, 0) + len(job.gpus)

    def team(self, name: str) -> TeamState:
        return self.teams.get(name) or TeamState(name=name)

    def held(self, name: str) -> int:
        return self.gpus_held.get(name, 0)

    def admission_block(self, job: PendingJob, config: PolicyConfig) -> Optional[tuple]:
        """(reason code, message) when a team limit keeps the job waiting, else None."""
        if job.booking_id is not None or job.team not in self.limited:
            return None
        borrows_freely = job.preemptible or job.time_limit <= config.borrow_limit_s
        return self.limit_block(job.team, job.gpus, job.time_limit, borrows_freely, config)

    def limit_block(
        self, name: str, gpus: int, time_limit: float, borrows_freely: bool, config: PolicyConfig
    ) -> Optional[tuple]:
        """`admission_block` for a job outside bookings of a limited team, from the job's fields.

        `borrows_freely`: the job is preemptible or no longer than the borrow limit. The three rules
        in one function: the pass asks this for every waiting job of a limited team (thousands).
        """
        team = self.teams.get(name) or TeamState(name=name)
        held = self.gpus_held.get(name, 0)
        # The team's maximum concurrent GPUs would be exceeded.
        if team.max_gpus is not None and held + gpus > team.max_gpus:
            return reasons.status(reasons.TEAM_GPU_CAP, limit=team.max_gpus)
        # GPUs x time limit exceeds the team's remaining GPU-hours.
        hours_left = self.hours_left.get(name)
        if hours_left is not None and gpus * time_limit / HOUR > hours_left + 1e-9:
            return reasons.status(reasons.TEAM_QUOTA, remaining=max(0.0, hours_left))
        # Beyond the guarantee, a long non-preemptible job may not borrow idle GPUs.
        if team.guaranteed_gpus is None or held + gpus <= team.guaranteed_gpus or borrows_freely:
            return None
        return reasons.status(
            reasons.BORROW_LIMIT, guaranteed=team.guaranteed_gpus, borrow_hours=config.borrow_limit_s / HOUR
        )

    def within_guarantee(self, job: PendingJob) -> bool:
        """True when the job keeps its team within its guaranteed GPUs (so it may preempt borrowers)."""
        team = self.team(job.team)
        return team.guaranteed_gpus is not None and self.held(job.team) + job.gpus <= team.guaranteed_gpus

    def charge(self, job: PendingJob) -> None:
        if job.booking_id is not None:
            return
        self.gpus_held[job.team] = self.held(job.team) + job.gpus
        if self.hours_left.get(job.team) is not None:
            self.hours_left[job.team] -= job.gpus * job.time_limit / HOUR

    def release(self, job: RunningJob) -> None:
        if job.booking_id is None:
            self.gpus_held[job.team] = self.held(job.team) - len(job.gpus)
