"""The board's process list names each process's job and the job's user: from the running
attempt, through the agent's tick, to the API and the board card."""

import os

import pytest

from scheduler.agent import Agent
from scheduler.execution.process import group_members, group_terminate, lifeline_guard, process_start
from scheduler.gpu.backends import SimulatedBackend
from scheduler.gpu.rogue import RunningAttempt
from scheduler.models import Attempt, Gpu, Node
from scheduler.selectors.fleet import running_attempts, simulated_load
from scheduler.services.jobs import attempt_finish
from tests.actors import api_client_for
from tests.scheduler.factories import running_job
from tests.scheduler.jobs.test_job_execution import fleet, submit  # noqa: F401 (fleet: a fixture)
from tests.stack import wait_for


@pytest.fixture
def agent(db):
    """One simulated node of 2 GPUs, synced by a first tick; every other GPU kept off the scheduler."""
    agent = Agent(backend=SimulatedBackend(spec="1x2:H100-80GB"), flush_interval=0)
    agent.tick()
    node = Node.objects.get(name="sim-h100-01")
    Gpu.objects.exclude(node=node).update(state="drained")
    return agent, node


def test_a_jobs_process_shows_its_job_and_user_in_the_api_and_on_the_board(agent, client, researcher, annotator):
    agent, node = agent
    job, attempt = running_job(researcher, host=node.hostname)
    Attempt.objects.filter(pk=attempt.pk).update(pid=4242)
    assert [(a.job_id, a.user) for a in running_attempts()] == [(job.pk, "researcher")]
    agent.tick()  # the simulated fleet runs the attempt's pid on its GPU; the agent attributes it

    gpu = attempt.allocations.get().gpu
    rows = api_client_for(annotator).get(f"/api/v1/gpus/{gpu.pk}/").json()["processes"]
    assert [(p["pid"], p["owner"], p["job"], p["user"], p["rogue"]) for p in rows] == [
        (4242, str(attempt.pk), job.pk, "researcher", "")
    ]

    client.force_login(annotator)  # every signed-in user sees which job and user run on a GPU (docs/decisions.md §2)
    html = client.get(f"/gpus/?node={node.name}").content.decode()
    card = html.split(f'data-gpu-id="{gpu.pk}"', 1)[1].split("</article>", 1)[0]
    assert f"pid 4242 · job {job.pk} · researcher" in card


def test_an_unattributed_process_has_no_job_or_user(agent, annotator):
    agent, node = agent
    gpu = Gpu.objects.filter(node=node).first()
    gpu.processes = [{"pid": 7, "mem": 10, "owner": "unknown", "rogue": "unowned"}]  # a row from before attribution
    gpu.save(update_fields=["processes"])
    rows = api_client_for(annotator).get(f"/api/v1/gpus/{gpu.pk}/").json()["processes"]
    assert rows == [{"pid": 7, "used_memory_mb": 10, "owner": "unknown", "rogue": "unowned", "job": None, "user": ""}]


def test_an_attempts_peak_memory_comes_from_its_own_processes_and_only_rises(agent, researcher):
    agent, node = agent
    job, attempt = running_job(researcher, host=node.hostname)
    Attempt.objects.filter(pk=attempt.pk).update(pid=4242)
    agent.tick()
    gpu = attempt.allocations.get().gpu
    gpu.refresh_from_db()
    held = sum(p["mem"] for p in gpu.processes if p["owner"] == str(attempt.pk))
    attempt.refresh_from_db()
    assert held > 0 and attempt.process_memory_peak_mb == held

    Attempt.objects.filter(pk=attempt.pk).update(process_memory_peak_mb=held + 1000)  # an earlier, higher tick
    agent.tick()
    attempt.refresh_from_db()
    assert attempt.process_memory_peak_mb == held + 1000

    attempt_finish(attempt=attempt, state="succeeded", reason="Exited with code 0.")
    [shown] = api_client_for(researcher).get(f"/api/v1/jobs/{job.pk}/attempts/").json()
    assert (shown["peak_memory_mb"], shown["peak_memory_source"]) == (held + 1000, "processes")


def test_without_per_process_figures_the_peak_is_the_whole_gpus_and_says_so(agent, researcher, client):
    agent, node = agent
    job, attempt = running_job(researcher, host=node.hostname)
    agent.tick()  # no pid recorded yet: no process of the attempt is listed, the GPU's samples are
    agent.flush()
    attempt_finish(attempt=attempt, state="succeeded", reason="Exited with code 0.")
    attempt.refresh_from_db()
    assert attempt.process_memory_peak_mb is None and attempt.peak_memory_source == "whole_gpu"
    client.force_login(researcher)
    assert "(whole GPU)" in client.get(f"/jobs/{job.pk}/").content.decode()


@pytest.mark.stack
@pytest.mark.usefixtures("fleet")
def test_a_running_jobs_own_processes_show_its_job_and_user_and_none_is_rogue(researcher, annotator):
    """The stack's simulated fleet lists the processes the job really started (two `sleep`s below
    its shell), and the agent attributes them through their session, as it does NVML's pids."""
    job = submit(researcher, command="sleep 30 & sleep 30 & wait")
    attempt = wait_for(lambda: Attempt.objects.filter(job=job, pgid__isnull=False).first(), what="job running")
    gpu = attempt.allocations.get().gpu
    shown = wait_for(
        lambda: (rows := Gpu.objects.get(pk=gpu.pk).processes) and len(rows) == 2 and rows, what="two processes"
    )
    assert {(p["owner"], p["job"], p["user"], p["rogue"]) for p in shown} == {
        (str(attempt.pk), job.pk, "researcher", "")
    }
    assert attempt.pgid not in {p["pid"] for p in shown}  # the shell is not a GPU process
    rows = api_client_for(annotator).get(f"/api/v1/gpus/{gpu.pk}/").json()["processes"]
    assert {(r["job"], r["user"], r["rogue"]) for r in rows} == {(job.pk, "researcher", "")}
    assert not Gpu.objects.filter(rogue_count__gt=0).exists()
    api_client_for(researcher).post(f"/api/v1/jobs/{job.pk}/cancel/")


def test_the_simulated_fleet_shows_a_jobs_processes_and_never_its_lifeline_guard(tmp_path):
    """A real group from process_start: the job's own process on its GPU, not the guard waiting beside it."""
    job = process_start(
        command="sleep 300", cwd=str(tmp_path), env={"PATH": os.environ["PATH"]}, log_path=tmp_path / "log"
    )
    try:
        members = wait_for(lambda: len(group_members(job.pgid)) == 3 and group_members(job.pgid), what="started")
        (guard,) = [pid for pid in members if lifeline_guard(pid)]
        (sleep,) = set(members) - {job.pid, guard}  # the command `/bin/sh -c` (the leader) started
        attempt = RunningAttempt(attempt_id=5, node="n", gpu_uuids=frozenset({"GPU-0"}), process_group=job.pgid)
        assert simulated_load(attempts=[attempt])["GPU-0"].pids == (sleep,)
    finally:
        group_terminate(pgid=job.pgid, grace_seconds=1, popen=job.popen)
        job.lifeline_cut()
