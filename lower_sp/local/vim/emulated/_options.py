"""The options of the emulated driver (``PopConfig.options``), read and checked in one place.

==================  ======================================================================
option              meaning
==================  ======================================================================
``boot_delay_ms``   integer ≥ 0 (default 0): how long a new server stays in BUILD
``netns``           ``on`` or ``off`` (default): run the PoP's VNFs in network namespaces
``netns_prefix``    with ``netns: on``, required: the data plane prefix
                    (``spfed.netns.names``), the same for every node of the topology
``netns_node``      with ``netns: on``, required: the node's id, which names the PoP's
                    gateway (``spfed.netns.layout``); the node fills it in
                    (``with_netns_node``), since a PoP's configuration does not carry it
==================  ======================================================================

Every problem is reported at once, each as a field violation named
``pops.<pop>.options.<key>``, so that the node prints them as configuration errors.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from spfed.config import PopConfig
from spfed.errors import FieldViolation, InvalidArgument
from spfed.netns import GatewaySpec, check_prefix
from spfed.netns.layout import pop_gateway

__all__ = [
    "BOOT_DELAY_OPTION",
    "NETNS_NODE_OPTION",
    "NETNS_OPTION",
    "NETNS_PREFIX_OPTION",
    "EmulatedOptions",
    "NetnsPlacement",
    "parse_options",
    "with_netns_node",
]

BOOT_DELAY_OPTION = "boot_delay_ms"
NETNS_OPTION = "netns"
NETNS_PREFIX_OPTION = "netns_prefix"
NETNS_NODE_OPTION = "netns_node"
_KNOWN = (BOOT_DELAY_OPTION, NETNS_OPTION, NETNS_PREFIX_OPTION, NETNS_NODE_OPTION)
_ON, _OFF = "on", "off"


@dataclass(frozen=True)
class NetnsPlacement:
    """Where an emulated PoP runs its VNFs: network namespaces of one prefix, as one node's PoP."""

    prefix: str
    """Prefix of every namespace and interface; the node's WIM and the other nodes of the
    topology use the same one, so that they all meet on the PoP's gateway and bridges."""
    node_id: str
    """The node's id: with the PoP's name, it names the PoP's gateway namespace."""

    def __post_init__(self) -> None:
        check_prefix(self.prefix)
        if not self.node_id:
            raise InvalidArgument(
                "a netns PoP needs its node's id",
                field_violations=[FieldViolation("node_id", "must not be empty")],
            )

    def gateway(self, pop: str) -> GatewaySpec:
        """The gateway namespace of PoP ``pop`` (``spfed.netns.layout.pop_gateway``).

        Raises:
            InvalidArgument: the node id and PoP name make too long a label.
        """
        return pop_gateway(self.node_id, pop)


@dataclass(frozen=True)
class EmulatedOptions:
    """The checked options of one emulated PoP."""

    boot_delay_ms: int = 0
    """How long a new server stays in BUILD."""
    netns: NetnsPlacement | None = None
    """Where VNFs run as network namespaces; None when ``netns`` is off."""


def parse_options(pop: PopConfig) -> EmulatedOptions:
    """The options of the emulated PoP ``pop``.

    Raises:
        InvalidArgument: an option is unknown or malformed, or netns is on without its
            prefix or node id; one field violation per problem.
    """
    where = f"pops.{pop.name}.options"
    problems = [
        FieldViolation(f"{where}.{key}", f"unknown; known: {', '.join(_KNOWN)}")
        for key in sorted(set(pop.options) - set(_KNOWN))
    ]
    raw = pop.options.get(BOOT_DELAY_OPTION, "0")
    try:
        delay = int(raw)
    except ValueError:
        delay = -1
    if delay < 0:
        problems.append(
            FieldViolation(f"{where}.{BOOT_DELAY_OPTION}", f"'{raw}' is not an integer ≥ 0")
        )
    mode = pop.options.get(NETNS_OPTION, _OFF)
    placement = None
    if mode not in (_ON, _OFF):
        problems.append(
            FieldViolation(f"{where}.{NETNS_OPTION}", f"'{mode}' is neither on nor off")
        )
    elif mode == _ON:
        placement, wrong = _placement(pop, where)
        problems += wrong
    if problems:
        raise InvalidArgument(
            f"PoP {pop.name}: invalid option(s) of the emulated driver: "
            + ", ".join(p.field.removeprefix(f"{where}.") for p in problems),
            field_violations=problems,
        )
    return EmulatedOptions(delay, placement)


def _placement(pop: PopConfig, where: str) -> tuple[NetnsPlacement | None, list[FieldViolation]]:
    prefix = pop.options.get(NETNS_PREFIX_OPTION, "")
    node = pop.options.get(NETNS_NODE_OPTION, "")
    problems = []
    if not prefix:
        problems.append(
            FieldViolation(
                f"{where}.{NETNS_PREFIX_OPTION}",
                "required with netns: on (the data plane prefix shared with the WIM)",
            )
        )
    else:
        problems += _violations(
            f"{where}.{NETNS_PREFIX_OPTION}", f"'{prefix}'", check_prefix, prefix
        )
    if not node:
        problems.append(
            FieldViolation(
                f"{where}.{NETNS_NODE_OPTION}", "required with netns: on (the node sets it)"
            )
        )
    if problems:
        return None, problems
    placement = NetnsPlacement(prefix, node)
    problems = _violations(
        f"{where}.{NETNS_NODE_OPTION}",
        f"'{node}' with PoP '{pop.name}' makes no valid gateway label",
        placement.gateway,
        pop.name,
    )
    return (None if problems else placement), problems


def _violations(
    field: str, what: str, check: Callable[[str], object], value: str
) -> list[FieldViolation]:
    """What ``check(value)`` raises, as one violation of ``field`` described as ``what``."""
    try:
        check(value)
    except InvalidArgument as exc:
        details = "; ".join(v.description for v in exc.field_violations) or exc.message
        return [FieldViolation(field, f"{what}: {details}")]
    return []


def with_netns_node(pop: PopConfig, node_id: str) -> PopConfig:
    """``pop`` with its ``netns_node`` option set to ``node_id`` if netns is on, else ``pop``.

    The node calls it on every PoP before building its VIM: the emulated PoP needs the
    node's id to name its gateway namespace, and a PoP's configuration does not carry it.

    Raises:
        InvalidArgument: the option names another node: that PoP's gateway would not be
            the one the node's WIM builds its links on.
    """
    if pop.options.get(NETNS_OPTION) != _ON:
        return pop
    given = pop.options.get(NETNS_NODE_OPTION)
    if given is None:
        return dataclasses.replace(pop, options={**pop.options, NETNS_NODE_OPTION: node_id})
    if given != node_id:
        field = f"pops.{pop.name}.options.{NETNS_NODE_OPTION}"
        description = f"'{given}' is not this node's id '{node_id}'; leave it out"
        raise InvalidArgument(
            f"PoP {pop.name}: {description}",
            field_violations=[FieldViolation(field, description)],
        )
    return pop
