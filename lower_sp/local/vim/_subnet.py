"""Address arithmetic of one subnet of the emulated PoP: validation and allocation.

Host addresses of a subnet are those between the network address and the
broadcast address (IPv4), or every address but the subnet-router anycast one
(IPv6, which has no broadcast). The gateway is one of them and is never given
to a port. A point-to-point subnet (/31, /127; RFC 3021, RFC 6164) has no
gateway, and both its addresses are hosts. Addresses are handled as integers
so that IPv4 and IPv6 share code.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Set
from dataclasses import dataclass

from spfed.errors import AlreadyExists, FieldViolation, InvalidArgument

__all__ = ["IpNetwork", "SubnetPlan"]

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# A subnet with a gateway must hold it and at least one port.
_MAX_PREFIX = {4: 30, 6: 126}
# A point-to-point subnet holds exactly two ports and no gateway.
_POINT_TO_POINT = {4: 31, 6: 127}


def _invalid(field: str, description: str) -> InvalidArgument:
    return InvalidArgument(description, field_violations=[FieldViolation(field, description)])


@dataclass(frozen=True)
class SubnetPlan:
    """A validated subnet prefix and its gateway."""

    network: IpNetwork
    """The prefix."""
    gateway: int | None
    """The gateway address, as an integer (None on a point-to-point subnet)."""

    @classmethod
    def parse(cls, cidr: str, gateway: str = "", *, point_to_point: bool = False) -> SubnetPlan:
        """Validate ``cidr`` and ``gateway`` ("" for the first host address).

        With ``point_to_point`` the subnet must be a /31 (IPv4) or /127 (IPv6)
        and has no gateway: its two addresses are for the two ports.

        Raises:
            InvalidArgument: ``cidr`` is not a prefix with zero host bits, is too
                small for a gateway and one port, or ``gateway`` is not one of
                its host addresses.
        """
        try:
            network = ipaddress.ip_network(cidr, strict=True)
        except ValueError as exc:
            raise _invalid("cidr", f"'{cidr}' is not an IP prefix: {exc}") from None
        if point_to_point:
            if network.prefixlen != _POINT_TO_POINT[network.version]:
                raise _invalid(
                    "cidr",
                    f"{network} is not a point-to-point subnet"
                    f" (/{_POINT_TO_POINT[network.version]})",
                )
            return cls(network, None)
        if network.prefixlen > _MAX_PREFIX[network.version]:
            raise _invalid(
                "cidr",
                f"{network} is too small: a subnet needs a gateway and at least one port "
                f"(IPv{network.version} prefix length at most {_MAX_PREFIX[network.version]})",
            )
        plan = cls(network, 0)
        if not gateway:
            return cls(network, plan.first_host)
        try:
            gateway_ip = ipaddress.ip_address(gateway)
        except ValueError:
            raise _invalid("gateway", f"'{gateway}' is not an IP address") from None
        if not plan.is_host(gateway_ip):
            raise _invalid("gateway", f"{gateway_ip} is not a host address of {network}")
        return cls(network, int(gateway_ip))

    @property
    def point_to_point(self) -> bool:
        """A /31 or /127 without gateway."""
        return self.network.prefixlen == _POINT_TO_POINT[self.network.version]

    @property
    def first_host(self) -> int:
        """Lowest host address."""
        if self.point_to_point:
            return int(self.network.network_address)
        return int(self.network.network_address) + 1

    @property
    def last_host(self) -> int:
        """Highest host address."""
        broadcast = int(self.network.broadcast_address)
        if self.point_to_point:
            return broadcast
        return broadcast - 1 if self.network.version == 4 else broadcast

    @property
    def gateway_address(self) -> str:
        """The gateway, as text ("" for none)."""
        return self.text(self.gateway) if self.gateway is not None else ""

    def is_host(self, address: IpAddress) -> bool:
        """Whether ``address`` is a host address of this subnet (the gateway included)."""
        return (
            address.version == self.network.version
            and self.first_host <= int(address) <= self.last_host
        )

    def text(self, address: int) -> str:
        """An integer address of this subnet as bare text, e.g. ``10.0.0.5``."""
        kind = ipaddress.IPv4Address if self.network.version == 4 else ipaddress.IPv6Address
        return str(kind(address))

    def with_prefix(self, address: int) -> str:
        """An integer address of this subnet with the prefix length, e.g. ``10.0.0.5/27``."""
        return f"{self.text(address)}/{self.network.prefixlen}"

    def claim(self, requested: str, taken: Set[int]) -> int:
        """Check that the bare address ``requested`` may be given to a new port.

        Raises:
            InvalidArgument: it is not an IP, is outside the subnet, or is the
                network or broadcast address.
            AlreadyExists: it is the gateway or in ``taken``.
        """
        try:
            address = ipaddress.ip_address(requested)
        except ValueError:
            raise _invalid("address", f"'{requested}' is not an IP address") from None
        if address not in self.network:
            raise _invalid("address", f"{address} is outside {self.network}")
        if not self.is_host(address):
            raise _invalid("address", f"{address} is not a host address of {self.network}")
        if int(address) == self.gateway:
            raise AlreadyExists(f"{address} is the gateway of {self.network}")
        if int(address) in taken:
            raise AlreadyExists(f"{address} is already taken on {self.network}")
        return int(address)

    def next_free(self, taken: Set[int]) -> int | None:
        """The lowest host address that is neither the gateway nor in ``taken``.

        ``taken`` must hold host addresses other than the gateway only. Returns
        None when the subnet is full. Scans at most ``len(taken) + 2`` addresses.
        """
        hosts = self.last_host - self.first_host + 1
        if len(taken) >= hosts - (1 if self.gateway is not None else 0):
            return None
        address = self.first_host
        while address == self.gateway or address in taken:
            address += 1
        return address
