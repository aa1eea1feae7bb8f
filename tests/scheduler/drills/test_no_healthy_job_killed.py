"""Fault drills: duplicate deliveries, a database cut, a partitioned runner, two node workers on one
host, a worker killed for good. Each asserts: no job lost, none running twice at once, no healthy
job killed, exactly the attempts the failure calls for."""

import time

import pytest
from django.conf import settings
from django.utils import timezone

from scheduler.dispatch import node_queue
from scheduler.execution.process import group_members
from scheduler.models import Attempt, Job
from scheduler.services.scheduling import scheduling_pass
from scheduler.tasks import run_attempt
from tests.scheduler.drills.conftest import (
    A100_NODE,
    L40S_NODE,
    model_of,
    recovery_record,
    service_mode,
    ticking,
    ticks,
)
from tests.scheduler.jobs.test_job_execution import final, log_text, submit
from tests.stack import wait_for
from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.stack


def running(job: Job, number: int = 1) -> Attempt:
    return wait_for(
        lambda: Attempt.objects.filter(job=job, number=number, state="running", pgid__isnull=False).first(),
        what=f"attempt {number} running",
    )


def deliver_again(attempt: Attempt) -> None:
    run_attempt.apply_async(kwargs={"attempt_id": attempt.pk}, queue=node_queue(attempt.node.name))


def test_duplicate_deliveries_and_broker_redelivery_never_disturb_a_running_job(drill, researcher):
    """Redis redelivers an unacknowledged task after its visibility timeout (5 s here); a long job
    gets duplicate deliveries from it, from a second message for its queued attempt and from a
    duplicate apply_async mid-run. Each loses the claim; the job runs once, its log complete."""
    seconds = 60 if service_mode() else 12  # the visibility timeout exists on Redis only
    long_job = submit(researcher, command=ticking(seconds), gpu_model=model_of(A100_NODE))
    short_job = submit(researcher, command=ticking(3), gpu_model=model_of(L40S_NODE))
    scheduling_pass()  # placed and enqueued now, before any worker runs: both messages wait in the queue
    for job in (long_job, short_job):
        deliver_again(Attempt.objects.get(job=job))  # two messages for a queued attempt
    drill.node_worker("drill", env={"CELERY_VISIBILITY_TIMEOUT": "5"})
    attempt = running(long_job)
    wait_for(lambda: ticks(log_text(researcher, long_job))[-1:] >= [3], what="3 ticks")
    deliver_again(attempt)
    deliver_again(attempt)
    for job in (short_job, long_job):
        job = final(job, timeout=seconds + 30)
        assert job.state == "succeeded", job.state_reason
        assert Attempt.objects.filter(job=job).count() == 1
    assert ticks(log_text(researcher, long_job)) == list(range(1, seconds + 1))


def test_a_database_cut_of_20_s_leaves_running_jobs_running(drill, researcher, service_only):
    """Every connection of the worker (runners, heartbeat, reaper) goes through a proxy the test cuts
    for 20 s mid-job. The jobs go on; their logs reach the database complete and in order; the reaper
    waits a TTL after the cut before judging heartbeats, so no attempt is called lost."""
    proxy = TcpProxy(upstream_port=int(settings.DATABASES["default"].get("PORT") or 5432))
    try:
        url = drill.stack.env["DATABASE_URL"].replace(
            f":{settings.DATABASES['default'].get('PORT') or 5432}/", f":{proxy.port}/"
        )
        assert f":{proxy.port}/" in url
        drill.node_worker(
            "cut", env={"DATABASE_URL": url, "ATELIER_JOB_DB_OUTAGE_GRACE": "40", "ATELIER_JOB_NODE_DOWN_GRACE": "50"}
        )
        jobs = [submit(researcher, command=ticking(35), gpus=2) for _ in range(3)]
        for job in jobs:
            running(job)
        time.sleep(5)
        proxy.cut()
        time.sleep(20)
        proxy.restore()
        restored_at, restored = time.monotonic(), timezone.now()
        wait_for(
            lambda: not Attempt.objects.filter(job__in=jobs, state="running", heartbeat_at__lt=restored).exists(),
            what="heartbeats again",
        )
        recovery_record("database cut 20 s", heartbeats_again_after_restore=time.monotonic() - restored_at)
        for job in jobs:
            job = final(job, timeout=60)
            assert job.state == "succeeded", job.state_reason
            assert list(Attempt.objects.filter(job=job).values_list("state", flat=True)) == ["succeeded"]
            assert ticks(log_text(researcher, job)) == list(range(1, 36))
        assert "database unreachable" in drill.log("cut")  # the cut reached the runners
    finally:
        proxy.close()


TRACE = 'while true; do echo "$ATELIER_ATTEMPT_ID $(date +%s.%N)" >> "$ATELIER_OUTPUT_DIR/trace"; sleep 0.1; done'


