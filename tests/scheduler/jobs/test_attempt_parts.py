"""Issue 25, multi-node jobs: an attempt whose GPUs span nodes has one part per node; it starts when
every part claimed its GPUs, and parts that claimed let go when the others did not within the claim
timeout (all or nothing)."""

import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from scheduler.execution.orphans import orphans_kill, runnerless_groups_stop
from scheduler.execution.ownership import runner_file_write, runner_files_dir, supervising
from scheduler.execution.process import group_members, group_terminate
from scheduler.execution.reaper import lost_attempts_requeue
from scheduler.models import Attempt, AttemptPart, GpuOccupancy, Job, JobAllocation
from scheduler.selectors.jobs import attempt_part_launch
from scheduler.services.jobs import (
    PART_WORKER_GONE,
    attempt_finish,
    attempt_part_claim,
    attempt_part_end,
    attempt_part_heartbeat,
    attempt_part_stop_request,
    attempt_place,
    attempts_release_unclaimed_parts,
    job_cancel,
)
from scheduler.services.scheduling import attempts_reenqueue_unclaimed
from tests.scheduler.execution.test_ownership import job_process  # noqa: F401 (fixture)
from tests.scheduler.factories import fleet
from tests.scheduler.services.test_scheduling_pass import only_this_tests_gpus, submit, up  # noqa: F401 (autouse fixture)

TIMEOUT = timedelta(seconds=60)


@pytest.fixture
def two_nodes(db):
    return up(fleet(nodes=2, per_node=2, prefix="mn"))


def placed(job, gpus, *, enqueued_ago=timedelta(0)):
    with transaction.atomic():
        attempt = attempt_place(job=job, gpus=gpus, now=timezone.now())
    Attempt.objects.filter(pk=attempt.pk).update(enqueued_at=timezone.now() - enqueued_ago)
    return attempt


def parts_of(attempt):
    return list(AttemptPart.objects.filter(attempt=attempt).order_by("rank"))


def claim(part, host, *, tag="1"):
    """As the part's worker would: rank 0's brings the attempt's port."""
    port = 29_511 if part.rank == 0 else None
    return attempt_part_claim(part_id=part.pk, host=host, worker=f"{host}:{tag}:w", port=port)


def running(job, gpus):
    attempt = placed(job, gpus)
    for part in parts_of(attempt):
        assert claim(part, f"host-{part.rank}")
    return Attempt.objects.get(pk=attempt.pk), parts_of(attempt)


def test_an_attempt_across_two_nodes_has_one_part_per_node_rank_0_on_its_own_node(two_nodes, researcher):
    a0, _, b0, b1 = two_nodes
    attempt = placed(submit(researcher, gpus=2, multi_node=True), [b0, a0, b1])
    parts = parts_of(attempt)
    assert [(p.rank, p.node_id, p.state) for p in parts] == [(0, b0.node_id, "queued"), (1, a0.node_id, "queued")]
    assert attempt.node_id == b0.node_id


def test_an_attempt_on_one_node_has_no_parts(two_nodes, researcher):
    a0, a1, _, _ = two_nodes
    attempt = placed(submit(researcher, gpus=2), [a0, a1])
    assert parts_of(attempt) == []


def test_the_attempt_starts_only_when_its_last_part_claims(two_nodes, researcher):
    a0, _, b0, _ = two_nodes
    job = submit(researcher, gpus=2, multi_node=True)
    attempt = placed(job, [a0, b0])
    first, second = parts_of(attempt)
    assert attempt_part_claim(part_id=first.pk, host="host-a", worker="host-a:1:w", port=29_511)
    attempt.refresh_from_db()
    job.refresh_from_db()
    assert (attempt.state, job.state) == ("queued", "pending")
    assert attempt_part_claim(part_id=second.pk, host="host-b", worker="host-b:1:w")
    attempt.refresh_from_db()
    job.refresh_from_db()
    assert (attempt.state, job.state) == ("running", "running")
    assert (attempt.host, attempt.worker) == ("host-a", "host-a:1:w")
    assert [(p.state, p.host, p.port) for p in parts_of(attempt)] == [
        ("running", "host-a", 29_511),
        ("running", "host-b", None),
    ]


