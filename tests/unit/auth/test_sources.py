"""``peer_source``: the throttling key of a gRPC peer string."""

from __future__ import annotations

import pytest

from spfed.auth import peer_source


@pytest.mark.parametrize(
    ("peer", "source"),
    [
        ("ipv4:127.0.0.1:5555", "127.0.0.1"),
        ("ipv4:192.0.2.7:1", "192.0.2.7"),
        ("ipv6:[2001:db8:1:2::9]:5555", "2001:db8:1:2::/64"),
        ("ipv6:[2001:db8:1:2:ffff::1]:6", "2001:db8:1:2::/64"),  # same /64, same source
        ("ipv6:%5B2001:db8:1:3::9%5D:5555", "2001:db8:1:3::/64"),  # percent-encoded
        ("ipv6:[::ffff:192.0.2.7]:5555", "192.0.2.7"),  # IPv4-mapped
        ("ipv6:[fe80::1%25eth0]:5555", "fe80::/64"),  # with a zone
        ("unix:/run/spfed.sock", "unix"),
        ("unix:", "unix"),
        ("unix-abstract:spfed", "unix-abstract"),
        ("ipv4:not-an-address:1", "ipv4:not-an-address:1"),
        ("", ""),
        ("x" * 1000, "x" * 256),
    ],
)
def test_peer_source(peer: str, source: str) -> None:
    assert peer_source(peer) == source


def test_ports_do_not_matter() -> None:
    assert peer_source("ipv4:198.51.100.1:40000") == peer_source("ipv4:198.51.100.1:40001")
