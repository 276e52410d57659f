"""The one outbound guard: every server-side request to an operator-supplied URL (reply
transports, workflow webhooks, knowledge fetches) goes through here.

Why: an operator (or anyone who can edit a channel) chooses these URLs, and the server sends
lead data to them or reads their answer back. Without a guard, `http://169.254.169.254/` or
`http://127.1:6379/` makes the server talk to its own network. So:

- `outbound_url_check` (configuration time: admin, forms, services, provisioning) refuses a
  URL that is not http(s), carries userinfo, or names a private host *literally*: `localhost`
  names and IP literals in any spelling the system accepts (`127.1`, `0x7f000001`,
  `2130706433`, `0177.0.0.1`, `[::ffff:127.0.0.1]`…). It never asks DNS, which may be
  unavailable where configuration happens.
- `outbound_target` (send time, always) resolves the host once and refuses it when ANY
  address it resolves to is not public; `pinned_connection` then connects to exactly that
  vetted address (the Host header and TLS SNI/certificate check still use the name), so a
  second, different DNS answer cannot slip in between the check and the connection.
- Redirects are never followed by `pinned_connection`; a caller that follows them (the
  knowledge fetcher) calls `outbound_target` again for every hop.

`OUTBOUND_ALLOW_PRIVATE=1` (development and tests only; off by default everywhere) lifts the
address check; the scheme and userinfo checks stay.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

SCHEMES = frozenset({"http", "https"})
LOCALHOST_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class OutboundRefused(Exception):
    """The guard will not send to this URL; `str()` is the reason shown to operators. A
    refusal is permanent: the same URL is refused again, so callers never retry it."""


class OutboundUnresolvable(Exception):
    """The host has no address right now (DNS failure): nothing was sent; may be transient."""


@dataclass(frozen=True)
class OutboundTarget:
    """A vetted URL: where to connect (`address`, resolved once) and what to ask for."""

    scheme: str
    host: str
    port: int
    address: str
    path: str  # path and query, as sent on the request line


def private_allowed() -> bool:
    return bool(settings.OUTBOUND_ALLOW_PRIVATE)


def refusal_reason(host: str) -> str:
    return (
        f"refused: {host} is a private address; set OUTBOUND_ALLOW_PRIVATE=1 only for development"
    )


# --- Addresses ------------------------------------------------------------------------------


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (6to4, IPv4-compatible `::a.b.c.d`, NAT64), so
    `::127.0.0.1` is judged as 127.0.0.1. (IPv4-mapped is unwrapped by the caller.)"""
    if address.sixtofour is not None:
        return address.sixtofour
    if int(address) >> 32 == 0 and int(address) > 1:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_is_public(address: IPAddress) -> bool:
    """Whether a request to `address` leaves for the public internet: not loopback, private,
    link-local, site-local, multicast, reserved, unspecified or shared (CGNAT), including such
    an IPv4 address wrapped in IPv6."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address_is_public(address.ipv4_mapped)
        embedded = _embedded_ipv4(address)
        if embedded is not None and not address_is_public(embedded):
            return False
        if address.is_site_local:
            return False
    return address.is_global and not (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def _parse_address(raw: Any) -> IPAddress:
    return ipaddress.ip_address(str(raw))


def _numeric_addresses(host: str) -> list[IPAddress] | None:
    """The addresses a literal host means, in any spelling the system's resolver accepts
    (short, octal, hex, decimal IPv4; IPv6), without asking DNS; None if it is a name."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    except (OSError, UnicodeError, ValueError):
        return None
    return [_parse_address(info[4][0]) for info in infos]


def _is_localhost_name(host: str) -> bool:
    return host in LOCALHOST_NAMES or host.endswith(".localhost")


# --- URLs -----------------------------------------------------------------------------------


def _split(url: str) -> tuple[SplitResult, str, int]:
    """Scheme, userinfo and port checks that hold whatever OUTBOUND_ALLOW_PRIVATE says."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise OutboundRefused("refused: not a valid URL") from None
    if parts.scheme not in SCHEMES:
        raise OutboundRefused("refused: only http and https URLs are allowed")
    if "@" in parts.netloc:
        raise OutboundRefused("refused: the URL must not carry a user name or password")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise OutboundRefused("refused: the URL has no host")
    return parts, host, port or (443 if parts.scheme == "https" else 80)


def outbound_url_check(url: str) -> None:
    """Configuration-time check (no DNS): raises `OutboundRefused` with the reason."""
    _, host, _ = _split(url)
    if private_allowed():
        return
    if _is_localhost_name(host):
        raise OutboundRefused(refusal_reason(host))
    literal = _numeric_addresses(host)
    if literal is None and ":" in host:
        raise OutboundRefused(f"refused: {host} is not a valid address")
    if literal is not None and not all(address_is_public(a) for a in literal):
        raise OutboundRefused(refusal_reason(host))


def outbound_target(url: str) -> OutboundTarget:
    """Send-time check: resolve the host once and vet every address it resolves to. Raises
    `OutboundRefused` (permanent) or `OutboundUnresolvable` (DNS failed; nothing sent)."""
    parts, host, port = _split(url)
    allowed = private_allowed()
    if not allowed and _is_localhost_name(host):
        raise OutboundRefused(refusal_reason(host))
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError) as exc:
        raise OutboundUnresolvable(f"cannot resolve host ({type(exc).__name__})") from None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise OutboundUnresolvable("cannot resolve host (no address)")
    if not allowed and not all(address_is_public(_parse_address(a)) for a in addresses):
        raise OutboundRefused(refusal_reason(host))
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return OutboundTarget(
        scheme=parts.scheme, host=host, port=port, address=addresses[0], path=path
    )


# --- Connections pinned to the vetted address -----------------------------------------------


def _pin(conn: http.client.HTTPConnection, address: str) -> None:
    """Make `conn` open its socket to `address` instead of resolving its host again; the
    Host header, TLS SNI and certificate check keep using the host name."""

    def create_connection(
        host_port: tuple[str, int], timeout: Any = None, source_address: Any = None
    ) -> socket.socket:
        return socket.create_connection((address, host_port[1]), timeout, source_address)

    conn._create_connection = create_connection  # type: ignore[attr-defined]


def pinned_connection(target: OutboundTarget, *, timeout: float) -> http.client.HTTPConnection:
    """An unopened HTTP(S) connection to the vetted address. It never follows redirects."""
    connection_class = (
        http.client.HTTPSConnection if target.scheme == "https" else http.client.HTTPConnection
    )
    conn = connection_class(target.host, target.port, timeout=timeout)
    _pin(conn, target.address)
    return conn
