"""What parsing a descriptor document gives: an NSD, a VNFD or a slice template."""

from __future__ import annotations

from typing import TypeAlias

from spfed.descriptors._dialects import DocumentKind
from spfed.model import NetworkServiceDescriptor, SliceTemplate, VnfDescriptor

ParsedDescriptor: TypeAlias = NetworkServiceDescriptor | VnfDescriptor | SliceTemplate
"""A parsed descriptor; tell them apart with ``isinstance`` or ``match``."""


def kind_of(descriptor: ParsedDescriptor) -> DocumentKind:
    """``NSD``, ``VNFD`` or ``NST``."""
    if isinstance(descriptor, NetworkServiceDescriptor):
        return DocumentKind.NSD
    if isinstance(descriptor, VnfDescriptor):
        return DocumentKind.VNFD
    return DocumentKind.NST
