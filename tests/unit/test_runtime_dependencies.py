"""What an installed spfed needs at run time: grpcio-tools is for generating stubs only.

``scripts/gen_proto.py`` (``make proto``) and the stub drift test use grpcio-tools, so it
is a dev extra; PostgreSQL's driver is the ``postgres`` extra. Every module of the
installed packages must import without ``grpc_tools`` (grpcio itself tries to import it,
for ``grpc.protos``, and goes on without it).
"""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys

_PACKAGES = ("spfed", "upper_sp", "lower_sp", "capability_catalog", "addressing", "wim")


def _requirements() -> list[tuple[str, str]]:
    """(distribution name, marker) of each requirement of spfed; "" when it has no marker."""
    found = []
    for line in importlib.metadata.requires("spfed") or []:
        spec, _, marker = line.partition(";")
        name = re.match(r"[A-Za-z0-9._-]+", spec.strip())
        assert name is not None, line
        found.append((name.group(0).lower(), marker.strip()))
    return found


def test_grpcio_tools_and_the_driver_are_extras() -> None:
    runtime = {name for name, marker in _requirements() if not marker}
    assert "grpcio-tools" not in runtime
    assert "psycopg" not in runtime
    assert ("grpcio-tools", 'extra == "dev"') in _requirements()
    assert ("psycopg", 'extra == "postgres"') in _requirements()


def test_every_runtime_module_imports_without_grpc_tools() -> None:
    script = (
        "import importlib, pkgutil, sys\n"
        "sys.modules['grpc_tools'] = None  # as if it were not installed: import fails\n"
        f"for name in {_PACKAGES!r}:\n"
        "    package = importlib.import_module(name)\n"
        "    for info in pkgutil.walk_packages(package.__path__, name + '.'):\n"
        "        # __main__ runs the CLI; Alembic runs the migration scripts itself.\n"
        "        if not info.name.endswith('.__main__') and '.migrations' not in info.name:\n"
        "            importlib.import_module(info.name)\n"
        "print('imported')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "imported"
