"""Attacks on a running node's gatekeeper: each is refused with the right code.

Two real nodes (``edge`` below ``retail``) with mutual TLS and their own
signing keys. Every servicer method is wrapped to count calls, so each case
also shows that nothing reached a servicer; each refused call writes exactly
one line to the audit log.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest

from lower_sp.api.servicer import PlatformServicer
from spfed.api.v1 import gatekeeper_pb2 as gk
from spfed.api.v1 import gatekeeper_pb2_grpc as gk_grpc
from spfed.api.v1 import platform_service_pb2 as api
from spfed.api.v1 import platform_service_pb2_grpc as api_grpc
from spfed.auth import (
    ASSERTION_TYPE,
    SigningKeys,
    TokenIssuer,
    generate_key,
    make_assertion,
    public_key_pem,
)
from spfed.model import AccountKind, Role
from tests.forge import b64url, compact, hs256, signed, signed_text
from tests.integration._federation import DESCRIPTORS, Federation, Operator, edge_cdn

pytestmark = pytest.mark.timeout(60)

CALLS: Counter[str] = Counter()
"""Methods of retail's servicer entered, by name (edge's serve retail's subscription)."""


@pytest.fixture(autouse=True)
def count_servicer_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    CALLS.clear()
    for name in (
        "GetCatalogue",
        "WatchCatalogue",
        "InstantiateService",
        "GetService",
        "ListServices",
        "WatchService",
        "TerminateService",
        "GetOperation",
    ):
        original = getattr(PlatformServicer, name)

        def counted(original: Callable[..., Any] = original, name: str = name) -> Any:
            if name.startswith("Watch"):

                async def stream(self: Any, request: Any, context: Any) -> AsyncIterator[Any]:
                    if self._node == "retail":
                        CALLS[name] += 1
                    async for item in original(self, request, context):
                        yield item

                return stream

            async def unary(self: Any, request: Any, context: Any) -> Any:
                if self._node == "retail":
                    CALLS[name] += 1
                return await original(self, request, context)

            return unary

        monkeypatch.setattr(PlatformServicer, name, counted())


@pytest.fixture
async def fed(tmp_path: Path) -> AsyncIterator[Federation]:
    spec = {
        "edge": Operator("bru", "be"),
        "retail": Operator(
            "ams",
            "nl",
            children=["edge"],
            descriptors=[DESCRIPTORS / f for f in ("vnfd-cache.yml", "vnfd-router.yml")],
        ),
    }
    federation = await Federation.start(tmp_path, spec)
    try:
        yield federation
    finally:
        await federation.stop()


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


async def get_catalogue(fed: Federation, metadata: tuple[tuple[str, str], ...]) -> grpc.StatusCode:
    """One GetCatalogue at retail; the status code it ends with."""
    async with fed.channel("retail") as channel:
        try:
            await api_grpc.PlatformServiceStub(channel).GetCatalogue(
                api.GetCatalogueRequest(), metadata=metadata, timeout=5
            )
        except grpc.aio.AioRpcError as exc:
            return exc.code()
    return grpc.StatusCode.OK


def retail_keys(fed: Federation) -> SigningKeys:
    """retail's own signing key ring (as an insider would have to steal it)."""
    return SigningKeys.open(fed.security.signing_keys("retail"))


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": "retail",
        "aud": "retail",
        "sub": "admin",
        "roles": ["operator"],
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
    }
    return base | overrides


