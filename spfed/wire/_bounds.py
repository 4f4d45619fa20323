"""Bounds on one serialised error, so that it always reaches the caller.

An error travels in trailing metadata (``grpc-message`` and
``grpc-status-details-bin``), and a client drops trailers larger than its
metadata limit (8 KiB soft, 16 KiB hard by default): the caller then sees an
unrelated RESOURCE_EXHAUSTED instead of the error. So every error a node sends
keeps at most ``max_violations`` field and quota violations each, plus one
line per list counting what was left out, clips each text, and then drops
violations from the end until both headers, as sent, fit in
``MAX_ERROR_BYTES``. A lower SP's error passes through the same bounds at every
node it crosses, whatever the lower SP sent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace

from google.rpc import status_pb2

from spfed.errors import FieldViolation, QuotaViolation
from spfed.model import ErrorStatus

__all__ = ["MAX_ERROR_BYTES", "MORE", "bounded_status", "clip_origin", "wire_size"]

MAX_ERROR_BYTES = 8 * 1024
"""Largest ``grpc-message`` plus ``grpc-status-details-bin`` (names and values as sent)."""
MORE = "…"
"""Field (or subject) of the one violation that counts the violations left out."""

# Worst case with no violations left: a 1 KiB message (3 KiB percent-encoded in
# grpc-message, 1.4 KiB base64 in the details) and a 256-byte origin leave more
# than 2 KiB of headroom under MAX_ERROR_BYTES, so dropping violations always fits.
_MESSAGE_BYTES = 1024
_ORIGIN_BYTES = 256
_OPERATOR_BYTES = 64
_NAME_BYTES = 256
_DESCRIPTION_BYTES = 512
_CLIPPED = "…"
_COUNTING = re.compile(r"([0-9]{1,9}) more (?:field|quota) violations left out")
_DETAILS_KEY = "grpc-status-details-bin"
_MESSAGE_KEY = "grpc-message"


def _clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes, marked when cut.

    Lone surrogates (which no protobuf string may hold) become ``?``, so the
    status can always be built."""
    raw = text.encode(errors="replace")
    if len(raw) <= limit:
        return raw.decode()
    mark = _CLIPPED.encode()
    return raw[: limit - len(mark)].decode(errors="ignore") + _CLIPPED


def _percent_encoded_len(text: str) -> int:
    # grpc-message percent-encodes every byte outside printable ASCII, and '%'.
    return sum(1 if 0x20 <= b <= 0x7E and b != 0x25 else 3 for b in text.encode())


def wire_size(status: status_pb2.Status) -> int:
    """Bytes ``status`` takes in trailing metadata: both header names, the base64 of the
    details and the percent-encoded message."""
    details = -(-status.ByteSize() // 3) * 4
    return len(_DETAILS_KEY) + details + len(_MESSAGE_KEY) + _percent_encoded_len(status.message)


def clip_origin(operators: Sequence[str]) -> str:
    """The origin path in at most 256 bytes: in a deep tree the operators next to the
    sending node give way to one ``…``, so the sender and those nearest the error stay."""
    parts = [_clip(p, _OPERATOR_BYTES) for p in operators]
    path = "/".join(parts)
    if len(path.encode()) <= _ORIGIN_BYTES:
        return path
    tail: list[str] = []
    for part in reversed(parts[1:]):
        if len("/".join([parts[0], _CLIPPED, part, *tail]).encode()) > _ORIGIN_BYTES:
            break
        tail.insert(0, part)
    return "/".join([parts[0], _CLIPPED, *tail])


def _left_out(name: str, description: str) -> int:
    """How many violations a counting line (ours or a lower SP's) stands for; 0 if none."""
    counted = _COUNTING.fullmatch(description) if name == MORE else None
    return int(counted.group(1)) if counted else 0


def _capped(pairs: Sequence[tuple[str, str]], keep: int, what: str) -> list[tuple[str, str]]:
    """The first ``keep`` violations, clipped, and a line counting the rest (if any)."""
    real: list[tuple[str, str]] = []
    omitted = 0
    for name, description in pairs:
        counted = _left_out(name, description)
        if counted:
            omitted += counted
        else:
            real.append((name, description))
    omitted += max(0, len(real) - keep)
    out = [(_clip(n, _NAME_BYTES), _clip(d, _DESCRIPTION_BYTES)) for n, d in real[:keep]]
    if omitted:
        out.append((MORE, f"{omitted} more {what} left out"))
    return out


def bounded_status(
    error: ErrorStatus,
    max_violations: int,
    serialise: Callable[[ErrorStatus], status_pb2.Status],
) -> status_pb2.Status:
    """``serialise(error)`` within the bounds: at most ``max_violations`` violations of
    each kind plus a counting line, texts clipped, and at most ``MAX_ERROR_BYTES`` on
    the wire. ``serialise`` must clip the origin with ``clip_origin``."""
    fields = [(v.field, v.description) for v in error.field_violations]
    quotas = [(v.subject, v.description) for v in error.quota_violations]
    message = _clip(error.message, _MESSAGE_BYTES)
    keep = max_violations
    while True:
        status = serialise(
            replace(
                error,
                message=message,
                field_violations=tuple(
                    FieldViolation(n, d) for n, d in _capped(fields, keep, "field violations")
                ),
                quota_violations=tuple(
                    QuotaViolation(n, d) for n, d in _capped(quotas, keep, "quota violations")
                ),
            )
        )
        if keep == 0 or wire_size(status) <= MAX_ERROR_BYTES:
            return status
        keep -= 1
