"""One descriptor document to the domain model: detect, validate, map, check."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spfed.descriptors._checks import check_nst, check_vnfd
from spfed.descriptors._dialects import DocumentKind, detect_dialect, detect_kind
from spfed.descriptors._errors import DescriptorError
from spfed.descriptors._mapping import map_nsd, map_vnfd
from spfed.descriptors._parsed import ParsedDescriptor
from spfed.descriptors._paths import document_orderer
from spfed.descriptors._schema import SchemaName, schema_violations
from spfed.descriptors._service_checks import nsd_local_violations
from spfed.descriptors._slice_mapping import map_nst
from spfed.descriptors.limits import limit_violations
from spfed.errors import FieldViolation
from spfed.model import Dialect, NetworkServiceDescriptor, VnfDescriptor
from spfed.model.limits import DescriptorLimits

PACKAGE_NOT_INSTANTIABLE = "package descriptors are not instantiable; pass the NSD and VNFDs"
"""What a package descriptor is reported as."""
UNKNOWN_KIND = (
    "cannot tell whether this is an NSD, a VNFD or a slice template: name its schema in"
    " descriptor_schema (5GTANGO) or descriptor_version (SONATA, e.g. 'vnfd-schema-02')"
)
"""What a document of no recognisable kind is reported as."""


def _identity(data: Mapping[str, Any]) -> str:
    return "/".join(str(data.get(key, "?")) for key in ("vendor", "name", "version"))


def _fail(
    kind: str,
    data: Mapping[str, Any],
    source: str,
    violations: list[FieldViolation],
    verdict: str = "is invalid",
) -> DescriptorError:
    where = f" in {source}" if source else ""
    count = f"{len(violations)} problem{'s' if len(violations) != 1 else ''}"
    message = f"{kind} {_identity(data)}{where} {verdict} ({count})"
    return DescriptorError(message, violations, source=source)


def parse_document(
    data: Mapping[str, Any], *, source: str = "", limits: DescriptorLimits | None = None
) -> ParsedDescriptor:
    """Parse one NSD, VNFD or NST document (either SONATA dialect) into the domain model.

    The document is validated against spfed's schema, mapped (connection
    point names normalised to the bare form), and checked for every problem
    visible in the document alone (``check_vnfd``, ``check_nst``, the local
    part of ``check_nsd``). An NSD's members are not resolved here; use
    ``check_nsd`` with a resolver, or ``validate_files``.

    Raises ``DescriptorError`` carrying every problem found, each with the
    field path from the document root; a package descriptor and a document
    of no recognisable kind are errors too. ``source`` only labels messages.

    With ``limits``, an NSD or VNFD over its count limits (``limit_violations``)
    is refused with those violations alone, before the semantic checks: they
    then only ever see bounded descriptors.
    """
    kind = detect_kind(data)
    if kind is DocumentKind.PACKAGE:
        violation = FieldViolation("", PACKAGE_NOT_INSTANTIABLE)
        raise _fail("package", data, source, [violation], "is not instantiable")
    if kind is DocumentKind.UNKNOWN:
        raise _fail("descriptor", data, source, [FieldViolation("", UNKNOWN_KIND)])
    violations = schema_violations(data, SchemaName(kind.value.lower()))
    if violations:
        raise _fail(kind.value, data, source, violations)
    dialect = detect_dialect(data) or Dialect.TANGO
    parsed: ParsedDescriptor
    if kind is DocumentKind.NSD:
        parsed, violations = map_nsd(data, dialect)
    elif kind is DocumentKind.VNFD:
        parsed, violations = map_vnfd(data, dialect)
    else:
        parsed = map_nst(data)
    if limits is not None and isinstance(parsed, NetworkServiceDescriptor | VnfDescriptor):
        over = limit_violations(parsed, limits)
        if over:
            raise _fail(kind.value, data, source, over, "is too large")
    if isinstance(parsed, NetworkServiceDescriptor):
        violations += nsd_local_violations(parsed)
    elif isinstance(parsed, VnfDescriptor):
        violations += check_vnfd(parsed)
    else:
        violations = check_nst(parsed)
    if violations:
        order = document_orderer(data)
        ordered = sorted(violations, key=lambda v: order(v.field))
        raise _fail(kind.value, data, source, ordered)
    return parsed
