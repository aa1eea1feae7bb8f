"""Who may stop a job's processes: only the runner that claimed the attempt, the sweep of a worker of
the attempt's own node once the attempt is no longer live, or the node's agent once the runner's
worker is gone. A delivery that claims nothing changes nothing."""

import json
import os
import time

import pytest
from django.utils import timezone

from scheduler.execution.orphans import orphans_kill, runnerless_groups_stop
from scheduler.execution.ownership import (
    process_start_time,
    runner_file_write,
    runner_files,
    runner_files_dir,
    supervised_attempts,
    supervising,
)
from scheduler.execution.process import ATTEMPT_MARKER, group_members, group_terminate, process_start
from scheduler.execution.runner import AttemptNotOurs, Runner, attempt_run, attempt_stop_request
from scheduler.models import Attempt, AttemptState
from scheduler.services.jobs import attempt_finish
from tests.scheduler.factories import fleet, running_job


@pytest.fixture
def gpus(transactional_db):
    from scheduler.models import Gpu, Node

    Gpu.objects.update(state="drained")  # a session stack's agent may have written its fleet here
    gpus = fleet(nodes=2, per_node=1, prefix="own")
    Node.objects.filter(gpus__in=gpus).update(last_heartbeat=timezone.now())
    return gpus


@pytest.fixture
def job_process(tmp_path):
    """Starts a real `sleep` group marked as an attempt's, as the runner does; stops what is left."""
    started = []

    def start(attempt_id: int):
        process = process_start(
            command="sleep 300",
            cwd=str(tmp_path),
            env={"PATH": os.environ["PATH"], ATTEMPT_MARKER: str(attempt_id)},
            log_path=tmp_path / f"{attempt_id}.log",
        )
        started.append(process)
        wait_until(lambda: group_members(process.pgid))
        return process

    yield start
    for process in started:
        group_terminate(pgid=process.pgid, grace_seconds=0, popen=process.popen)


