"""Run many attempts at once and tally their outcomes (the booking race tests and the benchmark)."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from django.db import connection

# PostgreSQL here allows 100 connections, shared with the stack's processes and other test runs:
# threads that each hold a connection are capped there; SQLite takes all 100 at once.
PG_MAX_THREADS = 50


def threads_for(attempts: int) -> int:
    return attempts if connection.vendor == "sqlite" else min(attempts, PG_MAX_THREADS)


def race(attempt, *, attempts: int = 100, threads: int | None = None) -> Counter:
    """Call attempt(i) for i in range(attempts) from `threads` threads released together by a barrier.
    attempt returns an outcome label; an exception's text is the label, so nothing is hidden."""
    threads = threads or threads_for(attempts)
    start = threading.Barrier(threads)

    def run(i: int) -> str:
        if i < threads:
            start.wait()
        try:
            return attempt(i)
        except Exception as exc:  # tallied, and asserted absent by the tests
            return f"{type(exc).__name__}: {exc}"
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return Counter(pool.map(run, range(attempts)))
