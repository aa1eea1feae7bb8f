"""Attributing GPU processes to attempts and flagging rogue ones."""

from __future__ import annotations

from scheduler.gpu.backends import GpuReading, NodeReading, ProcessReading, SimulatedBackend, SimulatedLoad
from scheduler.gpu.rogue import (
    UNKNOWN,
    ProcessOrigin,
    RogueReason,
    RunningAttempt,
    attribute_processes,
    rogue_processes,
)


def node(hostname: str, *gpus: GpuReading) -> NodeReading:
    return NodeReading(hostname=hostname, gpus=gpus, simulated=False, backend="nvml")


def gpu(index: int, *pids: int, uuid: str | None = None, **fields) -> GpuReading:
    processes = tuple(ProcessReading(pid=pid, used_memory_mb=1000) for pid in pids)
    return GpuReading(index=index, uuid=uuid or f"GPU-{index}", processes=processes, **fields)


def outcome(attributions) -> list[tuple[str, int, object, RogueReason | None]]:
    return [(a.gpu_uuid, a.pid, a.owner, a.rogue) for a in attributions]


TRAINING = RunningAttempt(attempt_id=17, node="gpu-01", gpu_uuids=frozenset({"GPU-0", "GPU-1"}), pids=frozenset({500}))


def test_a_jobs_process_on_its_own_gpu_is_attributed_and_not_rogue() -> None:
    found = attribute_processes(nodes=[node("gpu-01", gpu(0, 500), gpu(1))], attempts=[TRAINING])

    assert outcome(found) == [("GPU-0", 500, 17, None)]
    assert rogue_processes(found) == ()


def test_a_process_no_running_job_owns_is_rogue_and_unknown() -> None:
    found = attribute_processes(nodes=[node("gpu-01", gpu(0, 500), gpu(2, 9999))], attempts=[TRAINING])

    assert outcome(rogue_processes(found)) == [("GPU-2", 9999, UNKNOWN, RogueReason.UNOWNED)]
    assert found[1].attempt_id is None and found[1].used_memory_mb == 1000


def test_a_stranger_on_a_gpu_that_a_job_holds_is_rogue_too() -> None:
    found = attribute_processes(nodes=[node("gpu-01", gpu(1, 500, 321))], attempts=[TRAINING])

    assert outcome(found) == [("GPU-1", 500, 17, None), ("GPU-1", 321, UNKNOWN, RogueReason.UNOWNED)]


def test_a_jobs_process_on_a_gpu_not_allocated_to_it_is_rogue_with_its_attempt() -> None:
    found = attribute_processes(nodes=[node("gpu-01", gpu(5, 500))], attempts=[TRAINING])

    assert outcome(found) == [("GPU-5", 500, 17, RogueReason.WRONG_GPU)]


def test_children_and_grandchildren_are_matched_by_session_or_group() -> None:
    attempt = RunningAttempt(attempt_id="a-9", node="gpu-01", gpu_uuids=frozenset({"GPU-0"}), process_group=700)
    origins = {
        ("gpu-01", 701): ProcessOrigin(session=700, group=700),  # a child
        ("gpu-01", 703): ProcessOrigin(session=700, group=703),  # a grandchild that made a group of its own
        ("gpu-01", 702): ProcessOrigin(session=700, group=700),
        ("gpu-01", 900): ProcessOrigin(session=900, group=900),
    }

    found = attribute_processes(
        nodes=[node("gpu-01", gpu(0, 701, 703, 900), gpu(3, 702))], attempts=[attempt], origins=origins
    )

    assert outcome(found) == [
        ("GPU-0", 701, "a-9", None),
        ("GPU-0", 703, "a-9", None),
        ("GPU-0", 900, UNKNOWN, RogueReason.UNOWNED),
        ("GPU-3", 702, "a-9", RogueReason.WRONG_GPU),
    ]


def test_a_recycled_session_id_with_another_attempts_marker_is_not_the_attempts() -> None:
    attempt = RunningAttempt(attempt_id=9, node="gpu-01", gpu_uuids=frozenset({"GPU-0"}), process_group=700)
    origins = {("gpu-01", 701): ProcessOrigin(session=700, group=700, marker="8")}

    found = attribute_processes(nodes=[node("gpu-01", gpu(0, 701))], attempts=[attempt], origins=origins)

    assert outcome(found) == [("GPU-0", 701, UNKNOWN, RogueReason.UNOWNED)]


def test_a_pid_the_agent_cannot_see_is_unmatched_not_rogue() -> None:
    attempt = RunningAttempt(attempt_id=9, node="gpu-01", gpu_uuids=frozenset({"GPU-0"}), process_group=700)

    [found] = attribute_processes(nodes=[node("gpu-01", gpu(0, 4321))], attempts=[attempt], origins={})

    assert (found.owner, found.rogue, found.unmatched) == (UNKNOWN, None, True)
    assert rogue_processes([found]) == ()


def test_pids_only_match_on_the_attempts_own_host() -> None:
    found = attribute_processes(nodes=[node("gpu-02", gpu(0, 500))], attempts=[TRAINING])

    assert outcome(found) == [("GPU-0", 500, UNKNOWN, RogueReason.UNOWNED)]


def test_a_finished_jobs_zombie_is_rogue_because_only_running_attempts_count() -> None:
    found = attribute_processes(nodes=[node("gpu-01", gpu(0, 500))], attempts=[])

    assert outcome(found) == [("GPU-0", 500, UNKNOWN, RogueReason.UNOWNED)]


def test_unknown_process_lists_and_lost_gpus_flag_nothing() -> None:
    unreadable = GpuReading(index=0, uuid="GPU-0", processes=None)
    lost = GpuReading(index=1, uuid="GPU-1", processes=None, lost=True)

    assert attribute_processes(nodes=[node("gpu-01", unreadable, lost)], attempts=[TRAINING]) == ()


def test_stale_double_claims_prefer_the_attempt_that_holds_the_gpu() -> None:
    other = RunningAttempt(attempt_id=18, node="gpu-01", gpu_uuids=frozenset({"GPU-4"}), pids=frozenset({500}))

    found = attribute_processes(nodes=[node("gpu-01", gpu(4, 500), gpu(0, 500))], attempts=[TRAINING, other])

    assert outcome(found) == [("GPU-4", 500, 18, None), ("GPU-0", 500, 17, None)]


def test_it_catches_a_rogue_placed_on_the_simulated_fleet() -> None:
    backend = SimulatedBackend(spec="2x2:A100-80GB")
    first, second = backend.read_fleet(now=0)
    job_gpu, idle_booked_gpu = first.gpus[0].uuid, first.gpus[1].uuid
    attempt = RunningAttempt(attempt_id=3, node=first.hostname, gpu_uuids=frozenset({job_gpu}), pids=frozenset({40}))
    load = {
        job_gpu: SimulatedLoad(pids=(40,)),
        idle_booked_gpu: SimulatedLoad(pids=(41,)),  # a notebook someone started by hand
        second.gpus[0].uuid: SimulatedLoad(pids=(40,)),  # same pid number, other host
    }

    found = attribute_processes(nodes=backend.read_fleet(load, now=1), attempts=[attempt])

    assert outcome(found) == [
        (job_gpu, 40, 3, None),
        (idle_booked_gpu, 41, UNKNOWN, RogueReason.UNOWNED),
        (second.gpus[0].uuid, 40, UNKNOWN, RogueReason.UNOWNED),
    ]
