"""Two-way maps between domain enums and protobuf enum values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Generic, TypeVar, cast

D = TypeVar("D")
P = TypeVar("P", bound=int)


class EnumMap(Generic[D, P]):
    """Maps domain values to protobuf enum values and back.

    Unknown protobuf values (a newer peer, or UNSPECIFIED) read as ``default``.
    """

    def __init__(self, mapping: Mapping[D, P], *, default: D) -> None:
        self._to: dict[D, P] = dict(mapping)
        self._from: dict[int, D] = {int(v): k for k, v in mapping.items()}
        self._default = default

    def to_pb(self, value: D) -> P:
        """The protobuf value of a domain value (0, i.e. UNSPECIFIED, if unmapped)."""
        return self._to.get(value, cast(P, 0))

    def from_pb(self, value: int) -> D:
        """The domain value of a protobuf value."""
        return self._from.get(int(value), self._default)
