"""The job path with real processes: API submit → scheduling pass in the worker → runner on the
node queue → log in the database → final state. Never task_always_eager (docs/decisions.md §10)."""

import os
import pwd
import time

import pytest
from django.conf import settings
from django.utils import timezone

from scheduler.execution.process import group_members
from scheduler.models import Attempt, Gpu, Job, JobAllocation
from tests.actors import api_client_for
from tests.stack import wait_for

pytestmark = pytest.mark.stack


@pytest.fixture
def fleet(live_stack):
    """The simulated fleet the stack's agent reports (8 GPUs on 2 nodes), up and usable."""
    wait_for(
        lambda: (
            Gpu.objects.filter(node__last_heartbeat__gte=timezone.now() - timezone.timedelta(seconds=5)).count() >= 8
        )
    )
    return live_stack


def submit(user, **fields):
    body = {"command": "echo hello", "gpus": 1, "time_limit": "PT10M"} | fields
    response = api_client_for(user).post("/api/v1/jobs/", body, format="json")
    assert response.status_code == 201, response.content
    return Job.objects.get(pk=response.json()["id"])


def final(job, timeout=30.0):
    return wait_for(lambda: (j := Job.objects.get(pk=job.pk)).ended_at and j, timeout=timeout)


def log_text(user, job, attempt=None):
    query = f"?attempt={attempt}" if attempt else ""
    return api_client_for(user).get(f"/api/v1/jobs/{job.pk}/log/{query}").json()["data"]


def test_a_submitted_job_runs_on_its_gpus_and_succeeds(fleet, researcher):
    job = submit(
        researcher, gpus=2, command='echo "devices=$CUDA_VISIBLE_DEVICES"; echo done > "$ATELIER_OUTPUT_DIR/result.txt"'
    )
    job = final(job)
    assert job.state == "succeeded", job.state_reason
    attempt = Attempt.objects.get(job=job)
    allocated = sorted(JobAllocation.objects.filter(attempt=attempt).values_list("gpu__uuid", flat=True))
    assert len(allocated) == 2
    assert len({a.gpu.node_id for a in attempt.allocations.select_related("gpu")}) == 1  # gang on one node
    devices = log_text(researcher, job).split("devices=")[1].split()[0]
    assert sorted(devices.split(",")) == allocated
    outputs = api_client_for(researcher).get(f"/api/v1/jobs/{job.pk}/outputs/").json()
    assert [o["path"] for o in outputs] == ["result.txt"]
    download = api_client_for(researcher).get(outputs[0]["url"])
    assert b"".join(download.streaming_content) == b"done\n"
    assert attempt.exit_code == 0 and attempt.gpu_seconds > 0


def test_a_failing_command_fails_with_its_exit_code(fleet, researcher):
    job = final(submit(researcher, command="echo oops >&2; exit 7"))
    assert job.state == "failed"
    assert Attempt.objects.get(job=job).exit_code == 7
    assert "oops" in log_text(researcher, job)


def test_the_time_limit_ends_a_job_as_timed_out(fleet, researcher):
    job = final(submit(researcher, command="sleep 300", time_limit="PT2S"))
    assert job.state == "timed_out"


def test_cancel_stops_a_running_job_and_leaves_no_process(fleet, researcher):
    job = submit(researcher, command="trap '' TERM; (trap '' TERM; sleep 300) & echo ready; wait")
    wait_for(lambda: "ready" in log_text(researcher, job) if Attempt.objects.filter(job=job).exists() else False)
    pgid = wait_for(lambda: Attempt.objects.get(job=job).pgid)
    response = api_client_for(researcher).post(f"/api/v1/jobs/{job.pk}/cancel/")
    assert response.status_code == 202
    job = final(job, timeout=15)
    assert job.state == "cancelled"
    assert group_members(pgid) == []


