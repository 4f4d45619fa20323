"""A bounded fuzz of both services of a real parent/child pair: no call may crash the node.

From a fixed seed, at least ``PER_SERVICE`` bodies per service (PlatformService and
GatekeeperService) go to ``retail``, whose every function is delegated to ``edge``:
random bytes, valid messages truncated, bit-flipped or spliced, and valid messages
with mutated fields (``tests/integration/_mutate.py``), sent through a raw channel
(identity serializers), with an operator's token, a customer's, or none. The run stops
early, saying so, if it outlasts ``BUDGET_S``.

Every call must end with a status other than UNKNOWN and INTERNAL; no log record of
either node may carry a traceback; both nodes answer health checks and a normal
GetCatalogue afterwards; and nothing is stored but what calls that succeeded created
(services, slices, withdrawals, accounts).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import grpc
import pytest
import yaml
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc

from spfed.api.v1 import catalogue_pb2 as cpb
from spfed.api.v1 import descriptors_pb2 as dpb
from spfed.api.v1 import gatekeeper_pb2 as gk
from spfed.api.v1 import gatekeeper_pb2_grpc as gk_grpc
from spfed.api.v1 import platform_service_pb2 as api
from spfed.api.v1 import platform_service_pb2_grpc as api_grpc
from spfed.api.v1 import slices_pb2 as sl
from spfed.descriptors import parse_document
from spfed.model import (
    AccountKind,
    CreateSliceRequest,
    PlacementConstraints,
    Role,
    SliceTemplate,
)
from spfed.wire import create_slice_request_to_pb, instantiate_request_to_pb
from tests.integration._federation import (
    DESCRIPTORS,
    ROOT,
    Federation,
    Operator,
    edge_cdn,
    examples,
)
from tests.integration._mutate import Mutator

pytestmark = pytest.mark.timeout(150)

SEED = int(os.environ.get("SPFED_FUZZ_SEED", "20110611"))
"""Fixed, so ``make test`` gives the same verdict on the same code; set SPFED_FUZZ_SEED
(and SPFED_FUZZ_CALLS) to hunt with other draws."""
PER_SERVICE = int(os.environ.get("SPFED_FUZZ_CALLS", "4000"))
BUDGET_S = 45.0
"""Wall-clock bound of the fuzzing itself; the run stops early (and prints so) beyond it."""
MIN_PER_SERVICE = min(PER_SERVICE, 2000)
"""The suite's promise: at least this many bodies per service reach the node within the budget."""
CONCURRENCY = 8
PLATFORM = "/spfed.v1.PlatformService/"
GATEKEEPER = "/spfed.v1.GatekeeperService/"
NEVER = {grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL}


@dataclass(frozen=True)
class Case:
    """One call to make."""

    method: str
    body: bytes
    token: str
    """``admin``, ``alice`` or ``none``."""
    stream: bool


@dataclass
class Outcome:
    case: Case
    code: grpc.StatusCode
    details: str
    response: bytes


@pytest.fixture
async def fed(tmp_path: Path) -> AsyncIterator[Federation]:
    spec = {
        "edge": Operator(
            "bru",
            "be",
            descriptors=[DESCRIPTORS / f for f in ("nsd-edge-cdn.yml", "vnfd-cache.yml")]
            + [DESCRIPTORS / "vnfd-router.yml"],
        ),
        "retail": Operator("ams", "nl", children=["edge"]),
    }
    federation = await Federation.start(tmp_path, spec)
    try:
        yield federation
    finally:
        await federation.stop()


