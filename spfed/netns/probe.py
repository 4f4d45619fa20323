"""Probes run inside namespaces: ICMP echo, a UDP sender/receiver, a hop trace, counters.

They prove what the fabric built: that a slice's ingress reaches its egress, that the
packets cross every VNF of the chain *in order* (``trace``), and that another slice
sees none of them (``UdpReceiver`` on its identical address, ``counters``).

Each probe is the standard-library agent (``_agent``) run with ``ip netns exec``; the
ICMP probes use a raw socket rather than ``ping``, which is often not installed
(iputils is missing from slim images) and whose output differs between
implementations. Every probe is bounded in count and time, and every process it
starts is stopped before it returns, also on error or cancellation.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import sys
from dataclasses import dataclass
from types import TracebackType
from typing import Literal, Self

from spfed.errors import DeadlineExceeded, Internal

from ._invoke import agent_argv
from .ip import IpRoute, error_for_failure

__all__ = [
    "Counters",
    "Datagram",
    "Hop",
    "HopTrace",
    "IcmpAnswer",
    "PingResult",
    "UdpProbeResult",
    "UdpReceiver",
    "counters",
    "ping",
    "trace",
    "udp_probe",
    "udp_send",
]

_SLACK = 5.0
"""Seconds granted to a probe process beyond its own bound (start-up of Python)."""

AnswerKind = Literal["echo-reply", "time-exceeded", "unreachable"]


@dataclass(frozen=True)
class IcmpAnswer:
    """One ICMP answer to one of our echo requests."""

    kind: AnswerKind
    """Echo reply, time exceeded (a router on the way) or destination unreachable."""
    seq: int
    """Sequence number of the request it answers."""
    source: str
    """Who answered."""
    rtt_ms: float
    """Round-trip time."""


@dataclass(frozen=True)
class PingResult:
    """What came back for ``sent`` echo requests."""

    destination: str
    """The address pinged."""
    sent: int
    """Requests sent."""
    answers: tuple[IcmpAnswer, ...]
    """Every answer, in arrival order."""

    @property
    def received(self) -> int:
        """Requests answered by an echo reply from the destination itself."""
        return len(
            {
                answer.seq
                for answer in self.answers
                if answer.kind == "echo-reply" and answer.source == self.destination
            }
        )


@dataclass(frozen=True)
class Hop:
    """The answer to the echo request sent with one TTL."""

    ttl: int
    """The TTL (hop limit) of the request."""
    answer: IcmpAnswer | None
    """Time exceeded from the router ``ttl`` hops away, the echo reply, or None."""


@dataclass(frozen=True)
class HopTrace:
    """The routers on the way to ``destination``, hop by hop."""

    destination: str
    """The address traced."""
    hops: tuple[Hop, ...]
    """One per TTL, from 1, up to the echo reply (or the last TTL tried)."""

    @property
    def reached(self) -> bool:
        """Whether the destination itself answered."""
        return bool(self.hops) and _kind(self.hops[-1]) == "echo-reply"

    @property
    def routers(self) -> tuple[str | None, ...]:
        """Source of each time-exceeded answer in TTL order; None where no one answered."""
        return tuple(
            hop.answer.source if hop.answer is not None else None
            for hop in self.hops
            if _kind(hop) in ("time-exceeded", None)
        )


def _kind(hop: Hop) -> AnswerKind | None:
    return hop.answer.kind if hop.answer is not None else None


def _answer(record: dict[str, object]) -> IcmpAnswer:
    kind = str(record["kind"])
    if kind not in ("echo-reply", "time-exceeded", "unreachable"):
        raise Internal(f"probe agent answered an unknown kind {kind!r}")
    return IcmpAnswer(
        kind=kind,  # type: ignore[arg-type]  # checked just above
        seq=int(str(record["seq"])),
        source=str(record["source"]),
        rtt_ms=float(str(record["rtt_ms"])),
    )


def _records(output: str) -> list[dict[str, object]]:
    try:
        return [json.loads(line) for line in output.splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise Internal(f"probe agent printed invalid JSON: {exc}") from exc


async def ping(
    netns: str,
    destination: str,
    *,
    count: int = 3,
    timeout_s: float = 1.0,
    interval: float = 0.05,
    ttl: int = 64,
    ip: IpRoute | None = None,
    python: str = "",
) -> PingResult:
    """Send ``count`` ICMP(v6) echo requests from ``netns`` and collect the answers.

    Waits ``interval`` between requests and at most ``timeout_s`` after the last one.

    Raises:
        FailedPrecondition: not permitted (raw sockets need root), or no such namespace.
        DeadlineExceeded: the agent did not finish in its bound plus slack.
    """
    ip = ip or IpRoute()
    argv = agent_argv(
        "echo",
        destination,
        str(count),
        str(ttl),
        str(timeout_s),
        str(interval),
        python=python or sys.executable,
    )
    bound = count * interval + timeout_s + _SLACK
    output = await ip.exec_in(netns, argv, timeout_s=bound)
    return PingResult(destination, count, tuple(_answer(r) for r in _records(output)))


async def trace(
    netns: str,
    destination: str,
    *,
    max_hops: int = 8,
    timeout_s: float = 1.0,
    ip: IpRoute | None = None,
    python: str = "",
) -> HopTrace:
    """Send one echo request per TTL 1, 2, ... from ``netns`` and record who answers each.

    Stops at the destination's echo reply (or an unreachable), or after ``max_hops``.
    A hop that does not answer costs ``timeout_s``.
    """
    ip = ip or IpRoute()
    argv = agent_argv(
        "trace", destination, str(max_hops), str(timeout_s), python=python or sys.executable
    )
    output = await ip.exec_in(netns, argv, timeout_s=max_hops * timeout_s + _SLACK)
    hops = []
    for record in _records(output):
        answer = record.get("answer")
        hops.append(
            Hop(
                ttl=int(str(record["ttl"])),
                answer=_answer(answer) if isinstance(answer, dict) else None,
            )
        )
    return HopTrace(destination, tuple(hops))


@dataclass(frozen=True)
class Datagram:
    """One UDP datagram a receiver got."""

    source: str
    """Its source address."""
    payload: str
    """Its payload, decoded."""


@dataclass(frozen=True)
class UdpProbeResult:
    """What a UDP probe sent and what arrived."""

    token: str
    """Random token starting each payload of this probe."""
    sent: int
    """Datagrams sent."""
    received: tuple[Datagram, ...]
    """Datagrams the receiver got, in order."""

    @property
    def delivered(self) -> int:
        """How many of this probe's datagrams arrived."""
        return sum(1 for datagram in self.received if datagram.payload.startswith(self.token))


