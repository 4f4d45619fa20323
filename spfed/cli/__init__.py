"""The ``spfed`` command line.

Each command group lives in its own module and is imported only when used,
so ``spfed --help`` stays fast and a broken optional dependency of one group
cannot break the others.
"""

from __future__ import annotations

import importlib

import click

__all__ = ["cli", "main"]

_COMMANDS = {
    "account": ("spfed.cli.account", "account", "Manage a node's accounts (operator)."),
    "login": ("spfed.cli.login", "login", "Sign in at a node; later commands use the token."),
    "logout": ("spfed.cli.login", "logout", "Forget the token cached for a node."),
    "validate": ("spfed.cli.validate", "validate", "Validate NSD/VNFD/NST files offline."),
    "serve": ("spfed.cli.serve", "serve", "Run one node (one operator's service platform)."),
    "service": ("spfed.cli.service", "service", "Instantiate, list, show, watch, terminate."),
    "slice": ("spfed.cli.slice", "slice_group", "Create, list, show and delete network slices."),
    "catalogue": ("spfed.cli.catalogue", "catalogue", "Show a node's published catalogue."),
    "topology": ("spfed.cli.topology", "topology", "Bring a multi-operator topology up or down."),
    "demo": ("spfed.cli.demo", "demo", "Run the end-to-end demo on a 4-operator topology."),
    "demo-dataplane": (
        "spfed.cli.demo_dataplane",
        "demo_dataplane",
        "Send real packets through a chain across 3 operators (root).",
    ),
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = _COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module, attr, _ = entry
        command = getattr(importlib.import_module(module), attr)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_text) for name, (_, _, help_text) in sorted(_COMMANDS.items())]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(
    cls=_LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(package_name="spfed")
def cli() -> None:
    """spfed: a hierarchical, recursive federation of service platforms.

    Every node speaks one gRPC API (spfed.v1.PlatformService); commands that
    talk to a node take --node HOST:PORT, or an operator name of the running
    topology.
    """


def main() -> None:
    """Console-script entry point."""
    cli()
