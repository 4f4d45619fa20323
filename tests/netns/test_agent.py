"""The in-namespace agent's packet handling, on crafted packets; no privileges needed."""

from __future__ import annotations

import struct

from spfed.netns._agent import checksum, echo_request, main, parse_answer

IDENT = 0x1234


def _ipv4(payload: bytes, source: bytes = bytes([10, 0, 65, 1])) -> bytes:
    header = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0, 64, 1, 0, source, source
    )
    return header + payload


def test_the_checksum_is_rfc_1071() -> None:
    assert checksum(b"\x00\x01\xf2\x03\xf4\xf5\xf6\xf7") == 0x220D
    request = echo_request(False, IDENT, 3)
    assert checksum(request) == 0  # a packet with its checksum sums to zero


def test_an_echo_reply_to_us_is_recognised() -> None:
    request = echo_request(False, IDENT, 3)
    reply = bytes([0, 0]) + request[2:]
    assert parse_answer(False, _ipv4(reply), IDENT) == ("echo-reply", 3)
    assert parse_answer(False, _ipv4(reply), IDENT + 1) is None


def test_a_time_exceeded_quoting_our_request_is_recognised() -> None:
    quoted = _ipv4(echo_request(False, IDENT, 5))[:28]
    error = bytes([11, 0, 0, 0, 0, 0, 0, 0]) + quoted
    assert parse_answer(False, _ipv4(error), IDENT) == ("time-exceeded", 5)
    unreachable = bytes([3, 1, 0, 0, 0, 0, 0, 0]) + quoted
    assert parse_answer(False, _ipv4(unreachable), IDENT) == ("unreachable", 5)
    assert parse_answer(False, _ipv4(error), IDENT + 1) is None


def test_icmpv6_answers_are_recognised() -> None:
    request = echo_request(True, IDENT, 2)
    assert request[0] == 128
    reply = bytes([129, 0]) + request[2:]
    assert parse_answer(True, reply, IDENT) == ("echo-reply", 2)
    quoted = bytes(40) + request
    assert parse_answer(True, bytes([3, 0]) + bytes(6) + quoted, IDENT) == ("time-exceeded", 2)


def test_other_packets_are_ignored() -> None:
    assert parse_answer(False, b"", IDENT) is None
    assert parse_answer(False, _ipv4(echo_request(False, IDENT, 1)), IDENT) is None  # a request
    assert parse_answer(False, _ipv4(bytes([11, 0, 0, 0, 0, 0, 0, 0])), IDENT) is None
    assert parse_answer(True, bytes([135, 0]) + bytes(22), IDENT) is None  # neighbour solicit


def test_an_unknown_command_is_refused() -> None:
    assert main([]) == 2
    assert main(["rm"]) == 2
