"""The gRPC server of a node: the API, health and reflection, behind the interceptor chain.

The chain, outermost first: access log, request id and RPC metrics, the mapping of domain
errors to statuses, then authentication and rights (so its refusals are
mapped like any other error, and no servicer sees a refused call), then the
refusal of undecodable request bodies (INVALID_ARGUMENT, after authentication).

A request larger than ``limits.max_request_bytes`` is INVALID_ARGUMENT naming
that limit (``DecodeInterceptor``), without being decoded. One larger than
``TRANSPORT_FACTOR`` times the limit is refused by grpc itself
(``grpc.max_receive_message_length``) before it is even read whole, with
RESOURCE_EXHAUSTED: gRPC's documented status for a message over the
configured limit (doc/statuscodes.md, "Sent or received message was larger
than configured limit"). The margin between the two lets a caller that is
slightly over learn which setting it crossed, while memory stays bounded.

``grpc.health.v1.Health`` answers ``Check``, ``Watch`` and ``List`` (grpc's
reference servicer leaves ``List`` unimplemented). Reflection serves the API,
and also ``google/rpc/error_details.proto``: the ``BadRequest``,
``QuotaFailure``, ``ErrorInfo`` and ``RetryInfo`` that errors carry in their
``google.rpc.Status`` details, so a client without stubs can decode them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
from google.rpc import error_details_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from lower_sp.api.gatekeeper import GatekeeperServicer
from lower_sp.api.interceptors import (
    AccessLogInterceptor,
    AuthInterceptor,
    DecodeInterceptor,
    ErrorInterceptor,
    RpcObserver,
)
from lower_sp.api.rights import RIGHTS
from lower_sp.api.servicer import PlatformServicer
from spfed.api.v1 import (
    gatekeeper_pb2,
    gatekeeper_pb2_grpc,
    platform_service_pb2,
    platform_service_pb2_grpc,
)
from spfed.model import DescriptorLimits, Principal
from spfed.tls import ServerTls

__all__ = [
    "ERROR_DETAILS_FILE",
    "GATEKEEPER_SERVICE",
    "PLATFORM_SERVICE",
    "ApiServer",
    "NodeHealth",
]

PLATFORM_SERVICE = platform_service_pb2.DESCRIPTOR.services_by_name["PlatformService"].full_name
"""``spfed.v1.PlatformService``."""
GATEKEEPER_SERVICE = gatekeeper_pb2.DESCRIPTOR.services_by_name["GatekeeperService"].full_name
"""``spfed.v1.GatekeeperService``."""

ERROR_DETAILS_FILE = error_details_pb2.DESCRIPTOR.name
"""``google/rpc/error_details.proto``: the types of the details of every error a node sends.

Reflection serves the files of the default descriptor pool, and this module puts that file
there (by importing its generated module) whatever else the node imports."""

_OPTIONS = (
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
    ("grpc.so_reuseport", 0),
)


TRANSPORT_FACTOR = 2
"""grpc's own bound on a request, in multiples of ``limits.max_request_bytes``."""


class NodeHealth(health.aio.HealthServicer):  # type: ignore[misc]  # grpc_health is untyped
    """grpc's asyncio health servicer, plus ``List``.

    ``List`` answers a snapshot of every service whose status was set (``""``
    for the whole server, and ``spfed.v1.PlatformService``), as the health
    protocol asks; the reference servicer raises ``NotImplementedError``,
    which a client saw as INTERNAL.
    """

    async def List(  # the gRPC method's name
        self, request: health_pb2.HealthListRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> health_pb2.HealthListResponse:
        # The reference servicer keeps the statuses set so far in _server_status
        # (grpcio-health-checking is pinned; tests/unit/test_health_list.py guards this).
        statuses: dict[str, int] = dict(self._server_status)
        return health_pb2.HealthListResponse(
            statuses={
                name: health_pb2.HealthCheckResponse(status=status)
                for name, status in sorted(statuses.items())
            }
        )


class ApiServer:
    """A ``grpc.aio`` server offering the platform API, ``grpc.health.v1`` and reflection."""

    def __init__(
        self,
        servicer: PlatformServicer,
        gatekeeper: GatekeeperServicer,
        node_id: str,
        authenticate: Callable[[str | None], Principal],
        limits: DescriptorLimits | None = None,
        *,
        observe_rpc: RpcObserver | None = None,
        refused: Callable[[str], None] | None = None,
    ) -> None:
        """``limits`` bound each request's size and each error's violations (defaults when
        None). ``observe_rpc`` hears of every call the access log writes (method, code,
        seconds), ``refused`` of every call refused its token or rights (reason): the
        node's metrics."""
        limits = limits or DescriptorLimits()
        self.server = grpc.aio.server(
            interceptors=(
                AccessLogInterceptor(observe_rpc),
                ErrorInterceptor(node_id, max_violations=limits.max_violations),
                AuthInterceptor(authenticate, RIGHTS, refused),
                DecodeInterceptor(limits.max_request_bytes),
            ),
            options=(
                *_OPTIONS,
                ("grpc.max_receive_message_length", TRANSPORT_FACTOR * limits.max_request_bytes),
            ),
        )
        platform_service_pb2_grpc.add_PlatformServiceServicer_to_server(servicer, self.server)
        gatekeeper_pb2_grpc.add_GatekeeperServiceServicer_to_server(gatekeeper, self.server)
        self.health = NodeHealth()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection(
            (PLATFORM_SERVICE, GATEKEEPER_SERVICE, health.SERVICE_NAME, reflection.SERVICE_NAME),
            self.server,
        )

    def bind(self, address: str, tls: ServerTls | None) -> str:
        """Listen on ``host:port`` (port 0 picks one); returns the bound ``host:port``.

        Without ``tls`` the port is plaintext (development only).

        Raises:
            OSError: the address cannot be bound (taken, or not this host's).
        """
        host, _, _ = address.rpartition(":")
        try:
            if tls is None:
                port = self.server.add_insecure_port(address)
            else:
                port = self.server.add_secure_port(address, tls.credentials())
        except RuntimeError as exc:  # grpc's word for a port it failed to bind
            raise OSError(f"cannot listen on {address}: {exc}") from exc
        if port == 0:
            raise OSError(f"cannot listen on {address}")
        return f"{host}:{port}"

    async def start(self) -> None:
        """Start serving and report SERVING."""
        await self.server.start()
        for name in ("", PLATFORM_SERVICE):
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)

    async def stop(self, grace_s: float) -> None:
        """Report NOT_SERVING, refuse new calls, and give running ones ``grace_s`` to end."""
        for name in ("", PLATFORM_SERVICE):
            await self.health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
        await self.server.stop(grace_s)