def test_a_second_delivery_of_a_part_claims_nothing(two_nodes, researcher):
    a0, _, b0, _ = two_nodes
    attempt = placed(submit(researcher, gpus=2, multi_node=True), [a0, b0])
    first, _ = parts_of(attempt)
    assert claim(first, "host-a")
    assert not claim(first, "host-a", tag="2")
    assert AttemptPart.objects.get(pk=first.pk).worker == "host-a:1:w"


def test_parts_not_all_claimed_in_time_release_the_gpus_and_the_job_waits_again(two_nodes, researcher):
    a0, _, b0, _ = two_nodes
    job = submit(researcher, gpus=2, multi_node=True)
    attempt = placed(job, [a0, b0], enqueued_ago=TIMEOUT + timedelta(seconds=1))
    first, second = parts_of(attempt)
    assert claim(first, "host-a")

    assert attempts_release_unclaimed_parts(claim_timeout=TIMEOUT) == [attempt.pk]

    attempt.refresh_from_db()
    job.refresh_from_db()
    assert attempt.state == "lost" and "mn-01" in attempt.reason and "60 s" in attempt.reason
    assert attempt.processes_gone_at is not None  # nothing of it ever started
    assert {p.state for p in parts_of(attempt)} == {"ended"}
    now = timezone.now()
    assert not JobAllocation.objects.filter(attempt=attempt, end__gt=now).exists()
    assert not GpuOccupancy.objects.filter(attempt=attempt, end__gt=now).exists()
    assert (job.state, job.pending_reason) == ("pending", "Requeued.")
    # The late part finds its attempt released: it starts nothing.
    assert not claim(second, "host-b")
    assert Attempt.objects.get(pk=attempt.pk).state == "lost"


def test_nothing_is_released_before_the_timeout_or_once_every_part_claimed(two_nodes, researcher):
    a0, a1, b0, b1 = two_nodes
    waiting = placed(submit(researcher, gpus=2, multi_node=True), [a0, b0], enqueued_ago=TIMEOUT / 2)
    started = placed(submit(researcher, gpus=2, multi_node=True), [a1, b1], enqueued_ago=2 * TIMEOUT)
    for part in parts_of(started):
        assert claim(part, f"h{part.rank}")
    assert attempts_release_unclaimed_parts(claim_timeout=TIMEOUT) == []
    assert Attempt.objects.get(pk=waiting.pk).state == "queued"
    assert Attempt.objects.get(pk=started.pk).state == "running"


def test_an_unclaimed_attempt_across_nodes_is_released_not_sent_again(two_nodes, researcher, monkeypatch):
    a0, _, b0, _ = two_nodes
    placed(submit(researcher, gpus=2, multi_node=True), [a0, b0], enqueued_ago=2 * TIMEOUT)
    sent = []
    monkeypatch.setattr("scheduler.services.scheduling.attempt_send", lambda **kw: sent.append(kw))
    assert attempts_reenqueue_unclaimed(claim_timeout=TIMEOUT) == []
    assert sent == []


def test_a_job_released_as_often_as_its_attempt_limit_fails(two_nodes, researcher):
    a0, _, b0, _ = two_nodes
    job = submit(researcher, gpus=2, multi_node=True)
    Job.objects.filter(pk=job.pk).update(max_attempts=2)
    for _ in range(2):
        placed(Job.objects.get(pk=job.pk), [a0, b0], enqueued_ago=2 * TIMEOUT)
        attempts_release_unclaimed_parts(claim_timeout=TIMEOUT)
    job.refresh_from_db()
    assert job.state == "failed" and "Lost 2 times" in job.state_reason


def test_a_job_cancelled_while_its_parts_wait_ends_cancelled_when_released(two_nodes, researcher):
    a0, _, b0, _ = two_nodes
    job = submit(researcher, gpus=2, multi_node=True)
    placed(job, [a0, b0], enqueued_ago=2 * TIMEOUT)
    job_cancel(job=job, by=researcher)
    attempts_release_unclaimed_parts(claim_timeout=TIMEOUT)
    job.refresh_from_db()
    assert job.state == "cancelled"


def test_rank_0_claims_with_the_attempts_port_and_only_it(two_nodes, researcher):
    a0, _, b0, _ = two_nodes
    first, second = parts_of(placed(submit(researcher, gpus=2, multi_node=True), [a0, b0]))
    with pytest.raises(ValueError):
        attempt_part_claim(part_id=first.pk, host="host-a", worker="host-a:1:w")
    with pytest.raises(ValueError):
        attempt_part_claim(part_id=second.pk, host="host-b", worker="host-b:1:w", port=29_000)


