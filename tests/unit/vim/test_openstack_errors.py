"""The OpenStack driver's error table: each row, from errors shaped as the SDK raises them."""

from __future__ import annotations

import json

import keystoneauth1.exceptions as ksa
import pytest
import requests
from openstack import exceptions as sdk

from lower_sp.local.vim.openstack.errors import WaitAborted, neutron_type, translate
from spfed.errors import (
    Aborted,
    AlreadyExists,
    Cancelled,
    DeadlineExceeded,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    SpfedError,
    Unavailable,
)


def _response(status: int, body: object) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    response.headers["content-type"] = "application/json"
    response.headers["x-openstack-request-id"] = "req-42"
    return response


def _http(status: int, message: str, *, neutron: str = "") -> sdk.HttpException:
    """What ``openstack.exceptions.raise_from_response`` raises for such an answer."""
    body: dict[str, object] = (
        {"NeutronError": {"type": neutron, "message": message, "detail": ""}}
        if neutron
        else {"error": {"message": message, "code": status}}
    )
    try:
        sdk.raise_from_response(_response(status, body))
    except sdk.HttpException as exc:
        return exc
    raise AssertionError("raise_from_response raised nothing")


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            _http(403, "Quota exceeded for cores: Requested 4, but already used 18 of 20"),
            ResourceExhausted,
        ),
        (
            _http(409, "Quota exceeded for resources: ['port'].", neutron="OverQuota"),
            ResourceExhausted,
        ),
        (_http(413, "Maximum number of ports exceeded"), ResourceExhausted),
        (_http(404, "Network abc could not be found.", neutron="NetworkNotFound"), NotFound),
        (_http(400, "Port id abc could not be found."), NotFound),
        (
            _http(
                409, "IP address 10.0.0.5 already allocated", neutron="IpAddressAlreadyAllocated"
            ),
            AlreadyExists,
        ),
        (_http(409, "MAC address in use", neutron="MacAddressInUse"), AlreadyExists),
        (
            _http(409, "ports still in use on the network", neutron="NetworkInUse"),
            FailedPrecondition,
        ),
        (_http(409, "Port abc is still in use."), FailedPrecondition),
        (_http(409, "Cannot 'delete' instance while it is in task_state spawning"), Aborted),
        (_http(400, "Invalid input for fixed_ips"), InvalidArgument),
        (_http(401, "The request you have made requires authentication."), FailedPrecondition),
        (
            _http(403, "Policy doesn't allow create_network:provider:segmentation_id"),
            FailedPrecondition,
        ),
        (_http(503, "Service Unavailable"), Unavailable),
        (_http(500, "Internal Server Error"), Unavailable),
        (
            sdk.ResourceTimeout("Timeout waiting for Server:x to transition to ACTIVE"),
            DeadlineExceeded,
        ),
        (sdk.ResourceFailure("Server:x transitioned to failure state ERROR"), FailedPrecondition),
        (ksa.ConnectFailure("Unable to establish connection to http://127.0.0.1:1"), Unavailable),
        (ksa.ConnectTimeout("timed out"), Unavailable),
        (ksa.DiscoveryFailure("Could not find versioned identity endpoints"), Unavailable),
        (requests.ConnectionError("refused"), Unavailable),
        (ksa.Unauthorized("bad password"), FailedPrecondition),
        (ksa.EndpointNotFound("no placement"), FailedPrecondition),
        (sdk.ConfigException("Cloud nowhere was not found."), FailedPrecondition),
        (WaitAborted("server-1"), Cancelled),
        (sdk.SDKException("something odd"), Internal),
        (RuntimeError("a bug"), Internal),
    ],
)
def test_each_row_of_the_table(error: BaseException, expected: type[SpfedError]) -> None:
    translated = translate(error, "create port p", "os1")

    assert type(translated) is expected
    assert translated.message.startswith("create port p on pop os1: ")
    assert translated.metadata["pop"] == "os1"
    assert translated.metadata["sdk_error"] == type(error).__name__


def test_http_errors_carry_their_status_and_request_id() -> None:
    translated = translate(_http(409, "in use", neutron="PortInUse"), "delete port", "os1")

    assert translated.metadata["http_status"] == "409"
    assert translated.metadata["request_id"] == "req-42"


def test_quota_errors_name_the_pop_in_one_violation() -> None:
    error = _http(403, "Quota exceeded for instances: Requested 1, but already used 10 of 10")

    translated = translate(error, "create server vm", "os1")

    (violation,) = translated.quota_violations
    assert violation.subject == "pop:os1"
    assert "10 of 10" in violation.description


def test_a_domain_error_passes_through_unchanged() -> None:
    error = NotFound("gone")

    assert translate(error, "anything", "os1") is error


def test_the_neutron_type_is_read_from_the_body_only() -> None:
    assert neutron_type(_http(409, "x", neutron="MacAddressInUse")) == "MacAddressInUse"
    assert neutron_type(_http(409, "x")) == ""
    assert neutron_type(RuntimeError("no response")) == ""


def _rewrapped(inner: BaseException) -> sdk.SDKException:
    """What ``Connection.authorize`` raises: a bare SDKException over keystoneauth's error."""
    try:
        try:
            raise inner
        except ksa.ClientException as exc:
            raise sdk.SDKException(str(exc))  # noqa: B904 - as openstacksdk does
    except sdk.SDKException as outer:
        return outer


def test_a_bare_sdk_exception_is_classified_by_the_error_it_wraps() -> None:
    refused = translate(_rewrapped(ksa.ConnectFailure("refused")), "connect", "os1")
    unauthorized = translate(_rewrapped(ksa.Unauthorized("401")), "connect", "os1")

    assert type(refused) is Unavailable
    assert type(unauthorized) is FailedPrecondition
