"""Pins the public names of ``lower_sp.local.vim``: changing them is an API change."""

from __future__ import annotations

import lower_sp.local.vim


def test_public_names() -> None:
    assert sorted(lower_sp.local.vim.__all__) == [
        "BUILTIN_VIM_DRIVERS",
        "CHAIN_DOWNSTREAM_KEY",
        "CHAIN_UPSTREAM_KEY",
        "EmulatedPop",
        "EmulatedResource",
        "MemoryPopStateStore",
        "NetnsPlacement",
        "NetworkHandle",
        "NetworkRequest",
        "PopStateStore",
        "PortHandle",
        "PortRequest",
        "ServerHandle",
        "ServerRequest",
        "ServerStatus",
        "TAG_PATTERN",
        "TaggedResources",
        "UnknownVimDriver",
        "VIM_DRIVER_ENTRY_POINT_GROUP",
        "Vim",
        "VimCapacity",
        "VimDriver",
        "VimDriverRegistry",
        "with_netns_node",
    ]
    for name in lower_sp.local.vim.__all__:
        assert getattr(lower_sp.local.vim, name) is not None


def test_the_entry_point_group_matches_the_builtins() -> None:
    assert lower_sp.local.vim.VIM_DRIVER_ENTRY_POINT_GROUP == "spfed.vim_drivers"
    assert (
        lower_sp.local.vim.BUILTIN_VIM_DRIVERS["emulated"]
        == "lower_sp.local.vim.emulated:EmulatedPop"
    )
