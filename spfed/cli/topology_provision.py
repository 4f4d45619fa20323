"""``spfed topology provision``: keys, certificates, accounts and node configs, for nodes
started elsewhere (``docker compose``, or ``spfed serve`` on each operator's host).

Exit codes: 0 done; 1 failed (invalid file, unusable output directory); 2 usage.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import NoReturn

import click

__all__ = ["provision"]

_EXIT_FAILED = 1


def _address(text: str) -> tuple[str, str]:
    operator, sep, address = text.partition("=")
    if not sep or not operator or not address:
        raise click.BadParameter(f"{text!r}: expected OPERATOR=HOST:PORT")
    return operator.strip(), address.strip()


@click.command("provision")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory to write to; the nodes must see it at this same path.",
)
@click.option(
    "--address",
    "addresses",
    multiple=True,
    metavar="OPERATOR=HOST:PORT",
    help="Where an operator's node is reached (repeatable)  [default: OPERATOR:50051]",
)
@click.option(
    "--bind",
    default="0.0.0.0",
    show_default=True,
    help="The host each node listens on, with the port of its address.",
)
@click.option(
    "--storage-url",
    default="",
    metavar="URL",
    help="Every node's database, {operator} replaced by its id, e.g."
    " postgresql+psycopg://spfed@db:5432/{operator}  [default: SQLite in its directory]",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print machine-readable JSON on stdout and nothing else.",
)
def provision(
    file: Path,
    out: Path,
    addresses: tuple[str, ...],
    bind: str,
    storage_url: str,
    as_json: bool,
) -> None:
    """Write what the nodes of topology FILE need, without starting them.

    Creates, under --out: security/ (a CA, node certificates naming each node's
    address, identity keys, service accounts, an admin and the topology's
    customers per node, with generated passwords in
    security/OPERATOR/ACCOUNT.password, and the CLI's certificate
    security/spfed-cli.crt) and, per operator, OPERATOR/node.yaml with its
    descriptors copied beside it. Start each node with
    'spfed serve --config OUT/OPERATOR/node.yaml'.

    Run again, it keeps the security material and rewrites the rest.
    """
    from spfed.config import ConfigError
    from spfed.errors import FailedPrecondition
    from spfed.topology import TopologyFileError
    from spfed.topology.compose import provision as write

    try:
        given = dict(_address(a) for a in addresses)
        result = write(file, out, given, bind=bind, storage_url=storage_url)
    except TopologyFileError as exc:
        _fail(["spfed topology provision: invalid topology file", *exc.problems])
    except (ValueError, FailedPrecondition, ConfigError, OSError) as exc:
        _fail([f"spfed topology provision: {exc}"])
    if as_json:
        click.echo(
            json.dumps(
                {
                    "name": result.name,
                    "directory": str(result.directory),
                    "security": str(result.security.directory),
                    "created_security": result.created_security,
                    "operators": [
                        {
                            "id": op.id,
                            "address": op.address,
                            "listen": op.listen,
                            "config": str(op.config),
                            "storage": _without_password(op.storage),
                            "parents": list(op.parents),
                        }
                        for op in result.operators
                    ],
                },
                indent=2,
            )
        )
        return
    kept = "created" if result.created_security else "kept"
    click.echo(f"topology {result.name}: {len(result.operators)} operators in {result.directory}")
    id_width = max(len(op.id) for op in result.operators)
    address_width = max(len(op.address) for op in result.operators)
    for op in result.operators:
        serves = ", ".join(op.parents) or "customers"
        click.echo(
            f"  {op.id:<{id_width}}  {op.address:<{address_width}}  serves {serves:<12} {op.config}"
        )
    click.echo(f"security material ({kept}): {result.security.directory}")


def _without_password(url: str) -> str:
    return re.sub(r"(://[^:/@]+:)[^@/]*@", r"\1***@", url)


def _fail(lines: list[str]) -> NoReturn:
    for line in lines:
        click.echo(line, err=True)
    sys.exit(_EXIT_FAILED)
