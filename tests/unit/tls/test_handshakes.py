"""Real TLS handshakes: a ``grpc.aio`` server on 127.0.0.1 with the health service, and clients.

Every refusal is checked against the same server that a trusted client has just
reached, so an UNAVAILABLE is the handshake's doing, not a server that is down.
gRPC reports every failed handshake as UNAVAILABLE.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from spfed.tls import ClientTls, ServerTls
from spfed.topology.pki import IssuedCert, TopologyCa

SERVING = health_pb2.HealthCheckResponse.SERVING
DEADLINE_S = 3.0


@contextlib.asynccontextmanager
async def serving(tls: ServerTls) -> AsyncIterator[int]:
    """A started server with the health service on 127.0.0.1; yields its port."""
    server = grpc.aio.server()
    health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), server)
    port = server.add_secure_port("127.0.0.1:0", tls.credentials())
    assert port > 0
    await server.start()
    try:
        yield port
    finally:
        await server.stop(None)


async def check(
    target: str,
    credentials: grpc.ChannelCredentials | None,
    options: tuple[tuple[str, str], ...] = (),
) -> object:
    """The health status a client gets, or the status code of its failure.

    ``credentials`` of ``None`` is a plaintext channel.
    """
    channel = (
        grpc.aio.insecure_channel(target, options=options)
        if credentials is None
        else grpc.aio.secure_channel(target, credentials, options=options)
    )
    async with channel:
        try:
            response = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=DEADLINE_S
            )
        except grpc.aio.AioRpcError as exc:
            return exc.code()
        return response.status


async def check_with(target: str, tls: ClientTls) -> object:
    return await check(target, tls.credentials(), tls.channel_options())


def load_server(node: IssuedCert, ca: TopologyCa, *, require: bool) -> ServerTls:
    return ServerTls.load(
        str(node.cert_file), str(node.key_file), str(ca.ca_file), require_client_cert=require
    )


def load_client(
    ca: TopologyCa, client: IssuedCert | None = None, *, server_name: str = ""
) -> ClientTls:
    return ClientTls.load(
        str(ca.ca_file),
        str(client.cert_file) if client else "",
        str(client.key_file) if client else "",
        server_name=server_name,
    )


@pytest.fixture
async def mutual(ca: TopologyCa, node: IssuedCert) -> AsyncIterator[str]:
    """Node ``retail`` serving with mutual TLS; its ``127.0.0.1:port``."""
    async with serving(load_server(node, ca, require=True)) as port:
        yield f"127.0.0.1:{port}"


@pytest.fixture
async def server_only(ca: TopologyCa, node: IssuedCert) -> AsyncIterator[str]:
    """Node ``retail`` serving with TLS that asks no client certificate; its ``127.0.0.1:port``."""
    async with serving(load_server(node, ca, require=False)) as port:
        yield f"127.0.0.1:{port}"


async def test_trusted_client_with_certificate_is_served(
    mutual: str, ca: TopologyCa, client: IssuedCert
) -> None:
    # Verified against the IP address 127.0.0.1 in the node's certificate.
    assert await check_with(mutual, load_client(ca, client)) == SERVING


async def test_server_name_override_is_the_node_id(
    mutual: str, ca: TopologyCa, client: IssuedCert
) -> None:
    assert await check_with(mutual, load_client(ca, client, server_name="retail")) == SERVING
    wrong = load_client(ca, client, server_name="wholesale-eu")
    assert await check_with(mutual, wrong) == grpc.StatusCode.UNAVAILABLE


async def test_localhost_is_a_name_of_the_node(
    mutual: str, ca: TopologyCa, client: IssuedCert
) -> None:
    port = mutual.rpartition(":")[2]
    assert await check_with(f"localhost:{port}", load_client(ca, client)) == SERVING


async def test_a_node_certificate_serves_as_client_certificate(
    mutual: str, ca: TopologyCa, tmp_path: Path
) -> None:
    # How a node calls its lower SPs: with its own node certificate.
    caller = ca.issue_node("wholesale-eu", tmp_path / "wholesale-eu")
    assert await check_with(mutual, load_client(ca, caller, server_name="retail")) == SERVING


async def test_client_without_the_ca_cannot_connect(server_only: str, ca: TopologyCa) -> None:
    assert await check_with(server_only, load_client(ca)) == SERVING
    default_roots = grpc.ssl_channel_credentials()
    assert await check(server_only, default_roots) == grpc.StatusCode.UNAVAILABLE


async def test_client_trusting_another_ca_of_the_same_name_cannot_connect(
    server_only: str, ca: TopologyCa, other_ca: TopologyCa
) -> None:
    assert await check_with(server_only, load_client(ca)) == SERVING
    assert await check_with(server_only, load_client(other_ca)) == grpc.StatusCode.UNAVAILABLE


async def test_plaintext_client_cannot_connect(
    mutual: str, ca: TopologyCa, client: IssuedCert
) -> None:
    assert await check_with(mutual, load_client(ca, client)) == SERVING
    assert await check(mutual, None) == grpc.StatusCode.UNAVAILABLE


async def test_mutual_tls_refuses_a_client_without_certificate(
    mutual: str, ca: TopologyCa, client: IssuedCert
) -> None:
    assert await check_with(mutual, load_client(ca, client)) == SERVING
    assert await check_with(mutual, load_client(ca)) == grpc.StatusCode.UNAVAILABLE


async def test_mutual_tls_refuses_a_certificate_from_another_ca(
    mutual: str, ca: TopologyCa, client: IssuedCert, stranger: IssuedCert
) -> None:
    assert await check_with(mutual, load_client(ca, client)) == SERVING
    # The stranger trusts our CA, so only the server's check of its certificate can refuse it.
    assert await check_with(mutual, load_client(ca, stranger)) == grpc.StatusCode.UNAVAILABLE


async def test_without_required_client_certificates_anyone_trusting_the_ca_connects(
    server_only: str, ca: TopologyCa, stranger: IssuedCert
) -> None:
    assert await check_with(server_only, load_client(ca)) == SERVING
    # The server does not ask for a certificate, so a foreign one is never looked at.
    assert await check_with(server_only, load_client(ca, stranger)) == SERVING