def test_each_part_launches_with_rank_0s_host_and_port_and_its_own_nodes_gpus(db, researcher):
    a0, a1, _, b0, _, _ = up(fleet(nodes=2, per_node=3, prefix="mw"))
    _, (first, second) = running(submit(researcher, gpus=3, multi_node=True), [a0, a1, b0])
    launch = attempt_part_launch(part_id=second.pk)
    assert (launch.rank, launch.gpu_uuids) == (1, [b0.uuid])
    assert (launch.rendezvous.master_addr, launch.rendezvous.master_port, launch.rendezvous.nnodes) == (
        "host-0",
        29_511,
        2,
    )
    assert attempt_part_launch(part_id=first.pk).gpu_uuids == [a0.uuid, a1.uuid]


def test_the_attempts_heartbeat_is_its_stalest_parts(two_nodes, researcher):
    a0, _, b0, _ = two_nodes
    attempt, (first, second) = running(submit(researcher, gpus=2, multi_node=True), [a0, b0])
    old = timezone.now() - timedelta(minutes=5)
    AttemptPart.objects.filter(pk=second.pk).update(heartbeat_at=old)
    assert attempt_part_heartbeat(part_id=first.pk, worker=first.worker)
    assert Attempt.objects.get(pk=attempt.pk).heartbeat_at == old  # the reaper sees node B's silence
    assert not attempt_part_heartbeat(part_id=first.pk, worker="someone-else")


def test_the_attempt_succeeds_once_every_part_exited_with_code_0(two_nodes, researcher):
    a0, _, b0, _ = two_nodes
    job = submit(researcher, gpus=2, multi_node=True)
    attempt, (first, second) = running(job, [a0, b0])
    attempt_part_end(
        part_id=second.pk, worker=second.worker, state="succeeded", reason="Exited with code 0.", exit_code=0
    )
    assert Attempt.objects.get(pk=attempt.pk).state == "running"
    assert attempt_part_stop_request(part_id=first.pk, worker=first.worker) == ""
    attempt_part_end(
        part_id=first.pk, worker=first.worker, state="succeeded", reason="Exited with code 0.", exit_code=0
    )
    attempt.refresh_from_db()
    job.refresh_from_db()
    assert (attempt.state, attempt.exit_code, job.state) == ("succeeded", 0, "succeeded")
    assert attempt.processes_gone_at is not None and attempt.gpu_seconds >= 0
    assert not JobAllocation.objects.filter(attempt=attempt, end__gt=timezone.now()).exists()


def test_one_part_failing_stops_the_others_and_the_attempt_ends_once_with_its_outcome(two_nodes, researcher):
    a0, _, b0, _ = two_nodes
    job = submit(researcher, gpus=2, multi_node=True)
    attempt, (first, second) = running(job, [a0, b0])
    attempt_part_end(part_id=second.pk, worker=second.worker, state="failed", reason="Exited with code 3.", exit_code=3)
    # GPUs stay held while rank 0 still runs; its runner is told to stop.
    assert Attempt.objects.get(pk=attempt.pk).state == "running"
    assert JobAllocation.objects.filter(attempt=attempt, end__gt=timezone.now()).count() == 2
    stop = attempt_part_stop_request(part_id=first.pk, worker=first.worker)
    assert stop == "part 1 ended (failed: Exited with code 3.)"
    attempt_part_end(part_id=first.pk, worker=first.worker, state="cancelled", reason=stop, signal_number=15)
    attempt.refresh_from_db()
    job.refresh_from_db()
    assert (attempt.state, attempt.exit_code) == ("failed", 3)
    assert attempt.reason == "Part 1 on mn-01: Exited with code 3."
    assert job.state == "failed" and Attempt.objects.filter(job=job).count() == 1
    # A late second end of a part changes nothing.
    attempt_part_end(part_id=first.pk, worker=first.worker, state="succeeded", exit_code=0)
    assert Attempt.objects.get(pk=attempt.pk).state == "failed"


