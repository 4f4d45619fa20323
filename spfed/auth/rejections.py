"""Why a token or a client assertion was refused: ``TokenRejected`` and its reason codes.

Every refusal is one ``TokenRejected`` (an ``Unauthenticated``) whose
``metadata["reason"]`` is one code of ``REJECTIONS``, so a caller, a log line
or a test can tell the cases apart without parsing the message. Messages say
what is wrong, never the token, a key or a claim value.
"""

from __future__ import annotations

from typing import Final

from spfed.errors import Unauthenticated

__all__ = ["REJECTIONS", "TokenRejected"]

REJECTIONS: Final = frozenset(
    {
        "no_token",
        "malformed",
        "bad_algorithm",
        "unknown_key",
        "bad_signature",
        "expired",
        "not_yet_valid",
        "wrong_audience",
        "wrong_issuer",
        "missing_claim",
        "too_long_lived",
    }
)
"""Every reason code this package puts in ``metadata["reason"]``."""


class TokenRejected(Unauthenticated):
    """A token or a client assertion was refused; ``rejection`` says why.

    Construct it as ``TokenRejected(message, metadata={"reason": code})``. (``reason`` is
    taken: on every ``SpfedError`` it is the status code name.)
    """

    @property
    def rejection(self) -> str:
        """The reason code (one of ``REJECTIONS`` when raised here), ``""`` if none was set."""
        return self.metadata.get("reason", "")
