"""``spfed serve``: run one node until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import gc
import json
import signal
import sys
from pathlib import Path

import click

__all__ = ["GC_THRESHOLDS", "serve"]

GC_THRESHOLDS = (2000, 10, 100)
"""``gc.set_threshold`` of a serving node: young collections every 2000 net allocations, full
ones after 100 middle-generation collections (and, as always, 25 % growth of the old one)."""


@click.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="The node's YAML configuration.",
)
@click.option(
    "--insecure",
    is_flag=True,
    help="DEVELOPMENT ONLY: plaintext gRPC without TLS (tokens travel in clear).",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Log JSON lines (logging.format: json), and print on stdout one JSON line when the"
    " node serves and one when it has stopped (or the error, if it cannot start).",
)
def serve(config_path: Path, insecure: bool, as_json: bool) -> None:
    """Run one node: the API, health and reflection on the configured address.

    Environment variables SPFED__SECTION__FIELD override single settings, e.g.
    SPFED__SERVER__LISTEN=127.0.0.1:7000. SIGTERM or SIGINT stop the node
    gracefully: new calls are refused and running ones get the grace period.
    """
    import os

    from spfed.config import ConfigError, load_config
    from spfed.errors import SpfedError
    from spfed.logs import configure_logging

    try:
        environ = dict(os.environ)
        if insecure:
            environ["SPFED__TLS__INSECURE"] = "true"
        if as_json:
            environ["SPFED__LOGGING__FORMAT"] = "json"
        config = load_config(config_path, environ)
    except ConfigError as exc:
        _refused("INVALID_ARGUMENT", f"invalid configuration\n{exc}", as_json=as_json)
        sys.exit(2)
    configure_logging(config.logging, config.id)
    try:
        asyncio.run(_run(config, as_json=as_json))
    except SpfedError as exc:
        _refused(exc.code.name, f"{config.id} cannot start: {exc}", as_json=as_json)
        sys.exit(1)
    except OSError as exc:
        _refused("UNAVAILABLE", f"{config.id} cannot start: {exc}", as_json=as_json)
        sys.exit(1)


def _refused(code: str, message: str, *, as_json: bool) -> None:
    """Why the node does not run: on stderr, and as ``{"error": ...}`` on stdout with --json."""
    click.echo(f"spfed serve: {message}", err=True)
    if as_json:
        _say({"error": {"code": code, "message": message}})


def _say(data: dict[str, object]) -> None:
    """One JSON line on stdout, at once (a supervisor may be reading it)."""
    click.echo(json.dumps(data))
    sys.stdout.flush()


async def _run(config: object, *, as_json: bool = False) -> None:
    import os

    from spfed.config import NodeConfig
    from spfed.node import Node

    assert isinstance(config, NodeConfig)
    node = await Node.start(config)
    if as_json:
        _say({"event": "serving", "node": config.id, "address": node.address, "pid": os.getpid()})
    # What exists now (modules, the configuration, the catalogue, the node's runtime) lives
    # as long as the process; scanned by every full collection it would only lengthen the
    # pause, which stalls every caller's request. The permanent generation is never scanned.
    gc.freeze()
    # A full collection scans every live object (a few hundred thousand on a node deploying
    # dozens of large services: 0.3 s or more, with every call waiting). With the defaults
    # (700, 10, 10) a node under a storm of large requests ran one every ~0.2 s; these make
    # them some ten times rarer, at the cost of cyclic garbage living a little longer.
    gc.set_threshold(*GC_THRESHOLDS)
    loop = asyncio.get_running_loop()
    stopping: list[asyncio.Task[None]] = []

    def stop() -> None:
        if not stopping:
            stopping.append(loop.create_task(node.stop()))

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)
    await node.wait()
    for task in stopping:
        await task
    if as_json:
        _say({"event": "stopped", "node": config.id})
