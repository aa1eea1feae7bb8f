"""The websocket's Origin check: the page's own origin (scheme, host and port) and the CSRF-trusted
origins are accepted, anything else refused at the handshake, as Django's CSRF check treats a POST."""

import pytest
from channels.testing import WebsocketCommunicator

from portal.asgi import application
from tests.asyncio_thread import run_coroutine

SITE = "127.0.0.1:8000"


def connects(user, *, origin: str | None, host: str = SITE, scheme: str = "ws", extra=()) -> bool:
    headers = [(b"host", host.encode()), *extra]
    if origin is not None:
        headers.append((b"origin", origin.encode()))

    async def scenario():
        communicator = WebsocketCommunicator(application, "/ws/events/", headers=headers)
        communicator.scope["user"] = user
        communicator.scope["scheme"] = scheme
        connected, _ = await communicator.connect()
        await communicator.disconnect()
        return connected

    return run_coroutine(scenario())


def test_the_sites_own_origin_is_accepted(transactional_db, researcher):
    assert connects(researcher, origin=f"http://{SITE}")


@pytest.mark.parametrize(
    "origin",
    [
        "http://127.0.0.1:9999",  # another port on the same host: another origin
        "http://127.0.0.1",
        f"https://{SITE}",  # another scheme
        "http://localhost:8000",  # another host, even one in ALLOWED_HOSTS
        "http://evil.example",
        "null",
    ],
)
def test_another_origin_is_refused(transactional_db, researcher, origin):
    assert not connects(researcher, origin=origin)


def test_a_handshake_without_an_origin_is_refused(transactional_db, researcher):
    assert not connects(researcher, origin=None)


def test_a_host_outside_allowed_hosts_is_refused_even_when_the_origin_matches_it(transactional_db, researcher):
    assert not connects(researcher, origin="http://evil.example", host="evil.example")


def test_behind_a_tls_proxy_the_https_origin_is_the_sites_own(transactional_db, researcher, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.ALLOWED_HOSTS = ["atelier.example"]
    proxied = [(b"x-forwarded-proto", b"https")]
    assert connects(researcher, origin="https://atelier.example", host="atelier.example", extra=proxied)
    assert not connects(researcher, origin="http://atelier.example", host="atelier.example", extra=proxied)


def test_a_wss_connection_has_the_https_origin(transactional_db, researcher):
    assert connects(researcher, origin=f"https://{SITE}", scheme="wss")
    assert not connects(researcher, origin=f"http://{SITE}", scheme="wss")


def test_csrf_trusted_origins_are_accepted_exactly_or_by_subdomain_wildcard(transactional_db, researcher, settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://portal.example.org", "https://*.studio.example"]
    assert connects(researcher, origin="https://portal.example.org")
    assert connects(researcher, origin="https://gpu.studio.example")
    assert not connects(researcher, origin="http://portal.example.org")
    assert not connects(researcher, origin="https://portal.example.org:8443")
    assert not connects(researcher, origin="https://studio.example.evil")