def test_a_cancel_and_a_lost_attempt_stop_every_part(two_nodes, researcher):
    a0, a1, b0, b1 = two_nodes
    cancelled = submit(researcher, gpus=2, multi_node=True)
    _, (first, _) = running(cancelled, [a0, b0])
    job_cancel(job=cancelled, by=researcher)
    assert attempt_part_stop_request(part_id=first.pk, worker=first.worker) == "Cancelled."
    lost, (part, _) = running(submit(researcher, gpus=2, multi_node=True), [a1, b1])
    Attempt.objects.filter(pk=lost.pk).update(state="lost", reason="no heartbeat for 4 s")
    assert (
        attempt_part_stop_request(part_id=part.pk, worker=part.worker)
        == "its attempt ended (lost: no heartbeat for 4 s)"
    )
    assert attempt_part_stop_request(part_id=part.pk, worker="another:1:w") is None


def test_the_agent_stops_a_part_whose_worker_is_gone_and_the_other_parts_are_told_to_stop(
    two_nodes, researcher, request
):
    a0, _, b0, _ = two_nodes
    attempt, (first, second) = running(submit(researcher, gpus=2, multi_node=True), [a0, b0])
    process = request.getfixturevalue("job_process")(attempt.pk)  # a real group marked as the attempt's
    AttemptPart.objects.filter(pk=second.pk).update(pid=process.pid, pgid=process.pgid)
    runner_file_write(attempt_id=attempt.pk, node="mn-01", pgid=process.pgid, part_id=second.pk)
    assert runnerless_groups_stop(nodes=frozenset({"mn-01"})) == []  # its worker (this process) lives
    path = runner_files_dir() / f"part-{second.pk}.json"
    path.write_text(json.dumps(json.loads(path.read_text()) | {"worker_started": "1"}))  # the worker died

    assert runnerless_groups_stop(nodes=frozenset({"mn-01"})) == [attempt.pk]

    assert group_members(process.pgid) == []
    second.refresh_from_db()
    assert (second.state, second.outcome, second.reason) == ("ended", "lost", PART_WORKER_GONE)
    assert not path.exists()
    stop = attempt_part_stop_request(part_id=first.pk, worker=first.worker)
    assert stop == f"part 1 ended (lost: {PART_WORKER_GONE})"
    attempt_part_end(part_id=first.pk, worker=first.worker, state="cancelled", reason=stop, signal_number=15)
    attempt.refresh_from_db()
    assert attempt.state == "lost" and attempt.processes_gone_at is not None
    assert lost_attempts_requeue(node_down_grace=timedelta(minutes=15)) == [attempt.job_id]
    assert Job.objects.get(pk=attempt.job_id).state == "pending"


def test_a_part_whose_process_ended_while_its_live_runner_records_it_is_never_a_loss(two_nodes, researcher, request):
    """The agent's tick between a part's process exiting and its runner writing the end: the runner lives,
    so the end is the runner's to record (this tick ended a healthy torch.distributed part lost)."""
    a0, _, b0, _ = two_nodes
    attempt, (_, second) = running(submit(researcher, gpus=2, multi_node=True), [a0, b0])
    process = request.getfixturevalue("job_process")(attempt.pk)
    AttemptPart.objects.filter(pk=second.pk).update(pid=process.pid, pgid=process.pgid)
    runner_file_write(attempt_id=attempt.pk, node="mn-01", pgid=process.pgid, part_id=second.pk)
    group_terminate(pgid=process.pgid, grace_seconds=0, popen=process.popen)  # exited, end not yet recorded
    path = runner_files_dir() / f"part-{second.pk}.json"
    try:
        assert runnerless_groups_stop(nodes=frozenset({"mn-01"})) == []

        assert AttemptPart.objects.get(pk=second.pk).state == "running"
        assert path.exists()
    finally:
        path.unlink(missing_ok=True)  # the runner's to remove: later tests read this folder


@pytest.mark.django_db(transaction=True)  # the sweep closes stale connections, as a worker's tick does
def test_a_returning_workers_sweep_kills_a_part_of_an_attempt_no_longer_live(two_nodes, researcher, request):
    a0, _, b0, _ = two_nodes
    attempt, (first, second) = running(submit(researcher, gpus=2, multi_node=True), [a0, b0])
    process = request.getfixturevalue("job_process")(attempt.pk)
    AttemptPart.objects.filter(pk=second.pk).update(pid=process.pid, pgid=process.pgid)
    assert orphans_kill(nodes=frozenset({"mn-01"})) == []  # its attempt runs: never killed here
    assert group_members(process.pgid)
    attempt_finish(attempt=attempt, state="lost", reason="no heartbeat for 4 s")
    assert orphans_kill(nodes=frozenset({"mn-00"})) == []  # another node's worker
    with supervising(attempt.pk):
        assert orphans_kill(nodes=frozenset({"mn-01"})) == []  # a runner here still supervises it
    assert orphans_kill(nodes=frozenset({"mn-01"})) == [attempt.pk]
    assert group_members(process.pgid) == []
    assert AttemptPart.objects.get(pk=second.pk).state == "ended"
    assert Attempt.objects.get(pk=attempt.pk).processes_gone_at is None  # rank 0 has not ended yet


