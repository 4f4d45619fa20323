"""Who may call which method: the one table the auth interceptor applies.

Every method of the node's two services is listed; a test keeps it so.
Health checks and reflection are open without being listed.
"""

from __future__ import annotations

from spfed.api.v1 import gatekeeper_pb2, platform_service_pb2
from spfed.model import Permission

__all__ = ["OPEN", "RIGHTS", "method_names"]

OPEN = object()
"""A method anyone may call (``IssueToken``)."""


def _full(service: str, method: str) -> str:
    return f"/{service}/{method}"


_PLATFORM = platform_service_pb2.DESCRIPTOR.services_by_name["PlatformService"].full_name
_GATEKEEPER = gatekeeper_pb2.DESCRIPTOR.services_by_name["GatekeeperService"].full_name

RIGHTS: dict[str, Permission | object] = {
    _full(_PLATFORM, "GetCatalogue"): Permission.READ_CATALOGUE,
    _full(_PLATFORM, "WatchCatalogue"): Permission.WATCH_CATALOGUE,
    _full(_PLATFORM, "InstantiateService"): Permission.USE_SERVICES,
    _full(_PLATFORM, "GetService"): Permission.USE_SERVICES,
    _full(_PLATFORM, "ListServices"): Permission.USE_SERVICES,
    _full(_PLATFORM, "WatchService"): Permission.USE_SERVICES,
    _full(_PLATFORM, "TerminateService"): Permission.USE_SERVICES,
    _full(_PLATFORM, "GetOperation"): Permission.USE_SERVICES,
    _full(_PLATFORM, "CreateSlice"): Permission.USE_SERVICES,
    _full(_PLATFORM, "GetSlice"): Permission.USE_SERVICES,
    _full(_PLATFORM, "ListSlices"): Permission.USE_SERVICES,
    _full(_PLATFORM, "DeleteSlice"): Permission.USE_SERVICES,
    _full(_PLATFORM, "WithdrawOffer"): Permission.MANAGE_CATALOGUE,
    _full(_PLATFORM, "RestoreOffer"): Permission.MANAGE_CATALOGUE,
    _full(_GATEKEEPER, "IssueToken"): OPEN,
    _full(_GATEKEEPER, "CreateAccount"): Permission.MANAGE_ACCOUNTS,
    _full(_GATEKEEPER, "ListAccounts"): Permission.MANAGE_ACCOUNTS,
    _full(_GATEKEEPER, "DisableAccount"): Permission.MANAGE_ACCOUNTS,
    _full(_GATEKEEPER, "RotateAccountKey"): Permission.MANAGE_ACCOUNTS,
    _full(_GATEKEEPER, "RotateSigningKey"): Permission.MANAGE_ACCOUNTS,
}
"""Full method name → the permission it needs, or ``OPEN``."""


def method_names() -> list[str]:
    """Every method the node's API services define (for the completeness test)."""
    names = []
    for module, service in (
        (platform_service_pb2, "PlatformService"),
        (gatekeeper_pb2, "GatekeeperService"),
    ):
        descriptor = module.DESCRIPTOR.services_by_name[service]
        names += [_full(descriptor.full_name, m.name) for m in descriptor.methods]
    return names
