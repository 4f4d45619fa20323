"""Hand-built JWS tokens and a settable clock, for attacks pyjwt would refuse to produce."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

__all__ = [
    "FakeClock",
    "b64url",
    "compact",
    "hs256",
    "segment",
    "signed",
    "signed_text",
    "unb64url",
]


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def segment(document: Any) -> str:
    return b64url(json.dumps(document, separators=(",", ":")).encode("utf-8"))


def compact(header: Any, payload: Any, signature: bytes = b"") -> str:
    """``header.payload.signature`` with the given (possibly empty) signature."""
    return f"{segment(header)}.{segment(payload)}.{b64url(signature)}"


def signed(header: Any, payload: Any, key: Ed25519PrivateKey) -> str:
    """A token whose Ed25519 signature is genuine for exactly this header and payload."""
    signing_input = f"{segment(header)}.{segment(payload)}"
    return f"{signing_input}.{b64url(key.sign(signing_input.encode('ascii')))}"


def signed_text(header: str, payload: str, key: Ed25519PrivateKey) -> str:
    """A token signed like ``signed``, from JSON texts as given: they may hold what a
    ``dict`` cannot, such as a member named twice."""
    signing_input = f"{b64url(header.encode())}.{b64url(payload.encode())}"
    return f"{signing_input}.{b64url(key.sign(signing_input.encode('ascii')))}"


def hs256(header: Any, payload: Any, secret: bytes) -> str:
    """A token with an HMAC-SHA256 signature made with ``secret``."""
    signing_input = f"{segment(header)}.{segment(payload)}"
    mac = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(mac)}"