class Records(logging.Handler):
    """Every record at WARNING or above, from any logger of the process (both nodes)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def captured() -> Iterator[Records]:
    handler = Records()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


def slice_seed() -> sl.CreateSliceRequest:
    parsed = parse_document(
        yaml.safe_load((ROOT / "examples" / "slices" / "nst-shared-cdn.yml").read_text())
    )
    assert isinstance(parsed, SliceTemplate)
    request = CreateSliceRequest(
        request_id="fuzz-slice",
        template=parsed,
        nsds=examples().nsds,
        placement={"cdn": PlacementConstraints(default_region="be")},
    )
    return create_slice_request_to_pb(request)


def platform_seeds(service_id: str, operation_id: str) -> dict[str, tuple[list[Message], bool]]:
    """Method → (valid requests to mutate, whether it streams)."""
    cdn = edge_cdn()
    cache = dpb.DescriptorRef(vendor="eu.spfed.demo", name="cache", version="1.0")
    assert cdn.descriptors is not None
    vnfds = tuple(v for v in examples().vnfds if v.ref.name in ("cache", "router"))
    full = instantiate_request_to_pb(
        replace(cdn, request_id="fuzz-full", descriptors=replace(cdn.descriptors, vnfds=vnfds))
    )
    full.placement.default_region = "be"
    by_offer = api.InstantiateServiceRequest(
        request_id="fuzz-offer",
        offer=dpb.DescriptorRef(vendor="eu.spfed.demo", name="edge-cdn", version="1.0"),
    )
    return {
        "GetCatalogue": ([api.GetCatalogueRequest()], False),
        "WatchCatalogue": ([api.WatchCatalogueRequest(after_version=0)], True),
        "InstantiateService": ([instantiate_request_to_pb(cdn), full, by_offer], False),
        "GetService": ([api.GetServiceRequest(service_id=service_id)], False),
        "ListServices": ([api.ListServicesRequest(include_inactive=True, page_size=5)], False),
        "WatchService": (
            [api.WatchServiceRequest(service_id=service_id, until_settled=True)],
            True,
        ),
        "TerminateService": (
            [api.TerminateServiceRequest(service_id="fuzz-nothing", request_id="t")],
            False,
        ),
        "GetOperation": ([api.GetOperationRequest(operation_id=operation_id)], False),
        "WithdrawOffer": (
            [api.WithdrawOfferRequest(kind=cpb.OFFER_KIND_NETWORK_FUNCTION, descriptor=cache)],
            False,
        ),
        "RestoreOffer": (
            [api.RestoreOfferRequest(kind=cpb.OFFER_KIND_NETWORK_FUNCTION, descriptor=cache)],
            False,
        ),
        "CreateSlice": ([slice_seed()], False),
        "GetSlice": ([sl.GetSliceRequest(slice_id="fuzz-slice")], False),
        "ListSlices": ([sl.ListSlicesRequest(include_inactive=True)], False),
        "DeleteSlice": ([sl.DeleteSliceRequest(slice_id="fuzz-slice")], False),
    }


def gatekeeper_seeds() -> dict[str, tuple[list[Message], bool]]:
    # No seed names an account the test relies on (admin signs the calls): the
    # mutator's words do not include it either, so no call can disable or re-key it.
    return {
        "IssueToken": (
            [
                gk.IssueTokenRequest(
                    password=gk.PasswordCredential(account="fuzz-target", password="wrong")
                ),
                gk.IssueTokenRequest(
                    client_assertion=gk.ClientAssertion(
                        assertion_type="urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                        assertion="a.b.c",
                    )
                ),
            ],
            False,
        ),
        "CreateAccount": (
            [
                gk.CreateAccountRequest(
                    name="fuzz-new",
                    kind=gk.ACCOUNT_KIND_USER,
                    role=gk.ROLE_CUSTOMER,
                    password="a long enough password",
                )
            ],
            False,
        ),
        "ListAccounts": ([gk.ListAccountsRequest()], False),
        "DisableAccount": ([gk.DisableAccountRequest(name="fuzz-target")], False),
        "RotateAccountKey": (
            [gk.RotateAccountKeyRequest(name="fuzz-target", password="another password")],
            False,
        ),
        "RotateSigningKey": ([gk.RotateSigningKeyRequest(revoke_previous=True)], False),
    }


def cases(
    mutator: Mutator, prefix: str, seeds: dict[str, tuple[list[Message], bool]], count: int
) -> list[Case]:
    r = mutator.rng
    methods = sorted(seeds)
    out = []
    for i in range(count):
        method = methods[i % len(methods)]
        messages, stream = seeds[method]
        draw = r.random()
        token = "admin" if draw < 0.7 else "alice" if draw < 0.85 else "none"
        if method == "RotateSigningKey" and token == "admin":
            # An operator's rotation that revokes the previous key would end the admin
            # token this test signs with; the method is still reached by the others.
            token = "alice"
        out.append(Case(prefix + method, mutator.body(r.choice(messages)), token, stream))
    return out


async def call(channel: grpc.aio.Channel, case: Case, tokens: dict[str, str]) -> Outcome:
    metadata = (("authorization", f"Bearer {tokens[case.token]}"),) if case.token != "none" else ()
    try:
        if case.stream:
            streaming = channel.unary_stream(case.method)(case.body, metadata=metadata, timeout=0.3)
            first = await streaming.read()
            streaming.cancel()
            response = first if isinstance(first, bytes) else b""
        else:
            response = await channel.unary_unary(case.method)(
                case.body, metadata=metadata, timeout=10
            )
    except grpc.aio.AioRpcError as exc:
        return Outcome(case, exc.code(), exc.details() or "", b"")
    return Outcome(case, grpc.StatusCode.OK, "", response)


async def run(fed: Federation, todo: list[Case], tokens: dict[str, str]) -> list[Outcome]:
    outcomes: list[Outcome] = []
    queue = iter(todo)
    deadline = time.monotonic() + BUDGET_S

    async def worker(channel: grpc.aio.Channel) -> None:
        for case in queue:
            if time.monotonic() > deadline:
                return
            outcomes.append(await call(channel, case, tokens))

    async with fed.channel("retail") as channel:
        await asyncio.gather(*(worker(channel) for _ in range(CONCURRENCY)))
    return outcomes


async def list_all(stub: api_grpc.PlatformServiceStub, metadata: object) -> set[str]:
    ids: set[str] = set()
    token = ""
    while True:
        page = await stub.ListServices(
            api.ListServicesRequest(include_inactive=True, page_size=100, page_token=token),
            metadata=metadata,
        )
        ids |= {s.id for s in page.services}
        token = page.next_page_token
        if not token:
            return ids


async def account_names(fed: Federation, token: str) -> set[str]:
    async with fed.channel("retail") as channel:
        listed = await gk_grpc.GatekeeperServiceStub(channel).ListAccounts(
            gk.ListAccountsRequest(), metadata=(("authorization", f"Bearer {token}"),), timeout=5
        )
    return {a.name for a in listed.accounts}


def stored_withdrawals(fed: Federation) -> set[tuple[str, str, str, str]]:
    with sqlite3.connect(fed.tmp / "retail.db") as db:
        rows = db.execute("SELECT kind, vendor, name, version FROM withdrawn_offers").fetchall()
    return {tuple(r) for r in rows}


async def test_fuzzed_requests_never_crash_the_node_nor_leave_state(fed: Federation) -> None:
    async with fed.client("retail") as admin:
        base = await admin.instantiate(edge_cdn())
        await admin.create_account(
            "fuzz-target", AccountKind.USER, Role.CUSTOMER, password="a long enough password"
        )
    tokens = {"admin": await fed.token("retail"), "alice": await fed.token("retail", "alice")}
    accounts_before = await account_names(fed, tokens["admin"])
    mutator = Mutator(SEED)
    todo = cases(mutator, PLATFORM, platform_seeds(base.service_id, base.id), PER_SERVICE)
    todo += cases(mutator, GATEKEEPER, gatekeeper_seeds(), PER_SERVICE)
    # Interleave the two services, so neither's calls all come last.
    todo = [c for pair in zip(todo[:PER_SERVICE], todo[PER_SERVICE:], strict=True) for c in pair]

    started = time.monotonic()
    with captured() as logs:
        outcomes = await run(fed, todo, tokens)
        took = time.monotonic() - started
        await asyncio.sleep(0.2)  # let background work started by accepted calls log
    sent = Counter(o.case.method.split("/")[1] for o in outcomes)
    codes = Counter(o.code.name for o in outcomes)
    print(f"fuzz: {len(outcomes)} calls in {took:.1f} s, {dict(sent)}, codes {dict(codes)}")
    if len(outcomes) < len(todo):
        print(f"fuzz: stopped by the {BUDGET_S:.0f} s budget after {len(outcomes)} calls")
    assert min(sent.values()) >= MIN_PER_SERVICE, (sent, "fewer calls than the suite promises")

    crashed = [o for o in outcomes if o.code in NEVER]
    assert crashed == [], "\n".join(
        f"{o.case.method} token={o.case.token} {o.code.name} {o.details!r} "
        f"body={o.case.body[:80]!r}"
        for o in crashed[:10]
    )
    tracebacks = [
        r
        for r in logs.records
        if r.exc_info or "Traceback" in r.getMessage() or r.name.startswith(("grpc", "asyncio"))
    ]
    assert tracebacks == [], [f"{r.name}: {r.getMessage()[:300]}" for r in tracebacks[:10]]

    # Healthy: health checks, and normal calls to both services.
    for op_id in ("retail", "edge"):
        async with fed.channel(op_id) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            for service in ("", "spfed.v1.PlatformService"):
                reply = await health.Check(health_pb2.HealthCheckRequest(service=service))
                assert reply.status == health_pb2.HealthCheckResponse.SERVING
    metadata = (("authorization", f"Bearer {tokens['admin']}"),)
    async with fed.channel("retail") as channel:
        stub = api_grpc.PlatformServiceStub(channel)
        reply = await stub.GetCatalogue(api.GetCatalogueRequest(), metadata=metadata, timeout=5)
        assert reply.catalogue.publisher == "retail"

        # Nothing stored but what accepted calls created.
        accepted = [o for o in outcomes if o.code is grpc.StatusCode.OK]

        def responses(method: str) -> list[bytes]:
            return [o.response for o in accepted if o.case.method.endswith("/" + method)]

        slices = await stub.ListSlices(
            sl.ListSlicesRequest(include_inactive=True), metadata=metadata
        )
        made = {sl.CreateSliceResponse.FromString(r).slice.id for r in responses("CreateSlice")}
        assert {s.id for s in slices.slices} <= made
        created = {base.service_id} | {
            api.InstantiateServiceResponse.FromString(r).operation.service_id
            for r in responses("InstantiateService")
        }
        # An accepted slice's subnets are services of its own.
        created |= {n.service_id for s in slices.slices for n in s.subnets}
        assert await list_all(stub, metadata) <= created
    withdrawn = {
        (o.case.body, o.case.method) for o in accepted if o.case.method.endswith("/WithdrawOffer")
    }
    named = set()
    for body, _ in withdrawn:
        request = api.WithdrawOfferRequest.FromString(body)
        named.add(
            (
                request.kind,
                request.descriptor.vendor,
                request.descriptor.name,
                request.descriptor.version,
            )
        )
    stored = stored_withdrawals(fed)
    assert {(v, n, ver) for _, v, n, ver in stored} <= {(v, n, ver) for _, v, n, ver in named}
    # (Signing in again is rate-limited by now: the fuzz called IssueToken from this address.)
    accounts_after = await account_names(fed, tokens["admin"])
    new_accounts = {
        gk.CreateAccountResponse.FromString(r).account.name for r in responses("CreateAccount")
    }
    assert accounts_after <= accounts_before | new_accounts
