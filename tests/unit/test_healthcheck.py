"""``python -m spfed.healthcheck``: the containers' health probe, against real gRPC servers."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from spfed.healthcheck import (
    PLATFORM_SERVICE,
    Probe,
    check,
    config_of_main_process,
    main,
    probe_from_config,
)
from spfed.topology.compose import provision
from spfed.topology.security import TopologySecurity

COMPOSE = Path(__file__).resolve().parents[2] / "examples" / "topologies" / "compose.yaml"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve(port: int, status: int, credentials: grpc.ServerCredentials | None = None) -> grpc.Server:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    servicer = health.HealthServicer()
    servicer.set(PLATFORM_SERVICE, status)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    if credentials is None:
        server.add_insecure_port(f"127.0.0.1:{port}")
    else:
        server.add_secure_port(f"127.0.0.1:{port}", credentials)
    server.start()
    return server


@pytest.fixture
def plain() -> Iterator[str]:
    port = free_port()
    server = serve(port, health_pb2.HealthCheckResponse.SERVING)
    yield f"127.0.0.1:{port}"
    server.stop(None)


def test_serving_is_healthy(plain: str) -> None:
    assert check(Probe(plain, None), 3.0) == (True, f"{plain}: SERVING")
    assert main([plain, "--insecure"]) == 0


def test_not_serving_is_unhealthy() -> None:
    port = free_port()
    server = serve(port, health_pb2.HealthCheckResponse.NOT_SERVING)
    try:
        assert check(Probe(f"127.0.0.1:{port}", None), 3.0) == (
            False,
            f"127.0.0.1:{port}: NOT_SERVING",
        )
    finally:
        server.stop(None)


def test_nothing_listening_is_unhealthy() -> None:
    address = f"127.0.0.1:{free_port()}"
    assert check(Probe(address, None), 1.0) == (False, f"{address}: UNAVAILABLE")


def test_the_node_configuration_says_where_and_how(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A node listening on every interface is asked on loopback, with its own certificate."""
    port = free_port()
    provision(COMPOSE, tmp_path, {"edge": f"edge:{port}"}, scrypt_log_n=10)
    security = TopologySecurity.under(tmp_path)
    credentials = grpc.ssl_server_credentials(
        [(security.node_key("edge").read_bytes(), security.node_cert("edge").read_bytes())],
        root_certificates=security.ca_file.read_bytes(),
        require_client_auth=True,
    )
    config = str(tmp_path / "edge" / "node.yaml")
    probe = probe_from_config(config)
    assert probe.address == f"127.0.0.1:{port}"
    assert probe.tls is not None
    server = serve(port, health_pb2.HealthCheckResponse.SERVING, credentials)
    try:
        assert main(["--config", config]) == 0
        assert capsys.readouterr().out == f"healthy: 127.0.0.1:{port}: SERVING\n"
        # Without a client certificate the node refuses the handshake.
        assert main([f"127.0.0.1:{port}", "--ca", str(security.ca_file)]) == 1
    finally:
        server.stop(None)


def test_the_config_of_the_main_process(tmp_path: Path) -> None:
    cmdline = tmp_path / "cmdline"
    cmdline.write_bytes(b"/opt/venv/bin/python\0/opt/venv/bin/spfed\0serve\0--config\0/n.yaml\0")
    assert config_of_main_process(cmdline) == "/n.yaml"
    cmdline.write_bytes(b"spfed\0serve\0--config=/m.yaml\0")
    assert config_of_main_process(cmdline) == "/m.yaml"
    cmdline.write_bytes(b"postgres\0")
    assert config_of_main_process(cmdline) == ""
    assert config_of_main_process(tmp_path / "absent") == ""


def test_nothing_to_ask_is_unhealthy(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.delenv("SPFED_CONFIG", raising=False)
    assert main([], main_process=tmp_path / "absent") == 1
    assert "give ADDRESS, --config or $SPFED_CONFIG" in capsys.readouterr().err


def test_an_unreadable_configuration_is_unhealthy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(tmp_path / "missing.yaml")]) == 1
    assert capsys.readouterr().err.startswith("unhealthy: ")
