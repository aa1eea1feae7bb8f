"""GPU telemetry ingest at fleet scale: 1,024 simulated GPUs (128 x 8) sampled at 1 Hz.

    .venv/bin/python bench/telemetry.py [--duration 60] [--modes sqlite,postgres] [--agents 4]

`--agents 4`: four agent processes, each playing a quarter of the nodes (as one agent per group of
nodes would); ingest CPU is their sum, and the websocket receives one `gpu.tick` per agent per second.

For each mode it builds a fresh database (a SQLite file in a temporary folder; a PostgreSQL
database `bench_telemetry_<pid>` on $BENCH_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432,
with Redis for the channel layer on $BENCH_REDIS_URL as in service mode), starts the web server
(daphne) and the agent in its own process (the same Agent class as `manage.py gpu_agent`, half of the
GPUs busy with one process each so that process lists travel too), connects one signed-in websocket,
and measures over the window:

- ingest CPU: the agent process's user+system CPU seconds per wall second (from /proc; the database
  server's own CPU is not included);
- rows/s: raw sample rows written per second (counted between two batch flushes);
- sample -> websocket latency: receive time minus the tick's sample time, p50 / p95;
- board page server time: GET /gpus/ with all 1,024 GPUs through Django's test client in this
  process while the agent runs, p50 / p95 over 50 requests.

Targets: ingest <= 0.2 of one core, push p95 <= 1 s, board <= 300 ms. Results go in
docs/benchmarks.md.
"""

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLEET = "128x8:A100-80GB"
CLOCK_TICK = os.sysconf("SC_CLK_TCK")
BOARD_REQUESTS = 50  # enough that p95 is not simply the slowest request


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICK  # utime, stime


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# -- the agent child -------------------------------------------------------------------------------
def agent_child(interval: float, part: int = 0, parts: int = 1) -> None:
    """Runs in its own process: the production Agent with half of the fleet busy; with `parts` agents,
    this one plays every `parts`-th node from `part` on (as one agent per group of nodes would)."""
    import django

    django.setup()
    from django.conf import settings

    from scheduler.agent import Agent
    from scheduler.gpu.backends import SimulatedBackend, SimulatedLoad

    backend = SimulatedBackend(spec=settings.SIM_FLEET)
    backend._nodes = backend._nodes[part::parts]  # a slice of the fleet: the bench's own split, no public knob
    busy = {
        gpu.uuid: SimulatedLoad(pids=(10_000 + n,))
        for n, gpu in enumerate(g for node in backend.read_fleet() for g in node.gpus)
        if n % 2 == 0
    }
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    Agent(backend=backend, load_provider=lambda attempts: busy).run(interval=interval, stop=stop)


