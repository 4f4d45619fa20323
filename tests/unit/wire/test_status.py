"""Domain errors to ``google.rpc.Status`` and back: the one translation table."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status
from hypothesis import given, settings
from hypothesis import strategies as st

from spfed import errors
from spfed.errors import FieldViolation, QuotaViolation, SpfedError
from spfed.model import ErrorStatus
from spfed.wire import (
    error_from_rpc,
    error_from_status,
    error_status_from_pb,
    error_status_to_pb,
    grpc_status_for,
    status_from_error,
)
from spfed.wire.status import ERROR_DOMAIN
from tests import strategies as s

LEAVES: list[type[SpfedError]] = [
    getattr(errors, name)
    for name in errors.__all__
    if isinstance(getattr(errors, name), type)
    and issubclass(getattr(errors, name), SpfedError)
    and getattr(errors, name) is not SpfedError
]


def test_every_leaf_of_the_tree_is_covered() -> None:
    assert len(LEAVES) == 12
    assert len({leaf.code for leaf in LEAVES}) == 12


@settings(deadline=None, max_examples=200)
@given(
    st.sampled_from(LEAVES),
    s.texts,
    st.lists(s.field_violations, max_size=3),
    st.lists(s.quota_violations, max_size=3),
    st.lists(s.operator_ids, max_size=3),
    s.operator_ids,
)
def test_every_leaf_survives_the_wire_with_the_node_prepended_to_its_origin(
    leaf: type[SpfedError],
    message: str,
    fields: list[FieldViolation],
    quotas: list[QuotaViolation],
    origin: list[str],
    node: str,
) -> None:
    error = leaf(message, field_violations=fields, quota_violations=quotas, origin=origin)
    status = status_pb2.Status.FromString(status_from_error(error, node).SerializeToString())
    assert status.code == leaf.code.value[0]
    back = error_from_status(status)
    assert type(back) is leaf
    assert back.message == message
    assert back.field_violations == tuple(fields)
    assert back.quota_violations == tuple(quotas)
    assert back.origin == (node, *origin)
    assert back.temporary == leaf.temporary


def test_a_status_carries_error_info_bad_request_and_quota_failure() -> None:
    error = errors.InvalidArgument(
        "bad", field_violations=[FieldViolation("descriptors.nsd.ref", "required")], origin=("b",)
    )
    status = status_from_error(error, "a")
    info, bad = error_details_pb2.ErrorInfo(), error_details_pb2.BadRequest()
    assert status.details[0].Unpack(info)
    assert (info.reason, info.domain, dict(info.metadata)) == (
        "INVALID_ARGUMENT",
        ERROR_DOMAIN,
        {"origin": "a/b"},
    )
    assert status.details[1].Unpack(bad)
    assert len(status.details) == 2  # no empty QuotaFailure


@pytest.mark.parametrize("number", [code_pb2.OK, 17, 99, -1])
def test_codes_without_a_leaf_map_to_the_base_error(number: int) -> None:
    error = error_from_status(status_pb2.Status(code=number, message="odd"))
    assert type(error) is SpfedError
    assert error.message == "odd"


def test_an_unknown_code_name_at_rest_serialises_as_unknown() -> None:
    status = error_status_to_pb(ErrorStatus("NOT_A_CODE", "m"), "n")
    assert status.code == code_pb2.UNKNOWN
    assert error_status_from_pb(status).code == "UNKNOWN"
    assert type(ErrorStatus("NOT_A_CODE", "m").to_error()) is SpfedError


def test_foreign_details_are_ignored() -> None:
    status = status_pb2.Status(code=code_pb2.ABORTED, message="m")
    status.details.add().Pack(error_details_pb2.DebugInfo(detail="stack"))
    back = error_status_from_pb(status)
    assert back == ErrorStatus("ABORTED", "m")


def _rpc_error(
    status: status_pb2.Status | None, code: grpc.StatusCode, details: str
) -> grpc.aio.AioRpcError:
    trailing = grpc.aio.Metadata()
    if status is not None:
        converted = rpc_status.to_status(status)
        for key, value in converted.trailing_metadata:
            trailing.add(key, value)
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), trailing, details=details)


def test_a_lower_sps_typed_error_is_rebuilt_from_the_call() -> None:
    sent = errors.ResourceExhausted(
        "PoP full", quota_violations=[QuotaViolation("pop:ams", "no room")], origin=("edge",)
    )
    status = status_from_error(sent, "wholesale")
    exc = _rpc_error(status, grpc.StatusCode.RESOURCE_EXHAUSTED, "PoP full")
    back = error_from_rpc(exc, "wholesale")
    assert type(back) is errors.ResourceExhausted
    assert back.origin == ("wholesale", "edge")
    assert back.quota_violations == sent.quota_violations


@pytest.mark.parametrize(
    ("code", "leaf"),
    [
        (grpc.StatusCode.UNAVAILABLE, errors.Unavailable),
        (grpc.StatusCode.DEADLINE_EXCEEDED, errors.DeadlineExceeded),
        (grpc.StatusCode.UNIMPLEMENTED, SpfedError),
    ],
)
def test_a_bare_status_keeps_its_code_and_names_the_peer(
    code: grpc.StatusCode, leaf: type[SpfedError]
) -> None:
    back = error_from_rpc(_rpc_error(None, code, "connection refused"), "lower SP wholesale")
    assert type(back) is leaf
    expected = (
        "cannot reach lower SP wholesale" if leaf is errors.Unavailable else "lower SP wholesale"
    )
    assert back.message == f"{expected}: connection refused"
    assert back.origin == ()


def test_a_bare_status_without_details_names_the_code() -> None:
    back = error_from_rpc(_rpc_error(None, grpc.StatusCode.UNAVAILABLE, ""), "lower SP w")
    assert back.message == "cannot reach lower SP w: UNAVAILABLE"


def test_grpc_status_for_carries_code_message_and_details() -> None:
    status = status_from_error(errors.NotFound("gone"), "n")
    converted = grpc_status_for(status)
    assert converted.code is grpc.StatusCode.NOT_FOUND
    assert converted.details == "gone"
    [(key, value)] = converted.trailing_metadata
    assert key == "grpc-status-details-bin"
    assert isinstance(value, bytes)
    assert status_pb2.Status.FromString(value) == status


def test_a_status_that_disagrees_with_the_calls_code_is_still_translated() -> None:
    status = status_from_error(errors.NotFound("gone"), "lower")
    exc = _rpc_error(status, grpc.StatusCode.UNAVAILABLE, "upstream connect error")
    assert isinstance(error_from_rpc(exc, "lower"), SpfedError)
