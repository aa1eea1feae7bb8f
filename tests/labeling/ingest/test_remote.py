"""The URL corpus: a real server on 127.0.0.1 records every request; none may ever reach it.

Public hosts are faked: a resolver maps test names to a documentation-free public address, and
a transport answers for that address only, passing anything else to a real HTTP transport, so a
check that let a private target through would really hit the local server and be seen.
"""

import http.server
import ipaddress
import threading
import time

import httpx
import pytest

from labeling.ingest.limits import IngestLimits
from labeling.ingest.refusals import Refusal
from labeling.ingest.remote import (
    REASON_URL_CREDENTIALS,
    REASON_URL_ENCODED,
    REASON_URL_FORBIDDEN_ADDRESS,
    REASON_URL_HTTP_STATUS,
    REASON_URL_INVALID,
    REASON_URL_SCHEME,
    REASON_URL_TIMEOUT,
    REASON_URL_TOO_LARGE,
    REASON_URL_TOO_MANY_REDIRECTS,
    RemoteFile,
    check_url,
    fetch_url,
    is_forbidden_address,
    system_resolver,
)

PUBLIC_ADDRESS = "93.184.215.14"  # a global unicast address; never contacted, the transport answers for it
LIMITS = IngestLimits()


class RecordingHandler(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []
    host_headers: list[str] = []

    def do_GET(self):  # noqa: N802 - the name http.server calls
        RecordingHandler.hits.append(self.path)
        RecordingHandler.host_headers.append(self.headers["Host"])
        self.send_response(200)
        self.send_header("Content-Length", "6")
        self.end_headers()
        self.wfile.write(b"secret")

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def local_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RecordingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def hits(local_server):
    RecordingHandler.hits = []
    RecordingHandler.host_headers = []
    return RecordingHandler.hits


@pytest.fixture
def port(local_server):
    return local_server.server_address[1]


class FakePublicInternet(httpx.BaseTransport):
    """Answers requests to PUBLIC_ADDRESS with `answer(request)`; sends anything else for real."""

    def __init__(self, answer):
        self.answer = answer
        self.requests: list[httpx.Request] = []
        self.real = httpx.HTTPTransport()

    def handle_request(self, request):
        self.requests.append(request)
        if request.url.host == PUBLIC_ADDRESS:
            return self.answer(request)
        return self.real.handle_request(request)


def resolver_for(names: dict[str, list[str]]):
    calls = []

    def resolve(host, port):
        calls.append(host)
        return names[host]

    resolve.calls = calls
    return resolve


def streamed(data: bytes):
    # A real transport streams the body; a bytes body would be pre-read by httpx.Response.
    return iter([data])


def a_png_answer(request):
    return httpx.Response(200, content=streamed(b"\x89PNG fake body"), headers={"Content-Type": "image/png"})


LOOPBACK_AND_PRIVATE = [
    "http://127.0.0.1:{port}/a.png",
    "http://127.1:{port}/a.png",
    "http://2130706433:{port}/a.png",
    "http://0x7f000001:{port}/a.png",
    "http://0177.0.0.1:{port}/a.png",
    "http://127.000.000.001:{port}/a.png",
    "http://0.0.0.0:{port}/a.png",
    "http://0:{port}/a.png",
    "http://[::1]:{port}/a.png",
    "http://[::ffff:127.0.0.1]:{port}/a.png",
    "http://[::ffff:7f00:1]:{port}/a.png",
    "http://[64:ff9b::7f00:1]:{port}/a.png",
    "http://[2002:7f00:1::1]:{port}/a.png",
    "http://[::]:{port}/a.png",
    "http://localhost:{port}/a.png",
    "http://LOCALHOST.:{port}/a.png",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/",
    "http://10.0.0.1/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://224.0.0.1/",
    "http://255.255.255.255/",
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "https://127.0.0.1:{port}/a.png",
]


@pytest.mark.parametrize("template", LOOPBACK_AND_PRIVATE)
def test_loopback_and_private_addresses_are_refused_without_contact(template, port, hits):
    url = template.format(port=port)
    transport = FakePublicInternet(a_png_answer)
    refusal = fetch_url(url=url, limits=LIMITS, resolver=system_resolver, transport=transport)
    assert refusal.code == "url_forbidden_address", refusal
    assert transport.requests == [] and hits == []


def test_the_reason_names_the_host_and_the_address(port, hits):
    refusal = fetch_url(url=f"http://2130706433:{port}/", limits=LIMITS)
    assert refusal == Refusal(
        "url_forbidden_address", REASON_URL_FORBIDDEN_ADDRESS.format(host="2130706433", address="127.0.0.1")
    )
    assert hits == []


def test_a_name_resolving_to_a_private_address_among_public_ones_is_refused(hits):
    resolve = resolver_for({"mixed.test": [PUBLIC_ADDRESS, "127.0.0.1"]})
    transport = FakePublicInternet(a_png_answer)
    assert (
        fetch_url(url="http://mixed.test/a.png", limits=LIMITS, resolver=resolve, transport=transport).code
        == "url_forbidden_address"
    )
    assert transport.requests == [] and hits == []


def test_a_redirect_from_a_public_host_to_loopback_is_refused(port, hits):
    resolve = resolver_for({"public.test": [PUBLIC_ADDRESS]})
    transport = FakePublicInternet(
        lambda request: httpx.Response(302, headers={"Location": f"http://127.0.0.1:{port}/secret"})
    )
    refusal = fetch_url(url="http://public.test/a.png", limits=LIMITS, resolver=resolve, transport=transport)
    assert refusal == Refusal(
        "url_forbidden_address", REASON_URL_FORBIDDEN_ADDRESS.format(host="127.0.0.1", address="127.0.0.1")
    )
    assert len(transport.requests) == 1 and hits == []


def test_a_redirect_to_a_name_that_resolves_privately_is_refused(hits):
    resolve = resolver_for({"public.test": [PUBLIC_ADDRESS], "intranet.test": ["10.1.2.3"]})
    transport = FakePublicInternet(
        lambda request: httpx.Response(301, headers={"Location": "http://intranet.test/admin"})
    )
    refusal = fetch_url(url="http://public.test/", limits=LIMITS, resolver=resolve, transport=transport)
    assert refusal.code == "url_forbidden_address" and "10.1.2.3" in refusal.reason
    assert resolve.calls == ["public.test", "intranet.test"]


def test_it_connects_to_the_checked_address_and_sends_the_name_as_host_and_sni():
    resolve = resolver_for({"cdn.public.test": [PUBLIC_ADDRESS]})
    transport = FakePublicInternet(a_png_answer)
    result = fetch_url(
        url="https://cdn.public.test/ep01/001.png?v=2", limits=LIMITS, resolver=resolve, transport=transport
    )
    assert result == RemoteFile(
        url="https://cdn.public.test/ep01/001.png?v=2",
        data=b"\x89PNG fake body",
        content_type="image/png",
        name="001.png",
    )
    (request,) = transport.requests
    assert (request.url.host, request.url.raw_path) == (PUBLIC_ADDRESS, b"/ep01/001.png?v=2")
    assert request.headers["host"] == "cdn.public.test"
    assert request.extensions["sni_hostname"] == "cdn.public.test"


def test_dns_rebinding_cannot_swap_the_address_after_the_check(hits):
    answers = iter([[PUBLIC_ADDRESS], ["127.0.0.1"], ["127.0.0.1"]])
    transport = FakePublicInternet(a_png_answer)
    result = fetch_url(
        url="http://rebind.test/a.png", limits=LIMITS, resolver=lambda host, port: next(answers), transport=transport
    )
    assert isinstance(result, RemoteFile)
    assert [request.url.host for request in transport.requests] == [PUBLIC_ADDRESS]
    assert hits == []


def test_redirects_are_followed_up_to_the_limit_and_no_further():
    resolve = resolver_for({"public.test": [PUBLIC_ADDRESS]})

    def chain(request):
        step = int(request.url.path.strip("/") or 0)
        if step < hops:
            return httpx.Response(302, headers={"Location": f"/{step + 1}"})
        return a_png_answer(request)

    hops = 3
    assert (
        fetch_url(url="http://public.test/", limits=LIMITS, resolver=resolve, transport=FakePublicInternet(chain)).url
        == "http://public.test/3"
    )
    hops = 4
    refusal = fetch_url(url="http://public.test/", limits=LIMITS, resolver=resolve, transport=FakePublicInternet(chain))
    assert refusal == Refusal("url_too_many_redirects", REASON_URL_TOO_MANY_REDIRECTS.format(limit=3), 3)


def test_the_size_limit_is_enforced_while_streaming():
    sent = []

    def endless_body():
        while True:
            sent.append(1)
            yield b"x" * 1000

    resolve = resolver_for({"public.test": [PUBLIC_ADDRESS]})
    transport = FakePublicInternet(lambda request: httpx.Response(200, content=endless_body()))
    refusal = fetch_url(
        url="http://public.test/big", limits=IngestLimits(max_file_bytes=10_000), resolver=resolve, transport=transport
    )
    assert refusal == Refusal("url_too_large", REASON_URL_TOO_LARGE.format(limit=10_000), 10_000)
    assert len(sent) <= 12


def test_a_declared_length_over_the_limit_is_refused_before_reading():
    resolve = resolver_for({"public.test": [PUBLIC_ADDRESS]})
    transport = FakePublicInternet(
        lambda request: httpx.Response(200, headers={"Content-Length": "60000000"}, content=streamed(b""))
    )
    assert (
        fetch_url(url="http://public.test/", limits=LIMITS, resolver=resolve, transport=transport).code
        == "url_too_large"
    )


def test_a_server_that_drips_bytes_hits_the_total_time_limit():
    def slow_body():
        while True:
            time.sleep(0.05)
            yield b"x"

    resolve = resolver_for({"public.test": [PUBLIC_ADDRESS]})
    transport = FakePublicInternet(lambda request: httpx.Response(200, content=slow_body()))
    started = time.monotonic()
    refusal = fetch_url(
        url="http://public.test/", limits=IngestLimits(url_total_seconds=0.5), resolver=resolve, transport=transport
    )
    assert refusal == Refusal("url_timeout", REASON_URL_TIMEOUT.format(limit=0), 0)
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    "answer, expected",
    [
        (httpx.Response(404), Refusal("url_http_status", REASON_URL_HTTP_STATUS.format(status=404))),
        (
            httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=streamed(b"")),
            Refusal("url_encoded", REASON_URL_ENCODED.format(encoding="gzip")),
        ),
    ],
)
def test_unusable_answers_are_refused(answer, expected):
    resolve = resolver_for({"public.test": [PUBLIC_ADDRESS]})
    assert (
        fetch_url(
            url="http://public.test/",
            limits=LIMITS,
            resolver=resolve,
            transport=FakePublicInternet(lambda request: answer),
        )
        == expected
    )


