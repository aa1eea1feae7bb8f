"""The simulated fleet: spec parsing, determinism, following the load, size and cost."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduler.gpu.backends import DEFAULT_SIM_FLEET, SimulatedBackend, SimulatedLoad, parse_fleet_spec
from scheduler.gpu.backends.simulated import KNOWN_MODELS, simulated_uuid

NOW = 1_790_000_000.0
UUID_SHAPE = re.compile(r"^GPU-sim-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def all_gpus(nodes):
    return [gpu for node in nodes for gpu in node.gpus]


# -- spec ------------------------------------------------------------------------------------


def test_the_default_fleet_is_four_nodes_of_eight_gpus_of_two_models() -> None:
    nodes = SimulatedBackend().read_fleet(now=NOW)

    assert [node.hostname for node in nodes] == ["sim-a100-01", "sim-a100-02", "sim-l40s-01", "sim-l40s-02"]
    assert [len(node.gpus) for node in nodes] == [8, 8, 8, 8]
    assert {gpu.name for gpu in all_gpus(nodes)} == {"NVIDIA A100-SXM4-80GB", "NVIDIA L40S"}
    assert DEFAULT_SIM_FLEET == "2x8:A100-80GB,2x8:L40S-48GB"


def test_it_parses_groups_with_spaces_and_any_case() -> None:
    groups = parse_fleet_spec(" 3 x 4 : a100-40gb , 1X2:RTX4090-24GB ,")

    assert [(g.nodes, g.gpus_per_node, g.model.key) for g in groups] == [(3, 4, "A100-40GB"), (1, 2, "RTX4090-24GB")]
    assert groups[1].model.memory_total_mb == 24 * 1024 and groups[1].model.name == "NVIDIA RTX4090"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "simulated fleet spec is empty; expected e.g. '2x8:A100-80GB,2x8:L40S-48GB'"),
        (" , ", "simulated fleet spec is empty"),
        ("4x8", "simulated fleet spec group '4x8' is not <nodes>x<gpus>:<model>, e.g. '128x8:A100-80GB'"),
        ("8:A100-80GB", "group '8:A100-80GB' is not <nodes>x<gpus>:<model>"),
        ("2x8:A100-80GB,x8:L4-24GB", "group 'x8:L4-24GB' is not"),
        ("0x8:A100-80GB", "group '0x8:A100-80GB': node count must be 1..4096"),
        ("2x0:A100-80GB", "group '2x0:A100-80GB': GPUs per node must be 1..16"),
        ("2x17:A100-80GB", "GPUs per node must be 1..16"),
        ("2x8:A100", "group '2x8:A100': unknown GPU model 'A100'; use one of A100-80GB, A100-40GB"),
        ("2x8:TPU-0GB", "unknown GPU model 'TPU-0GB'"),
    ],
)
def test_it_refuses_bad_specs_naming_the_bad_part(spec: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        SimulatedBackend(spec=spec)

    assert message in str(raised.value)


def test_a_big_fleet_has_128_nodes_of_8_with_unique_ids() -> None:
    backend = SimulatedBackend(spec="128x8:A100-80GB")
    nodes = backend.read_fleet(now=NOW)

    assert backend.gpu_count == 1024 and len(nodes) == 128
    assert (nodes[0].hostname, nodes[-1].hostname) == ("sim-a100-001", "sim-a100-128")
    uuids = [gpu.uuid for gpu in all_gpus(nodes)]
    assert len(set(uuids)) == 1024 and all(UUID_SHAPE.match(uuid) for uuid in uuids)
    assert len({node.hostname for node in nodes}) == 128


def test_same_family_groups_keep_counting_node_names() -> None:
    backend = SimulatedBackend(spec="1x8:A100-80GB,2x4:A100-40GB")

    assert backend.hostnames == ("sim-a100-01", "sim-a100-02", "sim-a100-03")


# -- determinism ------------------------------------------------------------------------------


def test_same_seed_and_time_give_identical_readings() -> None:
    load = {simulated_uuid(node="sim-a100-01", index=3): SimulatedLoad(pids=(77,))}

    first = SimulatedBackend(seed=7).read_fleet(load, now=NOW)
    second = SimulatedBackend(seed=7).read_fleet(load, now=NOW)

    assert first == second


def test_uuids_do_not_depend_on_the_seed_but_the_noise_does() -> None:
    seven = all_gpus(SimulatedBackend(seed=7).read_fleet(now=NOW))
    eight = all_gpus(SimulatedBackend(seed=8).read_fleet(now=NOW))

    assert [gpu.uuid for gpu in seven] == [gpu.uuid for gpu in eight]
    assert [gpu.temperature_c for gpu in seven] != [gpu.temperature_c for gpu in eight]


def test_every_reading_is_marked_simulated() -> None:
    nodes = SimulatedBackend().read_fleet(now=NOW)

    assert all(node.simulated and node.backend == "simulated" and node.error is None for node in nodes)


# -- load-following ---------------------------------------------------------------------------


def test_gpus_with_a_running_job_are_busy_and_the_rest_idle() -> None:
    backend = SimulatedBackend()
    uuids = [gpu.uuid for gpu in all_gpus(backend.read_fleet(now=NOW))]
    busy = set(uuids[:4] + uuids[20:22])
    load = {uuid: SimulatedLoad(pids=(1000 + n,), jobs=("job-1",)) for n, uuid in enumerate(busy)}

    for second in range(0, 600, 7):
        for gpu in all_gpus(backend.read_fleet(load, now=NOW + second)):
            if gpu.uuid in busy:
                assert 60 <= gpu.util_gpu_pct <= 98
                assert gpu.memory_used_mb > 0.25 * gpu.memory_total_mb
                assert len(gpu.processes) == 1 and gpu.processes[0].used_memory_mb > 0
                assert gpu.temperature_c > 50 and gpu.power_w > 0.55 * gpu.power_limit_w
            else:
                assert 0 <= gpu.util_gpu_pct <= 2
                assert gpu.memory_used_mb <= 6 and gpu.processes == ()
                assert gpu.temperature_c < 40 and gpu.power_w < 0.2 * gpu.power_limit_w


def test_a_booking_without_a_job_reads_idle() -> None:
    backend = SimulatedBackend(spec="1x2:H100-80GB")
    booked_but_idle = simulated_uuid(node="sim-h100-01", index=0)

    gpu = backend.read({booked_but_idle: SimulatedLoad()}, now=NOW).gpus[0]

    assert gpu.util_gpu_pct <= 2 and gpu.processes == ()


def test_memory_is_split_between_the_gpus_processes() -> None:
    backend = SimulatedBackend(spec="1x1:A100-80GB")
    uuid = simulated_uuid(node="sim-a100-01", index=0)

    gpu = backend.read({uuid: SimulatedLoad(pids=(10, 11))}, now=NOW).gpus[0]

    assert [p.pid for p in gpu.processes] == [10, 11]
    assert gpu.processes[0].used_memory_mb == gpu.processes[1].used_memory_mb
    assert 2 * gpu.processes[0].used_memory_mb <= gpu.memory_used_mb


@given(now=st.floats(min_value=0, max_value=4e9), intensity=st.floats(min_value=0.01, max_value=1.0))
def test_busy_always_reads_above_idle_and_within_physical_limits(now: float, intensity: float) -> None:
    backend = SimulatedBackend(spec="1x2:L40S-48GB")
    uuid = simulated_uuid(node="sim-l40s-01", index=0)

    busy, idle = backend.read({uuid: SimulatedLoad(pids=(5,), intensity=intensity)}, now=now).gpus

    assert idle.util_gpu_pct <= 2 < 60 <= busy.util_gpu_pct <= 98
    assert idle.memory_used_mb < busy.memory_used_mb <= busy.memory_total_mb
    assert idle.power_w < busy.power_w <= busy.power_limit_w


def test_utilization_moves_smoothly_from_second_to_second() -> None:
    backend = SimulatedBackend(spec="1x8:A100-80GB")
    load = {simulated_uuid(node="sim-a100-01", index=i): SimulatedLoad(pids=(i + 1,)) for i in range(8)}
    series = [[gpu.util_gpu_pct for gpu in backend.read(load, now=NOW + s).gpus] for s in range(300)]

    steps = [abs(b - a) for before, after in zip(series, series[1:]) for a, b in zip(before, after)]
    assert max(steps) <= 10
    assert max(max(column) - min(column) for column in zip(*series)) >= 10  # it does move


def test_intensity_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match=r"intensity must be in \(0, 1\], got 1.5"):
        SimulatedLoad(pids=(1,), intensity=1.5)


def test_mig_and_fans_follow_the_model() -> None:
    nodes = SimulatedBackend(spec="1x1:A100-80GB,1x1:L40S-48GB,1x1:RTX4090-24GB").read_fleet(now=NOW)
    a100, l40s, rtx = (node.gpus[0] for node in nodes)

    assert (a100.mig_mode, l40s.mig_mode, rtx.mig_mode) == (False, None, None)
    assert (a100.fan_speed_pct, l40s.fan_speed_pct) == (None, None) and rtx.fan_speed_pct >= 30
    assert KNOWN_MODELS["A100-80GB"].memory_total_mb == a100.memory_total_mb == 81920


# -- one node per agent -----------------------------------------------------------------------


def test_a_backend_can_play_one_node() -> None:
    backend = SimulatedBackend(node="sim-l40s-02")

    assert backend.read(now=NOW).hostname == "sim-l40s-02"
    assert [node.hostname for node in backend.read_fleet(now=NOW)] == ["sim-l40s-02"]


def test_an_unknown_node_is_refused_with_the_known_names() -> None:
    with pytest.raises(ValueError, match="simulated fleet has no node 'gpu-03'; it has sim-a100-01, sim-a100-02"):
        SimulatedBackend(node="gpu-03")


# -- cost ---------------------------------------------------------------------------------------


def test_reading_1024_gpus_costs_well_under_a_twentieth_of_a_cpu_second() -> None:
    backend = SimulatedBackend(spec="128x8:A100-80GB")
    uuids = [gpu.uuid for gpu in all_gpus(backend.read_fleet(now=NOW))]
    load = {uuid: SimulatedLoad(pids=(n,)) for n, uuid in enumerate(uuids[::2])}

    costs = []
    for tick in range(5):
        started = time.process_time()
        backend.read_fleet(load, now=NOW + tick)
        costs.append(time.process_time() - started)

    assert min(costs) < 0.05, costs  # measured ~0.004 s on the dev box
