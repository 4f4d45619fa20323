"""Asking nodes how they are: ready files, ``grpc.health.v1`` and published catalogues.

All of it is bounded: every call has a deadline and every wait a timeout.
The health probe uses a synchronous channel (the launcher is synchronous);
the catalogue probe uses ``PlatformClient`` in a private event loop, so it
must not be called from a thread that runs one.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from spfed.client import PlatformClient
from spfed.credentials import SignIn
from spfed.errors import SpfedError
from spfed.model import Catalogue, DescriptorRef, OfferKind
from spfed.tls import ClientTls

__all__ = [
    "PLATFORM_SERVICE",
    "CatalogueExpectation",
    "Health",
    "check_health",
    "read_ready_file",
    "unmet_expectations",
    "wait_for_catalogues",
]

PLATFORM_SERVICE = "spfed.v1.PlatformService"
"""The health service name a node reports for its API."""

_POLL_S = 0.1


class Health(StrEnum):
    """What a node's health service says, or why it said nothing."""

    SERVING = "SERVING"
    NOT_SERVING = "NOT_SERVING"
    UNKNOWN = "UNKNOWN"
    """The node answered, but not with SERVING or NOT_SERVING (e.g. no such service)."""
    UNREACHABLE = "UNREACHABLE"
    """No answer within the deadline."""


def read_ready_file(path: Path) -> str:
    """The ``host:port`` a node wrote to its ready file; "" while there is none (yet).

    A node writes the address and a newline; a line without its newline is
    still being written.
    """
    try:
        text = path.read_text()
    except OSError:
        return ""
    return text.strip() if text.endswith("\n") else ""


def _channel(address: str, tls: ClientTls | None) -> grpc.Channel:
    if tls is None:
        return grpc.insecure_channel(address)
    return grpc.secure_channel(address, tls.credentials(), options=tls.channel_options())


def check_health(address: str, timeout_s: float = 1.0, tls: ClientTls | None = None) -> Health:
    """One ``grpc.health.v1.Health/Check`` of the platform service at ``address``.

    Health checks need no token; with ``tls`` the channel is TLS (the
    topology's client certificate, for nodes that require one).
    """
    with _channel(address, tls) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            reply = stub.Check(
                health_pb2.HealthCheckRequest(service=PLATFORM_SERVICE), timeout=timeout_s
            )
        except grpc.RpcError as exc:
            code = getattr(exc, "code", None)  # the sync channel raises a grpc.Call
            answered = callable(code) and code() is grpc.StatusCode.NOT_FOUND
            return Health.UNKNOWN if answered else Health.UNREACHABLE
    status = int(reply.status)
    if status == health_pb2.HealthCheckResponse.SERVING:
        return Health.SERVING
    if status == health_pb2.HealthCheckResponse.NOT_SERVING:
        return Health.NOT_SERVING
    return Health.UNKNOWN


@dataclass(frozen=True)
class CatalogueExpectation:
    """What one upper SP's catalogue must show before a request can be placed on it."""

    operator: str
    """The upper SP."""
    regions: frozenset[str]
    """Regions its catalogue must publish capacity for (its PoPs' and all below)."""
    lower_sps: tuple[str, ...]
    """Its lower SPs; every offer of theirs must be among its own, in their regions."""


_OfferKey = tuple[OfferKind, DescriptorRef]


def _offers(catalogue: Catalogue) -> dict[_OfferKey, set[str]]:
    return {(o.kind, o.descriptor): set(o.regions) for o in catalogue.offers}


def unmet_expectations(
    expectations: list[CatalogueExpectation], catalogues: Mapping[str, Catalogue | None]
) -> list[str]:
    """One line per expectation the catalogues do not meet yet ([] when all are met)."""
    unmet = []
    for exp in expectations:
        own = catalogues.get(exp.operator)
        if own is None:
            unmet.append(f"{exp.operator}: no catalogue yet")
            continue
        missing_regions = exp.regions - {r.region for r in own.regions}
        if missing_regions:
            unmet.append(
                f"{exp.operator}: no capacity published for region(s) "
                f"{', '.join(sorted(missing_regions))}"
            )
        offers = _offers(own)
        for lower in exp.lower_sps:
            theirs = catalogues.get(lower)
            if theirs is None:
                unmet.append(f"{exp.operator}: the catalogue of lower SP {lower} is unknown")
                continue
            missing = sorted(
                f"{kind.value} {ref}"
                for (kind, ref), regions in _offers(theirs).items()
                if not regions <= offers.get((kind, ref), set())
            )
            if missing:
                unmet.append(
                    f"{exp.operator}: does not offer yet what {lower} offers: {', '.join(missing)}"
                )
    return unmet


async def _fetch(client: PlatformClient) -> Catalogue | None:
    with contextlib.suppress(SpfedError):
        return await client.get_catalogue()
    return None


Connect = Callable[[str], tuple[ClientTls | None, SignIn | None]]
"""TLS and sign-in for an operator."""


def _plaintext(_operator: str) -> tuple[ClientTls | None, SignIn | None]:
    return None, None


async def _wait(
    addresses: Mapping[str, str],
    expectations: list[CatalogueExpectation],
    timeout_s: float,
    call_timeout_s: float,
    connect: Connect,
) -> list[str]:
    clients = {}
    for op, addr in addresses.items():
        tls, sign_in = connect(op)
        clients[op] = PlatformClient(
            addr, node_id=op, timeout_s=call_timeout_s, tls=tls, sign_in=sign_in
        )
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            fetched = await asyncio.gather(*(_fetch(c) for c in clients.values()))
            unmet = unmet_expectations(expectations, dict(zip(clients, fetched, strict=True)))
            if not unmet or time.monotonic() >= deadline:
                return unmet
            await asyncio.sleep(_POLL_S)
    finally:
        for client in clients.values():
            await client.close()


def wait_for_catalogues(
    addresses: Mapping[str, str],
    expectations: list[CatalogueExpectation],
    timeout_s: float,
    call_timeout_s: float = 2.0,
    connect: Connect = _plaintext,
) -> list[str]:
    """Poll every node's catalogue until all ``expectations`` hold, or ``timeout_s`` passes.

    ``addresses`` maps every operator named in the expectations (upper and
    lower SPs) to its ``host:port``; ``connect`` gives each one's TLS and
    sign-in. Returns what is still unmet at the end ([] on success). Blocks;
    must not run in a thread with a running loop.

    Raises:
        RuntimeError: called from a running event loop.
    """
    return asyncio.run(_wait(addresses, expectations, timeout_s, call_timeout_s, connect))
