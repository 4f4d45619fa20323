"""Who is signing in, as far as throttling can tell: the source address of a gRPC peer.

Sign-in throttles count per *source*, the caller's IP address without its port
(a client opens a new port per connection, so keeping it would make every
connection a new source). An IPv6 address counts as its /64: that is the
smallest prefix a subscriber is usually given, and any host of it can pick
another address inside it at will. An IPv4-mapped IPv6 address is its IPv4
address. A peer that is not an IP address (a Unix socket) is one source per
transport: everyone on the host shares it.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import unquote

__all__ = ["IPV6_PREFIX", "peer_source"]

IPV6_PREFIX = 64
"""IPv6 addresses of the same /64 are one source."""

_MAX_CHARS = 256
"""An unrecognised peer is kept as a key only this long: keys are held in memory."""


def _host(address: str) -> str:
    """``address`` (``host:port``, ``[v6]:port``, or a bare host) without the port."""
    if address.startswith("["):
        end = address.find("]")
        return address[1:end] if end > 0 else address
    host, sep, port = address.rpartition(":")
    if sep and port.isdigit() and ":" not in host:
        return host
    return address


def _ip_source(address: str) -> str | None:
    """The source of an ``ipv4:``/``ipv6:`` peer's address part; None if it is no IP."""
    try:
        ip = ipaddress.ip_address(_host(unquote(address)).partition("%")[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_PREFIX), strict=False))
    return str(ip)


def peer_source(peer: str) -> str:
    """The throttling key of a gRPC peer string (``grpc.aio.ServicerContext.peer()``).

    ``ipv4:192.0.2.7:5555`` → ``192.0.2.7``; ``ipv6:[2001:db8:1:2::9]:5555`` (or its
    percent-encoded form) → ``2001:db8:1:2::/64``; ``unix:/run/x.sock`` → ``unix``. Never
    raises: anything unrecognised is its own source, cut to a bounded length.
    """
    scheme, sep, rest = peer.partition(":")
    source = None
    if sep and scheme in ("ipv4", "ipv6"):
        source = _ip_source(rest)
    elif sep and scheme in ("unix", "unix-abstract"):
        source = scheme
    return source if source is not None else peer[:_MAX_CHARS]
