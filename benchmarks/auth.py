"""Benchmark: what token verification and TLS add to one call.

    python -m benchmarks.auth [--calls 2000]

Four ``grpc.aio`` servers in this process serve the same trivial unary
method behind the node's own interceptor chain (access log, error mapping):

- plaintext, no token;
- plaintext, with the node's auth interceptor checking a bearer token
  against a real gatekeeper (EdDSA, cached after the first verification);
- mutual TLS (topology CA, node and client certificates), no token;
- mutual TLS and the token: what a node runs.

Each is called sequentially from one client; the difference of medians is
the cost added per call. The gatekeeper's ``authenticate`` is also timed on
its own, with its cache (every call after a token's first) and without it
(a token's first call).

This is a benchmark, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc

from lower_sp.api.interceptors import AccessLogInterceptor, AuthInterceptor, ErrorInterceptor
from spfed.auth import ScryptParams, hash_password
from spfed.config import AccountSeed, AuthConfig
from spfed.identity import IdentityProvider
from spfed.model import AccountKind, PasswordCredential, Permission, Role
from spfed.storage import AccountStore, Database
from spfed.tls import ClientTls, ServerTls
from spfed.topology.security import TopologySecurity

METHOD = "/bench.Echo/Call"
PASSWORD = "benchmark password"


async def _echo(request: bytes, context: Any) -> bytes:
    return request


def _server(gatekeeper: IdentityProvider | None) -> grpc.aio.Server:
    interceptors: list[grpc.aio.ServerInterceptor] = [
        AccessLogInterceptor(),
        ErrorInterceptor("bench"),
    ]
    if gatekeeper is not None:
        interceptors.append(
            AuthInterceptor(gatekeeper.authenticate, {METHOD: Permission.READ_CATALOGUE})
        )
    server = grpc.aio.server(interceptors=interceptors)
    handler = grpc.method_handlers_generic_handler(
        "bench.Echo", {"Call": grpc.unary_unary_rpc_method_handler(_echo)}
    )
    server.add_generic_rpc_handlers((handler,))
    return server


async def _latencies(
    call: Callable[[], Awaitable[object]], calls: int, warmup: int = 200
) -> list[float]:
    out = []
    for i in range(warmup + calls):
        started = time.perf_counter()
        await call()
        if i >= warmup:
            out.append((time.perf_counter() - started) * 1000)
    return out


async def _variant(
    gatekeeper: IdentityProvider | None,
    server_tls: ServerTls | None,
    client_tls: ClientTls | None,
    token: str,
    calls: int,
) -> list[float]:
    server = _server(gatekeeper)
    if server_tls is None:
        port = server.add_insecure_port("127.0.0.1:0")
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    else:
        assert client_tls is not None
        port = server.add_secure_port("127.0.0.1:0", server_tls.credentials())
        channel = grpc.aio.secure_channel(f"127.0.0.1:{port}", client_tls.credentials())
    await server.start()
    try:
        stub = channel.unary_unary(METHOD)
        metadata = (("authorization", f"Bearer {token}"),) if token else ()

        async def call() -> object:
            return await stub(b"ping", metadata=metadata, timeout=5)

        return await _latencies(call, calls)
    finally:
        await channel.close()
        await server.stop(0)


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


async def main(calls: int) -> None:
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        security = TopologySecurity.provision(root, "bench", ["bench"], scrypt_log_n=10)
        db = Database.connect(f"sqlite:///{root / 'bench.db'}")
        await db.migrate()
        seed = AccountSeed(
            "bench",
            AccountKind.USER,
            Role.CUSTOMER,
            password_hash=hash_password(PASSWORD, ScryptParams(log_n=10)),
        )
        # It mints 500 fresh tokens in a row from one address to time their first check:
        # the per-source sign-in bucket (2/s after a burst of 40) would refuse that.
        config = AuthConfig(
            key_dir=str(root / "keys"),
            accounts=(seed,),
            scrypt_log_n=10,
            sign_in_rate_per_s=10000.0,
            sign_in_burst=100000,
        )
        gatekeeper = await IdentityProvider.open("bench", config, AccountStore(db))
        token = (await gatekeeper.issue_token(PasswordCredential("bench", PASSWORD))).token
        sections = security.config_sections("bench", [])["tls"]
        server_tls = ServerTls.load(
            sections["cert_file"], sections["key_file"], sections["ca_file"]
        )
        client_tls = security.client_tls()

        results = {
            "plaintext, no token": await _variant(None, None, None, "", calls),
            "plaintext + token": await _variant(gatekeeper, None, None, token, calls),
            "mutual TLS, no token": await _variant(None, server_tls, client_tls, "", calls),
            "mutual TLS + token": await _variant(gatekeeper, server_tls, client_tls, token, calls),
        }

        header = f"Bearer {token}"
        cached = []
        for _ in range(calls):
            started = time.perf_counter()
            gatekeeper.authenticate(header)
            cached.append((time.perf_counter() - started) * 1000)
        uncached = []
        for _ in range(min(calls, 500)):
            fresh = (await gatekeeper.issue_token(PasswordCredential("bench", PASSWORD))).token
            started = time.perf_counter()
            gatekeeper.authenticate(f"Bearer {fresh}")
            uncached.append((time.perf_counter() - started) * 1000)
        await db.close()

    base = _median(results["plaintext, no token"])
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"one unary call, {calls} sequential calls per variant (ms):")
    for label, values in results.items():
        print(
            f"  {label:<24} median {_median(values):6.3f}   p95 {_p95(values):6.3f}"
            f"   added {_median(values) - base:+6.3f}"
        )
    token_cost = _median(results["plaintext + token"]) - base
    tls_cost = _median(results["mutual TLS, no token"]) - base
    print(f"token check adds {token_cost:.3f} ms at the median (target: 0.2 ms or less)")
    print(f"mutual TLS adds {tls_cost:.3f} ms at the median")
    print(
        f"IdentityProvider.authenticate alone: cached median {_median(cached) * 1000:.1f} µs,"
        f" first verification median {_median(uncached) * 1000:.1f} µs"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    ns = parser.parse_args()
    asyncio.run(main(ns.calls))
