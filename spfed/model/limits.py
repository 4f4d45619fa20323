"""Bounds on what one request or descriptor file may ask of a node.

A hostile or careless caller must not make one request cost more than the node
is willing to spend: every check that follows admission is linear in the
input, and these bounds cap the input. The node's configuration sets them
(``limits`` in node.yaml, see ``spfed.config.LimitsConfig``); the defaults
below are generous for real services (SONATA's and 5GTANGO's largest published
NSDs have a few dozen functions) and small enough that admission of a maximal
request takes milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DescriptorLimits"]


@dataclass(frozen=True)
class DescriptorLimits:
    """Bounds on one service request, or on one descriptor file or YAML document set."""

    max_request_bytes: int = 1 << 20
    """Largest serialised request, and largest descriptor or config file, in bytes."""
    max_functions: int = 256
    """Functions plus nested services in one NSD."""
    max_nesting_depth: int = 8
    """Levels of nested services below the top NSD."""
    max_links: int = 1024
    """Virtual links in one NSD."""
    max_connection_points: int = 4096
    """Connection points in one descriptor (its own plus its units' and links' references)."""
    max_placement_rules: int = 256
    """Placement rules in one request."""
    max_yaml_depth: int = 64
    """Nesting of YAML collections in one document."""
    max_yaml_aliases: int = 100
    """Alias nodes (``*name``) in one YAML stream; alias bombs need far more."""
    max_violations: int = 50
    """Field or quota violations carried by one error; the rest are counted."""
