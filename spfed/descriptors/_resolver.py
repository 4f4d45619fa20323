"""Resolving an NSD's members to their interfaces: the resolver protocol and ``DescriptorSet``.

An NSD's links reference ``member:cp``; whether ``cp`` exists depends on the
member's descriptor, which lives elsewhere (files passed alongside, a node's
catalogue, a lower SP's offers). ``InterfaceResolver`` is what the checks need
from that elsewhere; ``DescriptorSet`` implements it over parsed descriptors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Protocol, TypeVar

from spfed.descriptors._parsed import ParsedDescriptor, kind_of
from spfed.descriptors._versions import version_key, version_matches
from spfed.model import (
    DescriptorRef,
    NetworkServiceDescriptor,
    SliceTemplate,
    VnfDescriptor,
)

_D = TypeVar("_D", NetworkServiceDescriptor, VnfDescriptor)


class InterfaceResolver(Protocol):
    """The external interface of the functions and services an NSD uses.

    ``ref.version`` may be a constraint (``0.3``, ``== 0.3``, ``>= 0.2``).
    """

    def function_points(self, ref: DescriptorRef) -> tuple[str, ...] | None:
        """External connection point ids of a VNF type; ``None`` if it is unknown."""
        ...

    def service_points(self, ref: DescriptorRef) -> tuple[str, ...] | None:
        """External connection point ids of a network service; ``None`` if it is unknown."""
        ...

    def known_functions(self) -> Sequence[DescriptorRef]:
        """The VNF types this resolver knows, for messages."""
        ...

    def known_services(self) -> Sequence[DescriptorRef]:
        """The network services this resolver knows, for messages."""
        ...


def _order(version: str) -> tuple[int, ...]:
    try:
        return version_key(version)
    except ValueError:
        return ()


def _matches(constraint: str, version: str) -> bool:
    try:
        return version_matches(constraint, version)
    except ValueError:
        return False


def refers_to(reference: DescriptorRef, identity: DescriptorRef) -> bool:
    """Whether ``reference`` (its version may be a constraint) names ``identity``."""
    return (
        reference.vendor == identity.vendor
        and reference.name == identity.name
        and _matches(reference.version, identity.version)
    )


_T = TypeVar("_T")


def best_match(
    ref: DescriptorRef, candidates: Iterable[_T], identity: Callable[[_T], DescriptorRef]
) -> _T | None:
    """The candidate with the highest version that ``ref`` names (its version may be a
    constraint); among equal versions, the first given. ``None`` if none matches."""
    matching = [c for c in candidates if refers_to(ref, identity(c))]
    return max(matching, key=lambda c: _order(identity(c).version), default=None)


def _by_name(descriptors: Sequence[_D]) -> dict[tuple[str, str], list[_D]]:
    """Descriptors by vendor and name, in the order given: a lookup then scans
    only the versions of one name, not every descriptor."""
    index: dict[tuple[str, str], list[_D]] = {}
    for descriptor in descriptors:
        index.setdefault((descriptor.ref.vendor, descriptor.ref.name), []).append(descriptor)
    return index


def _find(index: dict[tuple[str, str], list[_D]], ref: DescriptorRef) -> _D | None:
    return best_match(ref, index.get((ref.vendor, ref.name), ()), lambda d: d.ref)


class DescriptorSet:
    """Parsed descriptors that resolve each other's references; immutable.

    Lookups honour version constraints and pick the highest matching version.
    Two descriptors of one kind may share an identity (vendor, name,
    version); the first one given wins and ``conflicts`` reports the clash
    when their contents differ.
    """

    def __init__(self, descriptors: Iterable[ParsedDescriptor] = ()) -> None:
        self._all: tuple[ParsedDescriptor, ...] = tuple(descriptors)
        self._vnfds = tuple(d for d in self._all if isinstance(d, VnfDescriptor))
        self._nsds = tuple(d for d in self._all if isinstance(d, NetworkServiceDescriptor))
        self._slices = tuple(d for d in self._all if isinstance(d, SliceTemplate))
        self._vnfd_index = _by_name(self._vnfds)
        self._nsd_index = _by_name(self._nsds)

    def __iter__(self) -> Iterator[ParsedDescriptor]:
        return iter(self._all)

    def __len__(self) -> int:
        return len(self._all)

    def __repr__(self) -> str:
        return (
            f"DescriptorSet({len(self._nsds)} NSDs, {len(self._vnfds)} VNFDs,"
            f" {len(self._slices)} NSTs)"
        )

    @property
    def vnfds(self) -> tuple[VnfDescriptor, ...]:
        """The VNFDs, in the order given."""
        return self._vnfds

    @property
    def nsds(self) -> tuple[NetworkServiceDescriptor, ...]:
        """The NSDs, in the order given."""
        return self._nsds

    @property
    def slices(self) -> tuple[SliceTemplate, ...]:
        """The slice templates, in the order given."""
        return self._slices

    def find_vnfd(self, ref: DescriptorRef) -> VnfDescriptor | None:
        """The VNFD ``ref`` resolves to (its version may be a constraint), or ``None``."""
        return _find(self._vnfd_index, ref)

    def find_nsd(self, ref: DescriptorRef) -> NetworkServiceDescriptor | None:
        """The NSD ``ref`` resolves to (its version may be a constraint), or ``None``."""
        return _find(self._nsd_index, ref)

    def function_points(self, ref: DescriptorRef) -> tuple[str, ...] | None:
        """External connection point ids of the VNFD ``ref`` resolves to."""
        vnfd = self.find_vnfd(ref)
        return None if vnfd is None else tuple(cp.id for cp in vnfd.connection_points)

    def service_points(self, ref: DescriptorRef) -> tuple[str, ...] | None:
        """The own connection point ids of the NSD ``ref`` resolves to."""
        nsd = self.find_nsd(ref)
        return None if nsd is None else tuple(cp.id for cp in nsd.connection_points)

    def known_functions(self) -> tuple[DescriptorRef, ...]:
        """The VNFDs' identities."""
        return tuple(d.ref for d in self._vnfds)

    def known_services(self) -> tuple[DescriptorRef, ...]:
        """The NSDs' identities."""
        return tuple(d.ref for d in self._nsds)

    def conflicts(self) -> list[tuple[int, int]]:
        """``(index, earlier_index)`` for each descriptor that redefines an earlier one.

        Indices are positions in the order given. Identical copies do not
        conflict.
        """
        first: dict[tuple[str, DescriptorRef], int] = {}
        out = []
        for index, descriptor in enumerate(self._all):
            key = (kind_of(descriptor).value, descriptor.ref)
            earlier = first.setdefault(key, index)
            if earlier != index and self._all[earlier] != descriptor:
                out.append((index, earlier))
        return out
