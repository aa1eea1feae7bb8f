"""A team below its guaranteed GPUs gets them back from another team's preemptible borrowers; the
preempted job is requeued, and the preemption does not count as a lost attempt."""

import pytest

from portal.teams.services import quota_update
from scheduler.models import Attempt, Job
from scheduler.services.jobs import job_cancel
from tests.scheduler.jobs.test_job_execution import fleet, submit, wait_for  # noqa: F401 (fleet is a fixture)

pytestmark = pytest.mark.stack


def test_a_guaranteed_team_takes_back_gpus_from_a_preemptible_borrower(fleet, researcher, outsider, team_a, team_b):  # noqa: F811
    quota_update(team=team_a, guaranteed_gpus=4, max_concurrent_gpus=8)
    quota_update(team=team_b, guaranteed_gpus=0, max_concurrent_gpus=8)
    borrowers = [submit(outsider, gpus=4, command="sleep 300", preemptible=True) for _ in range(2)]
    wait_for(lambda: Attempt.objects.filter(job__in=borrowers, state="running").count() == 2)
    mine = submit(researcher, gpus=4, command="echo mine")
    wait_for(lambda: Job.objects.get(pk=mine.pk).state == "succeeded", timeout=40)
    preempted = Attempt.objects.filter(job__in=borrowers, preempt_requested_at__isnull=False)
    assert preempted.count() == 1
    victim = preempted.get()
    assert victim.state == "cancelled" and "preempted" in victim.reason
    job = Job.objects.get(pk=victim.job_id)
    assert job.state in ("pending", "running")  # requeued, not ended
    assert job.ended_at is None
    assert not Attempt.objects.filter(job=job, state="lost").exists()
    for borrower in borrowers:
        job_cancel(job=Job.objects.get(pk=borrower.pk), by=outsider)
    wait_for(lambda: not Attempt.objects.filter(job__in=borrowers, state__in=["queued", "running"]).exists())
