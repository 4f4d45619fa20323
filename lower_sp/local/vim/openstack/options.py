"""The options of the OpenStack driver (``PopConfig.options``), read and checked in one place.

=====================  ===================================================================
option                 meaning
=====================  ===================================================================
``cloud``              required: the cloud's name in ``clouds.yaml``
``clouds_yaml``        path of the ``clouds.yaml`` to read ("" for openstacksdk's search:
                       ``OS_CLIENT_CONFIG_FILE``, ``./clouds.yaml``,
                       ``~/.config/openstack/clouds.yaml``, ``/etc/openstack/clouds.yaml``)
``region_name``        the OpenStack region ("" for the cloud's own ``region_name``)
``capacity``           ``auto`` (default): read it from the cloud (quotas, limits and, where
                       the account may see them, Placement's inventories), the configured
                       capacity bounding an axis too when it is set; ``configured``: the
                       PoP's configured capacity only, with usage from the cloud
``api_timeout_s``      seconds, > 0 (default 30): the HTTP timeout of one API call
``delete_timeout_s``   seconds, > 0 (default 120): how long a deleted server may take to go
``poll_interval_s``    seconds, > 0 (default 0.5): how often a wait asks the cloud again
``workers``            integer 1..64 (default 16): threads running openstacksdk calls, so
                       that the event loop never blocks and N boots wait in parallel
``availability_zone``  Nova availability zone for servers ("" for the cloud's default)
``network_type``       "" (default: the project's tenant networks) or a provider type
                       (``vxlan``, ``vlan``, ``geneve``, ``flat``): create networks as
                       provider networks with the plan's segmentation id (admin only)
``physical_network``   with ``network_type`` vlan or flat: the provider's physnet
``port_security``      ``default`` (the cloud's: security groups and anti-spoofing) or
                       ``off``: ports without them, so that VNFs can forward packets
                       addressed to others (a chain's hops); needs Neutron's
                       ``port_security`` extension
=====================  ===================================================================

Every problem is reported at once, each as a field violation named
``pops.<pop>.options.<key>``, so that the node prints them as configuration errors.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError, with_config

from spfed.config import PopConfig
from spfed.errors import FieldViolation, InvalidArgument

__all__ = ["OpenStackOptions", "parse_options"]

NetworkType = Literal["", "vxlan", "vlan", "geneve", "flat"]
Seconds = Annotated[float, Field(gt=0)]


@with_config(ConfigDict(extra="forbid"))
@dataclass(frozen=True)
class OpenStackOptions:
    """The checked options of one OpenStack PoP."""

    cloud: Annotated[str, Field(min_length=1)]
    """Name of the cloud in ``clouds.yaml``."""
    clouds_yaml: str = ""
    """Path of the ``clouds.yaml`` ("" for openstacksdk's search path)."""
    region_name: str = ""
    """OpenStack region ("" for the one the cloud's entry names)."""
    capacity: Literal["auto", "configured"] = "auto"
    """Where total capacity comes from."""
    api_timeout_s: Seconds = 30.0
    """HTTP timeout of one API call."""
    delete_timeout_s: Seconds = 120.0
    """Bound of the wait for a deleted server to be gone."""
    poll_interval_s: Seconds = 0.5
    """Interval of openstacksdk's wait helpers."""
    workers: Annotated[int, Field(ge=1, le=64)] = 16
    """Threads that run openstacksdk calls."""
    availability_zone: str = ""
    """Nova availability zone ("" for the default)."""
    network_type: NetworkType = ""
    """Provider network type ("" for tenant networks)."""
    physical_network: str = ""
    """Provider physical network (vlan, flat)."""
    port_security: Literal["default", "off"] = "default"
    """``off``: ports without security groups and anti-spoofing."""


_ADAPTER = TypeAdapter(OpenStackOptions)
_KNOWN = tuple(f.name for f in fields(OpenStackOptions))


def parse_options(pop: PopConfig) -> OpenStackOptions:
    """The options of the OpenStack PoP ``pop``.

    Raises:
        InvalidArgument: an option is unknown, missing or malformed; one field
            violation per problem, named ``pops.<pop>.options.<key>``.
    """
    where = f"pops.{pop.name}.options"
    problems: list[FieldViolation] = []
    options: OpenStackOptions | None = None
    try:
        options = _ADAPTER.validate_python(dict(pop.options))
    except ValidationError as exc:
        for error in exc.errors():
            key = str(error["loc"][0]) if error["loc"] else ""
            if key not in _KNOWN:
                description = f"unknown; known: {', '.join(_KNOWN)}"
            elif error["type"] == "missing":
                description = "required"
            else:
                description = f"'{pop.options.get(key, '')}': {error['msg']}"
            problems.append(FieldViolation(f"{where}.{key}", description))
    needs_physnet = options is not None and options.network_type in ("vlan", "flat")
    if options is not None and needs_physnet and not options.physical_network:
        problems.append(
            FieldViolation(
                f"{where}.physical_network", f"required with network_type {options.network_type}"
            )
        )
    if problems or options is None:
        raise InvalidArgument(
            f"PoP {pop.name}: invalid option(s) of the openstack driver: "
            + ", ".join(p.field.removeprefix(f"{where}.") for p in problems),
            field_violations=problems,
        )
    return options
