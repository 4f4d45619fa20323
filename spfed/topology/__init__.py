"""Multi-domain test topologies: several operators' nodes as local processes.

A topology file (``spfed.topology.model``) names the operators, the upper SPs
each serves, their PoPs and onboarded descriptors. ``up`` starts one
``spfed serve`` per operator on loopback and waits until they serve and their
catalogues have settled, each on a fixed loopback port; ``status`` asks each
how it is; ``restart`` stops one and starts it again at the same address;
``down`` stops them. Running topologies are recorded in state files (``spfed.topology.state``),
through which every command's ``--node <operator>`` is resolved.
``load_placement`` reads the placement constraints of a service from YAML.
"""

from spfed.topology.configs import OperatorPaths, node_config_data, write_node_config
from spfed.topology.errors import (
    AlreadyRunning,
    LaunchError,
    PlacementFileError,
    TopologyFileError,
)
from spfed.topology.launcher import up
from spfed.topology.loader import load_topology, parse_topology
from spfed.topology.model import CapacitySpec, OperatorSpec, PopSpec, StorageSpec, Topology
from spfed.topology.placement import load_placement, parse_placement
from spfed.topology.probes import Health
from spfed.topology.restart import RestartResult, restart
from spfed.topology.shutdown import StopOutcome, StopResult, down, purge
from spfed.topology.state import (
    OperatorState,
    TopologyState,
    resolve_node,
    state_dir,
    topology_directory,
)
from spfed.topology.status import OperatorStatus, ProcessState, status

__all__ = [
    "AlreadyRunning",
    "CapacitySpec",
    "Health",
    "LaunchError",
    "OperatorPaths",
    "OperatorSpec",
    "OperatorState",
    "OperatorStatus",
    "PlacementFileError",
    "PopSpec",
    "ProcessState",
    "RestartResult",
    "StopOutcome",
    "StopResult",
    "StorageSpec",
    "Topology",
    "TopologyFileError",
    "TopologyState",
    "down",
    "load_placement",
    "load_topology",
    "node_config_data",
    "parse_placement",
    "parse_topology",
    "purge",
    "resolve_node",
    "restart",
    "state_dir",
    "status",
    "topology_directory",
    "up",
    "write_node_config",
]
