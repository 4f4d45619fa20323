"""Configuration files of one run: every service on 127.0.0.1, its own databases and vhost.

Keystone, Placement and Glance keep SQLite files in the run directory (they run fine on it);
Nova and Neutron use MariaDB, because Nova locks SQLite at run time and Neutron's migrations
alter constraints. All services share one RabbitMQ vhost of the run. Notifications are off
everywhere (``noop``): nothing consumes them.
"""

from __future__ import annotations

import configparser
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.openstack import _backends, _install

REGION = "RegionOne"
SERVICE_PROJECT = "service"
COMPUTE_HOST = "spfedq-compute"
"""Nova's host (and fake node) name; unique per run is not needed, the databases are."""

API_SERVICES = ("keystone", "placement", "glance", "neutron", "nova")
"""The WSGI APIs, each served by uwsgi on its own port, in start order."""

WSGI_MODULES = {
    "keystone": "keystone.wsgi.api:application",
    "placement": "placement.wsgi.api:application",
    "glance": "glance.wsgi.api:application",
    "neutron": "neutron.wsgi.api:application",
    "nova": "nova.wsgi.osapi_compute:application",
}

SERVICE_USERS = ("placement", "glance", "neutron", "nova")
"""Keystone users of the services (each with roles admin and service in project service)."""

ALLOCATION_RATIOS = {"cpu": 64.0, "ram": 32.0, "disk": 16.0}
"""Fake compute: 2 vCPU, 8 GiB, 1028 GB; so 128 vCPU, 256 GiB, ~16 TB schedulable."""

Sections = Mapping[str, Mapping[str, str]]


@dataclass(frozen=True)
class Layout:
    """Everything of one run that goes into its configuration files."""

    run_id: str
    run_dir: Path
    venv: Path
    ports: Mapping[str, int]
    passwords: Mapping[str, str]
    databases: Mapping[str, str]
    """``nova_api``, ``nova_cell0``, ``nova``, ``neutron`` -> MariaDB database names."""
    vhost: str

    def conf_dir(self, service: str) -> Path:
        """Directory of ``service``'s configuration files."""
        return self.run_dir / "etc" / service

    def state_dir(self, service: str) -> Path:
        """Directory of ``service``'s files at run time (SQLite, keys, images, locks)."""
        return self.run_dir / "state" / service

    def log(self, name: str) -> Path:
        """Log file of the process or step ``name``."""
        return self.run_dir / "logs" / f"{name}.log"

    def url(self, service: str) -> str:
        """Base URL of ``service``'s API."""
        return f"http://{_backends.HOST}:{self.ports[service]}"

    @property
    def auth_url(self) -> str:
        """Keystone v3."""
        return f"{self.url('keystone')}/v3"

    @property
    def transport_url(self) -> str:
        """oslo.messaging URL of the run's vhost."""
        return _backends.transport_url(self.vhost)


def endpoint_urls(layout: Layout) -> dict[str, tuple[str, str]]:
    """Service name -> (type, endpoint URL) for the catalog."""
    return {
        "keystone": ("identity", layout.auth_url),
        "placement": ("placement", layout.url("placement")),
        "glance": ("image", layout.url("glance")),
        "neutron": ("network", layout.url("neutron")),
        "nova": ("compute", f"{layout.url('nova')}/v2.1"),
    }


def write_all(layout: Layout) -> None:
    """Write every configuration file of the run and create its directories."""
    for name in ("logs", "etc", "state"):
        (layout.run_dir / name).mkdir(parents=True, exist_ok=True)
    for service in (*API_SERVICES, "lock"):
        layout.state_dir(service).mkdir(parents=True, exist_ok=True)
    for service in API_SERVICES:
        layout.conf_dir(service).mkdir(parents=True, exist_ok=True)
    _write_ini(layout.conf_dir("keystone") / "keystone.conf", keystone(layout))
    _write_ini(layout.conf_dir("placement") / "placement.conf", placement(layout))
    _write_ini(layout.conf_dir("glance") / "glance-api.conf", glance(layout))
    _write_ini(layout.conf_dir("neutron") / "neutron.conf", neutron(layout))
    _write_ini(layout.conf_dir("nova") / "nova.conf", nova(layout))
    # Written before nova-compute's first start, so that its node identity is the one the
    # PredictableNodeUUIDDriver reports, and a restarted nova-compute finds the same node.
    (layout.state_dir("nova") / "compute_id").write_text(f"{compute_node_uuid()}\n")


def compute_node_uuid() -> str:
    """The UUID ``fake.PredictableNodeUUIDDriver`` reports for COMPUTE_HOST."""
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, COMPUTE_HOST))


def _write_ini(path: Path, sections: Sections) -> None:
    """Write ``sections`` as an INI file (values verbatim, no interpolation)."""
    parser = configparser.RawConfigParser()
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    for section, options in sections.items():
        if section != "DEFAULT":
            parser.add_section(section)
        for key, value in options.items():
            parser.set(section, key, value)
    with path.open("w") as handle:
        parser.write(handle)
    path.chmod(0o600)


def _sqlite(layout: Layout, service: str) -> str:
    """SQLAlchemy URL of ``service``'s SQLite file."""
    return f"sqlite:///{layout.state_dir(service) / f'{service}.sqlite'}"


def _common(layout: Layout) -> dict[str, dict[str, str]]:
    """Sections every service shares."""
    return {
        "DEFAULT": {"debug": "false", "transport_url": layout.transport_url},
        "oslo_concurrency": {"lock_path": str(layout.state_dir("lock"))},
        "oslo_messaging_notifications": {"driver": "noop"},
        "oslo_messaging_rabbit": {"heartbeat_timeout_threshold": "0"},
    }


