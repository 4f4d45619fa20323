"""Pins the public names of ``spfed.topology``: changing them is an API change."""

from __future__ import annotations

import spfed.topology


def test_public_names() -> None:
    assert sorted(spfed.topology.__all__) == [
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
    for name in spfed.topology.__all__:
        assert getattr(spfed.topology, name) is not None