def test_a_runner_cut_off_past_the_outage_grace_stops_its_job_before_the_requeued_attempt_starts(
    drill, researcher, service_only
):
    """The A100 node's worker loses the database (a proxy cut) while the reaper, in another worker,
    still sees it: the attempt is judged lost, the runner stops its job after its outage grace (6 s),
    the node's agent records the group gone, and only then is the job requeued."""
    proxy = TcpProxy(upstream_port=int(settings.DATABASES["default"].get("PORT") or 5432))
    try:
        port = settings.DATABASES["default"].get("PORT") or 5432
        url = drill.stack.env["DATABASE_URL"].replace(f":{port}/", f":{proxy.port}/")
        assert f":{proxy.port}/" in url
        drill.node_worker(
            "cutoff", "--node", A100_NODE, "--no-default", env={"DATABASE_URL": url, "ATELIER_JOB_DB_OUTAGE_GRACE": "6"}
        )
        drill.housekeeping_worker()
        first_then_done = f'if [ -e "$ATELIER_OUTPUT_DIR/first" ]; then {TRACE.replace("while true", "for i in 1 2 3 4 5")}; else touch "$ATELIER_OUTPUT_DIR/first"; {TRACE}; fi'
        job = submit(researcher, command=first_then_done, gpu_model=model_of(A100_NODE))
        first = running(job)
        time.sleep(1)
        proxy.cut()
        cut_at = time.time()
        wait_for(lambda: Attempt.objects.filter(job=job, number=2).exists(), timeout=40, what="the job requeued")
        proxy.restore()  # the second attempt runs on the same node, once its worker reaches the database
        job = final(job, timeout=60)
        assert job.state == "succeeded", job.state_reason
        attempts = list(Attempt.objects.filter(job=job).order_by("number"))
        assert [a.state for a in attempts] == ["lost", "succeeded"]
        trace = (settings.JOB_DATA_ROOT / f"job-{job.pk}" / "outputs" / "trace").read_text().split("\n")
        times = {}
        for line in filter(None, trace):
            attempt_id, at = line.split()
            times.setdefault(int(attempt_id), []).append(float(at))
        recovery_record(
            "runner cut off, grace 6 s",
            job_stopped_after_cut=max(times[first.pk]) - cut_at,
            requeued_attempt_started_after_cut=min(times[attempts[1].pk]) - cut_at,
        )
        assert max(times[first.pk]) < min(times[attempts[1].pk]), "two attempts of one job ran at once"
        assert max(times[first.pk]) - cut_at < 6 + 3, "the runner did not stop its job after the outage grace"
        assert group_members(first.pgid) == []
        assert "ATELIER_JOB_DB_OUTAGE_GRACE" in drill.log("cutoff")  # stopped by its own runner
    finally:
        proxy.close()


def test_two_node_workers_on_one_host_never_touch_each_others_jobs(drill, researcher):
    """Two emulated nodes on this host, a worker each: each runs its node's job to the end (the old
    host-name sweep killed the other worker's job on its first heartbeat)."""
    drill.node_worker("a100", "--node", A100_NODE)
    drill.node_worker("l40s", "--node", L40S_NODE, "--no-default")
    jobs = [
        submit(researcher, command=ticking(6), gpu_model=model) for model in (model_of(A100_NODE), model_of(L40S_NODE))
    ]
    for job in jobs:
        job = final(job, timeout=40)
        assert job.state == "succeeded", job.state_reason
        assert list(Attempt.objects.filter(job=job).values_list("state", "node__name")) == [
            ("succeeded", A100_NODE if job.gpu_model == model_of(A100_NODE) else L40S_NODE)
        ]
        assert ticks(log_text(researcher, job)) == list(range(1, 7))


def test_a_worker_killed_for_good_has_its_jobs_stopped_within_the_ttl_and_requeued_once(drill, researcher):
    """SIGKILL the node worker and never start it again: the node's agent sees the runner's worker
    gone and stops the job's group within the heartbeat TTL; the reaper requeues the job once."""
    drill.node_worker("doomed", "--no-default")
    drill.housekeeping_worker()
    job = submit(researcher, command="sleep 300")
    first = running(job)
    assert group_members(first.pgid)
    drill.kill("doomed")
    killed_at = time.monotonic()
    wait_for(lambda: not group_members(first.pgid), timeout=settings.JOB_HEARTBEAT_TTL, what="the job's processes gone")
    gone_after = time.monotonic() - killed_at
    assert gone_after <= settings.JOB_HEARTBEAT_TTL
    wait_for(lambda: Attempt.objects.filter(job=job, number=2).exists(), timeout=30, what="the job requeued")
    recovery_record(
        "worker SIGKILL, no restart",
        processes_gone_after_kill=gone_after,
        requeued_after_kill=time.monotonic() - killed_at,
    )
    time.sleep(
        3 * settings.REAPER_INTERVAL + settings.JOB_HEARTBEAT_TTL
    )  # nothing more happens: no node worker runs it
    assert list(Attempt.objects.filter(job=job).order_by("number").values_list("state", flat=True)) == [
        "lost",
        "queued",
    ]
    assert Job.objects.get(pk=job.pk).state == "pending"
