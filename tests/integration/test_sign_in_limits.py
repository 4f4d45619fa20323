"""Sign-in attacks on running nodes: guessing is throttled, the owner is not locked out, and a
client assertion is spent at one node only.

The node listens on every address, IPv4 and IPv6, so callers reach it from
127.0.0.1 and from ::1: two sources, as the node sees them (``context.peer()``).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from spfed.api.v1 import gatekeeper_pb2 as gk
from spfed.api.v1 import gatekeeper_pb2_grpc as gk_grpc
from spfed.auth import ASSERTION_TYPE, key_id, load_private_key
from spfed.wire import error_from_rpc
from tests.forge import signed
from tests.integration._federation import Federation, Operator

pytestmark = pytest.mark.timeout(60)

OWNER = "127.0.0.1"
GUESSER = "[::1]"


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


two_sources = pytest.mark.skipif(
    not _ipv6_loopback(), reason="no IPv6 loopback (::1): a second source address is needed"
)


@pytest.fixture
async def fed(tmp_path: Path) -> AsyncIterator[Federation]:
    spec = {"retail": Operator("ams", "nl", settings={"server": {"listen": "[::]:0"}})}
    federation = await Federation.start(tmp_path, spec)
    try:
        yield federation
    finally:
        await federation.stop()


def channel_from(fed: Federation, source: str, op: str = "retail") -> grpc.aio.Channel:
    """A channel to ``op`` whose calls come from ``source`` (a loopback address)."""
    port = fed.nodes[op].address.rpartition(":")[2]
    return grpc.aio.secure_channel(
        f"{source}:{port}",
        fed.security.client_tls().credentials(),
        options=(("grpc.ssl_target_name_override", op),),
    )


async def sign_in(
    stub: gk_grpc.GatekeeperServiceStub, account: str, password: str
) -> grpc.aio.AioRpcError | None:
    request = gk.IssueTokenRequest(
        password=gk.PasswordCredential(account=account, password=password)
    )
    try:
        await stub.IssueToken(request, timeout=10)
    except grpc.aio.AioRpcError as exc:
        return exc
    return None


def code(outcome: grpc.aio.AioRpcError | None) -> str:
    return "OK" if outcome is None else outcome.code().name


@two_sources
async def test_concurrent_wrong_passwords_run_five_checks_and_the_rest_wait(
    fed: Federation,
) -> None:
    async with channel_from(fed, GUESSER) as channel:
        stub = gk_grpc.GatekeeperServiceStub(channel)
        outcomes = await asyncio.gather(*(sign_in(stub, "alice", "guess") for _ in range(40)))
    assert Counter(code(o) for o in outcomes) == {
        "UNAUTHENTICATED": 5,
        "RESOURCE_EXHAUSTED": 35,
    }
    waits = [o for o in outcomes if o is not None and o.code().name == "RESOURCE_EXHAUSTED"]
    retry = error_from_rpc(waits[0], "retail").retry_after_s
    assert retry is not None
    assert retry >= 1.0


@two_sources
async def test_a_guesser_cannot_lock_the_owner_out(
    fed: Federation, caplog: pytest.LogCaptureFixture
) -> None:
    password = fed.security.password("retail", "alice")
    async with channel_from(fed, GUESSER) as guessing, channel_from(fed, OWNER) as owning:
        guesser = gk_grpc.GatekeeperServiceStub(guessing)
        owner = gk_grpc.GatekeeperServiceStub(owning)
        for _ in range(5):  # the default limit
            assert code(await sign_in(guesser, "alice", "guess")) == "UNAUTHENTICATED"
        with caplog.at_level(logging.WARNING, logger="spfed.audit"):
            locked = await sign_in(guesser, "alice", password)
        assert code(locked) == "RESOURCE_EXHAUSTED"
        assert locked is not None
        assert error_from_rpc(locked, "retail").retry_after_s == 60.0
        assert "try again in 60 s" in (locked.details() or "")
        audit = [r.getMessage() for r in caplog.records if r.name == "spfed.audit"]
        assert len(audit) == 6  # one line per refused sign-in
        assert "code=RESOURCE_EXHAUSTED reason=rate_limited peer=ipv6:" in audit[-1]
        # The owner, from elsewhere, signs in; the guesser still may not.
        assert code(await sign_in(owner, "alice", password)) == "OK"
        assert code(await sign_in(guesser, "alice", password)) == "RESOURCE_EXHAUSTED"


@two_sources
async def test_sign_ins_from_one_address_are_rate_limited(tmp_path: Path) -> None:
    settings = {
        "server": {"listen": "[::]:0"},
        "auth": {"sign_in_burst": 4, "sign_in_rate_per_s": 0.1},
    }
    fed = await Federation.start(tmp_path, {"retail": Operator("ams", "nl", settings=settings)})
    try:
        password = fed.security.password("retail", "bob")
        async with channel_from(fed, GUESSER) as busy, channel_from(fed, OWNER) as other:
            stub = gk_grpc.GatekeeperServiceStub(busy)
            for _ in range(4):
                assert code(await sign_in(stub, "bob", password)) == "OK"
            refused = await sign_in(stub, "bob", password)
            assert code(refused) == "RESOURCE_EXHAUSTED"
            assert refused is not None
            assert "too many sign-ins from this address" in (refused.details() or "")
            retry = error_from_rpc(refused, "retail").retry_after_s
            assert retry is not None
            assert 1.0 <= retry <= 10.0
            other_stub = gk_grpc.GatekeeperServiceStub(other)
            assert code(await sign_in(other_stub, "bob", password)) == "OK"
    finally:
        await fed.stop()


# --- client assertions with several audiences ---------------------------------------------


async def test_an_assertion_for_two_nodes_is_spent_at_neither(tmp_path: Path) -> None:
    spec = {
        "wholesale-eu": Operator("fra", "de"),
        "wholesale-us": Operator("nyc", "us"),
        "retail": Operator("ams", "nl", children=["wholesale-eu", "wholesale-us"]),
    }
    fed = await Federation.start(tmp_path, spec)
    try:
        key = load_private_key(fed.security.identity_key("retail"))

        def assertion(audience: object) -> gk.IssueTokenRequest:
            now = int(time.time())
            claims = {
                "iss": "retail",
                "sub": "retail",
                "aud": audience,
                "iat": now,
                "exp": now + 60,
                "jti": uuid.uuid4().hex,
            }
            header = {"alg": "EdDSA", "typ": "JWT", "kid": key_id(key.public_key())}
            return gk.IssueTokenRequest(
                client_assertion=gk.ClientAssertion(
                    assertion_type=ASSERTION_TYPE, assertion=signed(header, claims, key)
                )
            )

        both = assertion(["wholesale-eu", "wholesale-us"])
        for op in ("wholesale-eu", "wholesale-us"):
            async with fed.channel(op) as channel:
                stub = gk_grpc.GatekeeperServiceStub(channel)
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await stub.IssueToken(both, timeout=5)
                assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED
                # Control: the same key and claims for this node alone, as a string or a
                # list of one, are accepted.
                for audience in (op, [op]):
                    issued = await stub.IssueToken(assertion(audience), timeout=5)
                    assert issued.account == "retail"
    finally:
        await fed.stop()
