"""Compute resources: what a unit needs and what a PoP has."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Resources"]


@dataclass(frozen=True)
class Resources:
    """An amount of compute: vCPUs, memory and disk."""

    vcpus: int = 0
    """Virtual CPUs."""
    memory_mib: int = 0
    """Memory in MiB."""
    disk_gib: int = 0
    """Disk in GiB."""

    def __add__(self, other: Resources) -> Resources:
        return Resources(
            self.vcpus + other.vcpus,
            self.memory_mib + other.memory_mib,
            self.disk_gib + other.disk_gib,
        )

    def __sub__(self, other: Resources) -> Resources:
        return Resources(
            self.vcpus - other.vcpus,
            self.memory_mib - other.memory_mib,
            self.disk_gib - other.disk_gib,
        )

    def fits_in(self, available: Resources) -> bool:
        """Whether this amount fits in ``available`` on every axis."""
        return (
            self.vcpus <= available.vcpus
            and self.memory_mib <= available.memory_mib
            and self.disk_gib <= available.disk_gib
        )

    def shortfall(self, available: Resources) -> list[str]:
        """The axes on which this amount does not fit, as readable phrases."""
        out = []
        if self.vcpus > available.vcpus:
            out.append(f"{self.vcpus} vCPU asked, {available.vcpus} free")
        if self.memory_mib > available.memory_mib:
            out.append(f"{self.memory_mib} MiB memory asked, {available.memory_mib} free")
        if self.disk_gib > available.disk_gib:
            out.append(f"{self.disk_gib} GiB disk asked, {available.disk_gib} free")
        return out

    def __str__(self) -> str:
        return f"{self.vcpus} vCPU, {self.memory_mib} MiB, {self.disk_gib} GiB"
