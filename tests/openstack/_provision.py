"""Provisioning the cloud through its own APIs with openstacksdk.

Identity (service users, catalog, the ``spfed`` project and its member user), quotas,
flavors, the test image, and the probe that proves Nova can boot. Everything here talks only
to the run's own endpoints on 127.0.0.1, through the ``clouds.yaml`` the run writes.
"""

from __future__ import annotations

import hashlib
import time
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from tests.openstack import _config

CLOUD = "spfed-qual"
ADMIN_CLOUD = "spfed-qual-admin"
PROJECT = "spfed"
MEMBER = "spfed"
IMAGE_NAME = "spfed-test-image"
IMAGE_SIZE = 1024 * 1024
FLAVORS: Mapping[str, tuple[int, int, int]] = {
    "spfed.tiny": (1, 128, 1),
    "spfed.small": (1, 512, 2),
    "spfed.medium": (2, 1024, 5),
    "spfed.large": (4, 4096, 10),
}
"""Name -> (vCPUs, RAM MiB, disk GiB)."""

COMPUTE_QUOTA = {"instances": 100, "cores": 200, "ram": 200 * 1024}
NETWORK_QUOTA = {
    "networks": 500,
    "subnets": 500,
    "ports": 1000,
    "security_groups": 100,
    "security_group_rules": 1000,
}
API_TIMEOUT = 60.0
"""Seconds for one HTTP request to the cloud."""
BOOT_TIMEOUT = 90.0
"""Seconds for the probe server to become ACTIVE, and again to be deleted."""

INFLUXDB_WARNING = "Support for InfluxDB"
"""openstacksdk 4.22 warns about InfluxDB on every ``get_one``, configured or not."""
SDK_SELF_WARNINGS_FILTER = r"ignore::PendingDeprecationWarning:openstack\."
"""openstacksdk 4.22 raises its "removed in SDK 5.0/6.0" warnings (PendingDeprecationWarning)
from its own code on every connection, resource and request, whatever the caller does; this
pytest filter ignores those, and only those issued inside openstacksdk's modules."""

Log = Callable[[str], None]


