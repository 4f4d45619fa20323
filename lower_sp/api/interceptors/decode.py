"""Undecodable request bodies: INVALID_ARGUMENT, decided before grpc sees the failure.

grpc decodes a request before any interceptor's behaviour runs; a body that is
not the method's message makes the protobuf parser raise, grpc answers UNKNOWN
("Unexpected DecodeError") and logs a full traceback per call, so a client
sending garbage could grow the node's log without bound. This interceptor gives
each unary-request handler a deserializer that never raises: a body that does
not parse becomes a marker, and the behaviour, innermost in the chain (after
authentication, so an anonymous caller learns nothing more), raises
``InvalidArgument`` naming the expected message. The error interceptor maps it
like any other error; one warning line is logged, which the node's log
handler rate-limits (``spfed.logs``). (gRPC's own table says INTERNAL for a
request that does not parse; the fault is the caller's, and no retry of the
same bytes can succeed, which is what INVALID_ARGUMENT says.)

A body larger than ``limits.max_request_bytes`` is refused the same way, with
a field violation naming the limit, and is never parsed. grpc itself refuses
far larger ones before they are read whole (``spfed.server``). Handlers with
request streams (reflection) are left to grpc.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import grpc

from lower_sp.api.interceptors._wrap import Context, Stream, Unary, rewrap
from spfed.errors import FieldViolation, InvalidArgument

__all__ = ["DecodeInterceptor"]

log = logging.getLogger(__name__)
Req = TypeVar("Req")
Resp = TypeVar("Resp")


class _Undecodable:
    """Stands in for a request body the method's deserializer refused."""

    __slots__ = ("problem",)

    def __init__(self, problem: str) -> None:
        self.problem = problem


class _Oversized(_Undecodable):
    """Stands in for a request body over ``limits.max_request_bytes``, left unparsed."""

    __slots__ = ("size",)

    def __init__(self, size: int) -> None:
        super().__init__(f"{size} bytes")
        self.size = size


def _message_name(deserializer: Callable[[bytes], Any]) -> str:
    """``spfed.v1.InstantiateServiceRequest`` for ``InstantiateServiceRequest.FromString``."""
    owner = getattr(deserializer, "__self__", None)
    descriptor = getattr(owner, "DESCRIPTOR", None)
    name = getattr(descriptor, "full_name", None)
    return name if isinstance(name, str) else "request message of this method"


def _tolerant(deserializer: Callable[[bytes], Any], max_bytes: int) -> Callable[[bytes], Any]:
    def decode(body: bytes) -> Any:
        if len(body) > max_bytes:
            return _Oversized(len(body))
        try:
            return deserializer(body)
        # protobuf raises DecodeError, but whatever a parser raises on a body is
        # the body's fault; a failure here must never reach grpc's own handling.
        except Exception as exc:
            return _Undecodable(f"{type(exc).__name__}: {exc}")

    return decode


class DecodeInterceptor(grpc.aio.ServerInterceptor):
    """Answers INVALID_ARGUMENT to a request body that is not the method's message, or that is
    larger than ``max_bytes`` (``limits.max_request_bytes``)."""

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Req, Resp] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Req, Resp] | None:
        handler = await continuation(handler_call_details)
        if handler is None or handler.request_deserializer is None:
            return handler
        method = handler_call_details.method
        expected = _message_name(handler.request_deserializer)

        max_bytes = self._max_bytes

        def refuse(request: _Undecodable, context: Context) -> InvalidArgument:
            if isinstance(request, _Oversized):
                log.warning(
                    "event=request_oversized method=%s peer=%s bytes=%d",
                    method,
                    context.peer(),
                    request.size,
                )
                return InvalidArgument(
                    f"the request is {request.size} bytes; this node's"
                    f" limits.max_request_bytes is {max_bytes}",
                    field_violations=[
                        FieldViolation(
                            "request",
                            f"{request.size} bytes, at most {max_bytes} (limits.max_request_bytes)",
                        )
                    ],
                )
            log.warning(
                "event=request_undecodable method=%s peer=%s problem=%r",
                method,
                context.peer(),
                request.problem[:200],
            )
            return InvalidArgument(f"the request body is not a valid {expected}")

        def unary(inner: Unary) -> Unary:
            async def call(request: Any, context: Context) -> Any:
                if isinstance(request, _Undecodable):
                    raise refuse(request, context)
                return await inner(request, context)

            return call

        def stream(inner: Stream) -> Stream:
            async def call(request: Any, context: Context) -> AsyncIterator[Any]:
                if isinstance(request, _Undecodable):
                    raise refuse(request, context)
                async for item in inner(request, context):
                    yield item

            return call

        return rewrap(
            handler, unary, stream, _tolerant(handler.request_deserializer, self._max_bytes)
        )
