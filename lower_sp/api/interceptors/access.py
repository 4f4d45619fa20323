"""Request ids and access logs, for every RPC.

The caller's ``x-request-id`` metadata (or a fresh id) is put in a context
variable, so every log line written while serving the call carries it, and
one access line is written per call with its method, status and duration. The same
figures go to an optional observer (the node's ``spfed_rpc_duration_seconds``), so every
call is timed once, in one place.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import grpc

from lower_sp.api.interceptors._wrap import Context, Stream, Unary, rewrap
from spfed.logs import REQUEST_ID

__all__ = ["AccessLogInterceptor", "RpcObserver"]

log = logging.getLogger("spfed.access")
_QUIET = ("/grpc.health.v1.Health/", "/grpc.reflection.")
Req = TypeVar("Req")
Resp = TypeVar("Resp")


def _request_id(details: grpc.HandlerCallDetails) -> str:
    for key, value in details.invocation_metadata or ():
        if key == "x-request-id" and isinstance(value, str) and 0 < len(value) <= 128:
            return value
    return uuid.uuid4().hex[:16]


RpcObserver = Callable[[str, str, float], None]
"""Told of every logged call: full method name, status code name, seconds."""


class AccessLogInterceptor(grpc.aio.ServerInterceptor):
    """Sets the request id and logs one line per call (and tells ``observe`` of it)."""

    def __init__(self, observe: RpcObserver | None = None) -> None:
        self._observe = observe

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Req, Resp] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Req, Resp] | None:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method.startswith(_QUIET):
            return handler
        request_id = _request_id(handler_call_details)

        def done(context: Context, started: float, peer: str) -> None:
            # Only the code is read here: once a call is cancelled, grpc may
            # have freed it, and context.peer() on a freed call crashes the
            # process (grpc/grpc#29927); the peer is read when the call starts.
            code: object = context.code()  # None until a handler sets one
            name = code.name if isinstance(code, grpc.StatusCode) else "OK"
            seconds = time.perf_counter() - started
            log.info(
                "event=rpc method=%s code=%s ms=%.2f peer=%s", method, name, seconds * 1000, peer
            )
            if self._observe is not None:
                self._observe(method, name, seconds)

        def unary(inner: Unary) -> Unary:
            async def call(request: Any, context: Context) -> Any:
                # Every call runs in a task of its own, with a context of its
                # own: the id is set for this call and needs no resetting.
                REQUEST_ID.set(request_id)
                started = time.perf_counter()
                peer = context.peer()
                try:
                    return await inner(request, context)
                finally:
                    done(context, started, peer)

            return call

        def stream(inner: Stream) -> Stream:
            async def call(request: Any, context: Context) -> AsyncIterator[Any]:
                # No reset either: a stream closed by the client is finalised
                # by the loop, in another context, where a reset would fail.
                REQUEST_ID.set(request_id)
                started = time.perf_counter()
                peer = context.peer()
                try:
                    async for item in inner(request, context):
                        yield item
                finally:
                    done(context, started, peer)

            return call

        return rewrap(handler, unary, stream)
