"""Intents: an external effect a node is about to make, recorded before it makes it.

A node writes an intent, durably, *before* it asks anything outside itself
to create something on a service's behalf, and removes it only once that
effect is undone. Whatever happens in between (an answer lost, the process
killed), the intent names where to look and what to look for:

* ``VIM_PART``: a local part's networks, ports and servers on the PoP
  ``target``; every one carries the tag ``key``, so they are found with
  ``Vim.tagged`` even when no handle was ever recorded.
* ``DELEGATION``: a sub-service sent to the lower SP ``target`` with the
  request id ``key``; the lower SP's request-id idempotency finds it again.
* ``WAN``: the WIM connectivity service ``key`` on the node's WIM.

Pool allocations need no intent: the pools store an allocation before it is
handed out (``spfed.lifecycle.blocks``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Intent", "IntentKind", "vim_tag"]


class IntentKind(StrEnum):
    """What kind of effect an intent announces."""

    VIM_PART = "vim"
    DELEGATION = "delegation"
    WAN = "wan"


@dataclass(frozen=True)
class Intent:
    """One announced effect; see the module docstring."""

    key: str
    """Its idempotency key: the VIM tag, the delegation request id or the connectivity id."""
    kind: IntentKind
    """What it announces."""
    service_id: str
    """The service it is made for."""
    target: str
    """Where: the PoP, the lower SP, or "" for the node's WIM."""
    part: str = ""
    """The part, in its text form (``pop:<name>``, ``sp:<lower>``), when there is one."""


def vim_tag(node_id: str, service_id: str, part: str) -> str:
    """The tag every VIM object of a service's local part carries.

    ``spfed-`` and 32 hex digits of a digest of the three: stable across
    restarts, distinct between nodes sharing one cloud, and within the
    limits of every VIM's tags (at most 60 characters, no ``/`` or ``,``).
    """
    digest = hashlib.sha256(f"{node_id}\x00{service_id}\x00{part}".encode()).hexdigest()
    return f"spfed-{digest[:32]}"
