"""The MariaDB and RabbitMQ the harness uses: reachability, per-run databases and vhost.

Both services are expected on 127.0.0.1 (MariaDB on 3306 as root with an empty password,
RabbitMQ on 5672 as guest/guest); ``SPFED_OPENSTACK_DB_USER`` and
``SPFED_OPENSTACK_DB_PASSWORD`` override the database account. Databases are created and
dropped with PyMySQL from the OpenStack virtualenv (the project's own virtualenv has no
MySQL driver); the vhost is managed with ``rabbitmqctl``.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

HOST = "127.0.0.1"
MARIADB_PORT = 3306
RABBITMQ_PORT = 5672
RABBIT_USER = "guest"
RABBIT_PASSWORD = "guest"

COMMAND_TIMEOUT = 60.0
_NAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")


class BackendError(RuntimeError):
    """MariaDB or RabbitMQ refused what the harness asked."""


def reachable(port: int, host: str = HOST, timeout: float = 2.0) -> bool:
    """Whether a TCP connection to ``host:port`` succeeds within ``timeout`` seconds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def db_user() -> str:
    """The MariaDB account: ``$SPFED_OPENSTACK_DB_USER`` or root."""
    return os.environ.get("SPFED_OPENSTACK_DB_USER", "root")


def db_password() -> str:
    """The MariaDB password: ``$SPFED_OPENSTACK_DB_PASSWORD`` or empty."""
    return os.environ.get("SPFED_OPENSTACK_DB_PASSWORD", "")


def db_url(database: str) -> str:
    """SQLAlchemy URL of ``database`` for the OpenStack services."""
    password = f":{quote(db_password(), safe='')}" if db_password() else ""
    return (
        f"mysql+pymysql://{quote(db_user(), safe='')}{password}@{HOST}:{MARIADB_PORT}/"
        f"{database}?charset=utf8"
    )


def transport_url(vhost: str) -> str:
    """oslo.messaging URL of ``vhost``."""
    return (
        f"rabbit://{RABBIT_USER}:{RABBIT_PASSWORD}@{HOST}:{RABBITMQ_PORT}/{quote(vhost, safe='')}"
    )


_SQL_SCRIPT = """
import sys, pymysql
host, port, user, password, verb, *names = sys.argv[1:]
conn = pymysql.connect(host=host, port=int(port), user=user, password=password,
                       connect_timeout=10, read_timeout=60, write_timeout=60, autocommit=True)
with conn.cursor() as cursor:
    for name in names:
        if verb == 'create':
            cursor.execute('CREATE DATABASE `' + name + '` CHARACTER SET utf8mb4')
        else:
            cursor.execute('DROP DATABASE IF EXISTS `' + name + '`')
conn.close()
"""
"""Run by the OpenStack virtualenv's python: create or drop the named databases."""


def _check_names(names: Sequence[str]) -> None:
    """Refuse names that are not plain identifiers (they are spliced into SQL and commands)."""
    for name in names:
        if not _NAME.match(name):
            raise BackendError(f"refusing odd name {name!r}")


def create_databases(python: Path, names: Sequence[str]) -> None:
    """Create the (new, uniquely named) databases ``names``."""
    _sql(python, "create", names)


def drop_databases(python: Path, names: Sequence[str]) -> None:
    """Drop the databases ``names`` that exist."""
    _sql(python, "drop", names)


def _sql(python: Path, verb: str, names: Sequence[str]) -> None:
    """Run the SQL helper with the OpenStack virtualenv's ``python``."""
    if not names:
        return
    _check_names(names)
    argv = [str(python), "-c", _SQL_SCRIPT, HOST, str(MARIADB_PORT), db_user(), db_password()]
    argv += [verb, *names]
    _command(argv, f"{verb} databases {', '.join(names)}")


def _rabbitmqctl() -> str:
    """Path of ``rabbitmqctl``; BackendError if there is none."""
    found = shutil.which("rabbitmqctl") or (
        "/usr/sbin/rabbitmqctl" if Path("/usr/sbin/rabbitmqctl").exists() else None
    )
    if found is None:
        raise BackendError("rabbitmqctl is not installed: cannot create a RabbitMQ vhost")
    return found


def add_vhost(name: str) -> None:
    """Create the vhost ``name`` and give the guest account every right on it."""
    _check_names([name])
    ctl = _rabbitmqctl()
    _command([ctl, "-q", "add_vhost", name], f"add vhost {name}")
    _command(
        [ctl, "-q", "set_permissions", "-p", name, RABBIT_USER, ".*", ".*", ".*"],
        f"grant {RABBIT_USER} on vhost {name}",
    )


def delete_vhost(name: str) -> None:
    """Delete the vhost ``name`` if it exists."""
    _check_names([name])
    ctl = _rabbitmqctl()
    listed = _command([ctl, "-q", "list_vhosts", "name"], "list vhosts")
    if name in listed.split():
        _command([ctl, "-q", "delete_vhost", name], f"delete vhost {name}")


def _command(argv: Sequence[str], what: str) -> str:
    """Stdout of ``argv``; BackendError naming ``what`` if it fails or times out."""
    try:
        completed = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise BackendError(f"{what}: timed out after {COMMAND_TIMEOUT:.0f} s") from None
    if completed.returncode != 0:
        output = (completed.stderr or completed.stdout).strip().splitlines()
        raise BackendError(f"{what}: {' / '.join(output[-3:])}")
    return completed.stdout
