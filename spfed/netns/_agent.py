"""The small program the probes run *inside* a namespace.

``probe.py`` sends this file's source to ``ip netns exec NS python -I -S -c SOURCE
COMMAND ARGS``: it needs only the standard library, reads its parameters from argv
(nothing is ever interpolated into code) and bounds every loop in count and time.
It speaks one JSON object per line on stdout, so that a killed receiver still leaves
what it got readable.

Commands:

- ``sysctl KEY=VALUE ...``: write ``/proc/sys`` of the namespace (no dependency on procps).
  Keys are paths below ``/proc/sys`` (``net/ipv6/conf/eth0.1/disable_ipv6``), so that an
  interface name with a dot needs no escaping.
- ``echo DST COUNT TTL TIMEOUT INTERVAL``: ICMP(v6) echo requests on a raw socket; one
  line per answer (echo reply, time exceeded, unreachable) with its source.
- ``trace DST MAX_HOPS TIMEOUT``: one echo request per TTL 1, 2, ...; one line per TTL
  with the source of the answer (``null`` when none came); stops at the echo reply.
- ``udp-receive BIND PORT COUNT TIMEOUT``: prints ``{"ready": true}`` once bound, then one
  line per datagram.
- ``udp-send DST PORT COUNT PAYLOAD INTERVAL SOURCE``: ``PAYLOAD i`` for i in 0..COUNT-1;
  ``SOURCE`` may be ``-`` for the routing's choice.
"""

from __future__ import annotations

import ipaddress
import json
import os
import random
import select
import socket
import struct
import sys
import time

_V4_ECHO_REQUEST, _V4_ECHO_REPLY, _V4_UNREACHABLE, _V4_TIME_EXCEEDED = 8, 0, 3, 11
_V6_ECHO_REQUEST, _V6_ECHO_REPLY, _V6_UNREACHABLE, _V6_TIME_EXCEEDED = 128, 129, 1, 3
_IPV6_HEADER = 40
_MAX_COUNT = 1000
_MAX_SECONDS = 30.0


