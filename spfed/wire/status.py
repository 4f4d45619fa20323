"""Domain errors to and from ``google.rpc.Status``: the one translation table.

An error leaves a node as a status code, a message and three details:
``BadRequest`` (field violations), ``QuotaFailure`` (quota violations) and
``ErrorInfo`` whose ``origin`` metadata lists the operators from the sending
node down to the one that raised it ("retail/wholesale-eu/edge-be"), plus
``RetryInfo`` when the error says when to retry. Coming
back in, the same leaf of ``spfed.errors`` is rebuilt, so a typed error
crosses any number of operators intact.

Every status built here is bounded (``spfed.wire._bounds``): at most
``max_violations`` violations of each kind plus a line counting the rest,
clipped texts, and at most 8 KiB in trailing metadata, so it always reaches
the caller, whatever a lower SP sent.
"""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from spfed.errors import (
    FieldViolation,
    QuotaViolation,
    SpfedError,
    Unavailable,
    error_for_code,
)
from spfed.model import DescriptorLimits, ErrorStatus
from spfed.wire._bounds import bounded_status, clip_origin

__all__ = [
    "ERROR_DOMAIN",
    "error_from_rpc",
    "error_from_status",
    "error_status_from_pb",
    "error_status_to_pb",
    "grpc_status_for",
    "status_from_error",
]

ERROR_DOMAIN = "spfed.dev"
"""``google.rpc.ErrorInfo.domain`` of every spfed error."""
_ORIGIN_KEY = "origin"
_MAX_VIOLATIONS = DescriptorLimits().max_violations


def _pack(message: object) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)  # type: ignore[arg-type]
    return packed


def error_status_to_pb(
    error: ErrorStatus, node_id: str, *, max_violations: int = _MAX_VIOLATIONS
) -> status_pb2.Status:
    """Serialise an error held at ``node_id``; the node is prepended to the origin.

    The status is bounded: ``max_violations`` violations of each kind, then a line
    counting the rest; at most 8 KiB in trailing metadata (see ``spfed.wire._bounds``).
    """
    return bounded_status(error, max_violations, lambda e: _to_pb(e, node_id))


def _to_pb(error: ErrorStatus, node_id: str) -> status_pb2.Status:
    code = grpc.StatusCode[error.code] if error.code in grpc.StatusCode.__members__ else None
    numeric = code.value[0] if code is not None else code_pb2.UNKNOWN
    origin = clip_origin((node_id, *error.origin))
    details = [
        _pack(
            error_details_pb2.ErrorInfo(
                reason=error.code, domain=ERROR_DOMAIN, metadata={_ORIGIN_KEY: origin}
            )
        )
    ]
    if error.field_violations:
        details.append(
            _pack(
                error_details_pb2.BadRequest(
                    field_violations=[
                        error_details_pb2.BadRequest.FieldViolation(
                            field=v.field, description=v.description
                        )
                        for v in error.field_violations
                    ]
                )
            )
        )
    if error.quota_violations:
        details.append(
            _pack(
                error_details_pb2.QuotaFailure(
                    violations=[
                        error_details_pb2.QuotaFailure.Violation(
                            subject=v.subject, description=v.description
                        )
                        for v in error.quota_violations
                    ]
                )
            )
        )
    if error.retry_after_s is not None:
        details.append(_pack(_retry_info(error.retry_after_s)))
    return status_pb2.Status(code=numeric, message=error.message, details=details)


def _retry_info(delay_s: float) -> error_details_pb2.RetryInfo:
    retry = error_details_pb2.RetryInfo()
    retry.retry_delay.FromNanoseconds(round(delay_s * 1e9))
    return retry


def status_from_error(
    error: SpfedError, node_id: str, *, max_violations: int = _MAX_VIOLATIONS
) -> status_pb2.Status:
    """Serialise a raised domain error at ``node_id`` (bounded like ``error_status_to_pb``)."""
    return error_status_to_pb(ErrorStatus.from_error(error), node_id, max_violations=max_violations)


def error_status_from_pb(status: status_pb2.Status) -> ErrorStatus:
    """Read a status (from a lower SP or a stored record) back into the domain."""
    by_number = {c.value[0]: c for c in grpc.StatusCode}
    code = by_number.get(status.code, grpc.StatusCode.UNKNOWN)
    field_violations: list[FieldViolation] = []
    quota_violations: list[QuotaViolation] = []
    origin: tuple[str, ...] = ()
    retry_after_s: float | None = None
    for detail in status.details:
        info = error_details_pb2.ErrorInfo()
        bad = error_details_pb2.BadRequest()
        quota = error_details_pb2.QuotaFailure()
        retry = error_details_pb2.RetryInfo()
        if detail.Unpack(info):
            origin = tuple(p for p in info.metadata.get(_ORIGIN_KEY, "").split("/") if p)
        elif detail.Unpack(bad):
            field_violations += [
                FieldViolation(v.field, v.description) for v in bad.field_violations
            ]
        elif detail.Unpack(quota):
            quota_violations += [QuotaViolation(v.subject, v.description) for v in quota.violations]
        elif detail.Unpack(retry):
            retry_after_s = retry.retry_delay.ToNanoseconds() / 1e9
    return ErrorStatus(
        code=code.name,
        message=status.message,
        field_violations=tuple(field_violations),
        quota_violations=tuple(quota_violations),
        origin=origin,
        retry_after_s=retry_after_s,
    )


def error_from_status(status: status_pb2.Status) -> SpfedError:
    """The domain error a status stands for (the origin is kept as sent)."""
    return error_status_from_pb(status).to_error()


def error_from_rpc(exc: grpc.aio.AioRpcError, peer: str) -> SpfedError:
    """Translate a failed call to another node into the domain error tree.

    A status with spfed details is rebuilt as the same leaf. A bare status
    (the channel could not connect, or the peer is not spfed) keeps its code
    and its message names ``peer`` (e.g. "lower SP edge-be", "node
    127.0.0.1:5000").
    """
    try:
        status: status_pb2.Status | None = rpc_status.from_call(exc)
    except ValueError:
        # The trailing status disagrees with the call's own (a proxy rewrote
        # one of them): trust the call's code and message.
        status = None
    if status is not None and any(d.Unpack(error_details_pb2.ErrorInfo()) for d in status.details):
        return error_from_status(status)
    code = exc.code()
    cls = error_for_code(code) if code is not None else Unavailable
    detail = exc.details() or (code.name if code is not None else "no status")
    if code is grpc.StatusCode.UNAVAILABLE:
        return cls(f"cannot reach {peer}: {detail}")
    return cls(f"{peer}: {detail}")


def grpc_status_for(status: status_pb2.Status) -> grpc.Status:
    """A ``grpc.Status`` ready for ``context.abort_with_status``."""
    converted: grpc.Status = rpc_status.to_status(status)
    return converted
