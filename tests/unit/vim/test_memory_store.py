"""``MemoryPopStateStore`` keeps the ``PopStateStore`` contract."""

from __future__ import annotations

import math

import pytest

from lower_sp.local.vim import EmulatedResource, MemoryPopStateStore


async def test_put_load_replace_delete() -> None:
    store = MemoryPopStateStore()
    await store.put("a", EmulatedResource("network", "n1", {"cidr": "10.0.0.0/24"}))
    await store.put("a", EmulatedResource("port", "n1", {"address": "10.0.0.2"}))
    await store.put("a", EmulatedResource("network", "n1", {"cidr": "10.9.0.0/24"}))

    loaded = sorted(await store.load("a"), key=lambda r: r.kind)

    assert loaded == [
        EmulatedResource("network", "n1", {"cidr": "10.9.0.0/24"}),
        EmulatedResource("port", "n1", {"address": "10.0.0.2"}),
    ]
    await store.delete("a", "network", "n1")
    await store.delete("a", "network", "n1")
    await store.delete("nowhere", "server", "s1")
    assert await store.load("a") == [EmulatedResource("port", "n1", {"address": "10.0.0.2"})]


async def test_pops_are_separate() -> None:
    store = MemoryPopStateStore()
    await store.put("a", EmulatedResource("server", "s1", {}))

    assert await store.load("b") == []


async def test_stored_data_is_a_copy() -> None:
    store = MemoryPopStateStore()
    data = {"port_ids": ["p1"]}
    await store.put("a", EmulatedResource("server", "s1", data))
    data["port_ids"].append("p2")

    (loaded,) = await store.load("a")
    loaded.data["port_ids"].append("p3")

    assert (await store.load("a"))[0].data == {"port_ids": ["p1"]}


@pytest.mark.parametrize("value", [object(), {1, 2}, math.nan])
async def test_data_must_be_json(value: object) -> None:
    store = MemoryPopStateStore()

    with pytest.raises((TypeError, ValueError)):
        await store.put("a", EmulatedResource("server", "s1", {"x": value}))

    assert await store.load("a") == []
