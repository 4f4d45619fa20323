"""Every serialised error is bounded: violations capped and counted, 8 KiB on the wire."""

from __future__ import annotations

import grpc
from google.rpc import error_details_pb2, status_pb2
from hypothesis import given, settings
from hypothesis import strategies as st

from spfed import errors
from spfed.errors import FieldViolation, QuotaViolation
from spfed.model import ErrorStatus
from spfed.wire import error_status_from_pb, grpc_status_for, status_from_error
from spfed.wire._bounds import MAX_ERROR_BYTES, MORE, clip_origin, wire_size


def trailers_size(status: status_pb2.Status) -> int:
    """What the status really costs as sent: the names and values of its trailing metadata,
    the details in base64 and the message percent-encoded (as grpc core sends them)."""
    converted = grpc_status_for(status)
    size = len("grpc-message") + sum(
        1 if 0x20 <= b <= 0x7E and b != 0x25 else 3 for b in converted.details.encode()
    )
    for key, value in converted.trailing_metadata:
        assert isinstance(value, bytes)
        size += len(key) + -(-len(value) // 3) * 4
    return size


def field_violations(status: status_pb2.Status) -> list[FieldViolation]:
    return list(error_status_from_pb(status).field_violations)


def test_thousands_of_violations_become_fifty_and_a_count() -> None:
    error = errors.InvalidArgument(
        "the placement names unknown PoPs",
        field_violations=[
            FieldViolation(f"placement.rules[fn{i}].pop", f"no PoP 'nowhere-{i}'")
            for i in range(5000)
        ],
    )
    status = status_from_error(error, "edge")
    violations = field_violations(status)
    assert len(violations) == 51
    assert violations[:50] == list(error.field_violations[:50])
    assert violations[50] == FieldViolation(MORE, "4950 more field violations left out")
    assert wire_size(status) <= MAX_ERROR_BYTES
    assert trailers_size(status) <= MAX_ERROR_BYTES


def test_the_cap_follows_the_configured_number() -> None:
    error = errors.ResourceExhausted(
        "full", quota_violations=[QuotaViolation(f"pop:p{i}", "no room") for i in range(30)]
    )
    back = error_status_from_pb(status_from_error(error, "n", max_violations=10))
    assert len(back.quota_violations) == 11
    assert back.quota_violations[-1] == QuotaViolation(MORE, "20 more quota violations left out")


def test_a_relayed_count_is_carried_on_not_counted_as_one_more() -> None:
    """A lower SP's capped error, capped again by a node with a smaller limit, still says
    how many violations there were in all."""
    error = errors.InvalidArgument(
        "bad", field_violations=[FieldViolation(f"f{i}", "bad") for i in range(500)]
    )
    below = error_status_from_pb(status_from_error(error, "edge"))
    assert len(below.field_violations) == 51
    above = error_status_from_pb(status_from_error(below.to_error(), "retail", max_violations=5))
    assert above.field_violations[-1] == FieldViolation(MORE, "495 more field violations left out")
    assert len(above.field_violations) == 6
    assert above.origin == ("retail", "edge")


def test_a_violation_that_only_looks_like_a_count_is_kept_as_it_is() -> None:
    odd = FieldViolation(MORE, "3 more of these")
    back = error_status_from_pb(
        status_from_error(errors.InvalidArgument("m", field_violations=[odd]), "n")
    )
    assert back.field_violations == (odd,)


def test_a_hostile_lower_sps_error_is_clipped_to_fit() -> None:
    """Long multi-byte texts everywhere (each byte percent-encoded three times over in
    grpc-message): the message, every field and description, and a deep, long origin."""
    wide = "é€" * 20_000
    error = ErrorStatus(
        code="INVALID_ARGUMENT",
        message=wide,
        field_violations=tuple(FieldViolation(f"{wide}{i}", wide) for i in range(200)),
        quota_violations=tuple(QuotaViolation(f"{wide}{i}", wide) for i in range(200)),
        origin=tuple(f"op{i}-{'x' * 300}" for i in range(100)),
    )
    status = status_from_error(error.to_error(), "retail")
    assert wire_size(status) <= MAX_ERROR_BYTES
    assert trailers_size(status) <= MAX_ERROR_BYTES
    back = error_status_from_pb(status)
    assert back.code == "INVALID_ARGUMENT"
    assert back.message.endswith("…")
    assert len(back.message.encode()) <= 1024
    # Whatever had to go is counted, never silently dropped.
    for violations, what in ((back.field_violations, "field"), (back.quota_violations, "quota")):
        kept = len(violations) - 1
        assert violations[-1].description == f"{200 - kept} more {what} violations left out"
    assert back.origin[0] == "retail"
    assert back.origin[-1].startswith("op99-")


def test_a_deep_origin_keeps_the_sender_and_the_nearest_to_the_error() -> None:
    operators = ["retail", *(f"wholesale-{i:03}" for i in range(60)), "edge-be"]
    path = clip_origin(operators)
    assert len(path.encode()) <= 256
    parts = path.split("/")
    assert parts[0] == "retail"
    assert parts[1] == "…"
    assert parts[-1] == "edge-be"
    assert parts[2:] == operators[-len(parts) + 2 :]
    assert clip_origin(["a", "b", "c"]) == "a/b/c"


def test_a_lone_surrogate_cannot_break_serialisation() -> None:
    status = status_from_error(errors.InvalidArgument("bad \udc80 text"), "n")
    assert status.message == "bad ? text"
    assert grpc_status_for(status).code is grpc.StatusCode.INVALID_ARGUMENT


@settings(deadline=None, max_examples=60)
@given(
    message=st.text(max_size=3000),
    fields=st.lists(st.tuples(st.text(max_size=600), st.text(max_size=900)), max_size=120),
    origin=st.lists(st.text("abc/é-", min_size=1, max_size=90), max_size=30),
)
def test_every_error_fits_in_trailing_metadata(
    message: str, fields: list[tuple[str, str]], origin: list[str]
) -> None:
    error = errors.InvalidArgument(
        message, field_violations=[FieldViolation(f, d) for f, d in fields], origin=origin
    )
    status = status_from_error(error, "node")
    assert trailers_size(status) <= MAX_ERROR_BYTES
    bad = error_details_pb2.BadRequest()
    assert any(d.Unpack(bad) for d in status.details) == bool(fields)
    assert len(bad.field_violations) <= 51
