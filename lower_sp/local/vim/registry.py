"""Choosing a VIM driver by name: built-in drivers, and third-party ones by entry point.

A PoP's configuration names its driver (``PopConfig.driver``). Built-in
drivers are listed here as ``module:attribute`` references and imported only
when first used, so a heavy SDK (openstacksdk) costs nothing to a node that
does not use it. Third-party drivers are installed packages declaring an entry
point in the ``spfed.vim_drivers`` group::

    [project.entry-points."spfed.vim_drivers"]
    mycloud = "mycloud_spfed.driver:MyCloudVim"

A driver is any object with ``from_config(pop, store) -> Vim``, usually the
``Vim`` class itself with a classmethod.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Protocol, cast

from lower_sp.local.vim.base import Vim
from lower_sp.local.vim.state import PopStateStore
from spfed.config import PopConfig
from spfed.errors import AlreadyExists, FailedPrecondition, FieldViolation, InvalidArgument

__all__ = [
    "BUILTIN_VIM_DRIVERS",
    "VIM_DRIVER_ENTRY_POINT_GROUP",
    "UnknownVimDriver",
    "VimDriver",
    "VimDriverRegistry",
]

VIM_DRIVER_ENTRY_POINT_GROUP = "spfed.vim_drivers"
"""Entry-point group of third-party VIM drivers."""

BUILTIN_VIM_DRIVERS: Mapping[str, str] = {
    "emulated": "lower_sp.local.vim.emulated:EmulatedPop",
    "openstack": "lower_sp.local.vim.openstack:OpenStackVim",
}
"""Drivers shipped with spfed, by name, as ``module:attribute``."""


class VimDriver(Protocol):
    """What the registry needs of a driver: a way to build one PoP's ``Vim``."""

    def from_config(self, pop: PopConfig, store: PopStateStore) -> Vim:
        """The (not yet started) ``Vim`` of ``pop``; ``store`` is for drivers that keep state.

        Raises:
            InvalidArgument: ``pop.options`` are wrong for this driver.
        """
        ...


class UnknownVimDriver(InvalidArgument):
    """A PoP names a driver that is neither built in nor installed.

    An ``InvalidArgument`` (not a bare ``ValueError``) because it is a fault in
    what the operator configured, reported like any other: the field violation
    names ``pops.<pop>.driver`` and the message lists the known drivers, so the
    composition root can print it as is, and it maps to INVALID_ARGUMENT should
    a driver ever be chosen through the API.
    """


def _unknown(pop: str, driver: str, known: tuple[str, ...]) -> UnknownVimDriver:
    listed = ", ".join(known) or "none"
    description = f"unknown VIM driver '{driver}'; known drivers: {listed}"
    return UnknownVimDriver(
        f"PoP {pop}: {description}" if pop else description,
        field_violations=[FieldViolation(f"pops.{pop}.driver" if pop else "driver", description)],
        metadata={"driver": driver, "known_drivers": ",".join(known)},
    )


def _load(entry: EntryPoint) -> VimDriver:
    try:
        loaded = entry.load()
    except Exception as exc:
        # Third-party code can fail to import in any way; the node must say which driver.
        raise FailedPrecondition(
            f"VIM driver '{entry.name}' ({entry.value}) cannot be loaded: {exc!r}"
        ) from exc
    if not callable(getattr(loaded, "from_config", None)):
        raise FailedPrecondition(
            f"VIM driver '{entry.name}' ({entry.value}) has no from_config(pop, store)"
        )
    return cast(VimDriver, loaded)


class VimDriverRegistry:
    """VIM drivers by name; entry points are loaded on first use and then kept.

    ``VimDriverRegistry.default()`` is what a node uses. An empty registry plus
    ``register``/``discover`` serves tests and embedders.
    """

    def __init__(self) -> None:
        self._drivers: dict[str, VimDriver | EntryPoint] = {}

    @classmethod
    def default(cls) -> VimDriverRegistry:
        """The built-in drivers, then every installed ``spfed.vim_drivers`` entry point.

        An installed package cannot replace a built-in driver by reusing its
        name: the built-in one is registered first and wins.
        """
        registry = cls()
        for name, target in BUILTIN_VIM_DRIVERS.items():
            registry.register(name, EntryPoint(name, target, VIM_DRIVER_ENTRY_POINT_GROUP))
        registry.discover()
        return registry

    def register(self, name: str, driver: VimDriver | EntryPoint) -> None:
        """Register a driver, or an entry point to load on first use, under ``name``.

        Raises:
            AlreadyExists: ``name`` is registered already.
        """
        if name in self._drivers:
            raise AlreadyExists(f"VIM driver '{name}' is registered already")
        self._drivers[name] = driver

    def discover(self, group: str = VIM_DRIVER_ENTRY_POINT_GROUP) -> tuple[str, ...]:
        """Register the installed entry points of ``group`` whose names are still free.

        Nothing is imported yet. Returns the names added.
        """
        added = []
        for entry in entry_points(group=group):
            if entry.name not in self._drivers:
                self._drivers[entry.name] = entry
                added.append(entry.name)
        return tuple(added)

    def names(self) -> tuple[str, ...]:
        """Registered driver names, sorted."""
        return tuple(sorted(self._drivers))

    def driver(self, name: str, *, pop: str = "") -> VimDriver:
        """The driver registered as ``name``, loading its entry point if needed.

        ``pop`` only names the PoP in errors.

        Raises:
            UnknownVimDriver: nothing is registered as ``name``.
            FailedPrecondition: its entry point cannot be imported, or the
                object it names has no ``from_config``.
        """
        entry = self._drivers.get(name)
        if entry is None:
            raise _unknown(pop, name, self.names())
        if isinstance(entry, EntryPoint):
            entry = _load(entry)
            self._drivers[name] = entry
        return entry

    def create(self, pop: PopConfig, store: PopStateStore) -> Vim:
        """The ``Vim`` of ``pop``, built by the driver it names (not yet started).

        Raises:
            UnknownVimDriver: ``pop.driver`` is not registered; the message
                lists the registered drivers.
            FailedPrecondition: the driver cannot be loaded.
            InvalidArgument: the driver rejects ``pop.options``.
        """
        return self.driver(pop.driver, pop=pop.name).from_config(pop, store)