async def forged(fed: Federation, case: str) -> str:
    """A token for one attack (``retail``'s real signing key is used where the attack
    needs a genuine signature)."""
    keys = retail_keys(fed)
    kid, key = keys.signing_key()
    header = {"alg": "EdDSA", "typ": "JWT", "kid": kid}
    public = keys.public_key(kid)
    assert public is not None

    async def tampered() -> str:
        real = await fed.token("retail", "alice")
        head, _, signature = real.split(".")
        return ".".join((head, compact({}, claims(sub="admin")).split(".")[1], signature))

    def issued_at(offset_s: float) -> str:
        issuer = TokenIssuer("retail", keys, 60, clock=lambda: time.time() + offset_s)
        return issuer.issue("admin", ["operator"])[0]

    builders: dict[str, Callable[[], str]] = {
        "malformed": lambda: "not.a.jwt",
        "alg none": lambda: compact({"alg": "none", "typ": "JWT", "kid": kid}, claims()),
        "hs256 with the public key": lambda: hs256(
            {"alg": "HS256", "typ": "JWT", "kid": kid},
            claims(),
            public_key_pem(public).encode(),
        ),
        "unknown key": lambda: signed(
            {"alg": "EdDSA", "typ": "JWT", "kid": b64url(b"x" * 32)}, claims(), generate_key()
        ),
        "unknown key with a real kid": lambda: signed(header, claims(), generate_key()),
        "expired": lambda: issued_at(-3600),
        "not yet valid": lambda: issued_at(+3600),
        "wrong audience": lambda: signed(header, claims(aud="edge"), key),
        "wrong issuer": lambda: signed(header, claims(iss="edge"), key),
        "a role the account does not have": lambda: signed(header, claims(sub="alice"), key),
        "an account that does not exist": lambda: signed(header, claims(sub="mallory"), key),
        "ten years of life": lambda: signed(
            header, claims(exp=int(time.time()) + 10 * 365 * 86400), key
        ),
        "a claim named twice": lambda: signed_text(
            json.dumps(header), json.dumps(claims(sub="alice"))[:-1] + ', "sub": "admin"}', key
        ),
        "a jti of 200 characters": lambda: signed(header, claims(jti="j" * 200), key),
    }
    if case == "tampered payload":
        return await tampered()
    if case == "another node's token":
        return await fed.token("edge", "admin")
    return builders[case]()


ATTACKS = [
    "malformed",
    "alg none",
    "hs256 with the public key",
    "unknown key",
    "unknown key with a real kid",
    "tampered payload",
    "expired",
    "not yet valid",
    "wrong audience",
    "wrong issuer",
    "another node's token",
    "a role the account does not have",
    "an account that does not exist",
    "ten years of life",
    "a claim named twice",
    "a jti of 200 characters",
]


async def test_the_attack_tokens_are_well_made(fed: Federation) -> None:
    """Control: a genuine token signed with the same stolen key and fresh claims is accepted,
    so each refusal below comes from what the case changes."""
    keys = retail_keys(fed)
    kid, key = keys.signing_key()
    token = signed({"alg": "EdDSA", "typ": "JWT", "kid": kid}, claims(), key)
    assert await get_catalogue(fed, bearer(token)) is grpc.StatusCode.OK
    assert CALLS["GetCatalogue"] == 1