def test_the_job_page_shows_each_other_parts_log_by_rank_and_node_and_the_api_gives_it_whole(
    two_nodes, researcher, outsider, client, settings, tmp_path
):
    """Rank 0's output is the attempt's log; the page adds a section per other part with the end of its
    file (the last 64 KiB) and a link to the whole file, which another team cannot read."""
    from scheduler.selectors.jobs import PART_LOG_TAIL_BYTES, part_log_file
    from tests.actors import api_client_for

    settings.JOB_DATA_ROOT = tmp_path
    a0, a1, b0, b1 = two_nodes
    job = submit(researcher, gpus=3, multi_node=True)
    attempt, parts = running(job, [a0, a1, b0])
    path = part_log_file(attempt, 1)
    path.parent.mkdir(parents=True)
    path.write_text("first line of rank 1\n" + "x" * PART_LOG_TAIL_BYTES + "\nlast line of rank 1\n")

    client.force_login(researcher)
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    section = page[page.index('id="part-log-1"') :]
    assert f"rank 1 · node {parts[1].node.name}" in section and "last line of rank 1" in section
    assert "first line of rank 1" not in section  # only the end is on the page
    assert ", may span nodes</dd>" in page  # it does span them now: no "runs on one node" caveat
    assert f"/api/v1/jobs/{job.pk}/parts/1/log/" in section and (
        f'Log <small class="muted">rank 0 · node {parts[0].node.name}</small>' in page
    )

    whole = api_client_for(researcher).get(f"/api/v1/jobs/{job.pk}/parts/1/log/")
    assert whole.status_code == 200 and b"".join(whole.streaming_content).startswith(b"first line of rank 1")
    assert api_client_for(researcher).get(f"/api/v1/jobs/{job.pk}/parts/2/log/").status_code == 404
    assert api_client_for(outsider).get(f"/api/v1/jobs/{job.pk}/parts/1/log/").status_code == 404


def test_a_single_node_jobs_page_has_no_part_sections(two_nodes, researcher, client):
    a0, a1, _, _ = two_nodes
    job = submit(researcher, gpus=2)
    placed(job, [a0, a1])
    client.force_login(researcher)
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "part-log-" not in page and 'Log <small class="muted">rank 0' not in page


def test_the_part_log_api_pages_a_file_that_grows_until_its_part_ends(
    two_nodes, researcher, outsider, settings, tmp_path
):
    """With ?offset= the part's log comes as JSON pages, as the job page follows it: an empty page before
    the part writes, then what was added since, `complete` only once the part ended and all was read."""
    from scheduler.selectors.jobs import part_log_file
    from tests.actors import api_client_for

    settings.JOB_DATA_ROOT = tmp_path
    a0, a1, b0, _ = two_nodes
    job = submit(researcher, gpus=3, multi_node=True)
    attempt, parts = running(job, [a0, a1, b0])
    api = api_client_for(researcher)
    url = f"/api/v1/jobs/{job.pk}/parts/1/log/"

    def page(offset):
        response = api.get(f"{url}?offset={offset}")
        assert response.status_code == 200, response.content
        body = response.json()
        return body["offset"], body["next_offset"], body["data"], body["complete"]

    assert page(0) == (0, 0, "", False)  # nothing written yet: an empty page, not a 404
    path = part_log_file(attempt, 1)
    path.parent.mkdir(parents=True)
    path.write_text("line 1\n")
    assert page(0) == (0, 7, "line 1\n", False)
    with path.open("a") as log:
        log.write("line 2 · ünïcode\n")
    first = page(7)
    assert first[2] == "line 2 · ünïcode\n" and first[1] == path.stat().st_size and not first[3]
    AttemptPart.objects.filter(pk=parts[1].pk).update(state="ended")
    assert page(first[1]) == (first[1], first[1], "", True)
    assert api.get(f"{url}?offset=-1").status_code == 400
    assert api.get(f"{url}?offset=x").json()["errors"]["offset"]
    assert api_client_for(outsider).get(f"{url}?offset=0").status_code == 404


