"""Checks and errors of the emulated PoP alone (the shared ones are in ``_checks``).

Kept apart so that ``emulated.py`` reads as the state machine it is.
"""

from __future__ import annotations

from lower_sp.local.vim._checks import invalid
from lower_sp.local.vim.base import ServerRequest
from lower_sp.local.vim.emulated._options import BOOT_DELAY_OPTION
from spfed.errors import QuotaViolation, ResourceExhausted
from spfed.model import Resources

__all__ = ["check_boot_delay", "does_not_fit", "subnet_full"]


def check_boot_delay(delay_ms: int) -> None:
    """Raises InvalidArgument if the boot delay is negative."""
    if delay_ms < 0:
        raise invalid(BOOT_DELAY_OPTION, f"must be 0 or more, not {delay_ms}")


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
