"""Fixed loopback ports for the nodes of a topology.

A node keeps one address for the life of its topology, so that its upper SPs
(whose configurations name it) reach it again after it restarts. ``up``
picks each port by binding port 0 and closing the socket; another process
may take the port before the node binds it, which ``port_taken`` tells apart
from any other reason a node failed to start.
"""

from __future__ import annotations

import socket
from collections.abc import Collection

__all__ = ["HOST", "address_of", "pick_free_port", "port_of", "port_taken"]

HOST = "127.0.0.1"
"""Where every node of a topology listens."""
_MAX_PICKS = 32


def address_of(port: int, host: str = HOST) -> str:
    """``host:port``."""
    return f"{host}:{port}"


def port_of(address: str) -> int:
    """The port of ``host:port``.

    Raises:
        ValueError: no numeric port.
    """
    return int(address.rpartition(":")[2])


def _bind(host: str, port: int) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As gRPC binds its listening sockets: a port whose last connections
        # linger in TIME_WAIT (a node just stopped) still counts as free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
        return int(probe.getsockname()[1])


def pick_free_port(avoid: Collection[int] = (), host: str = HOST) -> int:
    """A port on ``host`` that is free now and not in ``avoid``.

    ``avoid`` holds the ports handed to nodes that may not have bound them
    yet: the kernel could offer one of them again.

    Raises:
        OSError: no port could be bound, or only ports in ``avoid`` came up
            (after a bounded number of tries).
    """
    for _ in range(_MAX_PICKS):
        port = _bind(host, 0)
        if port not in avoid:
            return port
    raise OSError(f"no free port on {host} outside the {len(avoid)} already handed out")


def port_taken(port: int, host: str = HOST) -> bool:
    """Whether another socket holds ``host:port`` now (a bind to it fails)."""
    try:
        _bind(host, port)
    except OSError:
        return True
    return False
