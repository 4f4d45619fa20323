"""Access tokens over time: renewed before they expire, replaced when refused.

Neither a token that runs out nor one the node revokes makes a call fail:
the client signs in again. That holds for a person's client and for an
upper SP's service account at its lower SP.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from spfed.client import PlatformClient
from spfed.model import ServiceState
from tests.integration._federation import Federation, Operator, demo_request, demo_spec, settle

pytestmark = pytest.mark.timeout(60)

SHORT = {"auth": {"token_ttl_s": 11, "leeway_s": 0}}
"""Tokens of 11 s: a client renews them 10 s ahead, so about every second."""


@pytest.fixture
async def fed(tmp_path: Path) -> AsyncIterator[Federation]:
    spec = {"solo": Operator("ams", "nl", settings=SHORT)}
    federation = await Federation.start(tmp_path, spec)
    try:
        yield federation
    finally:
        await federation.stop()


def count_sign_ins(client: PlatformClient) -> list[float]:
    """Times at which ``client`` signed in (by wrapping its ``issue_token``)."""
    times: list[float] = []
    original = client.issue_token

    async def counted(credential: object) -> object:
        times.append(time.monotonic())
        return await original(credential)  # type: ignore[arg-type]

    client._keeper._issue = counted  # type: ignore[union-attr]
    return times


async def test_tokens_are_renewed_before_they_expire_and_no_call_fails(
    fed: Federation,
) -> None:
    async with fed.client("solo", "alice") as client:
        sign_ins = count_sign_ins(client)
        began = time.monotonic()
        calls = 0
        while time.monotonic() - began < 3.0:
            await client.get_catalogue()  # raises on any failure
            calls += 1
            await asyncio.sleep(0.02)
    assert calls > 50
    assert len(sign_ins) >= 3  # renewed along the way, never let lapse


async def test_a_revoked_token_is_replaced_transparently(fed: Federation) -> None:
    # Two clients of the admin: one rotates the key, the other is the one watched.
    async with fed.client("solo") as client, fed.client("solo") as operator:
        sign_ins = count_sign_ins(client)
        await client.get_catalogue()
        assert len(sign_ins) == 1
        await operator.rotate_signing_key(revoke_previous=True)
        # The client's token was signed with the revoked key: the node refuses it,
        # the client signs in again and the call succeeds.
        await client.get_catalogue()
        assert len(sign_ins) == 2
        await operator.rotate_signing_key(revoke_previous=True)
        # A stream refused for its token is started again with a fresh one.
        async with contextlib.aclosing(client.watch_catalogue()) as stream:
            first = await anext(stream)
        assert first.publisher == "solo"
        assert len(sign_ins) == 3


async def test_an_upper_sp_keeps_delegating_across_its_lower_sps_key_revocation(
    tmp_path: Path,
) -> None:
    fed = await Federation.start(tmp_path, demo_spec())
    try:
        for operator in ("wholesale-eu", "wholesale-us", "edge-be"):
            async with fed.client(operator) as admin:
                await admin.rotate_signing_key(revoke_previous=True)
        async with fed.client("retail", "alice") as retail:
            op = await retail.instantiate(demo_request("after-revocation"))
            record, _ = await settle(retail, op.service_id)
        assert record.state is ServiceState.ACTIVE, record.error
    finally:
        await fed.stop()
