"""Authentication and authorisation of every RPC, before any servicer runs.

Health checks, reflection and ``IssueToken`` are open. Every other method
needs a bearer token that the node's gatekeeper accepts (UNAUTHENTICATED
otherwise) and a principal whose roles grant the method's permission
(PERMISSION_DENIED otherwise). A method missing from the table of rights is
refused: new methods are closed until someone decides who may call them.

The principal is put in ``CALLER`` for the servicer. Each rejection writes
one line to the ``spfed.audit`` log and is told to ``refused`` (the node's
``spfed_auth_refused_total``, stage ``call``). Errors are raised as domain errors, so
the error interceptor (outside this one) turns them into statuses.
"""

from __future__ import annotations

import contextvars
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, TypeVar

import grpc

from lower_sp.api.interceptors._wrap import Context, Stream, Unary, rewrap
from lower_sp.api.rights import OPEN
from spfed.errors import PermissionDenied, SpfedError
from spfed.identity import audit
from spfed.model import Permission, Principal

__all__ = ["CALLER", "AuthInterceptor"]

CALLER: contextvars.ContextVar[Principal] = contextvars.ContextVar("spfed_caller")
"""The principal of the call being served."""

_ALWAYS_OPEN = ("/grpc.health.v1.Health/", "/grpc.reflection.")
Req = TypeVar("Req")
Resp = TypeVar("Resp")


def _metadata(details: grpc.HandlerCallDetails, key: str) -> str | None:
    for name, value in details.invocation_metadata or ():
        if name == key and isinstance(value, str):
            return value
    return None


class AuthInterceptor(grpc.aio.ServerInterceptor):
    """Checks each call's token and rights against a table of methods."""

    def __init__(
        self,
        authenticate: Callable[[str | None], Principal],
        rights: Mapping[str, Permission | object],
        refused: Callable[[str], None] | None = None,
    ) -> None:
        """``rights`` maps full method names (``/pkg.Service/Method``) to a
        ``Permission``, or to ``OPEN``; ``refused(reason)`` hears of each refused call."""
        self._authenticate = authenticate
        self._rights = dict(rights)
        self._refused = refused

    def _check(self, details: grpc.HandlerCallDetails) -> Principal:
        method = details.method
        right = self._rights.get(method)
        if right is None:
            raise PermissionDenied(
                f"{method} is not open to anyone", metadata={"reason": "unlisted_method"}
            )
        principal = self._authenticate(_metadata(details, "authorization"))
        if isinstance(right, Permission) and not principal.may(right):
            raise PermissionDenied(
                f"account '{principal.account}' may not {right.value}",
                metadata={"reason": "missing_role"},
            )
        return principal

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Req, Resp] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Req, Resp] | None:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method.startswith(_ALWAYS_OPEN):
            return handler
        if self._rights.get(method) is OPEN:
            return handler
        principal: Principal | None = None
        refusal: SpfedError | None = None
        try:
            principal = self._check(handler_call_details)
        except SpfedError as exc:
            refusal = exc

        def admit(context: Context) -> None:
            if refusal is not None:
                reason = refusal.metadata.get("reason", "-")
                audit.warning(
                    "event=call_rejected method=%s code=%s reason=%s peer=%s",
                    method,
                    refusal.code.name,
                    reason,
                    context.peer(),
                )
                if self._refused is not None:
                    self._refused(reason)
                raise refusal
            assert principal is not None
            CALLER.set(principal)

        def unary(inner: Unary) -> Unary:
            async def call(request: Any, context: Context) -> Any:
                admit(context)
                return await inner(request, context)

            return call

        def stream(inner: Stream) -> Stream:
            async def call(request: Any, context: Context) -> AsyncIterator[Any]:
                admit(context)
                async for item in inner(request, context):
                    yield item

            return call

        return rewrap(handler, unary, stream)