@pytest.mark.parametrize("case", ["no token", *ATTACKS])
async def test_a_bad_token_is_unauthenticated_and_reaches_no_servicer(
    fed: Federation, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    metadata = () if case == "no token" else bearer(await forged(fed, case))
    with caplog.at_level(logging.WARNING, logger="spfed.audit"):
        code = await get_catalogue(fed, metadata)
    assert code is grpc.StatusCode.UNAUTHENTICATED
    assert sum(CALLS.values()) == 0
    audit = [r.getMessage() for r in caplog.records if r.name == "spfed.audit"]
    assert len(audit) == 1
    assert audit[0].startswith("event=call_rejected method=/spfed.v1.PlatformService/GetCatalogue")
    assert "code=UNAUTHENTICATED" in audit[0]


async def test_a_disabled_account_loses_its_tokens_and_its_sign_in(fed: Federation) -> None:
    token = await fed.token("retail", "alice")
    assert await get_catalogue(fed, bearer(token)) is grpc.StatusCode.OK
    async with fed.client("retail") as admin:
        await admin.disable_account("alice")
    assert await get_catalogue(fed, bearer(token)) is grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(Exception, match="account 'alice' is disabled"):
        await fed.token("retail", "alice")
    assert CALLS["GetCatalogue"] == 1


async def test_wrong_passwords_are_refused_then_rate_limited_per_account(fed: Federation) -> None:
    password = fed.security.password("retail", "alice")
    async with fed.channel("retail") as channel:
        stub = gk_grpc.GatekeeperServiceStub(channel)

        async def sign_in(account: str, secret: str) -> grpc.StatusCode:
            request = gk.IssueTokenRequest(
                password=gk.PasswordCredential(account=account, password=secret)
            )
            try:
                await stub.IssueToken(request, timeout=5)
            except grpc.aio.AioRpcError as exc:
                return exc.code()
            return grpc.StatusCode.OK

        assert await sign_in("alice", "guess") is grpc.StatusCode.UNAUTHENTICATED
        assert await sign_in("nobody", "guess") is grpc.StatusCode.UNAUTHENTICATED
        for _ in range(4):  # 5 failures in all (the default limit)
            assert await sign_in("alice", "guess") is grpc.StatusCode.UNAUTHENTICATED
        # Locked now from this address: even the right password waits; another account does
        # not (tests/integration/test_sign_in_limits.py: nor the owner, from elsewhere).
        assert await sign_in("alice", password) is grpc.StatusCode.RESOURCE_EXHAUSTED
        assert await sign_in("alice", "guess") is grpc.StatusCode.RESOURCE_EXHAUSTED
        bob = fed.security.password("retail", "bob")
        assert await sign_in("bob", bob) is grpc.StatusCode.OK


async def test_a_client_assertion_can_be_used_once(fed: Federation) -> None:
    key = generate_key()
    async with fed.client("retail") as admin:
        await admin.create_account(
            "partner",
            AccountKind.SERVICE,
            Role.PLATFORM,
            public_key=public_key_pem(key.public_key()),
        )
    assertion = make_assertion("partner", "retail", key)
    request = gk.IssueTokenRequest(
        client_assertion=gk.ClientAssertion(assertion_type=ASSERTION_TYPE, assertion=assertion)
    )
    async with fed.channel("retail") as channel:
        stub = gk_grpc.GatekeeperServiceStub(channel)
        first = await stub.IssueToken(request, timeout=5)
        assert first.account == "partner"
        assert list(first.roles) == [gk.ROLE_PLATFORM]
        with pytest.raises(grpc.aio.AioRpcError) as replayed:
            await stub.IssueToken(request, timeout=5)
        assert replayed.value.code() is grpc.StatusCode.UNAUTHENTICATED
        assert "already used" in (replayed.value.details() or "")
        # Addressed to another node: refused here too.
        elsewhere = gk.IssueTokenRequest(
            client_assertion=gk.ClientAssertion(
                assertion_type=ASSERTION_TYPE, assertion=make_assertion("partner", "edge", key)
            )
        )
        with pytest.raises(grpc.aio.AioRpcError) as wrong_audience:
            await stub.IssueToken(elsewhere, timeout=5)
        assert wrong_audience.value.code() is grpc.StatusCode.UNAUTHENTICATED


async def test_another_customers_service_is_not_found_and_rights_are_checked(
    fed: Federation, caplog: pytest.LogCaptureFixture
) -> None:
    async with fed.client("retail", "alice") as alice:
        op = await alice.instantiate(edge_cdn())
    service = op.service_id
    bob_token = await fed.token("retail", "bob")
    async with fed.channel("retail") as channel:
        stub = api_grpc.PlatformServiceStub(channel)
        metadata = bearer(bob_token)
        # Each call starts when made: make them one at a time.
        calls: dict[str, Callable[[], Awaitable[object]]] = {
            "get": lambda: stub.GetService(
                api.GetServiceRequest(service_id=service), metadata=metadata
            ),
            "terminate": lambda: stub.TerminateService(
                api.TerminateServiceRequest(service_id=service), metadata=metadata
            ),
            "operation": lambda: stub.GetOperation(
                api.GetOperationRequest(operation_id=op.id), metadata=metadata
            ),
        }
        for what, call in calls.items():
            caplog.clear()
            with (
                caplog.at_level(logging.WARNING, logger="spfed.audit"),
                pytest.raises(grpc.aio.AioRpcError) as refused,
            ):
                await call()
            assert refused.value.code() is grpc.StatusCode.NOT_FOUND, what
            audit = [r.getMessage() for r in caplog.records if r.name == "spfed.audit"]
            assert audit == [
                f"event=foreign_service_refused account=bob service={service} code=NOT_FOUND"
            ], what
        watch = stub.WatchService(api.WatchServiceRequest(service_id=service), metadata=metadata)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await watch.read()
        assert refused.value.code() is grpc.StatusCode.NOT_FOUND
        listed = await stub.ListServices(api.ListServicesRequest(), metadata=metadata)
        assert list(listed.services) == []
        # Rights: a customer may not watch catalogues nor manage accounts.
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await stub.WatchCatalogue(api.WatchCatalogueRequest(), metadata=metadata).read()
        assert denied.value.code() is grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await gk_grpc.GatekeeperServiceStub(channel).ListAccounts(
                gk.ListAccountsRequest(), metadata=metadata
            )
        assert denied.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert CALLS["WatchCatalogue"] == 0
    # The service is untouched, and its owner (and the operator) still see it.
    async with fed.client("retail", "alice") as alice:
        assert (await alice.get_service(service)).owner == "alice"
    async with fed.client("retail") as admin:
        assert [s.id for s in await admin.list_services()] == [service]


async def test_without_the_ca_or_without_a_client_certificate_no_connection(
    fed: Federation,
) -> None:
    address = fed.nodes["retail"].address
    tls = fed.security.client_tls()
    token = await fed.token("retail")
    for credentials in (
        grpc.ssl_channel_credentials(),  # the system's roots: not the topology CA
        grpc.ssl_channel_credentials(root_certificates=tls.ca_pem),  # no client certificate
    ):
        async with grpc.aio.secure_channel(address, credentials) as channel:
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await api_grpc.PlatformServiceStub(channel).GetCatalogue(
                    api.GetCatalogueRequest(), metadata=bearer(token), timeout=5
                )
            assert refused.value.code() is grpc.StatusCode.UNAVAILABLE
    async with grpc.aio.insecure_channel(address) as plaintext:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await api_grpc.PlatformServiceStub(plaintext).GetCatalogue(
                api.GetCatalogueRequest(), metadata=bearer(token), timeout=5
            )
        assert refused.value.code() is grpc.StatusCode.UNAVAILABLE
    assert sum(CALLS.values()) == 0


async def test_signing_key_rotation_under_load_fails_no_call(fed: Federation) -> None:
    """Clients keep calling while the key rotates; tokens signed before keep working."""
    failures: list[BaseException] = []
    done = 0
    stop = asyncio.Event()

    async def load(account: str) -> None:
        nonlocal done
        async with fed.client("retail", account) as client:
            while not stop.is_set():
                try:
                    await client.get_catalogue()
                    done += 1
                except Exception as exc:
                    failures.append(exc)

    workers = [asyncio.create_task(load(a)) for a in ("admin", "alice", "bob", "alice")]
    kids = []
    async with fed.client("retail") as operator:
        for _ in range(5):
            await asyncio.sleep(0.15)
            kid, usable = await operator.rotate_signing_key()
            kids.append(kid)
            assert usable[0] == kid
    await asyncio.sleep(0.15)
    stop.set()
    await asyncio.gather(*workers)
    assert failures == []
    assert len(set(kids)) == 5
    assert done > 50
    # New sign-ins get tokens from the newest key; the old ones still verify.
    fresh = await fed.token("retail")
    assert await get_catalogue(fed, bearer(fresh)) is grpc.StatusCode.OK
