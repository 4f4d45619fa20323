"""``spfed validate``: check descriptor files offline, as one set.

Prints one line per problem (``file: field: what is wrong``) and exits 1 when
there is any; otherwise one ``ok`` line per descriptor and exit 0. ``--json``
prints the whole report instead. A directory stands for the ``*.yml`` and
``*.yaml`` files directly in it.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

__all__ = ["validate"]


@click.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable report on stdout.")
def validate(files: tuple[Path, ...], as_json: bool) -> None:
    """Validate NSD, VNFD and NST files (SONATA or 5GTANGO dialect) together.

    An NSD's functions and nested services must be among the files given, so
    pass the VNFDs and nested NSDs with it. A directory stands for the .yml
    and .yaml files directly in it. Exits 1 when anything is wrong.
    """
    # Deferred: spfed.descriptors pulls in the error tree, which imports grpc.
    from spfed.descriptors import summary, validate_files

    report = validate_files(files)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    elif report.ok:
        for document in report.documents:
            if document.descriptor is not None:
                click.echo(f"ok  {document.file}  {summary(document.descriptor)}")
    else:
        for problem in report.problems:
            click.echo(report.describe(problem))
        bad = len({(p.file, p.document) for p in report.problems})
        count = len(report.problems)
        click.echo(
            f"{count} problem{'s' if count != 1 else ''} in {bad} of"
            f" {max(len(report.documents), bad)} documents",
            err=True,
        )
    if not report.ok:
        raise SystemExit(1)
