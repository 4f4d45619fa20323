"""Node configuration: typed, frozen dataclasses, one per area.

A node reads one YAML file (``spfed serve --config node.yaml``); environment
variables override single fields, with ``__`` between path parts::

    SPFED__SERVER__LISTEN=127.0.0.1:7000
    SPFED__STORAGE__URL=postgresql+psycopg://spfed@db/spfed

Relative paths in the file are resolved against the file's directory.
Validation errors name the field: ``pops.0.capacity.vcpus: Input should be
greater than 0``.
"""

from spfed.config._auth import AccountSeed, AuthConfig
from spfed.config._base import ConfigError
from spfed.config._faults import FaultsConfig
from spfed.config._limits import LimitsConfig
from spfed.config._load import load_config, parse_config
from spfed.config._node import NodeConfig
from spfed.config._sections import (
    AddressingConfig,
    BorderConfig,
    CapacityConfig,
    CatalogueConfig,
    FederationConfig,
    LoggingConfig,
    LowerSpConfig,
    MetricsConfig,
    PopConfig,
    PriceConfig,
    ServerConfig,
    SlaConfig,
    StorageConfig,
    TlsConfig,
    WanLinkConfig,
    WimConfig,
    WorkflowConfig,
)

__all__ = [
    "AccountSeed",
    "AddressingConfig",
    "AuthConfig",
    "BorderConfig",
    "CapacityConfig",
    "CatalogueConfig",
    "ConfigError",
    "FaultsConfig",
    "FederationConfig",
    "LimitsConfig",
    "LoggingConfig",
    "LowerSpConfig",
    "MetricsConfig",
    "NodeConfig",
    "PopConfig",
    "PriceConfig",
    "ServerConfig",
    "SlaConfig",
    "StorageConfig",
    "TlsConfig",
    "WanLinkConfig",
    "WimConfig",
    "WorkflowConfig",
    "load_config",
    "parse_config",
]