def test_a_page_never_ends_inside_a_character(two_nodes, researcher, settings, tmp_path):
    from scheduler.selectors.jobs import part_log_file, part_log_read

    settings.JOB_DATA_ROOT = tmp_path
    a0, a1, b0, _ = two_nodes
    attempt, parts = running(submit(researcher, gpus=3, multi_node=True), [a0, a1, b0])
    path = part_log_file(attempt, 1)
    path.parent.mkdir(parents=True)
    path.write_bytes("ab€".encode() + "€".encode()[:2])  # the last character still being written
    first = part_log_read(attempt=attempt, part=parts[1], offset=0, limit=4)  # the limit cuts the first €
    assert (first.data, first.next_offset) == (b"ab", 2)
    rest = part_log_read(attempt=attempt, part=parts[1], offset=2)
    assert (rest.data.decode(), rest.next_offset) == ("€", 5)  # the half-written one waits for its last byte


def test_an_ended_parts_last_half_character_is_read_and_the_log_completes(two_nodes, researcher, settings, tmp_path):
    from scheduler.selectors.jobs import part_log_file, part_log_read

    settings.JOB_DATA_ROOT = tmp_path
    a0, a1, b0, _ = two_nodes
    attempt, parts = running(submit(researcher, gpus=3, multi_node=True), [a0, a1, b0])
    path = part_log_file(attempt, 1)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"ab" + "€".encode()[:2])  # the process died mid-character
    assert part_log_read(attempt=attempt, part=parts[1], offset=0).data == b"ab"  # it may still finish it
    AttemptPart.objects.filter(pk=parts[1].pk).update(state="ended")
    parts[1].refresh_from_db()
    last = part_log_read(attempt=attempt, part=parts[1], offset=0)
    assert (last.data, last.complete) == (b"ab" + "€".encode()[:2], True)


def test_the_pages_tail_of_a_part_log_starts_at_a_character(two_nodes, researcher, client, settings, tmp_path):
    """The last 64 KiB of a file of 3-byte characters would start inside one: the tail starts at the
    next character, and the page follows from where the tail ends."""
    from scheduler.selectors.jobs import PART_LOG_TAIL_BYTES, attempt_part_logs, part_log_file

    settings.JOB_DATA_ROOT = tmp_path
    a0, a1, b0, _ = two_nodes
    attempt, _ = running(submit(researcher, gpus=3, multi_node=True), [a0, a1, b0])
    path = part_log_file(attempt, 1)
    path.parent.mkdir(parents=True)
    path.write_text("가" * (PART_LOG_TAIL_BYTES // 3 + 10))  # 64 KiB is not a multiple of 3
    (log,) = attempt_part_logs(attempt=attempt)
    assert "\ufffd" not in log.tail and set(log.tail) == {"가"}
    assert log.size == path.stat().st_size and len(log.tail.encode()) <= PART_LOG_TAIL_BYTES


def test_a_lost_attempts_part_that_never_ended_is_followed_one_minute_then_complete(two_nodes, researcher, tmp_path):
    """Node B died with the attempt, so its part never recorded an end: the page follows its file a
    minute after the attempt ended (B's worker, back, kills the leftover group), then stops."""
    from datetime import timedelta

    from django.utils import timezone

    from scheduler.selectors.jobs import part_log_live

    a0, a1, b0, _ = two_nodes
    attempt, parts = running(submit(researcher, gpus=3, multi_node=True), [a0, a1, b0])
    assert part_log_live(attempt=attempt, part=parts[1])
    ended = timezone.now()
    Attempt.objects.filter(pk=attempt.pk).update(state="lost", ended_at=ended)
    attempt.refresh_from_db()
    assert part_log_live(attempt=attempt, part=parts[1], now=ended + timedelta(seconds=59))
    assert not part_log_live(attempt=attempt, part=parts[1], now=ended + timedelta(seconds=61))
    parts[1].state = "ended"
    assert not part_log_live(attempt=attempt, part=parts[1], now=ended)
