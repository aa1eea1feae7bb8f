"""Fetch an image by URL without letting the URL reach inside our network (SSRF).

How: we parse the URL ourselves, resolve the host ourselves, refuse unless every address is
global, and then connect to that address: the HTTP client only ever sees an IP literal, so it
never resolves a name again (DNS rebinding cannot swap the address between check and connect),
and a parser disagreement between us and the client cannot send it elsewhere. The host name
travels in the Host header and as TLS SNI, and the certificate is verified against it.

Why httpx: it is already a dependency (CLI), streams with per-phase timeouts, and httpcore
honours the `sni_hostname` request extension, which is exactly the "connect to this IP, but
speak TLS to this name" that pinning needs; with http.client we would re-implement TLS
wrapping and chunked streaming. The client is built with trust_env=False (an HTTP(S)_PROXY from
the environment would resolve the name itself) and follow_redirects=False: each redirect goes
back through the same checks, at most limits.max_url_redirects times.

The transport and the resolver are injectable so tests can map names to addresses.
"""

import ipaddress
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, urljoin, urlsplit

import httpx

from .limits import IngestLimits
from .refusals import IngestRefused, Refusal

Resolver = Callable[[str, int], list[str]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

REASON_URL_INVALID = "the URL cannot be read; give a full http:// or https:// address"
REASON_URL_SCHEME = "only http:// and https:// URLs can be imported, not {scheme}://"
REASON_URL_CREDENTIALS = "URLs with a user name or password are not accepted"
REASON_URL_UNRESOLVABLE = "the host {host} cannot be resolved"
REASON_URL_FORBIDDEN_ADDRESS = (
    "the host {host} is a private, local or reserved address ({address}); "
    "only public internet addresses can be imported from"
)
REASON_URL_TOO_MANY_REDIRECTS = "the URL redirects more than {limit} times; give the final address"
REASON_URL_REDIRECT_WITHOUT_LOCATION = "the server answered a redirect without a Location"
REASON_URL_HTTP_STATUS = "the server answered HTTP {status}; the file could not be downloaded"
REASON_URL_ENCODED = "the server sent the file {encoding}-encoded; only plain (identity) transfers are accepted"
REASON_URL_TOO_LARGE = "the download is larger than {limit} bytes; the limit is {limit} bytes per file"
REASON_URL_TIMEOUT = "the download did not finish within {limit} seconds"
REASON_URL_CONNECTION = "the server could not be reached or broke the connection"

_REDIRECT_STATUSES = (301, 302, 303, 307, 308)
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Hosts spelled the way inet_aton reads them ("127.1", "2130706433", "0x7f000001", "0177.0.0.1"):
# we decode them exactly as the C library would rather than hand them to any resolver.
_INET_ATON_SPELLING = re.compile(r"[0-9a-fA-FxX.]+")
_HOST_NAME = re.compile(r"[A-Za-z0-9.-]+")
# Ranges that is_global lets through on Python 3.11 (multicast, shared, benchmarking, ...).
_ALSO_FORBIDDEN = tuple(
    ipaddress.ip_network(network)
    for network in ("100.64.0.0/10", "192.0.0.0/24", "198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4", "ff00::/8")
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


@dataclass(frozen=True)
class RemoteFile:
    url: str  # the final URL, after redirects
    data: bytes
    content_type: str | None
    name: str  # the last path segment of the final URL, for names.safe_file_name; may be empty


@dataclass(frozen=True)
class _Target:
    url: str
    scheme: str
    host: str  # as written in the URL (lower case, IDNA), for Host and SNI
    port: int
    address: IPAddress  # the checked address we connect to
    path_and_query: str


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for host (A and AAAA)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


def fetch_url(
    *,
    url: str,
    limits: IngestLimits,
    resolver: Resolver = system_resolver,
    transport: httpx.BaseTransport | None = None,
) -> RemoteFile | Refusal:
    """Download url into memory (at most limits.max_file_bytes) or say why not."""
    deadline = time.monotonic() + limits.url_total_seconds
    try:
        with _client(limits, transport) as client:
            return _follow(client, url, limits, resolver, deadline)
    except IngestRefused as refused:
        return refused.refusal


def check_url(*, url: str, resolver: Resolver = system_resolver) -> Refusal | None:
    """The cheap check for the request: scheme, credentials and the resolved address."""
    try:
        _target(url, resolver)
    except IngestRefused as refused:
        return refused.refusal
    return None


def _client(limits: IngestLimits, transport: httpx.BaseTransport | None) -> httpx.Client:
    # Per-phase timeouts stop a silent server; the deadline checked between chunks and hops
    # stops one that drips a byte at a time.
    per_read = min(10.0, limits.url_total_seconds)
    timeout = httpx.Timeout(per_read, connect=limits.url_connect_seconds)
    return httpx.Client(
        transport=transport or httpx.HTTPTransport(retries=0),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
    )


def _follow(client: httpx.Client, url: str, limits: IngestLimits, resolver: Resolver, deadline: float) -> RemoteFile:
    for _hop in range(limits.max_url_redirects + 1):
        if time.monotonic() > deadline:
            raise _timeout(limits)
        target = _target(url, resolver)
        location = _get(client, target, limits, deadline)
        if isinstance(location, RemoteFile):
            return location
        url = location
    reason = REASON_URL_TOO_MANY_REDIRECTS.format(limit=limits.max_url_redirects)
    raise IngestRefused(Refusal("url_too_many_redirects", reason, limits.max_url_redirects))


# ---------------------------------------------------------------- checking a URL


def _target(url: str, resolver: Resolver) -> _Target:
    parts = _split(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise IngestRefused(Refusal("url_scheme", REASON_URL_SCHEME.format(scheme=scheme or "(none)")))
    if not parts.hostname:
        raise IngestRefused(Refusal("url_invalid", REASON_URL_INVALID))
    if parts.username is not None or parts.password is not None:
        raise IngestRefused(Refusal("url_credentials", REASON_URL_CREDENTIALS))
    host, port = _host_and_port(parts, scheme)
    address = _checked_address(host, port, resolver)
    path_and_query = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _Target(url, scheme, host, port, address, path_and_query)


def _split(url: str):
    # Whitespace, backslashes and control characters are where URL parsers disagree: refuse them.
    if not url or any(character.isspace() or character == "\\" or ord(character) < 32 for character in url):
        raise IngestRefused(Refusal("url_invalid", REASON_URL_INVALID))
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise IngestRefused(Refusal("url_invalid", REASON_URL_INVALID)) from None
    return parts


def _host_and_port(parts, scheme: str) -> tuple[str, int]:
    host = parts.hostname.rstrip(".")  # urlsplit lower-cases it and strips IPv6 brackets
    if ":" not in host and not _HOST_NAME.fullmatch(host):
        host = _idna(host)
    return host, parts.port or _DEFAULT_PORTS[scheme]


def _idna(host: str) -> str:
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        raise IngestRefused(Refusal("url_invalid", REASON_URL_INVALID)) from None


def _checked_address(host: str, port: int, resolver: Resolver) -> IPAddress:
    """The one address we will connect to, after refusing the host if any address is not global."""
    addresses = _addresses_of(host, port, resolver)
    for address in addresses:
        if is_forbidden_address(address):
            reason = REASON_URL_FORBIDDEN_ADDRESS.format(host=host, address=address)
            raise IngestRefused(Refusal("url_forbidden_address", reason))
    return addresses[0]


def _addresses_of(host: str, port: int, resolver: Resolver) -> list[IPAddress]:
    literal = ip_literal(host)
    if literal is not None:
        return [literal]
    try:
        resolved = [ipaddress.ip_address(address.split("%")[0]) for address in resolver(host, port)]
    except (OSError, UnicodeError, ValueError):
        resolved = []
    if not resolved:
        raise IngestRefused(Refusal("url_unresolvable", REASON_URL_UNRESOLVABLE.format(host=host)))
    return resolved


def ip_literal(host: str) -> IPAddress | None:
    """The address a host written as an IP means, in every spelling the C library accepts."""
    try:
        return ipaddress.ip_address(unquote(host).split("%")[0])
    except ValueError:
        pass
    if not _INET_ATON_SPELLING.fullmatch(host):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def is_forbidden_address(address: IPAddress) -> bool:
    """True unless the address is plain public unicast, including addresses hidden inside IPv6."""
    for candidate in _with_embedded(address):
        if not candidate.is_global or candidate.is_multicast or candidate.is_unspecified:
            return True
        if candidate.is_loopback or candidate.is_link_local or candidate.is_private or candidate.is_reserved:
            return True
        if any(candidate in network for network in _ALSO_FORBIDDEN if network.version == candidate.version):
            return True
    return False


def _with_embedded(address: IPAddress) -> list[IPAddress]:
    """The address and any IPv4 address it carries (mapped, NAT64, 6to4, Teredo)."""
    found = [address]
    if address.version == 6:
        if address.ipv4_mapped:
            found.append(address.ipv4_mapped)
        if address in _NAT64:
            found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if address.sixtofour:
            found.append(address.sixtofour)
        if address.teredo:
            found.extend(address.teredo)
    return found


# ---------------------------------------------------------------- fetching


def _get(client: httpx.Client, target: _Target, limits: IngestLimits, deadline: float) -> RemoteFile | str:
    """The downloaded file, or the next URL when the answer is a redirect."""
    request = _pinned_request(client, target)
    try:
        response = client.send(request, stream=True)
    except httpx.TimeoutException:
        raise _timeout(limits) from None
    except httpx.HTTPError:
        raise IngestRefused(Refusal("url_connection", REASON_URL_CONNECTION)) from None
    try:
        if response.status_code in _REDIRECT_STATUSES:
            return _redirect_location(response, target)
        _refuse_unusable_response(response, limits)
        data = _read_body(response, limits, deadline)
    finally:
        response.close()  # also when refused mid-body: the connection is dropped, not drained
    content_type = response.headers.get("content-type")
    return RemoteFile(url=target.url, data=data, content_type=content_type, name=_last_segment(target))


def _pinned_request(client: httpx.Client, target: _Target) -> httpx.Request:
    literal = f"[{target.address}]" if target.address.version == 6 else str(target.address)
    default_port = _DEFAULT_PORTS[target.scheme]
    host_header = target.host if target.port == default_port else f"{_bracketed(target.host)}:{target.port}"
    return client.build_request(
        "GET",
        f"{target.scheme}://{literal}:{target.port}{target.path_and_query}",
        headers={"Host": host_header, "Accept-Encoding": "identity", "Accept": "image/*"},
        extensions={"sni_hostname": target.host},
    )


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _redirect_location(response: httpx.Response, target: _Target) -> str:
    location = response.headers.get("location")
    if not location:
        raise IngestRefused(Refusal("url_bad_redirect", REASON_URL_REDIRECT_WITHOUT_LOCATION))
    # Relative to the URL as the user wrote it (the name), not to the IP we connected to.
    return urljoin(target.url, location)


def _refuse_unusable_response(response: httpx.Response, limits: IngestLimits) -> None:
    if response.status_code != 200:
        reason = REASON_URL_HTTP_STATUS.format(status=response.status_code)
        raise IngestRefused(Refusal("url_http_status", reason))
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        # We asked for identity: a compressed body could expand past the limit within one chunk.
        raise IngestRefused(Refusal("url_encoded", REASON_URL_ENCODED.format(encoding=encoding)))
    declared = response.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limits.max_file_bytes:
        raise _too_large(limits)


def _read_body(response: httpx.Response, limits: IngestLimits, deadline: float) -> bytes:
    """The body, streamed: stop as soon as it passes the size limit or the deadline."""
    chunks: list[bytes] = []
    received = 0
    try:
        for chunk in response.iter_raw():  # as received: a network read is at most 64 KiB
            received += len(chunk)
            if received > limits.max_file_bytes:
                raise _too_large(limits)
            if time.monotonic() > deadline:
                raise _timeout(limits)
            chunks.append(chunk)
    except httpx.TimeoutException:
        raise _timeout(limits) from None
    except httpx.HTTPError:
        raise IngestRefused(Refusal("url_connection", REASON_URL_CONNECTION)) from None
    return b"".join(chunks)


def _too_large(limits: IngestLimits) -> IngestRefused:
    reason = REASON_URL_TOO_LARGE.format(limit=limits.max_file_bytes)
    return IngestRefused(Refusal("url_too_large", reason, limits.max_file_bytes))


def _timeout(limits: IngestLimits) -> IngestRefused:
    seconds = int(limits.url_total_seconds)
    return IngestRefused(Refusal("url_timeout", REASON_URL_TIMEOUT.format(limit=seconds), seconds))


def _last_segment(target: _Target) -> str:
    path = target.path_and_query.split("?", 1)[0]
    return unquote(path.rsplit("/", 1)[-1])
