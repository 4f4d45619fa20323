"""The node's ``/metrics`` endpoint: prometheus_client's own HTTP server, on one registry."""

from __future__ import annotations

import asyncio
import logging
import threading
from wsgiref.simple_server import WSGIServer

from prometheus_client import start_http_server
from prometheus_client.registry import CollectorRegistry

__all__ = ["MetricsEndpoint"]

log = logging.getLogger(__name__)
_JOIN_S = 5.0


class MetricsEndpoint:
    """Serves one registry over HTTP (``GET /metrics``) from a daemon thread, until ``stop``.

    Build one with ``MetricsEndpoint.start``.
    """

    def __init__(self, server: WSGIServer, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread
        bound = server.server_address[0]
        host = bound.decode() if isinstance(bound, bytes) else str(bound)
        host = f"[{host}]" if ":" in host else host
        self.address = f"{host}:{server.server_port}"
        """The bound ``host:port``."""

    @classmethod
    def start(cls, listen: str, registry: CollectorRegistry) -> MetricsEndpoint:
        """Listen on ``listen`` (``host:port``; port 0 picks a free one) and serve ``registry``.

        Raises:
            ValueError: ``listen`` is not ``host:port``.
            OSError: the address cannot be bound.
        """
        host, sep, port = listen.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError(f"metrics.listen {listen!r} is not host:port")
        server, thread = start_http_server(int(port), host.strip("[]"), registry=registry)
        return cls(server, thread)

    async def stop(self) -> None:
        """Stop serving and close the socket (waits for the serving thread, bounded)."""

        def close() -> None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(_JOIN_S)

        await asyncio.to_thread(close)