def _emit(record: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def _bounded_count(text: str) -> int:
    return max(0, min(int(text), _MAX_COUNT))


def _bounded_seconds(text: str) -> float:
    return max(0.0, min(float(text), _MAX_SECONDS))


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of ``data``."""
    if len(data) % 2:
        data += b"\0"
    total = sum(int(word) for word in struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def echo_request(v6: bool, ident: int, seq: int) -> bytes:
    """An ICMP (or ICMPv6: the kernel fills its checksum) echo request."""
    payload = b"spfed-probe" + struct.pack("!d", time.monotonic())
    kind = _V6_ECHO_REQUEST if v6 else _V4_ECHO_REQUEST
    header = struct.pack("!BBHHH", kind, 0, 0, ident, seq)
    if v6:
        return header + payload
    return struct.pack("!BBHHH", kind, 0, checksum(header + payload), ident, seq) + payload


def _ident_seq(icmp: bytes) -> tuple[int, int] | None:
    """``(identifier, sequence)`` of an echo message, or None if it is too short."""
    if len(icmp) < 8:
        return None
    ident, seq = struct.unpack("!HH", icmp[4:8])
    return int(ident), int(seq)


def parse_answer(v6: bool, packet: bytes, ident: int) -> tuple[str, int] | None:
    """``(kind, seq)`` if ``packet`` answers one of our requests ``ident``, else None.

    ``packet`` starts at the IPv4 header (raw IPv4 sockets) or at the ICMPv6 header.
    ``kind`` is ``echo-reply``, ``time-exceeded`` or ``unreachable``; the two errors
    quote our request (after the original IP header) and are matched on it.
    """
    if not v6:
        packet = packet[(packet[0] & 0x0F) * 4 :] if len(packet) >= 20 else b""
    if len(packet) < 8:
        return None
    if v6:
        kinds = {_V6_ECHO_REPLY: "echo-reply", _V6_TIME_EXCEEDED: "time-exceeded"}
        kinds[_V6_UNREACHABLE] = "unreachable"
        request, quoted = _V6_ECHO_REQUEST, packet[8 + _IPV6_HEADER :]
    else:
        kinds = {_V4_ECHO_REPLY: "echo-reply", _V4_TIME_EXCEEDED: "time-exceeded"}
        kinds[_V4_UNREACHABLE] = "unreachable"
        inner = packet[8:]
        request, quoted = _V4_ECHO_REQUEST, inner[(inner[0] & 0x0F) * 4 :] if inner else b""
    kind = kinds.get(packet[0])
    if kind is None:
        return None
    if kind == "echo-reply":
        echo = _ident_seq(packet)
    else:
        echo = _ident_seq(quoted) if quoted[:1] == bytes([request]) else None
    if echo is None or echo[0] != ident:
        return None
    return kind, echo[1]


class _Pinger:
    """A raw ICMP(v6) socket that sends echo requests and reads the answers to them."""

    def __init__(self, destination: str) -> None:
        self.v6 = ipaddress.ip_address(destination).version == 6
        self.destination = destination
        self.ident = random.randrange(1, 0xFFFF)
        if self.v6:
            self.sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        self.sent_at: dict[int, float] = {}

    def send(self, seq: int, ttl: int) -> None:
        if self.v6:
            self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, ttl)
        else:
            self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)
        self.sent_at[seq] = time.monotonic()
        self.sock.sendto(echo_request(self.v6, self.ident, seq), (self.destination, 0))

    def receive(self, deadline: float) -> dict[str, object] | None:
        """The next answer to one of our requests before ``deadline``, else None."""
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([self.sock], [], [], left)
            if not ready:
                return None
            packet, address = self.sock.recvfrom(65535)
            answer = parse_answer(self.v6, packet, self.ident)
            if answer is None or answer[1] not in self.sent_at:
                continue
            kind, seq = answer
            rtt = (time.monotonic() - self.sent_at[seq]) * 1000.0
            return {"kind": kind, "seq": seq, "source": address[0], "rtt_ms": round(rtt, 3)}
        return None

    def close(self) -> None:
        self.sock.close()


def _echo(args: list[str]) -> None:
    destination, count, ttl = args[0], _bounded_count(args[1]), int(args[2])
    timeout, interval = _bounded_seconds(args[3]), _bounded_seconds(args[4])
    pinger = _Pinger(destination)
    try:
        answered: set[int] = set()
        for seq in range(count):
            pinger.send(seq, ttl)
            pause = time.monotonic() + interval
            while (answer := pinger.receive(pause)) is not None:
                answered.add(int(str(answer["seq"])))
                _emit(answer)
        deadline = time.monotonic() + timeout
        while len(answered) < count and (answer := pinger.receive(deadline)) is not None:
            answered.add(int(str(answer["seq"])))
            _emit(answer)
    finally:
        pinger.close()


def _trace(args: list[str]) -> None:
    destination, max_hops, timeout = args[0], int(args[1]), _bounded_seconds(args[2])
    pinger = _Pinger(destination)
    try:
        for ttl in range(1, max(1, min(max_hops, 64)) + 1):
            pinger.send(ttl, ttl)
            deadline = time.monotonic() + timeout
            answer = None
            while (candidate := pinger.receive(deadline)) is not None:
                if candidate["seq"] == ttl:
                    answer = candidate
                    break
            _emit({"ttl": ttl, "answer": answer})
            if answer is not None and answer["kind"] in ("echo-reply", "unreachable"):
                return
    finally:
        pinger.close()


def _family(address: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET


def _udp_receive(args: list[str]) -> None:
    bind, port, count, timeout = args[0], int(args[1]), _bounded_count(args[2]), args[3]
    deadline = time.monotonic() + _bounded_seconds(timeout)
    with socket.socket(_family(bind), socket.SOCK_DGRAM) as sock:
        sock.bind((bind, port))
        _emit({"ready": True})
        got = 0
        while got < count and (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([sock], [], [], left)
            if not ready:
                break
            data, address = sock.recvfrom(65535)
            got += 1
            _emit({"source": address[0], "payload": data.decode(errors="replace")})


def _udp_send(args: list[str]) -> None:
    destination, port, count = args[0], int(args[1]), _bounded_count(args[2])
    payload, interval, source = args[3], _bounded_seconds(args[4]), args[5]
    with socket.socket(_family(destination), socket.SOCK_DGRAM) as sock:
        if source != "-":
            sock.bind((source, 0))
        for index in range(count):
            sock.sendto(f"{payload} {index}".encode(), (destination, port))
            time.sleep(interval)
    _emit({"sent": count})


def _sysctl(args: list[str]) -> None:
    for setting in args:
        key, _, value = setting.partition("=")
        if ".." in key.split("/"):
            raise ValueError(f"bad sysctl key {key!r}")
        with open(os.path.join("/proc/sys", key), "w", encoding="ascii") as knob:
            knob.write(value)


_COMMANDS = {
    "echo": _echo,
    "trace": _trace,
    "udp-receive": _udp_receive,
    "udp-send": _udp_send,
    "sysctl": _sysctl,
}


def main(argv: list[str]) -> int:
    """Run the command ``argv[0]`` with the rest as its arguments; 2 for an unknown one."""
    if not argv or argv[0] not in _COMMANDS:
        sys.stderr.write(f"unknown command; one of {sorted(_COMMANDS)}\n")
        return 2
    _COMMANDS[argv[0]](argv[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
