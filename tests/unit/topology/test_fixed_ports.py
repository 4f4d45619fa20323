"""Fixed loopback ports: how ``up`` picks them and writes them into every configuration.

No node is started here; ``tests/multiprocess/test_topology_restart.py``
restarts real ones on these ports.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from spfed.config import load_config
from spfed.topology import OperatorPaths, load_topology, write_node_config
from spfed.topology._ports import HOST, address_of, pick_free_port, port_of, port_taken
from spfed.topology.launcher import _configure
from spfed.topology.security import TopologySecurity
from tests.unit.topology.builders import DEMO


def test_a_picked_port_is_free_and_not_one_handed_out() -> None:
    first = pick_free_port()
    assert 0 < first < 65536
    assert not port_taken(first)
    avoid = {first, *(pick_free_port() for _ in range(5))}
    assert pick_free_port(avoid=avoid) not in avoid


def test_a_listening_port_is_taken_until_closed() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        sock.listen()
        port = int(sock.getsockname()[1])
        assert port_taken(port)
    assert not port_taken(port)


def test_addresses_and_ports() -> None:
    assert address_of(7001) == "127.0.0.1:7001"
    assert port_of("127.0.0.1:7001") == 7001
    with pytest.raises(ValueError, match="invalid literal"):
        port_of("127.0.0.1:x")


def test_up_writes_fixed_ports_and_parents_name_their_lower_sps_there(tmp_path: Path) -> None:
    demo = load_topology(DEMO)
    security = TopologySecurity.provision(tmp_path, "demo", list(demo.operators), scrypt_log_n=10)
    addresses: dict[str, str] = {}
    metrics: dict[str, str] = {}
    # As 'up' does: leaves first, so each upper SP's configuration is written after its lowers'.
    for wave in demo.start_waves():
        for op in wave:
            _configure(demo, op, OperatorPaths.under(tmp_path, op), addresses, security, metrics)
    assert set(addresses) == set(demo.operators) == set(metrics)
    ports = {port_of(a) for a in (*addresses.values(), *metrics.values())}
    assert len(ports) == 2 * len(addresses)  # one API port and one metrics port each
    configs = {
        op: load_config(OperatorPaths.under(tmp_path, op).config, environ={})
        for op in demo.operators
    }
    for op, config in configs.items():
        assert config.server.listen == addresses[op]
        assert port_of(config.server.listen) != 0
        assert config.metrics.listen == metrics[op]
        assert metrics[op].startswith("127.0.0.1:")
        assert {lower.id: lower.address for lower in config.federation.lower_sps} == {
            child: addresses[child] for child in demo.children(op)
        }


def test_a_node_restarted_on_another_port_is_renamed_in_its_parents_config(
    tmp_path: Path,
) -> None:
    # 'up' retries a node whose port was taken before its parents' configurations are written.
    demo = load_topology(DEMO)
    security = TopologySecurity.provision(tmp_path, "demo", list(demo.operators), scrypt_log_n=10)
    addresses: dict[str, str] = {}
    metrics: dict[str, str] = {}
    edge = OperatorPaths.under(tmp_path, "edge-be")
    first, _ = _configure(demo, "edge-be", edge, addresses, security, metrics)
    second, second_metrics = _configure(demo, "edge-be", edge, addresses, security, metrics)
    assert second != first  # the port it could not bind is not offered again
    edge_config = load_config(edge.config, environ={})
    assert edge_config.server.listen == second
    assert edge_config.metrics.listen == second_metrics
    _configure(
        demo,
        "wholesale-eu",
        OperatorPaths.under(tmp_path, "wholesale-eu"),
        addresses,
        security,
        metrics,
    )
    eu = load_config(OperatorPaths.under(tmp_path, "wholesale-eu").config, environ={})
    assert [(lower.id, lower.address) for lower in eu.federation.lower_sps] == [("edge-be", second)]


def test_write_node_config_takes_the_fixed_address(tmp_path: Path) -> None:
    demo = load_topology(DEMO)
    security = TopologySecurity.provision(tmp_path, "demo", ["edge-be"], scrypt_log_n=10)
    paths = OperatorPaths.under(tmp_path, "edge-be")
    config = write_node_config(demo, "edge-be", paths, {}, security, listen="127.0.0.1:7004")
    assert config.server.listen == "127.0.0.1:7004"
    assert not paths.config.with_suffix(".yaml.tmp").exists()  # written whole, then renamed
