"""The capacity of an OpenStack PoP, from what the account may read.

Three sources, each giving a (total, used) pair per axis (vCPU, MiB, GiB):

- **quota**: Nova's absolute limits of the project (``maxTotalCores`` with
  ``totalCoresUsed``, ``maxTotalRAMSize`` with ``totalRAMUsed``); a limit of
  -1 is no bound. Nova has no disk quota.
- **hosts**: Placement's inventories and usages, summed over the cloud's
  resource providers (VCPU, MEMORY_MB, DISK_GB; ``(total - reserved) x
  allocation_ratio``). Only admin-like accounts may read them.
- **configured**: the PoP's configured capacity, per axis set (non-zero),
  with the project's own usage (its servers' flavors).

On every axis the source with the least room wins: a project is bound by its
quota *and* by what the hosts have left. With ``capacity: configured`` only
the configured capacity counts. An axis that no source bounds is a
configuration error: the operator must give it.
"""

from __future__ import annotations

from dataclasses import dataclass

from lower_sp.local.vim.base import VimCapacity
from spfed.errors import FailedPrecondition, FieldViolation
from spfed.model import Resources

__all__ = ["AxisRoom", "CapacitySources", "QuotaLimits", "combine"]

_AXES = ("vcpus", "memory_mib", "disk_gib")


@dataclass(frozen=True)
class QuotaLimits:
    """Nova's absolute limits of the project; a max of -1 is unbounded."""

    max_cores: int
    used_cores: int
    max_ram_mib: int
    used_ram_mib: int


@dataclass(frozen=True)
class AxisRoom:
    """One source's total and used amount on one axis."""

    source: str
    total: int
    used: int

    @property
    def free(self) -> int:
        return self.total - self.used


@dataclass(frozen=True)
class CapacitySources:
    """Everything ``combine`` may use; ``hosts`` is None when Placement is not readable."""

    configured: Resources
    """The PoP's configured capacity (0 on an axis: not set)."""
    project_used: Resources
    """What the project's servers hold (sum of their flavors)."""
    quota: QuotaLimits | None = None
    """Nova's limits, None when not asked (``capacity: configured``)."""
    hosts: tuple[Resources, Resources] | None = None
    """Placement's (total, used) over all providers, None when not readable."""


def _candidates(sources: CapacitySources, axis: str) -> list[AxisRoom]:
    rooms = []
    configured = getattr(sources.configured, axis)
    if configured:
        rooms.append(AxisRoom("configured", configured, getattr(sources.project_used, axis)))
    quota = sources.quota
    if quota is not None:
        if axis == "vcpus" and quota.max_cores >= 0:
            rooms.append(AxisRoom("quota", quota.max_cores, quota.used_cores))
        if axis == "memory_mib" and quota.max_ram_mib >= 0:
            rooms.append(AxisRoom("quota", quota.max_ram_mib, quota.used_ram_mib))
    if sources.hosts is not None:
        total, used = sources.hosts
        rooms.append(AxisRoom("hosts", getattr(total, axis), getattr(used, axis)))
    return rooms


def combine(sources: CapacitySources, *, pop: str) -> tuple[VimCapacity, dict[str, str]]:
    """The PoP's capacity, and which source bound each axis.

    Raises:
        FailedPrecondition: an axis has no source; the field violation names
            ``pops.<pop>.capacity.<axis>`` to configure.
    """
    total: dict[str, int] = {}
    used: dict[str, int] = {}
    chosen: dict[str, str] = {}
    missing = []
    for axis in _AXES:
        rooms = _candidates(sources, axis)
        if not rooms:
            missing.append(axis)
            continue
        tightest = min(rooms, key=lambda room: (room.free, room.source))
        total[axis], used[axis], chosen[axis] = tightest.total, tightest.used, tightest.source
    if missing:
        raise FailedPrecondition(
            f"pop {pop}: the cloud bounds no {', '.join(missing)} that this account can read"
            " (no quota, no Placement access); configure the PoP's capacity",
            field_violations=[
                FieldViolation(f"pops.{pop}.capacity.{axis}", "required for this cloud")
                for axis in missing
            ],
        )
    return VimCapacity(total=Resources(**total), used=Resources(**used)), chosen
