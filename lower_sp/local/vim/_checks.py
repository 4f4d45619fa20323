"""Checks of VIM requests that need no PoP state, shared by the drivers.

The emulated PoP and OpenStack refuse the same malformed request with the same
field violations, before they change anything.
"""

from __future__ import annotations

import re

from lower_sp.local.vim.base import TAG_PATTERN, ServerRequest
from spfed.errors import FieldViolation, InvalidArgument
from spfed.model import Resources

__all__ = [
    "check_lookup_tag",
    "check_own",
    "check_segmentation_id",
    "check_server_request",
    "check_tag",
    "invalid",
    "tag_problem",
]

_MAX_SEGMENTATION_ID = 2**24 - 1  # VXLAN VNIs; VLAN ids are a subset
_TAG = re.compile(TAG_PATTERN)


def invalid(field: str, description: str) -> InvalidArgument:
    """An InvalidArgument with one field violation."""
    return InvalidArgument(description, field_violations=[FieldViolation(field, description)])


def check_segmentation_id(segment: int) -> None:
    """Raises InvalidArgument unless ``segment`` is 0 (VIM's choice) or a VXLAN VNI."""
    if not 0 <= segment <= _MAX_SEGMENTATION_ID:
        raise invalid("segmentation_id", f"{segment} is not in 0..{_MAX_SEGMENTATION_ID}")


def tag_problem(tag: str) -> str:
    """What is wrong with a request's ``tag``, "" if nothing ("" or ``TAG_PATTERN``)."""
    if not tag or _TAG.fullmatch(tag):
        return ""
    return f"{tag!r} is not a tag: 'spfed-' and 1 to 54 of a-z, 0-9 and '-' (at most 60 characters)"


def check_tag(tag: str) -> None:
    """Raises InvalidArgument (field ``tag``) unless ``tag`` is "" or matches ``TAG_PATTERN``."""
    problem = tag_problem(tag)
    if problem:
        raise invalid("tag", problem)


def check_lookup_tag(tag: str) -> None:
    """Raises InvalidArgument (field ``tag``) unless ``tag`` matches ``TAG_PATTERN``.

    For ``Vim.tagged``: "" would be every untagged object, never what an orphan
    search means.
    """
    if not tag:
        raise invalid("tag", "must not be empty")
    check_tag(tag)


def check_own(pop: str, vim: str, kind: str, resource_id: str) -> None:
    """Raises InvalidArgument if a handle of PoP ``vim`` is given to PoP ``pop``."""
    if vim != pop:
        raise invalid(kind, f"{kind} {resource_id} belongs to pop {vim}, not {pop}")


def check_server_request(pop: str, request: ServerRequest) -> None:
    """Raises InvalidArgument for an empty name or image, negative resources,
    a port given twice, a port of another PoP, or a malformed tag; every problem is
    reported.
    """
    problems = []
    if not request.name:
        problems.append(FieldViolation("name", "must not be empty"))
    if not request.image:
        problems.append(FieldViolation("image", "must not be empty"))
    if not Resources().fits_in(request.resources):
        problems.append(FieldViolation("resources", f"must not be negative: {request.resources}"))
    port_ids = [p.port_id for p in request.ports]
    if len(set(port_ids)) != len(port_ids):
        problems.append(FieldViolation("ports", "a port is given more than once"))
    problems += [
        FieldViolation(f"ports[{i}]", f"port {p.port_id} belongs to pop {p.vim}, not {pop}")
        for i, p in enumerate(request.ports)
        if p.vim != pop
    ]
    tag = tag_problem(request.tag)
    if tag:
        problems.append(FieldViolation("tag", tag))
    if problems:
        raise InvalidArgument(
            f"server request '{request.name}' is invalid", field_violations=problems
        )
