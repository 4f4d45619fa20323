"""The JSON kept in structured columns reads back as the same domain value."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from spfed.model import InstantiateRequest, ServiceEvent, ServiceRecord
from spfed.storage import _codecs as codec
from tests import strategies as s


@settings(deadline=None, max_examples=40)
@given(s.service_records(max_depth=2))
def test_parts_with_remote_records_round_trip(record: ServiceRecord) -> None:
    for part in record.parts:
        assert codec.load(codec.PART, codec.dump(codec.PART, part)) == part
    assert codec.load(codec.CONSTRAINTS, codec.dump(codec.CONSTRAINTS, record.constraints)) == (
        record.constraints
    )


@settings(deadline=None, max_examples=40)
@given(s.instantiate_requests())
def test_requests_round_trip(request: InstantiateRequest) -> None:
    assert codec.load(codec.REQUEST, codec.dump(codec.REQUEST, request)) == request


@settings(deadline=None, max_examples=40)
@given(s.service_events)
def test_events_round_trip(event: ServiceEvent) -> None:
    assert codec.load(codec.EVENT, codec.dump(codec.EVENT, event)) == event


@settings(deadline=None, max_examples=40)
@given(st.one_of(s.catalogues, s.error_statuses, s.refs))
def test_catalogues_errors_and_refs_round_trip(value: Any) -> None:
    adapters: dict[str, TypeAdapter[Any]] = {
        "Catalogue": codec.CATALOGUE,
        "ErrorStatus": codec.ERROR,
        "DescriptorRef": codec.REF,
    }
    adapter = adapters[type(value).__name__]
    assert codec.load(adapter, codec.dump(adapter, value)) == value
