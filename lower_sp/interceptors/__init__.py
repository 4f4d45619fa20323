"""Server interceptors: cross-cutting behaviour of every RPC, as a chain."""

from lower_sp.interceptors.access import AccessLogInterceptor
from lower_sp.interceptors.auth import CALLER, AuthInterceptor
from lower_sp.interceptors.decode import DecodeInterceptor
from lower_sp.interceptors.errors import ErrorInterceptor

__all__ = [
    "CALLER",
    "AccessLogInterceptor",
    "AuthInterceptor",
    "DecodeInterceptor",
    "ErrorInterceptor",
]