class UdpReceiver:
    """A UDP receiver bound to ``bind``:``port`` inside ``netns``, as an async context manager.

    Entering starts it and returns once it is bound; leaving stops it (killed if needed
    and always waited for). It exits by itself after ``count`` datagrams or ``timeout_s``
    seconds.
    """

    def __init__(
        self,
        netns: str,
        bind: str,
        port: int,
        *,
        count: int = 10,
        timeout_s: float = 5.0,
        ip: IpRoute | None = None,
        python: str = "",
    ) -> None:
        ip = ip or IpRoute()
        agent = agent_argv(
            "udp-receive",
            bind,
            str(port),
            str(count),
            str(timeout_s),
            python=python or sys.executable,
        )
        self._argv = ip.exec_argv(netns, agent)
        self._process: asyncio.subprocess.Process | None = None
        self.received: list[Datagram] = []
        """What arrived so far."""

    async def __aenter__(self) -> Self:
        self._process = await asyncio.create_subprocess_exec(
            *self._argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            line = await self._readline(_SLACK)
            if line is None or not json.loads(line).get("ready"):
                raise await self._failure()
        except BaseException:
            await self._stop()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._stop()

    async def collect(self, *, expected: int, timeout_s: float) -> tuple[Datagram, ...]:
        """Wait until ``expected`` datagrams arrived in all, or ``timeout_s``; return them all."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while len(self.received) < expected:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                break
            line = await self._readline(left)
            if line is None:
                break
            record = json.loads(line)
            self.received.append(Datagram(str(record["source"]), str(record["payload"])))
        return tuple(self.received)

    async def _readline(self, timeout_s: float) -> str | None:
        """The next line, or None at end of output or when ``timeout_s`` passes."""
        assert self._process is not None
        assert self._process.stdout is not None
        try:
            line = await asyncio.wait_for(self._process.stdout.readline(), timeout_s)
        except TimeoutError:
            return None
        return line.decode(errors="replace") if line else None

    async def _failure(self) -> Exception:
        assert self._process is not None
        assert self._process.stderr is not None
        try:
            stderr = await asyncio.wait_for(self._process.stderr.read(), _SLACK)
            await asyncio.wait_for(self._process.wait(), _SLACK)
        except TimeoutError:
            return DeadlineExceeded(f"UDP receiver `{self._argv[:4]}` did not start in time")
        returncode = self._process.returncode or -1
        return error_for_failure(self._argv[:4], returncode, stderr.decode(errors="replace"))

    async def _stop(self) -> None:
        process = self._process
        if process is None:
            return
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
        # communicate() drains the pipes, so the process cannot block on a full one.
        await process.communicate()


async def udp_send(
    netns: str,
    destination: str,
    port: int,
    *,
    payload: str,
    count: int = 5,
    interval: float = 0.01,
    source: str = "",
    ip: IpRoute | None = None,
    python: str = "",
) -> int:
    """Send ``count`` datagrams ``"{payload} {i}"`` from ``netns``; returns how many were sent."""
    ip = ip or IpRoute()
    argv = agent_argv(
        "udp-send", destination, str(port), str(count), payload, str(interval), source or "-",
        python=python or sys.executable,
    )  # fmt: skip
    await ip.exec_in(netns, argv, timeout_s=count * interval + _SLACK)
    return count


async def udp_probe(
    sender: str,
    receiver: str,
    destination: str,
    port: int,
    *,
    count: int = 5,
    timeout_s: float = 2.0,
    ip: IpRoute | None = None,
    python: str = "",
) -> UdpProbeResult:
    """Send ``count`` datagrams from namespace ``sender`` to ``destination``:``port``.

    A receiver bound to ``destination``:``port`` in namespace ``receiver`` collects them
    for at most ``timeout_s`` seconds after the sending ended.
    """
    ip = ip or IpRoute()
    token = f"spfed-{secrets.token_hex(4)}"
    async with UdpReceiver(
        receiver, destination, port, count=count, timeout_s=timeout_s + _SLACK, ip=ip, python=python
    ) as rx:
        sent = await udp_send(
            sender, destination, port, payload=token, count=count, ip=ip, python=python
        )
        received = await rx.collect(expected=count, timeout_s=timeout_s)
    return UdpProbeResult(token, sent, received)


@dataclass(frozen=True)
class Counters:
    """Packet and byte counters of one interface."""

    rx_packets: int
    """Packets received."""
    tx_packets: int
    """Packets sent."""
    rx_bytes: int
    """Bytes received."""
    tx_bytes: int
    """Bytes sent."""


async def counters(netns: str, ifname: str, *, ip: IpRoute | None = None) -> Counters:
    """The counters of ``ifname`` in ``netns`` now (``ip -s link``)."""
    ip = ip or IpRoute()
    [entry] = await ip.ip_json("-s", "link", "show", "dev", ifname, netns=netns)
    stats = entry.get("stats64") or entry.get("stats") or {}
    rx, tx = stats.get("rx") or {}, stats.get("tx") or {}
    return Counters(
        rx_packets=int(rx.get("packets", 0)),
        tx_packets=int(tx.get("packets", 0)),
        rx_bytes=int(rx.get("bytes", 0)),
        tx_bytes=int(tx.get("bytes", 0)),
    )
