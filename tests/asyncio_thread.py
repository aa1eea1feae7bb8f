"""Run a coroutine to completion from sync test code.

Playwright's sync API keeps an event loop running in the main thread for the whole session, so
asyncio.run() there fails; a fresh thread has no loop.
"""

import asyncio
from concurrent.futures import ThreadPoolExecutor


def run_coroutine(coroutine):
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
