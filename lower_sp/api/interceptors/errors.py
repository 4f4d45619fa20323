"""The one place where domain errors become gRPC statuses.

Servicers raise ``spfed.errors`` leaves; this interceptor turns each into its
status code with ``google.rpc`` details (field violations, quota violations,
and the origin path starting at this node). Anything else is a bug: it is
logged with its traceback and reported as INTERNAL without internals.

Every status is bounded here, for every error including those relayed from
lower SPs: ``max_violations`` violations of each kind, then a line counting
the rest, and at most 8 KiB of trailing metadata (``spfed.wire.status``), so a
client's metadata limit never swallows an error.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import grpc

from lower_sp.api.interceptors._wrap import Context, Stream, Unary, rewrap
from spfed.errors import Internal, SpfedError
from spfed.model import DescriptorLimits
from spfed.wire import grpc_status_for, status_from_error

__all__ = ["ErrorInterceptor"]

log = logging.getLogger(__name__)
Req = TypeVar("Req")
Resp = TypeVar("Resp")


class ErrorInterceptor(grpc.aio.ServerInterceptor):
    """Maps ``SpfedError`` to status codes and details, for every RPC of the server."""

    def __init__(
        self, node_id: str, *, max_violations: int = DescriptorLimits().max_violations
    ) -> None:
        """``max_violations``: field (and quota) violations carried by one status."""
        self._node_id = node_id
        self._max_violations = max_violations

    async def _abort(self, context: Context, exc: Exception, method: str) -> None:
        if isinstance(exc, SpfedError):
            error = exc
        else:
            log.exception("event=rpc_crashed method=%s", method)
            error = Internal(f"the node failed unexpectedly handling {method}; see its log")
        status = status_from_error(error, self._node_id, max_violations=self._max_violations)
        await context.abort_with_status(grpc_status_for(status))

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Req, Resp] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Req, Resp] | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method

        def unary(inner: Unary) -> Unary:
            async def call(request: Any, context: Context) -> Any:
                try:
                    return await inner(request, context)
                except Exception as exc:  # the one mapping point
                    await self._abort(context, exc, method)

            return call

        def stream(inner: Stream) -> Stream:
            async def call(request: Any, context: Context) -> AsyncIterator[Any]:
                try:
                    async for item in inner(request, context):
                        yield item
                except Exception as exc:  # the one mapping point
                    await self._abort(context, exc, method)

            return call

        return rewrap(handler, unary, stream)
