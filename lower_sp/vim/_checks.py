"""Checks of VIM requests that need no PoP state, and the errors they raise.

Shared by the drivers (the emulated PoP, OpenStack), so that every driver refuses
the same malformed request with the same field violations, before it changes
anything. Kept apart so that each driver reads as the state machine it is.
"""

from __future__ import annotations

from lower_sp.vim._emulated_options import BOOT_DELAY_OPTION
from lower_sp.vim.base import ServerRequest
from spfed.errors import FieldViolation, InvalidArgument, QuotaViolation, ResourceExhausted
from spfed.model import Resources

__all__ = [
    "check_boot_delay",
    "check_own",
    "check_segmentation_id",
    "check_server_request",
    "does_not_fit",
    "subnet_full",
]

_MAX_SEGMENTATION_ID = 2**24 - 1  # VXLAN VNIs; VLAN ids are a subset


def _invalid(field: str, description: str) -> InvalidArgument:
    return InvalidArgument(description, field_violations=[FieldViolation(field, description)])


def check_boot_delay(delay_ms: int) -> None:
    """Raises InvalidArgument if the boot delay is negative."""
    if delay_ms < 0:
        raise _invalid(BOOT_DELAY_OPTION, f"must be 0 or more, not {delay_ms}")


def check_segmentation_id(segment: int) -> None:
    """Raises InvalidArgument unless ``segment`` is 0 (VIM's choice) or a VXLAN VNI."""
    if not 0 <= segment <= _MAX_SEGMENTATION_ID:
        raise _invalid("segmentation_id", f"{segment} is not in 0..{_MAX_SEGMENTATION_ID}")


def check_own(pop: str, vim: str, kind: str, resource_id: str) -> None:
    """Raises InvalidArgument if a handle of PoP ``vim`` is given to PoP ``pop``."""
    if vim != pop:
        raise _invalid(kind, f"{kind} {resource_id} belongs to pop {vim}, not {pop}")


def check_server_request(pop: str, request: ServerRequest) -> None:
    """Raises InvalidArgument for an empty name or image, negative resources,
    a port given twice, or a port of another PoP; every problem is reported.
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
    if problems:
        raise InvalidArgument(
            f"server request '{request.name}' is invalid", field_violations=problems
        )


def does_not_fit(pop: str, request: ServerRequest, free: Resources) -> ResourceExhausted:
    """The error for a server that does not fit in ``free``."""
    shortfall = "; ".join(request.resources.shortfall(free))
    return ResourceExhausted(
        f"pop {pop} cannot hold server '{request.name}': {shortfall}",
        quota_violations=[
            QuotaViolation(
                subject=f"pop:{pop}",
                description=f"asked {request.resources}, free {free} ({shortfall})",
            )
        ],
    )


def subnet_full(pop: str, network_id: str, subnet_id: str, cidr: str) -> ResourceExhausted:
    """The error for a port asked on a subnet with no free host address."""
    return ResourceExhausted(
        f"no free address left in {cidr} (network {network_id} on pop {pop})",
        quota_violations=[
            QuotaViolation(
                subject=f"subnet:{subnet_id}",
                description=f"every host address of {cidr} but the gateway is taken",
            )
        ],
    )
