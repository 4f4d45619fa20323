"""``spfed serve``: run one node until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import click

__all__ = ["serve"]


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
def serve(config_path: Path, insecure: bool) -> None:
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
        config = load_config(config_path, environ)
    except ConfigError as exc:
        click.echo(f"spfed serve: invalid configuration\n{exc}", err=True)
        sys.exit(2)
    configure_logging(config.logging, config.id)
    try:
        asyncio.run(_run(config))
    except SpfedError as exc:
        click.echo(f"spfed serve: {config.id} cannot start: {exc}", err=True)
        sys.exit(1)
    except OSError as exc:
        click.echo(f"spfed serve: {config.id} cannot start: {exc}", err=True)
        sys.exit(1)


async def _run(config: object) -> None:
    from spfed.config import NodeConfig
    from spfed.node import Node

    assert isinstance(config, NodeConfig)
    node = await Node.start(config)
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