def image_payload() -> bytes:
    """The test image: 1 MiB of a fixed pattern (so its md5 is the same on every run)."""
    block = bytes(range(256))
    return block * (IMAGE_SIZE // len(block))


def image_md5() -> str:
    """md5 of :func:`image_payload`, as Glance reports it in ``checksum``."""
    return hashlib.md5(image_payload(), usedforsecurity=False).hexdigest()


def write_clouds_yaml(path: Path, layout: _config.Layout) -> None:
    """``clouds.yaml`` with the member cloud and the admin cloud of the run."""
    common = {"region_name": _config.REGION, "interface": "public", "identity_api_version": 3}

    def auth(user: str, project: str) -> dict[str, str]:
        return {
            "auth_url": layout.auth_url,
            "username": user,
            "password": layout.passwords[user],
            "project_name": project,
            "user_domain_name": "Default",
            "project_domain_name": "Default",
        }

    clouds = {
        "clouds": {
            CLOUD: {"auth": auth(MEMBER, PROJECT), **common},
            ADMIN_CLOUD: {"auth": auth("admin", "admin"), **common},
        }
    }
    path.write_text(yaml.safe_dump(clouds, sort_keys=False))
    path.chmod(0o600)


def connect(clouds_yaml: Path, cloud: str) -> Any:
    """An openstacksdk Connection to ``cloud`` of ``clouds_yaml`` (and of no other file)."""
    import openstack.config
    import openstack.connection

    config = openstack.config.OpenStackConfig(
        config_files=[str(clouds_yaml)], vendor_files=[], secure_files=[], load_envvars=False
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", INFLUXDB_WARNING, PendingDeprecationWarning)
        region = config.get_one(cloud=cloud)
    return openstack.connection.Connection(config=region, api_timeout=API_TIMEOUT)


def create_identity(admin: Any, layout: _config.Layout) -> str:
    """Service project and users, the catalog, project ``spfed`` and its member; its id."""
    identity = admin.identity
    roles = {role.name: role for role in identity.roles()}
    service_project = identity.create_project(name=_config.SERVICE_PROJECT, domain_id="default")
    for name in _config.SERVICE_USERS:
        user = identity.create_user(name=name, password=layout.passwords[name], domain_id="default")
        for role in ("admin", "service"):
            identity.assign_project_role_to_user(service_project, user, roles[role])
    for name, (kind, url) in _config.endpoint_urls(layout).items():
        if name == "keystone":
            continue  # bootstrap made it
        service = identity.create_service(name=name, type=kind)
        for interface in ("public", "internal"):
            identity.create_endpoint(
                service_id=service.id, interface=interface, url=url, region_id=_config.REGION
            )
    project = identity.create_project(name=PROJECT, domain_id="default")
    member = identity.create_user(
        name=MEMBER, password=layout.passwords[MEMBER], domain_id="default"
    )
    identity.assign_project_role_to_user(project, member, roles["member"])
    return str(project.id)


def set_quotas(admin: Any, project_id: str) -> None:
    """Generous Nova and Neutron quotas for project ``spfed``."""
    admin.compute.update_quota_set(project_id, **COMPUTE_QUOTA)
    admin.network.update_quota(project_id, **NETWORK_QUOTA)


def create_flavors(admin: Any) -> tuple[str, ...]:
    """The public ``spfed.*`` flavors; their names."""
    for name, (vcpus, ram, disk) in FLAVORS.items():
        admin.compute.create_flavor(name=name, vcpus=vcpus, ram=ram, disk=disk, is_public=True)
    return tuple(FLAVORS)


def upload_image(admin: Any, name: str, data: bytes) -> Any:
    """A public raw/bare image ``name`` holding ``data`` (waited active, at most 60 s)."""
    return admin.image.create_image(
        name,
        data=data,
        disk_format="raw",
        container_format="bare",
        visibility="public",
        allow_duplicates=True,
        disable_vendor_agent=False,
        wait=True,
        timeout=60,
    )


def create_image(admin: Any) -> str:
    """The public raw test image; its md5 as Glance computed it."""
    image = upload_image(admin, IMAGE_NAME, image_payload())
    checksum = str(admin.image.get_image(image.id).checksum)
    if checksum != image_md5():
        raise RuntimeError(f"Glance reports md5 {checksum}, expected {image_md5()}")
    return checksum


def has_compute_capacity(admin: Any) -> bool:
    """Whether Placement holds a resource provider with VCPU inventory (nova-compute reported)."""
    for provider in admin.placement.resource_providers():
        inventories = list(admin.placement.resource_provider_inventories(provider))
        if any(inventory.resource_class == "VCPU" for inventory in inventories):
            return True
    return False


def compute_service_up(admin: Any) -> bool:
    """Whether nova-compute's service record is up (it has sent a heartbeat)."""
    return any(
        service.binary == "nova-compute" and service.state == "up"
        for service in admin.compute.services()
    )


def boot_probe(member: Any, log: Log, attempts: int = 3) -> float:
    """Boot one tiny server on a port of a throwaway network, then remove it all; seconds."""
    started = time.monotonic()
    flavor = member.compute.find_flavor("spfed.tiny", ignore_missing=False)
    image = member.image.find_image(IMAGE_NAME, ignore_missing=False)
    network = member.network.create_network(name="spfedq-probe")
    try:
        subnet = member.network.create_subnet(
            network_id=network.id, ip_version=4, cidr="192.0.2.0/28", name="spfedq-probe"
        )
        del subnet
        for attempt in range(1, attempts + 1):
            if _boot_once(member, network.id, flavor.id, image.id, log, attempt):
                return time.monotonic() - started
            time.sleep(2.0 * attempt)
        raise RuntimeError(f"the probe server did not become ACTIVE in {attempts} attempts")
    finally:
        _delete_network(member, network.id)


def _boot_once(
    member: Any, network_id: str, flavor_id: str, image_id: str, log: Log, attempt: int
) -> bool:
    """One probe boot on a new port; whether the server became ACTIVE. Cleans up either way."""
    port = member.network.create_port(network_id=network_id, name="spfedq-probe")
    server = None
    try:
        server = member.compute.create_server(
            name="spfedq-probe",
            flavor_id=flavor_id,
            image_id=image_id,
            networks=[{"port": port.id}],
        )
        server = member.compute.wait_for_server(
            server, status="ACTIVE", failures=["ERROR"], interval=0.5, wait=BOOT_TIMEOUT
        )
        return True
    except Exception as error:
        fault = getattr(server, "fault", None) if server is not None else None
        log(f"probe boot attempt {attempt} failed: {error} {fault or ''}".strip())
        return False
    finally:
        if server is not None:
            member.compute.delete_server(server, ignore_missing=True)
            member.compute.wait_for_delete(server, interval=0.5, wait=BOOT_TIMEOUT)
        member.network.delete_port(port, ignore_missing=True)


def _delete_network(member: Any, network_id: str) -> None:
    """Delete the probe network with its subnets and any ports left on it."""
    for port in member.network.ports(network_id=network_id):
        member.network.delete_port(port, ignore_missing=True)
    member.network.delete_network(network_id, ignore_missing=True)