@pytest.mark.parametrize(
    "url, expected",
    [
        ("file:///etc/passwd", Refusal("url_scheme", REASON_URL_SCHEME.format(scheme="file"))),
        ("ftp://public.test/a.png", Refusal("url_scheme", REASON_URL_SCHEME.format(scheme="ftp"))),
        ("gopher://public.test/", Refusal("url_scheme", REASON_URL_SCHEME.format(scheme="gopher"))),
        ("//public.test/a.png", Refusal("url_scheme", REASON_URL_SCHEME.format(scheme="(none)"))),
        ("http://user:pw@public.test/", Refusal("url_credentials", REASON_URL_CREDENTIALS)),
        ("http://public.test\\@127.0.0.1/", Refusal("url_invalid", REASON_URL_INVALID)),
        ("http://public.test /", Refusal("url_invalid", REASON_URL_INVALID)),
        ("http://public.test:99999/", Refusal("url_invalid", REASON_URL_INVALID)),
        ("http:///a.png", Refusal("url_invalid", REASON_URL_INVALID)),
    ],
)
def test_malformed_and_non_http_urls_are_refused(url, expected, hits):
    resolve = resolver_for({"public.test": [PUBLIC_ADDRESS]})
    assert check_url(url=url, resolver=resolve) == expected
    assert fetch_url(url=url, limits=LIMITS, resolver=resolve, transport=FakePublicInternet(a_png_answer)) == expected
    assert hits == []


