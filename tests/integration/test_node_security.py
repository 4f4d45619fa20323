"""A node refuses to start with key material it cannot use, and says which file."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from spfed.config import LowerSpConfig, NodeConfig
from spfed.errors import FailedPrecondition
from spfed.node import Node
from spfed.topology.security import TopologySecurity
from tests.integration._federation import Federation, Operator

pytestmark = pytest.mark.timeout(30)

SPEC = {"solo": Operator("ams", "nl"), "other": Operator("fra", "de")}


def configs(tmp_path: Path) -> tuple[NodeConfig, TopologySecurity]:
    fed = Federation()
    fed.tmp = tmp_path
    fed.security = TopologySecurity.provision(tmp_path, "t", list(SPEC), scrypt_log_n=10)
    return fed.config("solo", SPEC), fed.security


async def test_a_tls_key_that_does_not_match_the_certificate(tmp_path: Path) -> None:
    config, security = configs(tmp_path)
    wrong = replace(config, tls=replace(config.tls, key_file=str(security.node_key("other"))))
    with pytest.raises(FailedPrecondition, match="does not match the certificate") as refused:
        await Node.start(wrong)
    assert str(security.node_key("other")) in refused.value.message


async def test_an_unreadable_certificate_or_identity_key(tmp_path: Path) -> None:
    config, security = configs(tmp_path)
    missing = str(tmp_path / "nope.crt")
    with pytest.raises(FailedPrecondition, match=r"nope\.crt"):
        await Node.start(replace(config, tls=replace(config.tls, cert_file=missing)))
    garbage = tmp_path / "identity.key"
    garbage.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    federation = replace(
        config.federation,
        lower_sps=(
            LowerSpConfig(
                "other",
                "127.0.0.1:1",
                public_key_file=str(security.identity_public("other")),
                key_file=str(garbage),
            ),
        ),
    )
    with pytest.raises(FailedPrecondition, match=r"identity\.key"):
        await Node.start(replace(config, federation=federation))


async def test_a_corrupt_signing_key_ring(tmp_path: Path) -> None:
    config, security = configs(tmp_path)
    ring = security.signing_keys("solo")
    ring.mkdir(parents=True)
    (ring / "signing-keys.json").write_text("{not json")
    with pytest.raises(FailedPrecondition, match=r"signing-keys\.json"):
        await Node.start(config)


async def test_insecure_mode_is_plaintext_and_says_so_loudly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config, _ = configs(tmp_path)
    dev = replace(config, tls=replace(config.tls, insecure=True))
    with caplog.at_level(logging.WARNING, logger="spfed.node"):
        node = await Node.start(dev)
    try:
        assert any("INSECURE_MODE" in r.getMessage() for r in caplog.records)
        async with grpc.aio.insecure_channel(node.address) as channel:
            reply = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=5
            )
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        await node.stop(0.5)


async def test_an_unreadable_lower_sp_catalogue_key(tmp_path: Path) -> None:
    config, _ = configs(tmp_path)
    missing = LowerSpConfig(
        "other", "127.0.0.1:1", public_key_file=str(tmp_path / "other.pub"), key_file=""
    )
    federation = replace(config.federation, lower_sps=(missing,))
    with pytest.raises(FailedPrecondition, match=r"cannot read the public key of 'other'"):
        await Node.start(replace(config, federation=federation))
