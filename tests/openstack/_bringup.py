"""Bringing one configured run to life: database syncs, services, catalog, test resources.

The steps overlap where they can, because a cold start is dominated by imports and
migrations on two cores: the five database syncs run in parallel; each API starts as soon as
its own sync is done; Keystone's catalog and users are created while the others migrate.
Every wait is bounded, and a process that dies while it is waited for ends the wait at once
with its log named in the error.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from tests.openstack import _backends, _config, _procs

Record = Callable[[_procs.ProcRecord], None]

COMMAND_TIMEOUT = 300.0
"""Seconds for one management command (a migration or a bootstrap)."""
API_TIMEOUT = 120.0
"""Seconds for an API to answer after its process started."""
COMPUTE_TIMEOUT = 120.0
"""Seconds for nova-compute to register its resource provider."""
POLL = 0.25


class StepError(RuntimeError):
    """A step of the bring-up failed; ``log`` is the file that tells why."""

    def __init__(self, message: str, log: Path | None = None) -> None:
        super().__init__(message)
        self.log = log


def service_env(layout: _config.Layout) -> dict[str, str]:
    """Environment of every OpenStack process: the venv first, no OS_* or PYTHON* leaking in."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OS_", "PYTHON", "VIRTUAL_ENV", "UWSGI_"))
    }
    env["PATH"] = f"{layout.venv / 'bin'}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
    env["VIRTUAL_ENV"] = str(layout.venv)
    env["OS_KEYSTONE_CONFIG_FILES"] = str(layout.conf_dir("keystone") / "keystone.conf")
    env["OS_PLACEMENT_CONFIG_DIR"] = str(layout.conf_dir("placement"))
    env["OS_GLANCE_CONFIG_DIR"] = str(layout.conf_dir("glance"))
    env["OS_NEUTRON_CONFIG_DIR"] = str(layout.conf_dir("neutron"))
    env["OS_NEUTRON_CONFIG_FILES"] = "neutron.conf"
    env["OS_NOVA_CONFIG_DIR"] = str(layout.conf_dir("nova"))
    env["OS_NOVA_CONFIG_FILES"] = f"{layout.venv / 'etc' / 'nova' / 'api-paste.ini'};nova.conf"
    return env


def _conf(layout: _config.Layout, service: str) -> str:
    """The main configuration file of ``service``."""
    names = {
        "keystone": "keystone.conf",
        "placement": "placement.conf",
        "glance": "glance-api.conf",
        "neutron": "neutron.conf",
        "nova": "nova.conf",
    }
    return str(layout.conf_dir(service) / names[service])


def sync_commands(layout: _config.Layout) -> dict[str, list[list[str]]]:
    """Per service, the management commands that create its schema and first data."""
    bin_dir = layout.venv / "bin"
    keystone = [str(bin_dir / "keystone-manage"), "--config-file", _conf(layout, "keystone")]
    nova = [str(bin_dir / "nova-manage"), "--config-file", _conf(layout, "nova")]
    user, group = str(os.getuid()), str(os.getgid())
    keystone_url = layout.auth_url
    cell0 = _backends.db_url(layout.databases["nova_cell0"])
    return {
        "keystone": [
            [*keystone, "db_sync"],
            [*keystone, "fernet_setup", "--keystone-user", user, "--keystone-group", group],
            [*keystone, "credential_setup", "--keystone-user", user, "--keystone-group", group],
            [
                *keystone,
                "bootstrap",
                f"--bootstrap-password={layout.passwords['admin']}",
                "--bootstrap-region-id",
                _config.REGION,
                "--bootstrap-admin-url",
                keystone_url,
                "--bootstrap-internal-url",
                keystone_url,
                "--bootstrap-public-url",
                keystone_url,
            ],
        ],
        "placement": [
            [
                str(bin_dir / "placement-manage"),
                "--config-file",
                _conf(layout, "placement"),
                "db",
                "sync",
            ]
        ],
        "glance": [
            [str(bin_dir / "glance-manage"), "--config-file", _conf(layout, "glance"), "db_sync"]
        ],
        "neutron": [
            [
                str(bin_dir / "neutron-db-manage"),
                "--config-file",
                _conf(layout, "neutron"),
                "upgrade",
                "heads",
            ]
        ],
        "nova": [
            [*nova, "api_db", "sync"],
            [*nova, "cell_v2", "map_cell0", "--database_connection", cell0],
            [*nova, "cell_v2", "create_cell", "--name", "cell1"],
            [*nova, "db", "sync"],
        ],
    }


