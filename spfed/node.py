"""The composition root: one node assembled from its configuration.

    node = await Node.start(load_config("node.yaml"))
    await node.wait()            # until stop() or a signal
    await node.stop()

Start-up order: TLS material and keys (a node with an unreadable or
mismatched key or certificate refuses to start), storage (with migrations),
the gatekeeper (signing keys, accounts), VIMs, address pool, lower SP clients
and catalogue subscriptions, the own catalogue, the lifecycle, the gRPC
server and, with ``metrics.listen``, the metrics endpoint; then runs cut short by a
previous stop are recovered. Shutdown reverses it, giving running calls and workflows
the configured grace period.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from addressing import HONOURED_CONSTRAINTS
from capability_catalog import (
    CataloguePublisher,
    CatalogueSigner,
    CatalogueSubscriber,
    LowerCatalogueState,
    Offering,
    PopCapacity,
    Withdrawals,
    build_catalogue,
    offer_keys,
)
from lower_sp.api.gatekeeper import GatekeeperServicer
from lower_sp.api.interceptors import CALLER
from lower_sp.api.servicer import PlatformServicer
from lower_sp.local.vim import Vim, VimDriverRegistry, with_netns_node
from spfed import faults
from spfed.auth import load_private_key, parse_public_key
from spfed.client import PlatformClient
from spfed.config import LowerSpConfig, NodeConfig
from spfed.credentials import KeySignIn
from spfed.descriptors import DescriptorSet, load_files
from spfed.engine import load_plugins
from spfed.errors import FailedPrecondition, InvalidArgument, Unavailable
from spfed.identity import IdentityProvider
from spfed.lifecycle import EventLog, NodeRuntime, ServiceBlocks, ServiceLifecycle, SliceManager
from spfed.lifecycle.admission_control import AdmissionWorker
from spfed.metrics import (
    CatalogueRejections,
    MetricsEndpoint,
    NodeGauges,
    NodeMetrics,
    NodeSnapshot,
    PoolUsage,
)
from spfed.model import (
    BorderPoint,
    Catalogue,
    DescriptorLimits,
    DescriptorRef,
    Price,
    RegionSla,
    WimService,
)
from spfed.server import ApiServer
from spfed.storage import (
    AccountStore,
    AddressStore,
    CatalogueStore,
    Database,
    EngineRunStore,
    HandleStore,
    IntentJournal,
    PopStateTable,
    ServiceStore,
    SliceStore,
    WimConnectivityStore,
    WithdrawalStore,
)
from spfed.tls import ClientTls, ServerTls
from spfed.wan_assembly import start_wim
from spfed.wire import catalogue_payload

__all__ = ["Node", "load_onboarded"]

log = logging.getLogger(__name__)


def load_onboarded(paths: tuple[str, ...], limits: DescriptorLimits) -> DescriptorSet:
    """Read the node's onboarded descriptors (files, or directories of YAML files).

    Each file and descriptor must keep within ``limits``, the node's own
    bounds on requests: a file is untrusted input like any request.

    Raises:
        InvalidArgument: a descriptor is invalid; one violation per problem.
    """
    return load_files(paths, limits=limits)


def _public_key(path: str, lower: str) -> Ed25519PublicKey:
    """A lower SP's catalogue key.

    Raises:
        FailedPrecondition: unreadable, or not an Ed25519 public key.
    """
    try:
        return parse_public_key(Path(path).read_text())
    except OSError as exc:
        raise FailedPrecondition(
            f"federation.lower_sps: cannot read the public key of '{lower}' at {path}: "
            f"{exc.strerror or exc}"
        ) from exc
    except InvalidArgument as exc:
        raise FailedPrecondition(
            f"federation.lower_sps: {path} (the key of '{lower}') is not an Ed25519 public key"
        ) from exc


def offering_from(config: NodeConfig) -> Offering:
    """What the node's configuration adds to its catalogue (prices, SLA, borders, ...)."""
    cat = config.catalogue
    return Offering(
        prices={
            DescriptorRef(*ref.split("/")): Price(int(price.per_hour * 1_000_000), price.currency)
            for ref, price in cat.prices.items()
        },
        sla=tuple(RegionSla(s.region, s.toward, s.latency_ms, s.bandwidth_mbps) for s in cat.sla),
        borders=tuple(BorderPoint(b.id, b.region, b.services) for b in cat.borders),
        # a node with a WIM builds both kinds unless its operator says otherwise
        wim_services=cat.wim_services
        or ((WimService.E_LINE, WimService.E_LAN) if config.wim.enabled else ()),
        address_constraints=HONOURED_CONSTRAINTS,
    )


