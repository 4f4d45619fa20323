"""Domain → proto → bytes → proto → domain gives the same value back.

Where the wire deliberately changes a value, the expectation says so: an error held at a
node is serialised with that node prepended to its origin.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TypeVar

import pytest
from google.protobuf.message import Message
from hypothesis import given, settings

from spfed.api.v1 import catalogue_pb2, descriptors_pb2, services_pb2
from spfed.api.v1 import platform_service_pb2 as api
from spfed.errors import InvalidArgument
from spfed.model import (
    Catalogue,
    ConnectivityType,
    ErrorStatus,
    InstantiateRequest,
    NetworkServiceDescriptor,
    Offer,
    OfferKind,
    Operation,
    ServiceEvent,
    ServiceRecord,
    ServiceState,
    SignedCatalogue,
    VnfDescriptor,
)
from spfed.wire import (
    catalogue_from_pb,
    catalogue_payload,
    catalogue_to_pb,
    event_from_pb,
    event_to_pb,
    instantiate_request_from_pb,
    instantiate_request_to_pb,
    nsd_from_pb,
    nsd_to_pb,
    operation_from_pb,
    operation_to_pb,
    service_from_pb,
    service_to_pb,
    signed_catalogue_from_pb,
    signed_catalogue_to_pb,
    vnfd_from_pb,
    vnfd_to_pb,
)
from tests import strategies as s

M = TypeVar("M", bound=Message)


def through_bytes(message: M) -> M:
    """Serialise and parse again, as the other end of a call would."""
    return type(message).FromString(message.SerializeToString())


def held_at(error: ErrorStatus | None, node: str) -> ErrorStatus | None:
    return None if error is None else replace(error, origin=(node, *error.origin))


@settings(deadline=None, max_examples=60)
@given(s.nsds)
def test_nsd_round_trip(nsd: NetworkServiceDescriptor) -> None:
    assert nsd_from_pb(through_bytes(nsd_to_pb(nsd))) == nsd


@settings(deadline=None, max_examples=60)
@given(s.vnfds)
def test_vnfd_round_trip(vnfd: VnfDescriptor) -> None:
    assert vnfd_from_pb(through_bytes(vnfd_to_pb(vnfd))) == vnfd


@settings(deadline=None, max_examples=40)
@given(s.instantiate_requests())
def test_instantiate_request_round_trip(request: InstantiateRequest) -> None:
    msg = through_bytes(instantiate_request_to_pb(request))
    assert isinstance(msg, api.InstantiateServiceRequest)
    assert instantiate_request_from_pb(msg) == request


def _held(record: ServiceRecord) -> ServiceRecord:
    """What a record looks like after crossing the wire: each level's error held at its node."""
    return replace(
        record,
        error=held_at(record.error, record.operator),
        parts=tuple(
            replace(p, remote=None if p.remote is None else _held(p.remote)) for p in record.parts
        ),
    )


@settings(deadline=None, max_examples=60)
@given(s.service_records(max_depth=2))
def test_service_record_round_trip_with_remote_records(record: ServiceRecord) -> None:
    assert service_from_pb(through_bytes(service_to_pb(record))) == _held(record)


@settings(deadline=None, max_examples=30)
@given(s.service_records(max_depth=1))
def test_service_record_without_remote_views(record: ServiceRecord) -> None:
    back = service_from_pb(through_bytes(service_to_pb(record, with_remote=False)))
    assert all(p.remote is None for p in back.parts)
    assert back == replace(
        _held(record), parts=tuple(replace(p, remote=None) for p in record.parts)
    )


@settings(deadline=None, max_examples=100)
@given(s.operations, s.operator_ids)
def test_operation_round_trip(op: Operation, node: str) -> None:
    msg = through_bytes(operation_to_pb(op, node))
    assert msg.done == op.done
    expected = replace(
        op,
        error=held_at(op.error, node),
        tasks=tuple(replace(t, error=held_at(t.error, node)) for t in op.tasks),
    )
    assert operation_from_pb(msg) == expected


@settings(deadline=None, max_examples=100)
@given(s.service_events, s.operator_ids)
def test_event_round_trip(event: ServiceEvent, node: str) -> None:
    back = event_from_pb(through_bytes(event_to_pb(event, node)))
    assert back == replace(event, error=held_at(event.error, node))


@settings(deadline=None, max_examples=100)
@given(s.catalogues)
def test_catalogue_round_trip(catalogue: Catalogue) -> None:
    assert catalogue_from_pb(through_bytes(catalogue_to_pb(catalogue))) == catalogue


# --- what the wire deliberately forgives --------------------------------------------


def test_an_unspecified_service_state_reads_as_failed() -> None:
    msg = services_pb2.Service(id="s", state=services_pb2.SERVICE_STATE_UNSPECIFIED)
    assert service_from_pb(msg).state is ServiceState.FAILED


def test_an_unspecified_connectivity_type_reads_as_e_lan() -> None:
    msg = descriptors_pb2.NetworkServiceDescriptor(
        virtual_links=[descriptors_pb2.VirtualLink(id="l")]
    )
    assert nsd_from_pb(msg).virtual_links[0].connectivity_type is ConnectivityType.E_LAN


def test_offers_of_an_unknown_kind_are_dropped() -> None:
    msg = catalogue_pb2.Catalogue(
        publisher="p",
        offers=[
            catalogue_pb2.Offer(kind=catalogue_pb2.OFFER_KIND_UNSPECIFIED),
            catalogue_pb2.Offer(kind=catalogue_pb2.OfferKind.ValueType(99)),  # a newer peer's kind
            catalogue_pb2.Offer(kind=catalogue_pb2.OFFER_KIND_NETWORK_SERVICE),
        ],
    )
    offers = catalogue_from_pb(msg).offers
    assert [o.kind for o in offers] == [OfferKind.NETWORK_SERVICE]
    assert isinstance(offers[0], Offer)


def test_unknown_enum_values_from_a_newer_peer_read_as_the_default() -> None:
    msg = services_pb2.ServiceEvent(
        kind=services_pb2.ServiceEventKind.ValueType(99),
        state=services_pb2.ServiceState.ValueType(99),
    )
    event = event_from_pb(msg)
    assert event.state is None
    assert event.kind.value == "part_changed"


@given(s.catalogues)
def test_a_signed_catalogue_carries_its_exact_bytes(catalogue: Catalogue) -> None:
    payload = catalogue_payload(catalogue)
    assert payload == catalogue_payload(catalogue)  # deterministic
    signed = SignedCatalogue(catalogue, payload, b"sig", "kid")
    back = signed_catalogue_from_pb(through_bytes(signed_catalogue_to_pb(signed)))
    assert back == signed  # the content is read from the signed bytes themselves


def test_a_signed_payload_that_is_not_a_catalogue_is_invalid() -> None:
    garbage = catalogue_pb2.SignedCatalogue(catalogue=b"\xff\xff\xff", signature=b"", key_id="")
    with pytest.raises(InvalidArgument, match="signed catalogue cannot be read"):
        signed_catalogue_from_pb(garbage)
