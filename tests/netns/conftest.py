"""Fixtures of the data plane tests: a unique prefix per test, cleaned up even on failure.

The tests that build namespaces need root and a usable ``ip netns``; they skip with
the reason otherwise (CI runs as root, so there they run). The unit tests next to
them need neither.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest

from spfed.netns import Fabric, cleanup, inventory


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    """``sf`` + 6 hex characters; at teardown everything of it is removed, then checked gone.

    The check covers the fabric's own ``inventory`` and, independently of it,
    ``ip netns list`` and the interfaces of every namespace (``ip -all netns exec``).
    """
    name = f"sf{secrets.token_hex(3)}"
    try:
        yield name
    finally:
        await cleanup(name)
    left = await inventory(name)
    assert left.empty, f"left behind: {left}"
    assert f"{name}-" not in await _output("ip", "netns", "list")
    assert f"{name}-" not in await _output("ip", "-all", "netns", "exec", "ip", "link")
    assert f"{name}-" not in await _output("ip", "link")


async def _output(*argv: str) -> str:
    """Stdout of ``argv`` (whatever its exit status: other namespaces may refuse)."""
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
    )
    try:
        stdout, _ = await asyncio.wait_for(process.communicate(), 10)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return stdout.decode(errors="replace")


@pytest.fixture
def fabric(prefix: str) -> Fabric:
    """A fabric of the test's prefix."""
    return Fabric(prefix)
