"""Blocking operations on one OpenStack cloud, through openstacksdk.

``Cloud`` is the only place that calls openstacksdk. Each method is one
step of the ``Vim`` contract, made of the fewest API calls that do it, and
runs on a worker thread of the driver (``driver.OpenStackVim``), never on
the event loop. Its errors are openstacksdk's and keystoneauth's own: the
driver translates them (``errors.translate``).

A method that creates more than one resource (a network and its subnet)
undoes what it made before it raises, so a failed call changes nothing.

A request's ``tag`` goes into the create call itself, so nothing exists
untagged even for a moment, and ``tagged`` lists by it, filtered by the cloud:

- Neutron (network, subnet, port): the ``description``. Neutron accepts
  ``tags`` in a create for ports only (other resources are tagged by a second
  call, which a crash can miss); every create takes a description, and every
  list filters by it (exact match).
- Nova (server): a server tag in the create (microversion 2.52, Queens), listed
  with the ``tags`` filter.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections.abc import Callable
from typing import Any

import openstack
import openstack.config
from openstack import exceptions as sdk
from openstack.compute.v2.server import Server

from lower_sp.local.vim._subnet import SubnetPlan
from lower_sp.local.vim.base import (
    NetworkHandle,
    NetworkRequest,
    PortHandle,
    ServerHandle,
    TaggedResources,
)
from lower_sp.local.vim.openstack.capacity import QuotaLimits
from lower_sp.local.vim.openstack.choices import Flavor, Image
from lower_sp.local.vim.openstack.errors import WaitAborted
from lower_sp.local.vim.openstack.options import OpenStackOptions
from spfed.errors import FailedPrecondition, FieldViolation, QuotaViolation, ResourceExhausted
from spfed.model import Resources

__all__ = ["Cloud"]

_log = logging.getLogger(__name__)

_NO_VALID_HOST = "No valid host"
_COMPUTE_OWNER = "compute:"


def _flavor_resources(flavor: Any) -> Resources:
    return Resources(int(flavor["vcpus"]), int(flavor["ram"]), int(flavor["disk"]))


def _described(tag: str) -> dict[str, str]:
    """The attributes of a Neutron create that carry ``tag``: none for an untagged one."""
    return {"description": tag} if tag else {}


def _tagged(tag: str) -> dict[str, list[str]]:
    """The attributes of a Nova server create that carry ``tag``: none for an untagged one."""
    return {"tags": [tag]} if tag else {}


class Cloud:
    """One authenticated openstacksdk connection, and the PoP's operations on it.

    The connection is shared by the driver's worker threads: keystoneauth
    sessions are thread-safe, and openstacksdk proxies keep no per-call state.
    """

    def __init__(self, pop: str, options: OpenStackOptions) -> None:
        """Remember what to connect to; ``connect()`` does it."""
        self._pop = pop
        self._options = options
        self._connection: Any = None
        self._placement_readable = True
        self._lock = threading.Lock()

    @property
    def _conn(self) -> Any:
        if self._connection is None:
            raise FailedPrecondition(f"pop {self._pop} is not connected")
        return self._connection

    def connect(self) -> None:
        """Read ``clouds.yaml``, authenticate, and keep the connection.

        Raises:
            openstack.exceptions.ConfigException: the cloud is not in ``clouds.yaml``.
            keystoneauth1.exceptions.ClientException: authentication failed or
                Keystone is unreachable.
        """
        options = self._options
        # Without a file of its own, the search is the openstack CLI's, OS_CLIENT_CONFIG_FILE
        # included; with one, only that file counts.
        files = [options.clouds_yaml] if options.clouds_yaml else None
        config = openstack.config.OpenStackConfig(
            config_files=files, load_envvars=not options.clouds_yaml
        )
        region = config.get_one(
            cloud=options.cloud, region_name=options.region_name or None, validate=True
        )
        connection = openstack.connection.Connection(
            config=region, api_timeout=options.api_timeout_s
        )
        connection.authorize()
        with self._lock:
            self._connection = connection

    def close(self) -> None:
        """Drop the connection (its HTTP pools); created resources stay."""
        with self._lock:
            connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    # --- what the cloud offers -----------------------------------------------------

    def flavors(self) -> list[Flavor]:
        """Every flavor the project may boot."""
        return [
            Flavor(f.id, f.name, Resources(int(f.vcpus), int(f.ram), int(f.disk)))
            for f in self._conn.compute.flavors(details=True)
        ]

    def images(self) -> list[Image]:
        """Every image the project may see."""
        return [
            Image(i.id, i.name or "", i.checksum or "", i.status == "active")
            for i in self._conn.image.images()
        ]

    def quota(self) -> QuotaLimits:
        """Nova's absolute limits of the project.

        Read as plain JSON: openstacksdk's ``Limits`` resource warns about fields
        Nova still sends (``maxPersonality``) on every read.
        """
        response = self._conn.compute.get("/limits")
        sdk.raise_from_response(response)
        absolute = response.json()["limits"]["absolute"]
        return QuotaLimits(
            int(absolute["maxTotalCores"]),
            int(absolute["totalCoresUsed"]),
            int(absolute["maxTotalRAMSize"]),
            int(absolute["totalRAMUsed"]),
        )

    def project_used(self) -> Resources:
        """What the project's servers hold: the sum of their flavors."""
        used = Resources()
        for server in self._conn.compute.servers(details=True):
            if server.flavor:
                used = used + _flavor_resources(server.flavor)
        return used

    def hosts(self) -> tuple[Resources, Resources] | None:
        """Placement's (total, used) over every resource provider; None if not readable.

        The answer to "may this account read Placement?" is kept: a 403 once
        means no further attempts.
        """
        if not self._placement_readable:
            return None
        placement = self._conn.placement
        total = {"VCPU": 0.0, "MEMORY_MB": 0.0, "DISK_GB": 0.0}
        used = dict.fromkeys(total, 0)
        try:
            for provider in placement.resource_providers():
                for inventory in placement.resource_provider_inventories(provider):
                    if inventory.resource_class in total:
                        room = (inventory.total - (inventory.reserved or 0)) * (
                            inventory.allocation_ratio or 1.0
                        )
                        total[inventory.resource_class] += room
                usages = placement.get(f"/resource_providers/{provider.id}/usages").json()
                for resource_class, amount in usages.get("usages", {}).items():
                    if resource_class in used:
                        used[resource_class] += int(amount)
        except (sdk.ForbiddenException, sdk.EndpointNotFound) as exc:
            _log.info("vim.openstack.placement.unreadable pop=%s reason=%r", self._pop, exc)
            self._placement_readable = False
            return None
        return (
            Resources(int(total["VCPU"]), int(total["MEMORY_MB"]), int(total["DISK_GB"])),
            Resources(used["VCPU"], used["MEMORY_MB"], used["DISK_GB"]),
        )

    # --- networks ------------------------------------------------------------------

    def create_network(self, request: NetworkRequest, subnet: SubnetPlan) -> NetworkHandle:
        """A network and its one subnet; the network is deleted again if the subnet fails.

        Raises:
            FailedPrecondition: the cloud's network MTU is below the planned one.
        """
        options = self._options
        attributes: dict[str, Any] = {"name": request.name, **_described(request.tag)}
        if options.network_type:
            attributes["provider_network_type"] = options.network_type
            if options.physical_network:
                attributes["provider_physical_network"] = options.physical_network
            if request.segmentation_id:
                attributes["provider_segmentation_id"] = request.segmentation_id
        network = self._conn.network.create_network(**attributes)
        try:
            if request.mtu and network.mtu and network.mtu < request.mtu:
                raise FailedPrecondition(
                    f"the cloud's network MTU ({network.mtu}) is below the planned"
                    f" {request.mtu} for {request.name}",
                    field_violations=[FieldViolation("mtu", f"{network.mtu} < {request.mtu}")],
                )
            created = self._conn.network.create_subnet(
                network_id=network.id,
                name=request.name,
                ip_version=subnet.network.version,
                cidr=str(subnet.network),
                gateway_ip=subnet.gateway_address or None,
                enable_dhcp=request.dhcp,
                **_described(request.tag),
            )
        except BaseException:
            self._conn.network.delete_network(network.id, ignore_missing=True)
            raise
        return NetworkHandle(
            vim=self._pop,
            network_id=network.id,
            subnet_id=created.id,
            name=request.name,
            cidr=str(subnet.network),
            tag=request.tag,
        )

    def delete_network(self, network_id: str) -> None:
        """Delete a network with its subnets; nothing if it is gone (Neutron's 409 if not empty)."""
        self._conn.network.delete_network(network_id, ignore_missing=True)

    # --- ports ---------------------------------------------------------------------

    def create_port(
        self, name: str, network: NetworkHandle, address: str, mac: str, tag: str
    ) -> PortHandle:
        """A port with one fixed address of the network's subnet ("" for Neutron's choice)."""
        fixed: dict[str, str] = {"subnet_id": network.subnet_id}
        if address:
            fixed["ip_address"] = address
        attributes: dict[str, Any] = {
            "network_id": network.network_id,
            "name": name,
            "fixed_ips": [fixed],
            **_described(tag),
        }
        if mac:
            attributes["mac_address"] = mac
        if self._options.port_security == "off":
            attributes["port_security_enabled"] = False
        port = self._conn.network.create_port(**attributes)
        prefix = ipaddress.ip_network(network.cidr).prefixlen
        ip = next(
            f["ip_address"] for f in port.fixed_ips if f.get("subnet_id") == network.subnet_id
        )
        return PortHandle(
            vim=self._pop,
            port_id=port.id,
            network_id=network.network_id,
            name=name,
            address=f"{ip}/{prefix}",
            mac=str(port.mac_address).lower(),
            tag=tag,
        )

    def port_holder(self, port_id: str) -> str:
        """The server a port is bound to ("" for none, or when the port is gone)."""
        port = self._conn.network.find_port(port_id, ignore_missing=True)
        if port is None or not str(port.device_owner or "").startswith(_COMPUTE_OWNER):
            return ""
        return str(port.device_id or "")

    def delete_port(self, port_id: str) -> None:
        """Delete a port; nothing if it is gone."""
        self._conn.network.delete_port(port_id, ignore_missing=True)

    # --- servers -------------------------------------------------------------------

    def create_server(
        self,
        name: str,
        flavor: Flavor,
        image: Image,
        port_ids: tuple[str, ...],
        metadata: dict[str, str],
        tag: str,
    ) -> ServerHandle:
        """Ask Nova for a server on existing ports; returns once Nova has accepted it."""
        attributes: dict[str, Any] = {
            "name": name,
            "flavor_id": flavor.id,
            "image_id": image.id,
            "networks": [{"port": p} for p in port_ids] if port_ids else "none",
            "metadata": metadata,
            **_tagged(tag),
        }
        if self._options.availability_zone:
            attributes["availability_zone"] = self._options.availability_zone
        server = self._conn.compute.create_server(**attributes)
        return ServerHandle(
            vim=self._pop,
            server_id=server.id,
            name=name,
            resources=flavor.resources,
            port_ids=port_ids,
            tag=tag,
        )

    def server_status(self, server_id: str) -> str:
        """Nova's status of the server, "DELETED" once it is gone."""
        server = self._conn.compute.find_server(server_id, ignore_missing=True)
        return "DELETED" if server is None else str(server.status)

    def wait_active(self, server_id: str, timeout_s: float, aborted: Callable[[], bool]) -> None:
        """Wait (openstacksdk's ``wait_for_server``) until the server is ACTIVE.

        ``aborted`` is asked at every poll; when it says so, ``WaitAborted`` ends
        the wait.

        Raises:
            openstack.exceptions.ResourceTimeout: still not ACTIVE after ``timeout_s``.
            ResourceExhausted: Nova found no host for it (``No valid host``).
            FailedPrecondition: it went ERROR for another reason, or is gone.
        """

        def check(_progress: int) -> None:
            if aborted():
                raise WaitAborted(server_id)

        compute = self._conn.compute
        try:
            compute.wait_for_server(
                Server.existing(id=server_id),
                status="ACTIVE",
                failures=["ERROR"],
                interval=self._options.poll_interval_s,
                wait=timeout_s,
                callback=check,
            )
        except sdk.ResourceFailure:
            raise self._failed(server_id) from None
        except sdk.NotFoundException:
            raise FailedPrecondition(
                f"server {server_id} on pop {self._pop} was deleted while booting"
            ) from None

    def _failed(self, server_id: str) -> Exception:
        server = self._conn.compute.find_server(server_id, ignore_missing=True)
        fault = (getattr(server, "fault", None) or {}).get("message", "") if server else ""
        reason = fault or "no fault recorded"
        if _NO_VALID_HOST in fault:
            return ResourceExhausted(
                f"pop {self._pop} has no host for server {server_id}: {fault}",
                quota_violations=[QuotaViolation(f"pop:{self._pop}", fault)],
            )
        return FailedPrecondition(f"server {server_id} on pop {self._pop} is ERROR: {reason}")

    def delete_server(self, server_id: str) -> None:
        """Delete a server and wait (``wait_for_delete``) until Nova has let it go.

        Nova unbinds the server's ports and gives back its quota before the
        server disappears, so once this returns both are free.
        """
        compute = self._conn.compute
        compute.delete_server(server_id, ignore_missing=True)
        compute.wait_for_delete(
            Server.existing(id=server_id),
            interval=self._options.poll_interval_s,
            wait=self._options.delete_timeout_s,
        )

    # --- by tag --------------------------------------------------------------------

    def tagged(self, tag: str) -> TaggedResources:
        """Handles of the project's networks, ports and servers that carry ``tag``.

        Neutron filters by description and Nova by server tag (see the module
        docstring); Neutron's lists are also filtered by project (an admin account
        sees every project's). A network whose subnet is missing (a crash between
        the two creates) has ``subnet_id`` and ``cidr`` "". A server's
        ``port_ids`` are the ports Neutron says it holds now, in Neutron's order
        (the driver knows better for the servers it made).
        """
        network = self._conn.network
        project = self._conn.current_project_id
        subnets = list(network.subnets(description=tag, project_id=project))
        cidrs = {s.id: str(s.cidr) for s in subnets}

        def cidr_of(subnet_id: str) -> str:
            if subnet_id and subnet_id not in cidrs:
                found = network.find_subnet(subnet_id, ignore_missing=True)
                cidrs[subnet_id] = str(found.cidr) if found is not None else ""
            return cidrs.get(subnet_id, "")

        networks = []
        for net in network.networks(description=tag, project_id=project):
            own = [s.id for s in subnets if s.network_id == net.id] or list(net.subnet_ids or ())
            subnet_id = str(own[0]) if own else ""
            networks.append(
                NetworkHandle(self._pop, net.id, subnet_id, net.name or "", cidr_of(subnet_id), tag)
            )
        ports = []
        for port in network.ports(description=tag, project_id=project):
            fixed: dict[str, Any] = next(iter(port.fixed_ips or ()), {})
            address = str(fixed.get("ip_address", ""))
            cidr = cidr_of(str(fixed.get("subnet_id", "")))
            if address and cidr:
                address = f"{address}/{ipaddress.ip_network(cidr).prefixlen}"
            mac = str(port.mac_address or "").lower()
            ports.append(
                PortHandle(self._pop, port.id, port.network_id, port.name or "", address, mac, tag)
            )
        servers = [
            ServerHandle(
                self._pop,
                server.id,
                server.name or "",
                _flavor_resources(server.flavor) if server.flavor else Resources(),
                tuple(p.id for p in network.ports(device_id=server.id, project_id=project)),
                tag,
            )
            for server in self._conn.compute.servers(details=True, tags=tag)
        ]
        return TaggedResources(tuple(networks), tuple(ports), tuple(servers))
