"""The ``limits`` section: bounds on what one caller may ask of the node."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import Field, with_config

from spfed.config._base import _STRICT, PositiveSeconds
from spfed.model import DescriptorLimits


@with_config(_STRICT)
@dataclass(frozen=True)
class LimitsConfig:
    """Bounds on what one caller may ask of the node (see ``spfed.model.DescriptorLimits``).

    A request beyond a bound is INVALID_ARGUMENT naming the bound and the field.
    """

    max_request_bytes: Annotated[int, Field(ge=1024, le=64 << 20)] = 1 << 20
    """Largest request (grpc refuses more: RESOURCE_EXHAUSTED), descriptor or YAML file, bytes."""
    max_functions: Annotated[int, Field(ge=1)] = 256
    """Functions plus nested services in one NSD."""
    max_nesting_depth: Annotated[int, Field(ge=1, le=64)] = 8
    """Levels of nested services below a request's NSD."""
    max_links: Annotated[int, Field(ge=1)] = 1024
    """Virtual links in one NSD."""
    max_connection_points: Annotated[int, Field(ge=1)] = 4096
    """Connection points in one descriptor."""
    max_placement_rules: Annotated[int, Field(ge=0)] = 256
    """Placement rules in one request."""
    max_yaml_depth: Annotated[int, Field(ge=8, le=1000)] = 64
    """Nesting of collections in one YAML document."""
    max_yaml_aliases: Annotated[int, Field(ge=0)] = 100
    """Aliases (``*name``) in one YAML stream."""
    max_violations: Annotated[int, Field(ge=1, le=200)] = 50
    """Violations listed in one error; the rest are counted in one more line."""
    admission_timeout_s: PositiveSeconds = 10.0
    """Deadline of the CPU-heavy part of admission (checks, graph, placement)."""
    admission_processes: Annotated[int, Field(ge=0, le=64)] = 1
    """Worker processes for that CPU-heavy part, shared by the nodes of one process; 0 runs
    it on threads of the node's own process, where it competes with serving for the GIL."""
    admission_inline_below: Annotated[int, Field(ge=0)] = 64
    """A request smaller than this (functions, nested services, links and VNFDs of its NSDs,
    plus placement rules) is admitted on the event loop: its stages cost less than a trip to
    the worker. 0 sends every request to the worker."""
    admissions_per_account: Annotated[int, Field(ge=1)] = 4
    """Admissions of one customer account that may run at once; more get RESOURCE_EXHAUSTED."""
    admissions_per_platform: Annotated[int, Field(ge=1)] = 64
    """The same for an upper SP's account (role ``platform``): it carries the delegations of
    all of that operator's customers, each already bounded at its own node."""

    def descriptor_limits(self) -> DescriptorLimits:
        """The bounds as the domain model's value."""
        return DescriptorLimits(
            max_request_bytes=self.max_request_bytes,
            max_functions=self.max_functions,
            max_nesting_depth=self.max_nesting_depth,
            max_links=self.max_links,
            max_connection_points=self.max_connection_points,
            max_placement_rules=self.max_placement_rules,
            max_yaml_depth=self.max_yaml_depth,
            max_yaml_aliases=self.max_yaml_aliases,
            max_violations=self.max_violations,
        )