class Node:
    """A running node; build one with ``Node.start``."""

    def __init__(self, config: NodeConfig) -> None:
        self.config = config
        self.address = ""
        self._stopped = asyncio.Event()
        self._db: Database | None = None
        self._vims: dict[str, Vim] = {}
        self._lowers: dict[str, PlatformClient] = {}
        self._subscriber: CatalogueSubscriber | None = None
        self._publisher: CataloguePublisher | None = None
        self._events: EventLog | None = None
        self._server: ApiServer | None = None
        self._gatekeeper: IdentityProvider | None = None
        self.metrics = NodeMetrics(config.id)
        """The node's instruments and registry (fed whether or not they are served)."""
        self._metrics_endpoint: MetricsEndpoint | None = None
        self.metrics_address = ""
        """``host:port`` of ``/metrics`` ("" when ``metrics.listen`` is off)."""
        self.lifecycle: ServiceLifecycle | None = None
        self.slices: SliceManager | None = None
        self.withdrawals: Withdrawals | None = None

    @classmethod
    async def start(cls, config: NodeConfig) -> Node:
        """Assemble and start a node; on failure, release what was started and re-raise."""
        node = cls(config)
        try:
            await node._start()
        except BaseException:
            await node._release()
            raise
        return node

    def _tls(self) -> tuple[ServerTls | None, ClientTls | None]:
        tls = self.config.tls
        if tls.insecure:
            log.warning(
                "event=INSECURE_MODE tls=off: plaintext gRPC, access tokens travel in clear; "
                "for development only, never on a shared network"
            )
            return None, None
        server = ServerTls.load(
            tls.cert_file, tls.key_file, tls.ca_file, require_client_cert=tls.require_client_cert
        )
        client = ClientTls.load(tls.ca_file, tls.cert_file, tls.key_file)
        return server, client

    def _lower_client(self, lower: LowerSpConfig, tls: ClientTls | None) -> PlatformClient:
        fed = self.config.federation
        key = load_private_key(lower.key_file or fed.key_file)
        if tls is not None and lower.server_name:
            tls = ClientTls(tls.ca_pem, tls.cert_pem, tls.key_pem, server_name=lower.server_name)
        return PlatformClient(
            lower.address,
            node_id=lower.id,
            timeout_s=fed.call_timeout_s,
            role="lower SP",
            tls=tls,
            sign_in=KeySignIn(lower.account or self.config.id, key, audience=lower.id),
            reconnect_backoff_s=(fed.reconnect_initial_s, fed.reconnect_max_s),
        )

    async def _start(self) -> None:
        config = self.config
        # First, so that a bad point stops the node before it touches anything.
        fault_hook = faults.fault_hook(config.faults)
        onboarded = load_onboarded(config.catalogue.descriptors, config.limits.descriptor_limits())
        server_tls, client_tls = self._tls()
        lower_keys = {
            lower.id: _public_key(lower.public_key_file, lower.id)
            for lower in config.federation.lower_sps
        }
        for lower in config.federation.lower_sps:
            self._lowers[lower.id] = self._lower_client(lower, client_tls)
        db = self._db = Database.connect(config.storage.url)
        await db.migrate()
        gatekeeper = self._gatekeeper = await IdentityProvider.open(
            config.id,
            config.auth,
            AccountStore(db),
            on_refusal=lambda reason: self.metrics.refused("sign_in", reason),
        )
        gatekeeper.start()
        services = ServiceStore(db)
        catalogues = CatalogueStore(db)
        pop_state = PopStateTable(db)
        registry = VimDriverRegistry.default()
        for pop in config.pops:
            vim = registry.create(with_netns_node(pop, config.id), pop_state)
            await vim.start()
            self._vims[pop.name] = vim
        config = self.config = _resolve_point_to_point(config, self._vims.values())
        blocks = ServiceBlocks(config.addressing, AddressStore(db))
        await blocks.start()
        wim = await start_wim(config, WimConnectivityStore(db))
        fed = config.federation
        events = self._events = EventLog(services)

        withdrawals = Withdrawals(
            WithdrawalStore(db),
            lambda: offer_keys(
                onboarded.vnfds,
                onboarded.nsds,
                has_pops=bool(self._vims),
                lower=[c for c in subscriber.latest().values() if c is not None],
            ),
        )
        await withdrawals.load()
        offering = offering_from(config)

        async def build(version: int, issued: datetime, valid_until: datetime) -> Catalogue:
            pops = []
            for vim in self._vims.values():
                capacity = await vim.capacity()
                pops.append(PopCapacity(vim.region, capacity.total, capacity.free))
            lower = [c for c in subscriber.latest().values() if c is not None]
            return build_catalogue(
                config.id,
                version,
                issued,
                valid_until,
                onboarded.vnfds,
                onboarded.nsds,
                pops,
                lower,
                replace(offering, withdrawn=withdrawals.current()),
            )

        signing_key = load_private_key(config.catalogue.signing_key_file or fed.key_file)
        publisher = self._publisher = CataloguePublisher(
            config.id,
            build,
            CatalogueSigner(signing_key, catalogue_payload),
            catalogues,
            validity_s=config.catalogue.validity_s,
            debounce_s=config.catalogue.republish_debounce_s,
            capacity_step_percent=config.catalogue.capacity_step_percent,
        )
        withdrawals.attach(publisher)
        subscriber = self._subscriber = CatalogueSubscriber(
            list(self._lowers.values()),
            lower_keys,
            catalogues,
            lambda _lower: publisher.changed(),
            initial_backoff_s=fed.reconnect_initial_s,
            max_backoff_s=fed.reconnect_max_s,
        )
        await subscriber.start()
        await publisher.start()
        runtime = NodeRuntime(
            fault_hook=fault_hook,
            node_id=config.id,
            config=config,
            services=services,
            progress=services.progress,
            handles=HandleStore(db),
            intents=IntentJournal(db),
            events=events,
            blocks=blocks,
            vims=self._vims,
            lowers=self._lowers,
            onboarded=onboarded,
            lower_catalogues=subscriber.latest,
            capacity_changed=publisher.changed,
            withdrawn=withdrawals.current,
            plugins=load_plugins(config.workflow.plugins),
            wim=wim,
            admission=AdmissionWorker(
                config.limits.admission_processes, config.limits.admission_inline_below
            ),
            metrics=self.metrics,
        )
        self.lifecycle = ServiceLifecycle(runtime)
        self.slices = SliceManager(self.lifecycle, SliceStore(db), EngineRunStore(db))
        self.withdrawals = withdrawals
        servicer = PlatformServicer(self.lifecycle, publisher, withdrawals, CALLER.get, self.slices)
        await self._serve(
            ApiServer(
                servicer,
                GatekeeperServicer(gatekeeper),
                config.id,
                gatekeeper.authenticate,
                config.limits.descriptor_limits(),
                observe_rpc=self.metrics.observe_rpc,
                refused=lambda reason: self.metrics.refused("call", reason),
            ),
            server_tls,
        )
        self._serve_metrics(blocks, publisher, subscriber)
        recovered = await self.lifecycle.recover()
        recovered += await self.slices.recover()
        if config.server.ready_file:
            await asyncio.to_thread(Path(config.server.ready_file).write_text, self.address + "\n")
        log.info(
            "event=node_started address=%s metrics=%s pops=%d lower_sps=%d recovered_runs=%d",
            self.address,
            self.metrics_address or "off",
            len(self._vims),
            len(self._lowers),
            recovered,
        )

    async def _serve(self, server: ApiServer, tls: ServerTls | None) -> None:
        """Bind ``server.listen`` and serve the API.

        Raises:
            OSError: the address cannot be bound.
        """
        self._server = server
        self.address = server.bind(self.config.server.listen, tls)
        await server.start()

    def _serve_metrics(
        self,
        blocks: ServiceBlocks,
        publisher: CataloguePublisher,
        subscriber: CatalogueSubscriber,
    ) -> None:
        """Serve the registry on ``metrics.listen`` (if set), with the figures read at
        scrape time.

        Raises:
            OSError: ``metrics.listen`` cannot be bound.
        """
        listen = self.config.metrics.listen
        if not listen:
            return

        def snapshot() -> NodeSnapshot:
            try:
                version: int | None = publisher.current.version
            except Unavailable:
                version = None
            return NodeSnapshot(
                catalogue_version=version,
                pools=tuple(PoolUsage(*usage) for usage in blocks.usage()),
                rejections=tuple(
                    CatalogueRejections(state.lower_sp, reason, count)
                    for state in subscriber.states()
                    for reason, count in sorted(state.rejected.items())
                ),
            )

        self.metrics.registry.register(NodeGauges(snapshot, asyncio.get_running_loop()))
        self._metrics_endpoint = MetricsEndpoint.start(listen, self.metrics.registry)
        self.metrics_address = self._metrics_endpoint.address

    async def wait_for_catalogues(self, timeout_s: float) -> bool:
        """Wait until every lower SP's catalogue has arrived; False on timeout."""
        return self._subscriber is None or await self._subscriber.wait_for_all(timeout_s)

    @property
    def catalogue(self) -> Catalogue:
        """The node's current published catalogue."""
        assert self._publisher is not None
        return self._publisher.current

    def lower_catalogues(self) -> list[LowerCatalogueState]:
        """What the node holds of each lower SP's catalogue: version, validity, staleness,
        and the versions it rejected, by reason."""
        return self._subscriber.states() if self._subscriber is not None else []

    @property
    def gatekeeper(self) -> IdentityProvider:
        """The node's gatekeeper (accounts, tokens)."""
        assert self._gatekeeper is not None
        return self._gatekeeper

    @property
    def vims(self) -> Mapping[str, Vim]:
        """The node's PoPs."""
        return self._vims

    async def wait(self) -> None:
        """Return once ``stop`` has been called."""
        await self._stopped.wait()

    async def stop(self, grace_s: float | None = None) -> None:
        """Stop serving, give calls and workflows ``grace_s`` to end, release everything."""
        grace = self.config.server.grace_period_s if grace_s is None else grace_s
        if self._publisher is not None:
            await self._publisher.close()
        if self._events is not None:
            self._events.close()
        if self._server is not None:
            await self._server.stop(grace)
        if self.slices is not None:
            await self.slices.shutdown()
        if self.lifecycle is not None:
            await self.lifecycle.shutdown(grace)
        await self._release()
        self._stopped.set()
        log.info("event=node_stopped")

    async def _release(self) -> None:
        if self._metrics_endpoint is not None:
            await self._metrics_endpoint.stop()
            self._metrics_endpoint = None
        if self._gatekeeper is not None:
            await self._gatekeeper.close()
        if self._subscriber is not None:
            await self._subscriber.close()
        if self._publisher is not None:
            await self._publisher.close()
        for lower in self._lowers.values():
            await lower.close()
        for vim in self._vims.values():
            await vim.close()
        if self._db is not None:
            await self._db.close()
            self._db = None

    def stats(self) -> dict[str, Any]:
        """A few live figures (for tests and the CLI)."""
        return {
            "address": self.address,
            "metrics": self.metrics_address,
            "pops": list(self._vims),
            "lower_sps": list(self._lowers),
        }


def _resolve_point_to_point(config: NodeConfig, vims: Iterable[Vim]) -> NodeConfig:
    """``config`` with ``addressing.point_to_point_links`` decided: as configured, or (None)
    on unless one of the node's VIMs cannot hold a /31's lower address."""
    addressing = config.addressing
    if addressing.point_to_point_links is not None:
        return config
    unable = sorted(v.name for v in vims if not v.point_to_point)
    if unable:
        log.info(
            "event=point_to_point_links_off pops=%s reason=a /31's lower address is refused",
            ",".join(unable),
        )
    resolved = replace(addressing, point_to_point_links=not unable)
    return replace(config, addressing=resolved)
