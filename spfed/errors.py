"""The one domain error tree of spfed.

Every failure the product reports is one of these. Each leaf carries the gRPC
status code it maps to; one server interceptor (``lower_sp.api.interceptors``)
turns them into a status with ``google.rpc`` details, and one table
(``spfed.wire.status``) turns a status coming back from a lower SP into the
same leaf again, so a typed error crosses any number of operators intact.

::

    SpfedError                     UNKNOWN
    ├── InvalidArgument            INVALID_ARGUMENT     field violations
    ├── NotFound                   NOT_FOUND
    ├── AlreadyExists              ALREADY_EXISTS
    ├── FailedPrecondition         FAILED_PRECONDITION
    ├── ResourceExhausted          RESOURCE_EXHAUSTED   quota violations, retry delay
    ├── Aborted                    ABORTED              temporary
    ├── Unavailable                UNAVAILABLE          temporary
    ├── DeadlineExceeded           DEADLINE_EXCEEDED    temporary
    ├── Cancelled                  CANCELLED
    ├── Unauthenticated            UNAUTHENTICATED
    ├── PermissionDenied           PERMISSION_DENIED
    └── Internal                   INTERNAL

``origin`` is the path of operators from the node that raised the error
downward, as seen by the node holding it: a full PoP at edge-be, seen from
retail, has origin ``("wholesale-eu", "edge-be")`` once it has crossed
wholesale-eu. The node that serialises an error prepends its own id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import ClassVar

import grpc

__all__ = [
    "Aborted",
    "AlreadyExists",
    "Cancelled",
    "DeadlineExceeded",
    "FailedPrecondition",
    "FieldViolation",
    "Internal",
    "InvalidArgument",
    "NotFound",
    "PermissionDenied",
    "QuotaViolation",
    "ResourceExhausted",
    "SpfedError",
    "Unauthenticated",
    "Unavailable",
    "error_for_code",
]


@dataclass(frozen=True)
class FieldViolation:
    """One bad field of a request or descriptor."""

    field: str
    """Path of the field, e.g. ``descriptors.nsd.virtual_links[2].cidr``."""
    description: str
    """What is wrong with it, readable by a person."""


@dataclass(frozen=True)
class QuotaViolation:
    """One exhausted resource."""

    subject: str
    """What ran out, e.g. ``pop:ams`` or ``pool:services``."""
    description: str
    """How much was asked and how much was left."""


class SpfedError(Exception):
    """Base of every domain error; the message is meant for people."""

    code: ClassVar[grpc.StatusCode] = grpc.StatusCode.UNKNOWN
    temporary: ClassVar[bool] = False
    """Whether retrying the same call later may succeed."""

    def __init__(
        self,
        message: str,
        *,
        field_violations: Iterable[FieldViolation] = (),
        quota_violations: Iterable[QuotaViolation] = (),
        origin: Iterable[str] = (),
        metadata: Mapping[str, str] | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field_violations: tuple[FieldViolation, ...] = tuple(field_violations)
        self.quota_violations: tuple[QuotaViolation, ...] = tuple(quota_violations)
        self.origin: tuple[str, ...] = tuple(origin)
        self.metadata: dict[str, str] = dict(metadata or {})
        self.retry_after_s = retry_after_s
        """When the same call may succeed if retried: after this many seconds
        (``google.rpc.RetryInfo``); None when the error says nothing about it."""

    @property
    def reason(self) -> str:
        """Machine-readable reason (``google.rpc.ErrorInfo.reason``)."""
        return self.code.name

    def with_origin(self, *operators: str) -> SpfedError:
        """A copy (the leaf for this code) with ``operators`` prepended to the origin."""
        return error_for_code(self.code)(
            self.message,
            field_violations=self.field_violations,
            quota_violations=self.quota_violations,
            origin=(*operators, *self.origin),
            metadata=self.metadata,
            retry_after_s=self.retry_after_s,
        )

    def describe(self) -> str:
        """One line: code, origin and message."""
        where = f" at {'/'.join(self.origin)}" if self.origin else ""
        return f"{self.code.name}{where}: {self.message}"

    def __str__(self) -> str:
        lines = [self.message]
        lines += [f"  {v.field}: {v.description}" for v in self.field_violations]
        lines += [f"  {v.subject}: {v.description}" for v in self.quota_violations]
        return "\n".join(lines)


class InvalidArgument(SpfedError):
    """The request or a descriptor is malformed; see the field violations."""

    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(SpfedError):
    """A service, operation or offer does not exist (or is not the caller's)."""

    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(SpfedError):
    """Something with that identity already exists."""

    code = grpc.StatusCode.ALREADY_EXISTS


class FailedPrecondition(SpfedError):
    """The system is not in a state where the call can work, e.g. nothing offers a function."""

    code = grpc.StatusCode.FAILED_PRECONDITION


class ResourceExhausted(SpfedError):
    """A PoP, pool or quota is full; see the quota violations.

    When the shortage is momentary (too many calls at once), ``retry_after_s``
    says when to try again.
    """

    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Aborted(SpfedError):
    """A concurrent change or a restart interrupted the call."""

    code = grpc.StatusCode.ABORTED
    temporary = True


class Unavailable(SpfedError):
    """A lower SP or a VIM cannot be reached."""

    code = grpc.StatusCode.UNAVAILABLE
    temporary = True


class DeadlineExceeded(SpfedError):
    """The work did not finish in time."""

    code = grpc.StatusCode.DEADLINE_EXCEEDED
    temporary = True


class Cancelled(SpfedError):
    """The caller or the node cancelled the work."""

    code = grpc.StatusCode.CANCELLED


class Unauthenticated(SpfedError):
    """The caller's credentials are missing or invalid."""

    code = grpc.StatusCode.UNAUTHENTICATED


class PermissionDenied(SpfedError):
    """The caller is known but may not do this."""

    code = grpc.StatusCode.PERMISSION_DENIED


class Internal(SpfedError):
    """A bug or an unexpected failure inside the node."""

    code = grpc.StatusCode.INTERNAL


_BY_CODE: dict[grpc.StatusCode, type[SpfedError]] = {
    cls.code: cls
    for cls in (
        InvalidArgument,
        NotFound,
        AlreadyExists,
        FailedPrecondition,
        ResourceExhausted,
        Aborted,
        Unavailable,
        DeadlineExceeded,
        Cancelled,
        Unauthenticated,
        PermissionDenied,
        Internal,
    )
}


def error_for_code(code: grpc.StatusCode) -> type[SpfedError]:
    """The leaf class for a status code (``SpfedError`` for codes without one)."""
    return _BY_CODE.get(code, SpfedError)
