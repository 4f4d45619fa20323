"""Which dialect a document is written in, and what kind of descriptor it is.

5GTANGO documents name their schema in ``descriptor_schema`` (a URL ending in
``nsd-schema.yml``, ``vnfd-schema.yml``, ``nst-schema.yml`` or
``napd-schema.yml``); original SONATA ones carry ``descriptor_version``, which
sometimes tells the kind (``vnfd-schema-01``) and sometimes does not
(``1.0``). When the marker does not tell, the content does: deployment units
make a VNFD, slice subnets an NST, package content a package descriptor, and
functions, nested services, links or connection points without units an NSD.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from spfed.model import Dialect


class DocumentKind(StrEnum):
    """What a descriptor document describes."""

    NSD = "NSD"
    VNFD = "VNFD"
    NST = "NST"
    PACKAGE = "package"
    """A package descriptor: lists files, describes nothing instantiable."""
    UNKNOWN = "unknown"


_MARKER = re.compile(r"\b(vnfd|nsd|nst|napd|pd)-schema", re.IGNORECASE)
_BY_MARKER = {
    "vnfd": DocumentKind.VNFD,
    "nsd": DocumentKind.NSD,
    "nst": DocumentKind.NST,
    "napd": DocumentKind.PACKAGE,
    "pd": DocumentKind.PACKAGE,
}
_UNIT_FIELDS = (
    "virtual_deployment_units",
    "cloudnative_deployment_units",
    "physical_deployment_units",
)
_SERVICE_FIELDS = (
    "network_functions",
    "network_services",
    "virtual_links",
    "forwarding_graphs",
    "connection_points",
)


def detect_dialect(data: Mapping[str, Any]) -> Dialect | None:
    """5GTANGO for ``descriptor_schema``, SONATA for ``descriptor_version``.

    ``None`` when the document has neither or both (the schema reports it).
    """
    tango = "descriptor_schema" in data
    sonata = "descriptor_version" in data
    if tango == sonata:
        return None
    return Dialect.TANGO if tango else Dialect.SONATA


def detect_kind(data: Mapping[str, Any]) -> DocumentKind:
    """The kind of descriptor, from its dialect marker or else from its content."""
    for key in ("descriptor_schema", "descriptor_version"):
        marker = data.get(key)
        if isinstance(marker, str) and (match := _MARKER.search(marker)):
            return _BY_MARKER[match.group(1).lower()]
    if "package_content" in data or "entry_service_template" in data:
        return DocumentKind.PACKAGE
    if "slice_ns_subnets" in data:
        return DocumentKind.NST
    if any(key in data for key in _UNIT_FIELDS):
        return DocumentKind.VNFD
    if any(key in data for key in _SERVICE_FIELDS):
        return DocumentKind.NSD
    return DocumentKind.UNKNOWN
