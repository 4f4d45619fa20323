"""``error_lines``, ``error_json``, ``json_form``: errors and domain objects for people, scripts."""

from __future__ import annotations

import json

from spfed.cli._render import error_json, error_lines, json_form, json_text
from spfed.errors import (
    FieldViolation,
    InvalidArgument,
    QuotaViolation,
    ResourceExhausted,
    Unavailable,
)
from spfed.model import ErrorStatus
from tests.unit.cli import records


def test_error_lines_name_code_origin_and_every_violation() -> None:
    error = ResourceExhausted(
        "no room for ns_cdn/vnf_cache",
        quota_violations=[
            QuotaViolation("pop:bru", "2 vCPU asked, 0 free"),
            QuotaViolation("pool:services", "no /16 left"),
        ],
        origin=("wholesale-eu", "edge-be"),
    )
    assert error_lines(error) == [
        "RESOURCE_EXHAUSTED at wholesale-eu/edge-be: no room for ns_cdn/vnf_cache",
        "  pop:bru: 2 vCPU asked, 0 free",
        "  pool:services: no /16 left",
    ]


def test_error_lines_field_violations_and_no_origin() -> None:
    error = InvalidArgument(
        "the descriptors are invalid",
        field_violations=[FieldViolation("descriptors.nsd.virtual_links[2]", "unknown point")],
    )
    assert error_lines(error) == [
        "INVALID_ARGUMENT: the descriptors are invalid",
        "  descriptors.nsd.virtual_links[2]: unknown point",
    ]


def test_error_lines_of_a_stored_error_match_the_raised_one() -> None:
    assert error_lines(records.FULL_POP) == error_lines(records.FULL_POP.to_error())


def test_error_json_is_the_error_status_plus_extra_fields() -> None:
    data = error_json(Unavailable("cannot reach a node at 127.0.0.1:1"), request_id="r-1")
    assert data == {
        "error": {
            "code": "UNAVAILABLE",
            "message": "cannot reach a node at 127.0.0.1:1",
            "field_violations": [],
            "quota_violations": [],
            "origin": [],
            "retry_after_s": None,
        },
        "request_id": "r-1",
    }
    assert error_json(records.FULL_POP)["error"]["quota_violations"] == [
        {"subject": "pop:bru", "description": "2 vCPU asked, 0 free"}
    ]


def test_json_form_of_a_record_nests_the_lower_records() -> None:
    data = json_form(records.retail())
    assert data["state"] == "active"
    assert data["create_time"] == "2026-03-01T09:30:00Z"
    assert data["descriptor"] == {
        "vendor": "eu.spfed.demo",
        "name": "secure-chain",
        "version": "1.0",
    }
    weu = data["parts"][1]
    assert weu["kind"] == "delegated"
    edge = weu["remote"]["parts"][1]["remote"]
    assert edge["operator"] == "edge-be"
    port = edge["parts"][0]["vnfs"][0]["units"][0]["ports"][0]
    assert port == {
        "connection_point": "eth1",
        "virtual_link": "nat-2-cdn",
        "address": "10.0.4.129/24",
        "mac": "",
        "port_id": "",
        "vni": 0,
        "mtu": 0,
        "private": False,
    }
    assert json.loads(json_text(records.retail())) == data


def test_json_form_of_a_failed_record_keeps_the_error() -> None:
    data = json_form(records.failed_retail())
    assert data["error"]["code"] == "RESOURCE_EXHAUSTED"
    assert data["error"]["origin"] == ["wholesale-eu", "edge-be"]
    assert data["parts"][0]["remote"] is None


def test_json_form_of_lists_events_and_catalogues() -> None:
    from spfed.model import ServiceEventKind, ServiceState

    listing = json_form([records.retail(), records.failed_retail()])
    assert [r["state"] for r in listing] == ["active", "failed"]
    event = records.event(
        3, ("retail", "wholesale-eu"), ServiceEventKind.STATE_CHANGED, state=ServiceState.ACTIVE
    )
    line = json_text(event, indent=None)
    assert "\n" not in line
    assert json.loads(line)["origin"] == ["retail", "wholesale-eu"]
    assert json.loads(line)["kind"] == "state_changed"
    catalogue = json_form(records.catalogue())
    assert catalogue["offers"][0]["kind"] == "network_service"
    assert catalogue["regions"][0]["free"] == {"vcpus": 7, "memory_mib": 15895, "disk_gib": 195}


def test_error_status_round_trips_through_its_json_form() -> None:
    data = json_form(records.FULL_POP)
    assert (
        ErrorStatus(
            code=data["code"],
            message=data["message"],
            quota_violations=tuple(QuotaViolation(**v) for v in data["quota_violations"]),
            origin=tuple(data["origin"]),
        )
        == records.FULL_POP
    )
