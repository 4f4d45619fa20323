"""Server interceptors: cross-cutting behaviour of every RPC, as a chain."""

from lower_sp.api.interceptors.access import AccessLogInterceptor, RpcObserver
from lower_sp.api.interceptors.auth import CALLER, AuthInterceptor
from lower_sp.api.interceptors.decode import DecodeInterceptor
from lower_sp.api.interceptors.errors import ErrorInterceptor

__all__ = [
    "CALLER",
    "AccessLogInterceptor",
    "AuthInterceptor",
    "DecodeInterceptor",
    "ErrorInterceptor",
    "RpcObserver",
]
