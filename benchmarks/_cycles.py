"""Shared by the benchmarks: instantiate-then-terminate cycles timed through the event stream."""

from __future__ import annotations

import time
from dataclasses import replace

from spfed.client import PlatformClient
from spfed.model import InstantiateRequest, ServiceState

__all__ = ["cycles", "settle"]


async def settle(
    client: PlatformClient, service_id: str, after: int = 0, top: str = "retail"
) -> tuple[ServiceState | None, int]:
    """Follow the service's events until the top node settles; its state and the last sequence."""
    state = None
    async for event in client.watch_service(service_id, after=after, until_settled=True):
        after = event.sequence
        if event.origin == (top,) and event.state is not None:
            state = event.state
    return state, after


async def cycles(
    client: PlatformClient, request: InstantiateRequest, runs: int, warmup: int
) -> tuple[list[float], list[float]]:
    """Instantiate then terminate ``request`` ``warmup + runs`` times; the latencies of the
    last ``runs``, in ms: until the top node reports ACTIVE, then TERMINATED.

    Raises:
        SystemExit: a run did not reach ACTIVE or TERMINATED.
    """
    create: list[float] = []
    delete: list[float] = []
    for i in range(warmup + runs):
        began = time.perf_counter()
        op = await client.instantiate(replace(request, request_id=f"{request.request_id}-{i}"))
        state, seen = await settle(client, op.service_id)
        took = (time.perf_counter() - began) * 1000
        if state is not ServiceState.ACTIVE:
            raise SystemExit(f"run {i}: the service ended {state}")
        began = time.perf_counter()
        await client.terminate(op.service_id, f"{request.request_id}-t-{i}")
        state, _ = await settle(client, op.service_id, seen)
        took_delete = (time.perf_counter() - began) * 1000
        if state is not ServiceState.TERMINATED:
            raise SystemExit(f"run {i}: termination ended {state}")
        if i >= warmup:
            create.append(took)
            delete.append(took_delete)
    return create, delete