# -- one mode ---------------------------------------------------------------------------------------
def mode_env(mode: str, workdir: Path) -> tuple[dict, str | None]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")}
    env.update(
        ATELIER_VAR_DIR=str(workdir),
        ATELIER_GPU_BACKEND="simulated",
        ATELIER_SIM_FLEET=FLEET,
        SECRET_KEY="bench-telemetry-secret-key-0123456789-abcdefghijklmnop",
        ALLOWED_HOSTS="127.0.0.1,testserver",
        DJANGO_SETTINGS_MODULE="portal.settings",
        PYTHONUNBUFFERED="1",
        CHANNELS_KEY_PREFIX=f"bench-{os.getpid()}",
    )
    if mode == "sqlite":
        return env, None
    base = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
    name = f"bench_telemetry_{os.getpid()}"
    env.update(DATABASE_URL=f"{base}/{name}", REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/1"))
    return env, name


def postgres_admin(sql: str) -> None:
    import psycopg

    base = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def run_mode(mode: str, duration: float, agents: int = 1) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"bench-telemetry-{mode}-") as tmp:
        env, pg_name = mode_env(mode, Path(tmp))
        if pg_name:
            postgres_admin(f'CREATE DATABASE "{pg_name}"')
        try:
            return measure(mode, env, duration, agents)
        finally:
            if pg_name:
                postgres_admin(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


def measure(mode: str, env: dict, duration: float, agents: int = 1) -> dict:
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    os.environ.update(env)
    import django

    django.setup()
    import portal.asgi  # noqa: F401  the board is timed in this process: start it up as the web process does (gc.freeze)

    port = free_port()
    web = subprocess.Popen(
        [str(Path(python).parent / "daphne"), "-b", "127.0.0.1", "-p", str(port), "portal.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    children = [
        subprocess.Popen(
            [python, __file__, "--agent-child", "--agents", str(agents), "--part", str(part)],
            cwd=ROOT,
            env=env,
            start_new_session=True,
        )
        for part in range(agents)
    ]
    try:
        return {**observe(mode, port=port, agents=children, duration=duration), "agents": agents}
    finally:
        for process in (*children, web):
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(30)


def session_cookie() -> str:
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.db import SessionStore

    user, _ = get_user_model().objects.get_or_create(username="bench", defaults={"is_staff": True})
    session = SessionStore()
    session[SESSION_KEY], session[BACKEND_SESSION_KEY] = str(user.pk), "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


def wait_http(port: int, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("web server did not start")


def observe(mode: str, *, port: int, agents: list[subprocess.Popen], duration: float) -> dict:
    from websockets.sync.client import connect

    from scheduler.models import GpuSample

    wait_http(port)
    key = session_cookie()
    ticks: list[tuple[float, float, int]] = []  # (sample time, receive time, bytes)
    stop = threading.Event()
    with connect(
        f"ws://127.0.0.1:{port}/ws/events/",
        additional_headers={"Cookie": f"sessionid={key}"},
        origin=f"http://127.0.0.1:{port}",
        max_size=None,
    ) as ws:
        # A thread of its own stamps every message on arrival: nothing else in this process delays it.
        reader = threading.Thread(target=_read_ticks, args=(ws, ticks, stop), daemon=True)
        reader.start()
        _wait_until(lambda: ticks, 90, "no gpu.tick event arrived")
        start_rows, start_time = _at_next_flush(GpuSample)
        start_cpu = sum(cpu_seconds(agent.pid) for agent in agents)
        time.sleep(duration)
        end_cpu = sum(cpu_seconds(agent.pid) for agent in agents)
        end_rows, end_time = _at_next_flush(GpuSample)
        stop.set()
        reader.join(15)
    window = [(t, received, size) for t, received, size in ticks if start_time <= t <= end_time]
    latencies = [received - t for t, received, _ in window]
    payload_sizes = [size for _, _, size in window]
    # After the window, with the agent still writing.
    board = [_board_time() for _ in range(BOARD_REQUESTS)]
    wall = end_time - start_time
    return {
        "mode": mode,
        "gpus": 1024,
        "wall_s": round(wall, 1),
        "ingest_cpu_per_wall_s": round((end_cpu - start_cpu) / wall, 3),
        "sample_rows_per_s": round((end_rows - start_rows) / wall, 1),
        "ticks_received": len(latencies),
        "event_bytes_median": int(statistics.median(payload_sizes)),
        "push_latency_p50_ms": round(1000 * percentile(latencies, 0.5)),
        "push_latency_p95_ms": round(1000 * percentile(latencies, 0.95)),
        "board_ms_p50": round(1000 * percentile(board, 0.5)),
        "board_ms_p95": round(1000 * percentile(board, 0.95)),
    }


def _read_ticks(ws, ticks: list, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            message = ws.recv(timeout=1)
        except TimeoutError:
            continue
        received = time.time()
        event = json.loads(message)
        if event.get("kind") == "gpu.tick":
            ticks.append((event["payload"]["t"], received, len(message)))


def _wait_until(predicate, timeout: float, failure: str) -> None:
    deadline = time.time() + timeout
    while not predicate():
        if time.time() > deadline:
            raise RuntimeError(failure)
        time.sleep(0.1)


def _at_next_flush(model) -> tuple[int, float]:
    """Row count and time just after a batch lands, so both ends of the window see whole batches."""
    before = model.objects.count()
    deadline = time.time() + 30
    while time.time() < deadline:
        count = model.objects.count()
        if count != before:
            return count, time.time()
        time.sleep(0.05)
    raise RuntimeError("no batch of samples landed within 30 s")


def _board_time() -> float:
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username="bench"))
    started = time.perf_counter()
    response = client.get("/gpus/")
    elapsed = time.perf_counter() - started
    assert response.status_code == 200 and response.content.count(b'class="gpu-card') == 1024, (
        "board did not show 1,024 GPUs"
    )
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--modes", default="sqlite,postgres")
    parser.add_argument("--agents", type=int, default=1, help="agents, each playing a slice of the fleet's nodes")
    parser.add_argument("--agent-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--part", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.agent_child:
        agent_child(interval=1.0, part=args.part, parts=args.agents)
        return
    for mode in args.modes.split(","):
        # Each mode in its own interpreter: Django's settings are read once per process.
        out = (
            subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--duration",
                    str(args.duration),
                    "--modes",
                    f"_{mode}",
                    "--agents",
                    str(args.agents),
                ],
                cwd=ROOT,
                capture_output=True,
                text=True,
            )
            if not mode.startswith("_")
            else None
        )
        if out is None:
            print(json.dumps(run_mode(mode[1:], args.duration, args.agents)))
            return
        sys.stderr.write(out.stderr[-3000:] if out.returncode else "")
        print(out.stdout.strip().splitlines()[-1] if out.stdout.strip() else f"{mode}: failed (exit {out.returncode})")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
