"""The command line of the node-facing commands: what they are given, and how they end.

``node_options`` adds ``--node`` and how to reach it; ``json_option`` adds
``--json``; ``RULE`` parses ``--rule member=region:X[,operator:Y][,pop:Z]``
and ``NAP`` parses ``--ingress``/``--egress REGION=ADDRESS[@POINT]``
and ``placement_from`` merges rules over a placement file;
``service_descriptors`` picks what an instantiation sends from descriptor
files. ``call_node`` runs a command's coroutine against the node and maps
every failure to the exit codes all commands share: 1 for a domain error
(printed as ``error_lines`` on stderr) or an unreachable node, 2 for usage
errors and invalid descriptor files.

Nothing heavy is imported at module level: ``spfed --help`` stays fast.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

if TYPE_CHECKING:
    from spfed.cli._access import NodeTarget
    from spfed.client import PlatformClient
    from spfed.descriptors import ValidationReport
    from spfed.errors import SpfedError
    from spfed.model import (
        Catalogue,
        Nap,
        PlacementConstraints,
        PlacementRule,
        ServiceDescriptors,
    )

__all__ = [
    "EXIT_INVALID",
    "NAP",
    "RULE",
    "NapType",
    "RuleType",
    "call_node",
    "json_option",
    "node_options",
    "offers_may_resolve",
    "parse_nap",
    "parse_rule",
    "placement_from",
    "recheck_with_offers",
    "report_invalid",
    "service_descriptors",
]

_F = TypeVar("_F", bound=Callable[..., Any])

_RULE_FIELDS = ("region", "operator", "pop")
EXIT_INTERRUPTED = 130
"""Exit status after Ctrl-C, as a shell reports SIGINT."""
EXIT_INVALID = 2
"""Exit status for usage errors and invalid descriptor files (nothing is sent)."""


def node_options(command: _F) -> _F:
    """``--node`` (address or operator name, or $SPFED_NODE) and how to reach it
    (``spfed.cli._access``); the command gets one ``node: NodeTarget``."""
    from spfed.cli._access import node_target_options

    return node_target_options(command)


def json_option(command: _F) -> _F:
    """``--json``: machine-readable output only, on stdout."""
    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        help="Print machine-readable JSON on stdout and nothing else.",
    )(command)


def fail(error: SpfedError, *, as_json: bool, **extra: object) -> NoReturn:
    """Print a domain error (lines on stderr, JSON on stdout with ``--json``) and exit 1."""
    from spfed.cli._render import error_json, error_lines

    if as_json:
        click.echo(json.dumps(error_json(error, **extra), indent=2))
    for line in error_lines(error):
        click.echo(line, err=True)
    raise SystemExit(1)


def call_node(
    node: NodeTarget,
    work: Callable[[PlatformClient], Coroutine[Any, Any, int]],
    *,
    as_json: bool,
    on_interrupt: int = EXIT_INTERRUPTED,
    error_extra: Mapping[str, object] | None = None,
) -> NoReturn:
    """Run ``work`` with a client of the node and exit with the status it returns.

    A ``SpfedError`` (raised by the node, or by the channel when the node
    cannot be reached) prints its error lines on stderr and exits 1; with
    ``as_json`` its JSON form (with ``error_extra``) also goes to stdout. Ctrl-C exits with
    ``on_interrupt`` (``work`` sees a cancellation first and may say what
    it leaves behind).
    """
    from spfed.client import PlatformClient
    from spfed.errors import SpfedError, Unauthenticated

    address = node.address()
    sign_in = None
    try:
        tls = node.tls(address)
        sign_in = node.sign_in(address)
    except SpfedError as exc:
        fail(exc, as_json=as_json, **(error_extra or {}))

    async def main() -> int:
        # An operator name names the node in messages; an address needs no second mention.
        async with PlatformClient(address, node_id=node.named, tls=tls, sign_in=sign_in) as client:
            return await work(client)

    try:
        status = asyncio.run(main())
    except SpfedError as exc:
        if isinstance(exc, Unauthenticated) and sign_in is None:
            click.echo(f"not signed in: run 'spfed login --node {node.node}' first", err=True)
        fail(exc, as_json=as_json, **(error_extra or {}))
    except KeyboardInterrupt:
        raise SystemExit(on_interrupt) from None
    raise SystemExit(status)


def parse_rule(text: str) -> tuple[str, PlacementRule]:
    """``vnf_fw=region:nl,operator:wholesale-eu`` → ``("vnf_fw", PlacementRule(...))``.

    Fields are ``region``, ``operator`` (a direct lower SP, or ``local``) and
    ``pop``, each at most once; at least one is needed.

    Raises:
        ValueError: the text is malformed; the message says how.
    """
    from spfed.model import PlacementRule

    member, sep, spec = text.partition("=")
    member = member.strip()
    if not sep or not member:
        raise ValueError(f"'{text}' is not MEMBER=region:X[,operator:Y][,pop:Z]")
    fields: dict[str, str] = {}
    for item in spec.split(","):
        key, colon, value = (part.strip() for part in item.partition(":"))
        if not colon or not key or not value:
            raise ValueError(f"'{item.strip()}' in '{text}' is not FIELD:VALUE")
        if key not in _RULE_FIELDS:
            raise ValueError(f"unknown field '{key}' in '{text}'; use {', '.join(_RULE_FIELDS)}")
        if key in fields:
            raise ValueError(f"'{key}' is given twice in '{text}'")
        fields[key] = value
    return member, PlacementRule(**fields)


if TYPE_CHECKING:
    _RuleBase = click.ParamType[tuple[str, PlacementRule]]
else:  # click < 8.4 has no subscriptable ParamType at runtime
    _RuleBase = click.ParamType


class RuleType(_RuleBase):
    """A ``--rule`` value, parsed by ``parse_rule``."""

    name = "MEMBER=region:X[,operator:Y][,pop:Z]"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[str, PlacementRule]:
        if isinstance(value, tuple):
            return value  # already converted (a default)
        try:
            return parse_rule(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


RULE = RuleType()


def parse_nap(text: str) -> Nap:
    """``REGION=ADDRESS[@POINT]``: a customer's network access point (5GTANGO ``{location, nap}``).

    Raises:
        ValueError: the text is malformed; the message says how.
    """
    import ipaddress

    from spfed.model import Nap

    location, sep, rest = text.partition("=")
    address, _, point = rest.partition("@")
    location, address, point = location.strip(), address.strip(), point.strip()
    if not sep or not location or not address:
        raise ValueError(f"'{text}' is not REGION=ADDRESS[@POINT]")
    try:
        ipaddress.ip_interface(address)
    except ValueError:
        raise ValueError(f"'{address}' in '{text}' is not an address") from None
    return Nap(location, address, point)


if TYPE_CHECKING:
    _NapBase = click.ParamType[Nap]
else:
    _NapBase = click.ParamType


class NapType(_NapBase):
    """An ``--ingress`` or ``--egress`` value, parsed by ``parse_nap``."""

    name = "REGION=ADDRESS[@POINT]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Nap:
        from spfed.model import Nap

        if isinstance(value, Nap):
            return value
        try:
            return parse_nap(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


NAP = NapType()


def placement_from(
    file: Path | None, rules: tuple[tuple[str, PlacementRule], ...], default_region: str | None
) -> PlacementConstraints:
    """The placement of a request: the file's, then ``--rule``s and ``--default-region`` on top.

    The command-line rules get the checks a placement file gets
    (``spfed.topology.placement``); a member given twice in ``--rule`` is a
    usage error, and so is an invalid file.
    """
    from spfed.model import PlacementConstraints
    from spfed.topology.errors import PlacementFileError
    from spfed.topology.placement import load_placement, parse_placement

    base = PlacementConstraints()
    if file is not None:
        try:
            base = load_placement(file)
        except PlacementFileError as exc:
            raise click.BadParameter(str(exc), param_hint="'--placement'") from exc
    given: dict[str, dict[str, str]] = {}
    for member, rule in rules:
        if member in given:
            raise click.BadParameter(f"member '{member}' has two rules", param_hint="'--rule'")
        given[member] = {"region": rule.region, "operator": rule.operator, "pop": rule.pop}
    try:
        extra = parse_placement(
            {"rules": given, "default_region": default_region or ""}, source="command line"
        )
    except PlacementFileError as exc:
        raise click.BadParameter(str(exc), param_hint="'--rule' / '--default-region'") from exc
    region = base.default_region if default_region is None else extra.default_region
    return PlacementConstraints(rules={**base.rules, **extra.rules}, default_region=region)


# --- descriptor files -------------------------------------------------------------------------


def _parse_nsd_ref(text: str) -> tuple[str, str, str]:
    parts = text.split("/")
    if len(parts) != 3 or not all(parts):
        raise click.BadParameter(f"'{text}' is not VENDOR/NAME/VERSION", param_hint="'--nsd'")
    return parts[0], parts[1], parts[2]


def report_invalid(report: ValidationReport, *, as_json: bool) -> int:
    """Print one line per descriptor problem (like ``spfed validate``); the exit status, 2.

    With ``--json``, stdout gets an INVALID_ARGUMENT error whose field
    violations are the problems, and the whole validation report.
    """
    from spfed.cli._render import error_json
    from spfed.errors import FieldViolation
    from spfed.model import ErrorStatus

    count = len(report.problems)
    summary = (
        f"{count} problem{'s' if count != 1 else ''} in the descriptor files; nothing was sent"
    )
    if as_json:
        violations = tuple(FieldViolation(p.path, p.description) for p in report.problems)
        status = ErrorStatus("INVALID_ARGUMENT", summary, field_violations=violations)
        click.echo(json.dumps(error_json(status, validation=report.as_dict()), indent=2))
    for problem in report.problems:
        click.echo(report.describe(problem), err=True)
    click.echo(summary, err=True)
    return EXIT_INVALID


def offers_may_resolve(report: ValidationReport) -> bool:
    """Whether every problem is in an NSD that parsed, so a member the node offers may fix it."""
    from spfed.model import NetworkServiceDescriptor

    nsds = {
        (d.file, d.document)
        for d in report.documents
        if isinstance(d.descriptor, NetworkServiceDescriptor)
    }
    return not report.descriptor_set.conflicts() and all(
        (p.file, p.document) in nsds for p in report.problems
    )


def recheck_with_offers(report: ValidationReport, catalogue: Catalogue) -> ValidationReport:
    """The NSDs' problems again, with members resolved as the node will: files, then offers."""
    from spfed.descriptors import DescriptorSet, Problem, ValidationReport, check_nsd
    from spfed.lifecycle.lookup import RequestLookup
    from spfed.model import NetworkServiceDescriptor

    resolver = RequestLookup(report.descriptor_set, DescriptorSet(), [catalogue])
    hint = " (the files and the node's offers)"
    problems = tuple(
        Problem(d.file, d.document, v.field, v.description)
        for d in report.documents
        if isinstance(d.descriptor, NetworkServiceDescriptor)
        for v in check_nsd(d.descriptor, resolver, missing_hint=hint)
    )
    return ValidationReport(report.documents, problems)


