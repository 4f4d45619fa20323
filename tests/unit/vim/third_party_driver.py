"""Stand-ins for installed third-party VIM drivers, loaded through entry points in tests."""

from __future__ import annotations

from lower_sp.local.vim import EmulatedPop, PopStateStore
from spfed.config import PopConfig


class ThirdPartyVim(EmulatedPop):
    """A driver as a third party would ship it: a ``Vim`` class with ``from_config``."""

    built_from: PopConfig | None = None

    @classmethod
    def from_config(cls, pop: PopConfig, store: PopStateStore) -> ThirdPartyVim:
        vim = cls(pop.name, pop.region, pop.capacity.to_resources(), store)
        vim.built_from = pop
        return vim


NOT_A_DRIVER = object()
