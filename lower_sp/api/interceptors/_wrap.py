"""Re-wrapping a method handler's behaviour, shared by the interceptors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar, cast

import grpc

Context = grpc.aio.ServicerContext[Any, Any]
Unary = Callable[[Any, Context], Awaitable[Any]]
Stream = Callable[[Any, Context], AsyncIterator[Any]]
Req = TypeVar("Req")
Resp = TypeVar("Resp")


def rewrap(
    handler: grpc.RpcMethodHandler[Req, Resp],
    unary: Callable[[Unary], Unary],
    stream: Callable[[Stream], Stream],
    request_deserializer: Callable[[bytes], Any] | None = None,
) -> grpc.RpcMethodHandler[Req, Resp]:
    """The same handler with its unary-unary or unary-stream behaviour wrapped, and its
    request deserializer replaced when one is given (handlers with request streams are
    returned as they are)."""
    deserializer = request_deserializer or handler.request_deserializer
    if handler.unary_unary is not None:
        return cast(
            "grpc.RpcMethodHandler[Req, Resp]",
            grpc.unary_unary_rpc_method_handler(
                cast(Any, unary(cast(Unary, handler.unary_unary))),
                request_deserializer=deserializer,
                response_serializer=handler.response_serializer,
            ),
        )
    if handler.unary_stream is not None:
        return cast(
            "grpc.RpcMethodHandler[Req, Resp]",
            grpc.unary_stream_rpc_method_handler(
                cast(Any, stream(cast(Stream, handler.unary_stream))),
                request_deserializer=deserializer,
                response_serializer=handler.response_serializer,
            ),
        )
    return handler
