"""In-process federations of real nodes: grpc.aio servers on 127.0.0.1 port 0.

``Federation.start(tmp, spec)`` provisions the federation's security the way
``spfed topology up`` does (a CA, node certificates, mutual TLS, identity
keys, service accounts for each parent, an ``admin`` and the customers
``alice`` and ``bob`` at every node), starts the operators of ``spec``
leaves first (a parent's configuration needs its children's addresses),
waits until every top node's catalogue shows what its children publish, and
``stop()`` stops every node it started.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from spfed.client import PlatformClient
from spfed.config import parse_config
from spfed.descriptors import DescriptorSet, load_files
from spfed.model import (
    DescriptorRef,
    InstantiateRequest,
    PasswordCredential,
    PlacementConstraints,
    PlacementRule,
    ServiceDescriptors,
    ServiceEvent,
    ServiceRecord,
    ServiceState,
)
from spfed.node import Node
from spfed.topology.security import ADMIN, TopologySecurity

ROOT = Path(__file__).resolve().parents[2]
DESCRIPTORS = ROOT / "examples" / "descriptors"
BIG = {"vcpus": 64, "memory_mib": 262144, "disk_gib": 4000}
CUSTOMERS = ("alice", "bob")
"""Customer accounts every test node has."""


@dataclass
class Operator:
    """One operator of a test federation."""

    pop: str
    region: str
    children: Sequence[str] = ()
    descriptors: Sequence[str | Path] = ()
    capacity: Mapping[str, int] = field(default_factory=lambda: dict(BIG))
    settings: Mapping[str, Any] = field(default_factory=dict)
    pop_options: Mapping[str, str] = field(default_factory=dict)
    driver: str = "emulated"
    """VIM driver of the operator's PoP."""
    more_pops: Sequence[Mapping[str, Any]] = ()
    """Further PoPs of the operator, as ``pops`` entries of the node configuration."""


def demo_spec(**overrides: Operator) -> dict[str, Operator]:
    """The demo topology: retail → {wholesale-eu → edge-be, wholesale-us}."""
    spec = {
        "edge-be": Operator(
            "bru",
            "be",
            descriptors=[
                DESCRIPTORS / "nsd-edge-cdn.yml",
                DESCRIPTORS / "vnfd-cache.yml",
                DESCRIPTORS / "vnfd-router.yml",
            ],
        ),
        "wholesale-eu": Operator(
            "fra", "de", children=["edge-be"], descriptors=[DESCRIPTORS / "vnfd-legacy-nat.yml"]
        ),
        "wholesale-us": Operator("nyc", "us", descriptors=[DESCRIPTORS / "vnfd-dpi.yml"]),
        "retail": Operator("ams", "nl", children=["wholesale-eu", "wholesale-us"]),
    }
    spec.update(overrides)
    return spec


DEMO_RULES = PlacementConstraints(
    rules={
        "vnf_fw": PlacementRule(region="nl"),
        "vnf_dpi": PlacementRule(region="us"),
        "vnf_nat": PlacementRule(region="de"),
        "ns_cdn": PlacementRule(region="be"),
    }
)


def examples() -> DescriptorSet:
    """The project's example descriptors."""
    return load_files([DESCRIPTORS])


def edge_cdn() -> InstantiateRequest:
    """The edge-cdn service on its own (router and cache)."""
    files = examples()
    nsd = files.find_nsd(DescriptorRef("eu.spfed.demo", "edge-cdn", "1.0"))
    assert nsd is not None
    return InstantiateRequest(request_id="edge-cdn", descriptors=ServiceDescriptors(nsd=nsd))


def demo_request(
    request_id: str, *, placement: PlacementConstraints = DEMO_RULES
) -> InstantiateRequest:
    """The demo service (secure-chain) with the firewall, dpi and nat VNFDs."""
    files = examples()
    nsd = files.find_nsd(DescriptorRef("eu.spfed.demo", "secure-chain", "1.0"))
    assert nsd is not None
    vnfds = tuple(v for v in files.vnfds if v.ref.name in ("firewall", "dpi", "nat"))
    return InstantiateRequest(
        request_id=request_id,
        name="demo",
        descriptors=ServiceDescriptors(nsd=nsd, vnfds=vnfds),
        placement=placement,
    )


