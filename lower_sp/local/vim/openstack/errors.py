"""openstacksdk and keystoneauth errors, translated to ``spfed.errors`` in one table.

Every call of the driver goes through ``translate``, so that a caller of the
``Vim`` protocol sees the same domain errors from OpenStack as from the
emulated PoP, and the gRPC edge maps them to status codes as usual:

=======================================================  ==========================
what OpenStack says                                      domain error (gRPC code)
=======================================================  ==========================
our own wait was given up (cancelled, PoP closing)       Cancelled
a wait helper ran out of time                            DeadlineExceeded
a wait helper saw the resource go ERROR                  FailedPrecondition
quota exceeded (Nova 403/413, Neutron 409 OverQuota)     ResourceExhausted
404, or Nova's 400 "... could not be found"              NotFound
409: address or MAC already allocated on the network     AlreadyExists
409: network, subnet or port still in use                FailedPrecondition
any other 409 (a state conflict: retry later)            Aborted
other 400                                                InvalidArgument
401, 403, a missing endpoint, a bad ``clouds.yaml``      FailedPrecondition
5xx, a refused or timed-out connection, failed discovery Unavailable
anything else                                            Internal
=======================================================  ==========================

Neutron names its errors (``{"NeutronError": {"type": "MacAddressInUse", ...}}``);
Nova gives only a status and a message, so a few of its rows match on words.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import keystoneauth1.exceptions as ksa
import requests
from openstack import exceptions as sdk

from spfed.errors import (
    Aborted,
    AlreadyExists,
    Cancelled,
    DeadlineExceeded,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    NotFound,
    QuotaViolation,
    ResourceExhausted,
    SpfedError,
    Unavailable,
)

__all__ = ["RULES", "Rule", "WaitAborted", "neutron_type", "translate"]


class WaitAborted(Exception):
    """Raised inside a wait helper's callback to stop a wait that nobody awaits any more
    (its caller was cancelled, or the PoP is closing)."""


_QUOTA = re.compile(r"quota|over ?limit|exceeds? .*limit", re.IGNORECASE)
_MISSING = re.compile(r"could not be found|not found", re.IGNORECASE)
_IN_USE = re.compile(r"in use|still attached|has (one or more )?ports", re.IGNORECASE)
_TAKEN_TYPES = frozenset(
    {"IpAddressAlreadyAllocated", "IpAddressInUse", "MacAddressInUse", "DuplicateResource"}
)
_IN_USE_TYPES = frozenset({"NetworkInUse", "SubnetInUse", "PortInUse", "InUse", "PortBound"})


def _status(exc: BaseException) -> int:
    if isinstance(exc, sdk.HttpException):
        return exc.status_code or 0
    if isinstance(exc, ksa.HttpError):
        return exc.http_status or 0
    return 0


def neutron_type(exc: BaseException) -> str:
    """The ``type`` of a Neutron error body (``MacAddressInUse``, ``OverQuota``), or ""."""
    response = getattr(exc, "response", None)
    if response is None:
        return ""
    try:
        body = response.json()
    except ValueError:
        return ""
    error = body.get("NeutronError") if isinstance(body, dict) else None
    kind = error.get("type", "") if isinstance(error, dict) else ""
    return kind if isinstance(kind, str) else ""


def _text(exc: BaseException) -> str:
    if isinstance(exc, sdk.HttpException):
        return f"{exc.message} {exc.details or ''}"
    return str(exc)


def _http(status: int, *, words: re.Pattern[str] | None = None) -> Callable[[BaseException], bool]:
    def match(exc: BaseException) -> bool:
        return _status(exc) == status and (words is None or bool(words.search(_text(exc))))

    return match


def _quota(exc: BaseException) -> bool:
    status = _status(exc)
    if status == 413 or (status == 409 and neutron_type(exc) == "OverQuota"):
        return True
    return status in (403, 409) and bool(_QUOTA.search(_text(exc)))


def _conflict_of(types: frozenset[str], words: re.Pattern[str] | None) -> Callable[..., bool]:
    def match(exc: BaseException) -> bool:
        if _status(exc) != 409:
            return False
        kind = neutron_type(exc)
        if kind:
            return kind in types
        return words is not None and bool(words.search(_text(exc)))

    return match


def _server_error(exc: BaseException) -> bool:
    return 500 <= _status(exc) <= 599


def _kind(*kinds: type[BaseException]) -> Callable[[BaseException], bool]:
    return lambda exc: isinstance(exc, kinds)


@dataclass(frozen=True)
class Rule:
    """One row of the table: the first row whose ``match`` holds decides."""

    match: Callable[[BaseException], bool]
    """Whether the row applies to an exception."""
    error: type[SpfedError]
    """The domain error it becomes."""
    meaning: str
    """What the row stands for, for people (and the docstring's table)."""


RULES: tuple[Rule, ...] = (
    Rule(_kind(WaitAborted), Cancelled, "the wait was given up"),
    Rule(_kind(sdk.ResourceTimeout), DeadlineExceeded, "a wait ran out of time"),
    Rule(_kind(sdk.ResourceFailure), FailedPrecondition, "the resource went ERROR"),
    Rule(_quota, ResourceExhausted, "quota exceeded"),
    Rule(_http(404), NotFound, "not found"),
    Rule(_kind(sdk.ResourceNotFound, ksa.NotFound), NotFound, "not found"),
    Rule(_http(400, words=_MISSING), NotFound, "Nova's 400 for a missing port or image"),
    Rule(_conflict_of(_TAKEN_TYPES, None), AlreadyExists, "address or MAC taken"),
    Rule(_conflict_of(_IN_USE_TYPES, _IN_USE), FailedPrecondition, "still in use"),
    Rule(_http(409), Aborted, "a state conflict"),
    Rule(_http(400), InvalidArgument, "a malformed request"),
    Rule(_http(401), FailedPrecondition, "the cloud refused the PoP's credentials"),
    Rule(_http(403), FailedPrecondition, "the PoP's account may not do this"),
    Rule(_server_error, Unavailable, "the cloud failed (5xx)"),
    Rule(
        _kind(ksa.ConnectionError, ksa.DiscoveryFailure, requests.ConnectionError),
        Unavailable,
        "the cloud cannot be reached",
    ),
    Rule(_kind(requests.Timeout, ksa.RequestTimeout), Unavailable, "the cloud did not answer"),
    Rule(
        _kind(ksa.Unauthorized, ksa.Forbidden, ksa.AuthorizationFailure),
        FailedPrecondition,
        "the cloud refused the PoP's credentials",
    ),
    Rule(
        _kind(ksa.EndpointNotFound, ksa.EmptyCatalog, sdk.EndpointNotFound),
        FailedPrecondition,
        "the cloud's catalogue lacks a service the driver needs",
    ),
    Rule(_kind(sdk.ConfigException, ksa.MissingRequiredOptions), FailedPrecondition, "bad cloud"),
)


def _underlying(exc: BaseException) -> BaseException:
    """The error to classify: openstacksdk re-raises some keystoneauth errors (a refused
    connection, a 401 at sign-in) as a bare ``SDKException``; the original is its context."""
    seen = 0
    while type(exc) is sdk.SDKException and seen < 8:
        inner = exc.__cause__ or exc.__context__
        if inner is None:
            break
        exc, seen = inner, seen + 1
    return exc


def translate(exc: BaseException, action: str, pop: str) -> SpfedError:
    """The domain error for ``exc``, raised while doing ``action`` on PoP ``pop``.

    A domain error passes through unchanged. Quota errors carry one
    ``QuotaViolation`` with subject ``pop:<pop>``; every error carries the HTTP
    status and request id, when there are any, in its metadata.
    """
    if isinstance(exc, SpfedError):
        return exc
    cause = _underlying(exc)
    error = next((rule.error for rule in RULES if rule.match(cause)), Internal)
    detail = " ".join(_text(exc).split()) or type(exc).__name__
    message = f"{action} on pop {pop}: {detail}"
    metadata = {"pop": pop, "sdk_error": type(exc).__name__}
    status = _status(exc)
    if status:
        metadata["http_status"] = str(status)
    request_id = getattr(exc, "request_id", None)
    if isinstance(request_id, str) and request_id:
        metadata["request_id"] = request_id
    violations = [QuotaViolation(f"pop:{pop}", detail)] if error is ResourceExhausted else []
    return error(message, quota_violations=violations, metadata=metadata)
