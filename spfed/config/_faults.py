"""The ``faults`` section: a crash switch for tests. Never set it in production."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import Field, with_config

from spfed.config._base import _STRICT

FAULT_POINT_PATTERN = (
    r"^((instantiate|terminate|slice_create|slice_delete)/[a-z][a-z0-9_]*"
    r"/(before|mid_effect|after_effect|after_persist))?$"
)
"""Syntax of ``faults.crash_at``: empty, or ``<workflow>/<task id>/<phase>``."""


@with_config(_STRICT)
@dataclass(frozen=True)
class FaultsConfig:
    """Fault injection, for crash tests only (``spfed.faults``); off unless set.

    A node with ``crash_at`` set ends its own process, with exit code 70, the first
    time one of its workflow runs reaches that point: it simulates a crash there.
    Set it in a test's node.yaml or with ``SPFED__FAULTS__CRASH_AT``; never in
    production.
    """

    crash_at: Annotated[str, Field(pattern=FAULT_POINT_PATTERN)] = ""
    """Where to crash, e.g. ``instantiate/deploy_local/after_effect``; empty: never."""
