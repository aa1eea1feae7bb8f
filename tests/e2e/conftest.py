"""Playwright with the system Chromium (never `playwright install`; these machines are offline)."""

import uuid
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_FLAGS}


# The site's Content-Security-Policy forbids eval, and Playwright's wait_for_function compiles its
# predicate with eval in the page: test contexts bypass the CSP (a test that opens its own context
# passes CONTEXT_ARGS too). test_content_security_policy.py checks the CSP itself, without bypass.
CONTEXT_ARGS = {"bypass_csp": True}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, **CONTEXT_ARGS}


class PageProblems:
    """Console errors and failed requests seen by a page, so a test can assert there were none."""

    def __init__(self, page):
        self.console_errors: list[str] = []
        self.bad_responses: list[str] = []
        page.on("console", lambda msg: msg.type == "error" and self.console_errors.append(msg.text))
        page.on("pageerror", lambda exc: self.console_errors.append(str(exc)))
        page.on("response", lambda r: r.status >= 400 and self.bad_responses.append(f"{r.status} {r.url}"))


@pytest.fixture
def gate():
    """A file in /tmp the job account can see: a job waits for it, so the test checks the page while the
    job is at a known point however slow the machine is (a fixed sleep races CI)."""
    path = Path(f"/tmp/atelier-e2e-gate-{uuid.uuid4().hex}")
    yield path
    path.unlink(missing_ok=True)


@pytest.fixture
def page_problems(page):
    return PageProblems(page)


def log_in(page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