class Federation:
    """Running nodes by operator id."""

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self.addresses: dict[str, str] = {}
        """Where each operator listens (kept while it is stopped)."""
        self.tmp = Path()
        self.security = TopologySecurity(Path())

    @classmethod
    async def start(cls, tmp: Path, spec: Mapping[str, Operator]) -> Federation:
        """Start every operator of ``spec``; on failure stop what was started."""
        fed = cls()
        fed.tmp = tmp
        fed.security = await asyncio.to_thread(
            TopologySecurity.provision,
            tmp,
            "test",
            list(spec),
            customers=dict.fromkeys(spec, CUSTOMERS),
            scrypt_log_n=10,
        )
        try:
            for op_id in _leaves_first(spec):
                await fed.start_node(op_id, spec)
            await fed.wait_for_offers(spec)
        except BaseException:
            await fed.stop()
            raise
        return fed

    def config(self, op_id: str, spec: Mapping[str, Operator], listen: str = "127.0.0.1:0") -> Any:
        """The node configuration of one operator (children must have run: their
        addresses are the ones they were started on)."""
        op = spec[op_id]
        data: dict[str, Any] = {
            "id": op_id,
            "server": {"listen": listen, "grace_period_s": 2},
            "storage": {"url": f"sqlite:///{self.tmp / op_id}.db"},
            "pops": [
                {
                    "name": op.pop,
                    "region": op.region,
                    "driver": op.driver,
                    "capacity": dict(op.capacity),
                    "options": dict(op.pop_options),
                },
                *(dict(pop) for pop in op.more_pops),
            ],
            "federation": {
                "lower_sps": [
                    {
                        "id": c,
                        "address": self.addresses[c],
                        "public_key_file": str(self.security.identity_public(c)),
                    }
                    for c in op.children
                ],
                "call_timeout_s": 5,
                "delegation_timeout_s": 30,
                "reconnect_initial_s": 0.05,
                "reconnect_max_s": 0.5,
            },
            "catalogue": {"descriptors": [str(d) for d in op.descriptors]},
            "workflow": {"retry_delay_s": 0.05, "task_timeout_s": 20},
            "logging": {"level": "WARNING"},
        }
        parents = [p for p, o in spec.items() if op_id in o.children]
        for key, value in self.security.config_sections(op_id, parents).items():
            data[key] = {**data.get(key, {}), **value}
        for key, value in op.settings.items():
            data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) else value
        return parse_config(data)

    async def start_node(self, op_id: str, spec: Mapping[str, Operator]) -> Node:
        """Start (or restart) one operator, on a new port."""
        node = await Node.start(self.config(op_id, spec))
        self.nodes[op_id] = node
        self.addresses[op_id] = node.address
        return node

    async def stop_node(self, op_id: str, grace_s: float = 0) -> None:
        """Stop one operator, as if it had died (with ``grace_s`` 0); its upper SP keeps
        its address, and ``restart_node`` brings it back there."""
        await self.nodes.pop(op_id).stop(grace_s)

    async def restart_node(self, op_id: str, spec: Mapping[str, Operator]) -> Node:
        """Start a stopped operator again on the address it had, with its database: its
        upper SP's channel reconnects to it, as to a restarted process."""
        assert op_id not in self.nodes, f"{op_id} is running"
        node = await Node.start(self.config(op_id, spec, listen=self.addresses[op_id]))
        self.nodes[op_id] = node
        return node

    async def wait_for_offers(self, spec: Mapping[str, Operator], timeout_s: float = 10) -> None:
        """Wait until each parent's catalogue shows every region below it."""

        def regions_below(op_id: str) -> set[str]:
            out = set()
            for child in spec[op_id].children:
                out |= {spec[child].region} | regions_below(child)
            return out

        async with asyncio.timeout(timeout_s):
            while True:
                missing = [
                    op
                    for op in spec
                    if op in self.nodes
                    and not regions_below(op)
                    <= {r.region for r in self.nodes[op].catalogue.regions}
                ]
                if not missing:
                    return
                await asyncio.sleep(0.02)

    def client(self, op_id: str, account: str = ADMIN) -> PlatformClient:
        """A client of one operator's API, signed in as one of its users (its admin)."""
        return PlatformClient(
            self.nodes[op_id].address,
            node_id=op_id,
            timeout_s=10,
            tls=self.security.client_tls(),
            sign_in=self.security.sign_in(op_id, account),
        )

    async def token(self, op_id: str, account: str = ADMIN) -> str:
        """A fresh access token of one of an operator's users."""
        async with self.client(op_id, account) as client:
            issued = await client.issue_token(
                PasswordCredential(account, self.security.password(op_id, account))
            )
        return issued.token

    def channel(self, op_id: str) -> grpc.aio.Channel:
        """A bare ``grpc.aio`` channel to an operator (mutual TLS, no token)."""
        return grpc.aio.secure_channel(
            self.nodes[op_id].address, self.security.client_tls().credentials()
        )

    async def used(self) -> dict[str, Any]:
        """Used capacity of every PoP, by operator."""
        out = {}
        for op_id, node in self.nodes.items():
            for vim in node.vims.values():
                out[op_id] = (await vim.capacity()).used
        return out

    async def stop(self) -> None:
        """Stop every running node."""
        for node in list(self.nodes.values()):
            await node.stop(0.5)
        self.nodes.clear()


def _leaves_first(spec: Mapping[str, Operator]) -> list[str]:
    order: list[str] = []

    def visit(op_id: str) -> None:
        if op_id in order:
            return
        for child in spec[op_id].children:
            visit(child)
        order.append(op_id)

    for op_id in spec:
        visit(op_id)
    return order


async def settle(
    client: PlatformClient, service_id: str
) -> tuple[ServiceRecord, list[ServiceEvent]]:
    """Follow a service's events until it settles; returns the record and the events."""
    events = [e async for e in client.watch_service(service_id, until_settled=True)]
    return await client.get_service(service_id), events


def tree_operators(record: ServiceRecord, level: int = 1) -> dict[str, int]:
    """Operator id → level of every node of a service tree."""
    out = {record.operator: level}
    for part in record.parts:
        if part.remote is not None:
            out.update(tree_operators(part.remote, level + 1))
    return out


def tree_addresses(record: ServiceRecord) -> list[str]:
    """Every port address of the service's plan anywhere in its tree (ports on a function's
    private network, outside the plan, left out)."""
    out = [
        p.address
        for part in record.parts
        for v in part.vnfs
        for u in v.units
        for p in u.ports
        if not p.private
    ]
    for part in record.parts:
        if part.remote is not None:
            out += tree_addresses(part.remote)
    return out


__all__ = [
    "CUSTOMERS",
    "DEMO_RULES",
    "Federation",
    "Operator",
    "ServiceState",
    "demo_request",
    "demo_spec",
    "edge_cdn",
    "examples",
    "settle",
    "tree_addresses",
    "tree_operators",
]