def service_descriptors(
    report: ValidationReport, files: tuple[Path, ...], nsd: str | None
) -> ServiceDescriptors:
    """The NSD to instantiate, every VNFD of the files, and the other NSDs as nested ones."""
    from spfed.model import DescriptorRef, NetworkServiceDescriptor, ServiceDescriptors

    found = report.descriptor_set
    if found.slices:
        raise click.UsageError("slice templates (NSTs) cannot be instantiated as a service")
    if nsd is not None:
        chosen = found.find_nsd(DescriptorRef(*_parse_nsd_ref(nsd)))
        if chosen is None:
            known = ", ".join(str(d.ref) for d in found.nsds) or "none"
            raise click.BadParameter(
                f"no NSD {nsd} among the files (NSDs: {known})", param_hint="'--nsd'"
            )
    else:
        first = files[0].resolve()
        candidates = [
            d.descriptor
            for d in report.documents
            if isinstance(d.descriptor, NetworkServiceDescriptor)
            and first in (Path(d.file).resolve(), *Path(d.file).resolve().parents)
        ]
        if len(candidates) != 1:
            what = "no NSD" if not candidates else f"{len(candidates)} NSDs"
            raise click.UsageError(
                f"{files[0]} holds {what}; give the NSD first, or choose one with"
                " --nsd VENDOR/NAME/VERSION"
            )
        chosen = candidates[0]
    nested = tuple(d for d in found.nsds if d is not chosen)
    return ServiceDescriptors(nsd=chosen, vnfds=found.vnfds, nested_nsds=nested)