def test_the_cheap_check_passes_public_urls():
    assert check_url(url="https://public.test/a.png", resolver=resolver_for({"public.test": [PUBLIC_ADDRESS]})) is None


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", PUBLIC_ADDRESS, "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address):
    assert not is_forbidden_address(ipaddress.ip_address(address))


def test_the_real_transport_connects_to_the_pinned_address_with_the_name_as_host(port, hits, monkeypatch):
    # The one test that lets a loopback address through (only this test's check is loosened),
    # to see the unmocked httpx path: IP-literal URL, Host header, streamed body.
    from labeling.ingest import remote

    monkeypatch.setattr(remote, "is_forbidden_address", lambda address: False)
    resolve = resolver_for({"pinned.test": ["127.0.0.1"]})
    result = fetch_url(url=f"http://pinned.test:{port}/ep/1.png?x=1", limits=LIMITS, resolver=resolve)
    assert result == RemoteFile(
        url=f"http://pinned.test:{port}/ep/1.png?x=1", data=b"secret", content_type=None, name="1.png"
    )
    assert hits == ["/ep/1.png?x=1"]
    assert RecordingHandler.host_headers == [f"pinned.test:{port}"]


def certificate_for(name: str, folder):
    """A throwaway CA and a server certificate for `name` only (no IP address in it)."""
    import datetime

    import time_machine
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def build(subject, issuer, public_key, signing_key, is_ca, san=None):
        # OpenSSL checks validity against the machine's clock, not the test's (time-machine may move it).
        real_time = time_machine.escape_hatch.time.time() if time_machine.escape_hatch.is_travelling() else time.time()
        now = datetime.datetime.fromtimestamp(real_time, datetime.timezone.utc)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
        )
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(san)]), critical=False)
        return builder.sign(signing_key, hashes.SHA256())

    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = build("test CA", "test CA", ca_key.public_key(), ca_key, True)
    server = build(name, "test CA", server_key.public_key(), ca_key, False, san=name)
    pem = serialization.Encoding.PEM
    (folder / "ca.pem").write_bytes(ca.public_bytes(pem))
    (folder / "server.pem").write_bytes(server.public_bytes(pem))
    (folder / "server.key").write_bytes(
        server_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return folder / "ca.pem", folder / "server.pem", folder / "server.key"


@pytest.fixture
def tls_server(tmp_path):
    import ssl

    ca, cert, key = certificate_for("cdn.pinned.test", tmp_path)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RecordingHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], ca
    server.shutdown()
    server.server_close()


def test_tls_is_verified_against_the_name_while_connecting_to_the_pinned_address(tls_server, hits, monkeypatch):
    import ssl

    from labeling.ingest import remote

    monkeypatch.setattr(remote, "is_forbidden_address", lambda address: False)
    port, ca = tls_server
    trusting_the_test_ca = httpx.HTTPTransport(verify=ssl.create_default_context(cafile=str(ca)))
    names = resolver_for({"cdn.pinned.test": ["127.0.0.1"], "other.pinned.test": ["127.0.0.1"]})
    fetched = fetch_url(
        url=f"https://cdn.pinned.test:{port}/a.png", limits=LIMITS, resolver=names, transport=trusting_the_test_ca
    )
    assert isinstance(fetched, RemoteFile) and fetched.data == b"secret"
    # Same address, another name: the certificate does not match it, so no download.
    other = fetch_url(
        url=f"https://other.pinned.test:{port}/a.png", limits=LIMITS, resolver=names, transport=trusting_the_test_ca
    )
    assert other.code == "url_connection"
    assert hits == ["/a.png"]