def test_a_drain_that_stops_running_jobs_ends_the_attempt(fleet, researcher, admin):
    job = submit(researcher, command="echo ready; sleep 300")
    attempt = wait_for(lambda: Attempt.objects.filter(job=job, state="running", pgid__isnull=False).first())
    wait_for(lambda: "ready" in log_text(researcher, job))
    gpu = attempt.allocations.get().gpu
    response = api_client_for(admin).post(
        f"/api/v1/gpus/{gpu.pk}/drain/", {"reason": "PSU swap", "stop_running_jobs": True}, format="json"
    )
    assert response.status_code == 200, response.content
    job = final(job, timeout=15)
    assert (job.state, job.state_reason) == ("cancelled", "GPU drained by admin: PSU swap")
    assert Attempt.objects.get(pk=attempt.pk).state == "cancelled"
    assert group_members(attempt.pgid) == []


def test_a_task_delivered_twice_runs_once(fleet, researcher):
    from scheduler.tasks import run_attempt

    job = final(submit(researcher, command="echo once"))
    attempt = Attempt.objects.get(job=job)
    run_attempt.delay(attempt_id=attempt.pk)  # a second delivery after the first has finished
    time.sleep(1.0)
    assert Attempt.objects.filter(job=job).count() == 1
    assert log_text(researcher, job).count("once") == 1


def test_a_job_whose_worker_is_killed_is_requeued_and_succeeds(fleet, researcher):
    import signal

    # In the outputs, which the attempts share: the job's account may read its working directory, not write it.
    marker = '"$ATELIER_OUTPUT_DIR/first-attempt-ran"'
    command = f"if [ -e {marker} ]; then echo second; else touch {marker}; echo first; sleep 300; fi"
    job = submit(researcher, command=command)
    first = wait_for(lambda: Attempt.objects.filter(job=job, number=1, state="running", pgid__isnull=False).first())
    wait_for(lambda: "first" in log_text(researcher, job, attempt=1))
    fleet.stop("worker", sig=signal.SIGKILL)  # the whole worker process group, the job with it
    fleet.ensure_running()
    job = final(job, timeout=45)
    assert job.state == "succeeded", job.state_reason
    attempts = list(Attempt.objects.filter(job=job).order_by("number"))
    assert [a.state for a in attempts] == ["lost", "succeeded"]
    assert attempts[1].started_at >= attempts[0].ended_at  # never two live attempts
    assert group_members(first.pgid) == []
    assert "second" in log_text(researcher, job, attempt=2)


@pytest.mark.skipif(
    os.geteuid() != 0 or not settings.JOB_RUN_AS_USER,
    reason="needs a root worker with a job account: run as root after `make job-account` (CI does)",
)
def test_a_job_of_team_b_reaches_neither_team_a_outputs_nor_the_secret_key(fleet, researcher, outsider):
    job_a = final(submit(researcher, command='echo secret-of-team-a > "$ATELIER_OUTPUT_DIR/result.txt"'))
    assert job_a.state == "succeeded", job_a.state_reason
    outputs_a = settings.JOB_DATA_ROOT / f"job-{job_a.pk}" / "outputs"
    probes = {
        "list-jobs": f"ls {settings.JOB_DATA_ROOT}",
        "list-a": f"ls {outputs_a}",
        "read-a": f"cat {outputs_a / 'result.txt'}",
        "read-key": f"cat {settings.VAR_DIR / 'secret_key'}",
    }
    script = "; ".join(f"{probe} 2>/dev/null && echo got-{name}" for name, probe in probes.items())
    job_b = final(submit(outsider, command=f'{script}; id -u; echo mine > "$ATELIER_OUTPUT_DIR/own.txt"'))

    assert job_b.state == "succeeded", job_b.state_reason
    log = log_text(outsider, job_b)
    assert "got-" not in log and "secret-of-team-a" not in log, log
    assert log.split() == [str(pwd.getpwnam(settings.JOB_RUN_AS_USER).pw_uid)]
    for user, job, name, content in [
        (researcher, job_a, "result.txt", b"secret-of-team-a\n"),
        (outsider, job_b, "own.txt", b"mine\n"),
    ]:
        outputs = api_client_for(user).get(f"/api/v1/jobs/{job.pk}/outputs/").json()
        assert [o["path"] for o in outputs] == [name]
        download = api_client_for(user).get(outputs[0]["url"])
        assert b"".join(download.streaming_content) == content