def _password_auth(layout: Layout, user: str) -> dict[str, str]:
    """keystoneauth password options of service user ``user`` in project service."""
    return {
        "auth_type": "password",
        "auth_url": layout.auth_url,
        "username": user,
        "password": layout.passwords[user],
        "project_name": SERVICE_PROJECT,
        "user_domain_name": "Default",
        "project_domain_name": "Default",
        "region_name": REGION,
    }


def _authtoken(layout: Layout, user: str) -> dict[str, str]:
    """``[keystone_authtoken]`` of the API of service user ``user``."""
    return {
        **_password_auth(layout, user),
        "www_authenticate_uri": layout.auth_url,
        "service_token_roles_required": "true",
        "service_type": endpoint_urls(layout)[user][0],
    }


def keystone(layout: Layout) -> Sections:
    """keystone.conf: SQLite, fernet tokens and receipts, credential keys."""
    state = layout.state_dir("keystone")
    return {
        **_common(layout),
        "database": {"connection": _sqlite(layout, "keystone")},
        "token": {"provider": "fernet"},
        "fernet_tokens": {"key_repository": str(state / "fernet-keys")},
        "fernet_receipts": {"key_repository": str(state / "fernet-receipts")},
        "credential": {"key_repository": str(state / "credential-keys")},
        "cache": {"enabled": "false"},
    }


def placement(layout: Layout) -> Sections:
    """placement.conf: SQLite, keystone auth."""
    return {
        **_common(layout),
        "placement_database": {"connection": _sqlite(layout, "placement")},
        "api": {"auth_strategy": "keystone"},
        "keystone_authtoken": _authtoken(layout, "placement"),
    }


def glance(layout: Layout) -> Sections:
    """glance-api.conf: SQLite, a file store in the run directory, keystone auth."""
    state = layout.state_dir("glance")
    paste = layout.venv / "etc" / "glance" / "glance-api-paste.ini"
    return {
        **_common(layout),
        "DEFAULT": {**_common(layout)["DEFAULT"], "enabled_backends": "fs:file"},
        "database": {"connection": _sqlite(layout, "glance")},
        "glance_store": {"default_backend": "fs"},
        "fs": {"filesystem_store_datadir": str(state / "images")},
        "os_glance_staging_store": {"filesystem_store_datadir": str(state / "staging")},
        "os_glance_tasks_store": {"filesystem_store_datadir": str(state / "tasks")},
        "paste_deploy": {"flavor": "keystone", "config_file": str(paste)},
        "keystone_authtoken": _authtoken(layout, "glance"),
    }


def neutron(layout: Layout) -> Sections:
    """neutron.conf: ML2 with our binding driver, flat and vxlan, no agents, no Nova events."""
    paste = layout.venv / "etc" / "neutron" / "api-paste.ini"
    return {
        **_common(layout),
        "DEFAULT": {
            **_common(layout)["DEFAULT"],
            "core_plugin": "ml2",
            "service_plugins": "",
            "auth_strategy": "keystone",
            "api_paste_config": str(paste),
            "state_path": str(layout.state_dir("neutron")),
            "notify_nova_on_port_status_changes": "false",
            "notify_nova_on_port_data_changes": "false",
            "dhcp_agent_notification": "false",
            "allow_overlapping_ips": "true",
        },
        "database": {"connection": _backends.db_url(layout.databases["neutron"])},
        "ml2": {
            "type_drivers": "flat,vxlan",
            "tenant_network_types": "vxlan",
            "mechanism_drivers": _install.BINDING_ENTRY_POINT,
            "extension_drivers": "port_security",
        },
        "ml2_type_flat": {"flat_networks": "*"},
        "ml2_type_vxlan": {"vni_ranges": "1:1000"},
        "keystone_authtoken": _authtoken(layout, "neutron"),
    }


def nova(layout: Layout) -> Sections:
    """nova.conf: the fake virt driver, one worker each, cells on MariaDB, no VNC."""
    state = layout.state_dir("nova")
    paste = layout.venv / "etc" / "nova" / "api-paste.ini"
    return {
        **_common(layout),
        "DEFAULT": {
            **_common(layout)["DEFAULT"],
            "compute_driver": "fake.PredictableNodeUUIDDriver",
            "host": COMPUTE_HOST,
            "my_ip": _backends.HOST,
            "state_path": str(state),
            "instances_path": str(state / "instances"),
            "cpu_allocation_ratio": str(ALLOCATION_RATIOS["cpu"]),
            "ram_allocation_ratio": str(ALLOCATION_RATIOS["ram"]),
            "disk_allocation_ratio": str(ALLOCATION_RATIOS["disk"]),
            "reserved_host_memory_mb": "0",
            "reserved_host_disk_mb": "0",
            "periodic_fuzzy_delay": "0",
            "heal_instance_info_cache_interval": "-1",
        },
        "api": {"auth_strategy": "keystone"},
        "wsgi": {"api_paste_config": str(paste)},
        "api_database": {"connection": _backends.db_url(layout.databases["nova_api"])},
        "database": {"connection": _backends.db_url(layout.databases["nova"])},
        "keystone_authtoken": _authtoken(layout, "nova"),
        "service_user": {**_password_auth(layout, "nova"), "send_service_user_token": "true"},
        "placement": _password_auth(layout, "nova"),
        "neutron": _password_auth(layout, "nova"),
        "glance": {"region_name": REGION},
        "vnc": {"enabled": "false"},
        "scheduler": {"workers": "1", "discover_hosts_in_cells_interval": "-1"},
        "conductor": {"workers": "1"},
    }
