"""MAC addresses of the emulated PoP's ports: validation and generation."""

from __future__ import annotations

import re
import secrets
from collections.abc import Set

from spfed.errors import FieldViolation, Internal, InvalidArgument

__all__ = ["generate_mac", "normalise_mac"]

_MAC = re.compile(r"^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$")
_GENERATION_ATTEMPTS = 64


def normalise_mac(mac: str) -> str:
    """``mac`` in canonical form: lower case, colon separated.

    Accepts ``:`` or ``-`` separators in either case.

    Raises:
        InvalidArgument: it is malformed, multicast/broadcast or all zeros
            (none of which can name one port).
    """
    text = mac.strip().lower()
    problem = ""
    if not _MAC.match(text):
        problem = f"'{mac}' is not a MAC address (six hex octets)"
    else:
        text = text.replace("-", ":")
        first = int(text[:2], 16)
        if first & 0x01:
            problem = f"{text} is a multicast address, not a unicast one"
        elif text == "00:00:00:00:00:00":
            problem = "00:00:00:00:00:00 is not a usable MAC address"
    if problem:
        raise InvalidArgument(problem, field_violations=[FieldViolation("mac", problem)])
    return text


def generate_mac(taken: Set[str]) -> str:
    """A random locally administered unicast MAC not in ``taken``.

    Locally administered addresses (second-lowest bit of the first octet set)
    cannot clash with a vendor's burnt-in ones.

    Raises:
        Internal: no free MAC was found, which only a broken random source explains.
    """
    for _ in range(_GENERATION_ATTEMPTS):
        octets = bytearray(secrets.token_bytes(6))
        octets[0] = (octets[0] & 0xFC) | 0x02
        mac = ":".join(f"{octet:02x}" for octet in octets)
        if mac not in taken:
            return mac
    raise Internal(f"no free MAC found in {_GENERATION_ATTEMPTS} attempts")
