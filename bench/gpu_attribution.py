"""Process attribution on a real NVIDIA GPU (docs/gpu-fleet.md "Processes on the board").

    python3 bench/gpu_attribution.py [--out attribution.json]

Needs an NVIDIA GPU, nvidia-ml-py and torch with CUDA; not Django (attribution is pure Python over
NVML readings and /proc). It starts what a runner starts, a job in a session of its own whose CUDA
process is a grandchild of `/bin/sh -c`, marked as attempt 1, and a stray CUDA process outside it.
It reads the GPU through the agent's NvmlBackend, attributes the listed pids as the agent does
(scheduler.gpu.origins + scheduler.gpu.rogue), and reports each pid's owner and flag, the job's
process memory against the GPU's whole memory, and the median time of one attribution.
Expected: the grandchild is attempt 1's and not rogue; the stray is rogue ("unowned").
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scheduler.execution.process import ATTEMPT_MARKER, process_groups  # noqa: E402
from scheduler.gpu.backends.nvml import NvmlBackend  # noqa: E402
from scheduler.gpu.origins import origins_of  # noqa: E402
from scheduler.gpu.rogue import RunningAttempt, attribute_processes  # noqa: E402

# A bf16 matmul loop that holds about 4 GiB for `seconds`, as a training step would.
CUDA_LOOP = (
    "import torch, time; a = torch.randn(8192, 8192, device='cuda', dtype=torch.bfloat16); "
    "end = time.time() + {seconds}\n"
    "while time.time() < end: (a @ a).sum().item()"
)


def start_job(uuid: str, seconds: int) -> subprocess.Popen:
    inner = f'{sys.executable} -c "{CUDA_LOOP.format(seconds=seconds)}"'
    return subprocess.Popen(
        ["/bin/sh", "-c", f"({inner} & wait) & wait"],
        start_new_session=True,
        env={**os.environ, "CUDA_VISIBLE_DEVICES": uuid, ATTEMPT_MARKER: "1"},
    )


def start_stray(uuid: str, seconds: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", CUDA_LOOP.format(seconds=seconds)], env={**os.environ, "CUDA_VISIBLE_DEVICES": uuid}
    )


def wait_for_processes(backend: NvmlBackend, count: int, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reading = backend.read()
        if len(reading.gpus[0].processes or ()) >= count:
            return reading
        time.sleep(0.5)
    raise SystemExit(f"NVML listed fewer than {count} processes within {timeout:.0f} s: {backend.read()}")


def depth_below(pid: int, ancestor: int) -> int | None:
    """How many parents up from pid the ancestor is (1: child, 2: grandchild), or None."""
    depth = 0
    while pid > 1:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return None
        pid, depth = int(stat.rsplit(")", 1)[1].split()[1]), depth + 1
        if pid == ancestor:
            return depth
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="attribution.json")
    args = parser.parse_args()
    backend = NvmlBackend(hostname="gpu-node")
    uuid = backend.read().gpus[0].uuid
    job, stray = start_job(uuid, 40), start_stray(uuid, 40)
    try:
        reading = wait_for_processes(backend, 2)
        attempt = RunningAttempt(
            attempt_id=1, node="gpu-node", gpu_uuids=frozenset({uuid}), pids=frozenset({job.pid}), process_group=job.pid
        )
        origins = origins_of([reading])
        found = attribute_processes(nodes=[reading], attempts=[attempt], origins=origins)
        timings = []
        for _ in range(200):
            started = time.perf_counter()
            attribute_processes(nodes=[reading], attempts=[attempt], origins=origins_of([reading]))
            timings.append((time.perf_counter() - started) * 1000)
        report = {
            "gpu": reading.gpus[0].name,
            "driver": reading.driver_version,
            "gpu_memory_used_mb": reading.gpus[0].memory_used_mb,
            "job_group_members": process_groups().get(job.pid, []),
            "stray_pid": stray.pid,
            "processes": [
                {
                    "pid": a.pid,
                    "used_memory_mb": a.used_memory_mb,
                    "owner": a.owner,
                    "rogue": a.rogue.name.lower() if a.rogue else "",
                    "unmatched": a.unmatched,
                    "origin": None
                    if origins.get(("gpu-node", a.pid)) is None
                    else vars_of(origins[("gpu-node", a.pid)]),
                    "depth_below_job_leader": depth_below(a.pid, job.pid),
                }
                for a in found
            ],
            "attribution_ms_median": round(statistics.median(timings), 4),
            "nvidia_smi_compute_apps": nvidia_smi_apps(),
        }
        owned = [p for p in report["processes"] if p["owner"] == 1]
        report["job_process_memory_mb"] = sum(p["used_memory_mb"] or 0 for p in owned)
        report["ok"] = (
            bool(owned)
            and all(not p["rogue"] for p in owned)
            and any(p["pid"] == stray.pid and p["rogue"] == "unowned" for p in report["processes"])
        )
    finally:
        os.killpg(job.pid, signal.SIGTERM)
        stray.terminate()
        job.wait(30)
        stray.wait(30)
        backend.close()
    text = json.dumps(report, indent=2)
    Path(args.out).write_text(text)
    print(text)


def nvidia_smi_apps() -> str:
    """nvidia-smi's own list of compute processes, to compare pids and memory with NVML's."""
    try:
        query = ["nvidia-smi", "--query-compute-apps=pid,used_gpu_memory", "--format=csv,noheader"]
        return subprocess.run(query, capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unavailable: {exc}"


def vars_of(origin) -> dict:
    return {"session": origin.session, "group": origin.group, "marker": origin.marker}


if __name__ == "__main__":
    main()