def wait_until(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("condition not reached")


def with_group(attempt: Attempt, process) -> Attempt:
    Attempt.objects.filter(pk=attempt.pk).update(pid=process.pid, pgid=process.pgid)
    return Attempt.objects.select_related("node").get(pk=attempt.pk)


def test_a_second_delivery_of_a_running_attempt_leaves_its_runner_registered(gpus, researcher):
    _, attempt = running_job(researcher)
    with supervising(attempt.pk):
        attempt_run(attempt_id=attempt.pk)  # the duplicate: loses the claim
        assert attempt.pk in supervised_attempts()
    assert Attempt.objects.get(pk=attempt.pk).state == AttemptState.RUNNING


def test_the_sweep_never_kills_a_running_attempt_even_one_no_runner_here_supervises(gpus, researcher, job_process):
    _, attempt = running_job(researcher)
    attempt = with_group(attempt, job_process(attempt.pk))
    assert orphans_kill(nodes=frozenset({attempt.node.name})) == []
    assert group_members(attempt.pgid)


def test_the_sweep_kills_a_lost_attempts_group_on_its_own_node_only(gpus, researcher, job_process):
    _, attempt = running_job(researcher)
    attempt = with_group(attempt, job_process(attempt.pk))
    attempt_finish(attempt=attempt, state=AttemptState.LOST, reason="no heartbeat")
    other_node = next(g.node.name for g in gpus if g.node_id != attempt.node_id)

    assert orphans_kill(nodes=frozenset({other_node})) == []  # another node's worker on the same host
    assert group_members(attempt.pgid)
    with supervising(attempt.pk):
        assert orphans_kill(nodes=frozenset({attempt.node.name})) == []  # its runner is still here
    assert orphans_kill(nodes=frozenset({attempt.node.name})) == [attempt.pk]
    assert group_members(attempt.pgid) == []
    assert Attempt.objects.get(pk=attempt.pk).processes_gone_at is not None


def test_a_worker_without_nodes_sweeps_nothing(gpus, researcher, job_process):
    _, attempt = running_job(researcher)
    attempt = with_group(attempt, job_process(attempt.pk))
    attempt_finish(attempt=attempt, state=AttemptState.LOST, reason="no heartbeat")
    assert orphans_kill(nodes=frozenset()) == []
    assert group_members(attempt.pgid)


def test_the_agent_stops_a_group_whose_worker_is_gone_and_records_it(gpus, researcher, job_process):
    _, attempt = running_job(researcher)
    attempt = with_group(attempt, job_process(attempt.pk))
    runner_file_write(attempt_id=attempt.pk, node=attempt.node.name, pgid=attempt.pgid)
    assert runnerless_groups_stop(nodes=None) == []  # this process wrote the file: its runner lives
    assert group_members(attempt.pgid)

    path = runner_files_dir() / f"attempt-{attempt.pk}.json"
    body = json.loads(path.read_text()) | {"worker_started": "1"}  # the pid now belongs to another process
    path.write_text(json.dumps(body))
    assert runnerless_groups_stop(nodes=frozenset({"elsewhere"})) == []  # not this agent's node
    assert runnerless_groups_stop(nodes=frozenset({attempt.node.name})) == [attempt.pk]
    assert group_members(attempt.pgid) == []
    assert Attempt.objects.get(pk=attempt.pk).processes_gone_at is not None
    assert runner_files() == []


def test_the_agent_records_a_group_its_runner_stopped_while_cut_off(gpus, researcher, job_process):
    _, attempt = running_job(researcher)
    process = job_process(attempt.pk)
    attempt = with_group(attempt, process)
    runner_file_write(attempt_id=attempt.pk, node=attempt.node.name, pgid=attempt.pgid)
    group_terminate(pgid=process.pgid, grace_seconds=0, popen=process.popen)  # fenced: the file stays
    assert runnerless_groups_stop(nodes=None) == []
    assert Attempt.objects.get(pk=attempt.pk).processes_gone_at is not None
    assert runner_files() == []


def test_a_runner_goes_on_only_while_the_attempt_is_running_under_its_own_worker(gpus, researcher):
    _, attempt = running_job(researcher)
    assert attempt_stop_request(attempt_id=attempt.pk, worker=attempt.worker) == ""
    with pytest.raises(AttemptNotOurs):
        attempt_stop_request(attempt_id=attempt.pk, worker="other-host:4242:abcd")
    attempt_finish(attempt=attempt, state=AttemptState.LOST, reason="no heartbeat")
    with pytest.raises(AttemptNotOurs):
        attempt_stop_request(attempt_id=attempt.pk, worker=attempt.worker)


def test_a_recycled_pid_is_not_the_worker():
    assert process_start_time(os.getpid())
    assert process_start_time(2**22 + 1) == ""


def test_the_agent_matches_attempts_to_readings_by_node_not_by_the_workers_host(gpus, researcher):
    from scheduler.selectors.fleet import running_attempts

    _, attempt = running_job(researcher, host="the-workers-host")
    (found,) = running_attempts()
    assert found.node == Attempt.objects.get(pk=attempt.pk).node.name != "the-workers-host"


@pytest.mark.parametrize("ending", ["exits", "lost"])
def test_the_runner_lets_go_of_its_jobs_lifeline_however_the_job_ends(gpus, researcher, tmp_path, settings, ending):
    """A worker running jobs for weeks keeps no write end of a job it no longer supervises (one file
    descriptor per job, and a guard left waiting), and leaves no guard behind in the group."""
    settings.JOB_RUN_AS_USER, settings.JOB_DATA_ROOT = "", tmp_path  # as this process: no folder to hand back
    job, attempt = running_job(researcher, command="exit 3" if ending == "exits" else "sleep 300")
    process = process_start(
        command=job.command,
        cwd=str(tmp_path),
        env={"PATH": os.environ["PATH"], ATTEMPT_MARKER: str(attempt.pk)},
        log_path=tmp_path / "output.log",
        kill_grace_seconds=1,
    )
    if ending == "lost":
        attempt_finish(attempt=attempt, state=AttemptState.LOST, reason="no heartbeat")

    Runner(attempt=attempt, job=job, process=process, worker=attempt.worker).run()

    assert process.lifeline.closed
    assert group_members(process.pgid) == []
    ended = Attempt.objects.get(pk=attempt.pk)
    assert (ended.state, ended.exit_code) == (("failed", 3) if ending == "exits" else ("lost", None))
