"""JSON codecs for the structured columns, derived from the domain dataclasses."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import TypeAdapter

from spfed.model import (
    AddressAssignment,
    AddressConstraint,
    Catalogue,
    DescriptorRef,
    ErrorStatus,
    InstantiateRequest,
    ServiceEvent,
    ServicePart,
)

T = TypeVar("T")

PART: TypeAdapter[ServicePart] = TypeAdapter(ServicePart)
REQUEST: TypeAdapter[InstantiateRequest] = TypeAdapter(InstantiateRequest)
ERROR: TypeAdapter[ErrorStatus] = TypeAdapter(ErrorStatus)
EVENT: TypeAdapter[ServiceEvent] = TypeAdapter(ServiceEvent)
CONSTRAINTS: TypeAdapter[tuple[AddressConstraint, ...]] = TypeAdapter(tuple[AddressConstraint, ...])
ASSIGNMENTS: TypeAdapter[tuple[AddressAssignment, ...]] = TypeAdapter(tuple[AddressAssignment, ...])
CATALOGUE: TypeAdapter[Catalogue] = TypeAdapter(Catalogue)
REF: TypeAdapter[DescriptorRef] = TypeAdapter(DescriptorRef)
SCHEDULE: TypeAdapter[tuple[tuple[str, ...], ...]] = TypeAdapter(tuple[tuple[str, ...], ...])
JSON: TypeAdapter[Any] = TypeAdapter(Any)


def dump(adapter: TypeAdapter[T], value: T) -> str:
    """Serialise a value to JSON text."""
    return adapter.dump_json(value).decode()


def load(adapter: TypeAdapter[T], text: str) -> T:
    """Read a value from JSON text written by ``dump``."""
    return adapter.validate_json(text)


def dump_optional(adapter: TypeAdapter[T], value: T | None) -> str | None:
    """``dump``, passing None through."""
    return None if value is None else dump(adapter, value)


def load_optional(adapter: TypeAdapter[T], text: str | None) -> T | None:
    """``load``, passing None through."""
    return None if text is None else load(adapter, text)
