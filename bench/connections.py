"""A burst of concurrent API calls at live web processes on PostgreSQL: how many fail, latency, peak connections.

    .venv/bin/python bench/connections.py                       # 200 calls at 1 web process
    .venv/bin/python bench/connections.py --processes 4 --calls 200

A fresh PostgreSQL database `atelier_bench_connections` on $BENCH_PG_URL (default
postgres://postgres@127.0.0.1:5432), migrated, with one user and one API token. Then `--processes`
web servers (the command `make run` uses) start on free ports with the settings' defaults (the
connection pool: ATELIER_DB_POOL_MAX_SIZE, ATELIER_DB_POOL_TIMEOUT from the environment, if set), and
`--calls` authenticated `GET /api/v1/jobs/` leave at once, spread over the processes. Reported: the
answers by status (target: no 5xx), latency p50/p95, and the peak number of connections to the
database (sampled from pg_stat_activity every 10 ms), against the server's max_connections.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.harness import UVICORN_OPTIONS, django_migrated, fresh_database_env  # noqa: E402

ENDPOINT = "/api/v1/jobs/"
START_TIMEOUT = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--processes", type=int, default=1, help="web processes, each on its own port")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps({"token": _seed()}))
        return
    env = fresh_database_env(name="connections", database="postgresql")
    env["ALLOWED_HOSTS"] = "127.0.0.1"
    seeded = subprocess.run(
        [sys.executable, __file__, "--child"], env=env, check=True, capture_output=True, text=True, cwd=ROOT
    )
    token = json.loads(seeded.stdout.strip().splitlines()[-1])["token"]
    ports = [_free_port() for _ in range(args.processes)]
    servers = [_start_web(port, env) for port in ports]
    try:
        for port in ports:
            _wait_answering(port, token)
        result = _burst(env["DATABASE_URL"], ports, token, args.calls)
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=20)
    result.update(calls=args.calls, processes=args.processes, pool_max_size=os.environ.get("ATELIER_DB_POOL_MAX_SIZE"))
    _report(result)


def _seed() -> str:
    """In the child: migrate the fresh database and make one user with a token; its secret."""
    django_migrated()
    from portal.accounts.models import User
    from portal.accounts.services import api_token_create

    user = User.objects.create_user(username="bench", password="bench-password-1")
    _row, secret = api_token_create(user=user, name="bench", expires_in_days=1)
    return secret


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_web(port: int, env: dict, server: str = "uvicorn") -> subprocess.Popen:
    """The web process as `make run` starts it; `server="daphne"` the one it started before (for comparison)."""
    binary = str(ROOT / ".venv" / "bin" / server)
    if server == "daphne":
        command = [binary, "-b", "127.0.0.1", "-p", str(port)]
    else:
        command = [binary, "--host", "127.0.0.1", "--port", str(port), *UVICORN_OPTIONS]
    command.append("portal.asgi:application")
    return subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait_answering(port: int, token: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}{ENDPOINT}", headers=_auth(token), timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the web process on port {port} did not answer within {START_TIMEOUT:.0f} s")


def _auth(token: str) -> dict:
    return {"Authorization": f"Token {token}"}


def _burst(database_url: str, ports: list[int], token: str, calls: int) -> dict:
    sampler = _ConnectionSampler(database_url)
    sampler.start()
    try:
        answers = asyncio.run(_fire(ports, token, calls))
    finally:
        sampler.stop()
    statuses = Counter(status for status, _ in answers)
    latencies = sorted(seconds for _, seconds in answers)
    return {
        "statuses": {str(status): count for status, count in sorted(statuses.items())},
        "failures_5xx": sum(count for status, count in statuses.items() if status >= 500),
        "p50_ms": round(statistics.median(latencies) * 1000),
        "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))] * 1000),
        "peak_connections": sampler.peak,
        "max_connections": sampler.max_connections,
    }


async def _fire(ports: list[int], token: str, calls: int) -> list[tuple[int, float]]:
    limits = httpx.Limits(max_connections=calls, max_keepalive_connections=0)
    async with httpx.AsyncClient(limits=limits, timeout=120, headers=_auth(token)) as client:

        async def call(i: int) -> tuple[int, float]:
            started = time.monotonic()
            try:
                response = await client.get(f"http://127.0.0.1:{ports[i % len(ports)]}{ENDPOINT}")
                status = response.status_code
            except httpx.TransportError:
                status = 599  # no answer at all counts as a failure
            return status, time.monotonic() - started

        return await asyncio.gather(*(call(i) for i in range(calls)))


class _ConnectionSampler:
    """Peak count of connections to the bench database, from a thread with its own connection (not counted)."""

    def __init__(self, database_url: str):
        self._url = database_url
        self._name = database_url.rsplit("/", 1)[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.peak = 0
        self.max_connections = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with psycopg.connect(self._url, autocommit=True) as conn:
            self.max_connections = int(conn.execute("SHOW max_connections").fetchone()[0])
            query = "SELECT count(*) - 1 FROM pg_stat_activity WHERE datname = %s"
            while not self._stop.is_set():
                self.peak = max(self.peak, conn.execute(query, [self._name]).fetchone()[0])
                time.sleep(0.01)


def _report(result: dict) -> None:
    print(
        f"{result['calls']} calls at {result['processes']} web process(es): answers {result['statuses']}, "
        f"5xx: {result['failures_5xx']}; p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms; "
        f"peak connections {result['peak_connections']} of max_connections {result['max_connections']}"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