def run_command(
    layout: _config.Layout, argv: Sequence[str], log_name: str, abort: threading.Event
) -> str:
    """Run ``argv`` to completion with its output appended to ``log_name``'s log; its output."""
    if abort.is_set():
        raise StepError(f"{log_name}: not started, the bring-up was aborted")
    log = layout.log(log_name)
    with log.open("a") as out:
        out.write(f"$ {' '.join(argv)}\n")
        out.flush()
        start = out.tell()
        try:
            completed = subprocess.run(
                list(argv),
                env=service_env(layout),
                cwd=layout.run_dir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=COMMAND_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise StepError(f"{Path(argv[0]).name} timed out", log) from None
    if completed.returncode != 0:
        raise StepError(f"{' '.join(Path(a).name for a in argv[:3])} failed", log)
    with log.open() as handle:
        handle.seek(start)
        return handle.read()


def uwsgi_argv(layout: _config.Layout, service: str) -> list[str]:
    """uwsgi serving ``service``'s API: 1 process, 1 thread, ``Connection: close``."""
    return [
        str(layout.venv / "bin" / "uwsgi"),
        "--master",
        "--die-on-term",
        "--need-app",
        "--lazy-apps",
        "--enable-threads",
        "--processes",
        "1",
        "--threads",
        "1",
        "--http-socket",
        f"{_backends.HOST}:{layout.ports[service]}",
        "--module",
        _config.WSGI_MODULES[service],
        "--virtualenv",
        str(layout.venv),
        "--add-header",
        "Connection: close",
        "--buffer-size",
        "65535",
        "--reload-mercy",
        "3",
        "--worker-reload-mercy",
        "3",
        "--procname-prefix-spaced",
        f"spfedq-{layout.run_id}-{service}",
    ]


def daemon_argv(layout: _config.Layout, name: str) -> list[str]:
    """A Nova console-script daemon (``nova-conductor``, ...) with the run's nova.conf."""
    return [str(layout.venv / "bin" / name), "--config-file", _conf(layout, "nova")]


def start(
    layout: _config.Layout, name: str, argv: Sequence[str], record: Record
) -> _procs.ProcRecord:
    """Start ``argv`` as process ``name`` (log ``logs/<name>.log``) and record it at once."""
    proc = _procs.spawn(name, argv, service_env(layout), layout.log(name), layout.run_dir)
    record(proc)
    return proc


def wait_http(url: str, proc: _procs.ProcRecord, timeout: float = API_TIMEOUT) -> None:
    """Wait until ``url`` gives any HTTP answer; StepError if ``proc`` dies or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _procs.alive(proc):
            raise StepError(f"{proc.name} exited while starting", Path(proc.log))
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                response.read()
            return
        except urllib.error.HTTPError:
            return
        except (urllib.error.URLError, OSError):
            time.sleep(POLL)
    raise StepError(f"{proc.name} did not answer on {url} within {timeout:.0f} s", Path(proc.log))


def run_syncs(
    layout: _config.Layout, pool: ThreadPoolExecutor, abort: threading.Event
) -> dict[str, Future[None]]:
    """Start every service's sync chain in ``pool``; a future per service."""

    def chain(service: str, commands: list[list[str]]) -> None:
        for argv in commands:
            run_command(layout, argv, f"{service}-manage", abort)

    return {
        service: pool.submit(chain, service, commands)
        for service, commands in sync_commands(layout).items()
    }


def map_compute_host(layout: _config.Layout, abort: threading.Event) -> bool:
    """Run ``cell_v2 discover_hosts``; whether nova-compute's host is now mapped to cell1."""
    manage = daemon_argv(layout, "nova-manage")
    output = run_command(
        layout, [*manage, "cell_v2", "discover_hosts", "--verbose"], "nova-manage", abort
    )
    if "Creating host mapping" in output:
        return True
    listed = run_command(layout, [*manage, "cell_v2", "list_hosts"], "nova-manage", abort)
    return _config.COMPUTE_HOST in listed
