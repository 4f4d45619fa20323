"""``NodeConfig``: every section of one node's configuration."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import with_config

from spfed.config._auth import AuthConfig
from spfed.config._base import _STRICT, Name
from spfed.config._faults import FaultsConfig
from spfed.config._limits import LimitsConfig
from spfed.config._sections import (
    AddressingConfig,
    CatalogueConfig,
    FederationConfig,
    LoggingConfig,
    MetricsConfig,
    PopConfig,
    ServerConfig,
    StorageConfig,
    TlsConfig,
    WimConfig,
    WorkflowConfig,
)


@with_config(_STRICT)
@dataclass(frozen=True)
class NodeConfig:
    """Everything one node (one operator's service platform) needs."""

    id: Name
    """Operator id, unique in the federation."""
    server: ServerConfig = field(default_factory=ServerConfig)
    """gRPC server."""
    storage: StorageConfig = field(default_factory=StorageConfig)
    """Database."""
    pops: tuple[PopConfig, ...] = ()
    """Own PoPs."""
    federation: FederationConfig = field(default_factory=FederationConfig)
    """Lower SPs."""
    addressing: AddressingConfig = field(default_factory=AddressingConfig)
    """Address pool."""
    catalogue: CatalogueConfig = field(default_factory=CatalogueConfig)
    """Offers."""
    workflow: WorkflowConfig = field(default_factory=WorkflowConfig)
    """Task engine."""
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    """Logs."""
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    """Prometheus endpoint (off unless ``metrics.listen`` is set)."""
    tls: TlsConfig = field(default_factory=TlsConfig)
    """TLS."""
    auth: AuthConfig = field(default_factory=AuthConfig)
    """Accounts and tokens."""
    wim: WimConfig = field(default_factory=WimConfig)
    """WAN links and their manager."""
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    """Bounds on requests and descriptors (hostile input)."""
    faults: FaultsConfig = field(default_factory=FaultsConfig)
    """Fault injection for crash tests; off by default, never set in production."""
