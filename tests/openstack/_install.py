"""The OpenStack virtualenv of the harness: installed once per constraints file, then reused.

The virtualenv lives outside the project, in ``<home>/venv-<hash>`` where ``<hash>`` is the
start of the SHA-256 of ``constraints.txt``: a new pin set gets a new virtualenv, and an old
one is never modified. A stamp file, written last, marks it complete; a directory without
the stamp is a broken install and is removed before installing again. An exclusive file lock
keeps two concurrent runs from installing at the same time (the second waits, then reuses).

The ML2 binding driver (``binding_driver.py``) is copied in as the module
``spfed_qual_binding`` with a minimal ``*.dist-info`` that registers it under
``neutron.ml2.mechanism_drivers``; that copy is refreshed whenever the file changes.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONSTRAINTS = HERE / "constraints.txt"
BINDING_SOURCE = HERE / "binding_driver.py"

TOP_LEVEL = (
    "keystone",
    "nova",
    "neutron",
    "openstack-placement",
    "glance",
    "uWSGI",
    "PyMySQL",
)
"""What is asked of pip; every other package comes in as a dependency, pinned by CONSTRAINTS."""

BINDING_MODULE = "spfed_qual_binding"
BINDING_ENTRY_POINT = "spfed_binding"
"""The name given to ``[ml2] mechanism_drivers``."""

STAMP = ".spfed-complete"
INSTALL_TIMEOUT = 1800.0
"""Seconds for the whole pip install (uWSGI compiles from source)."""
LOCK_TIMEOUT = INSTALL_TIMEOUT + 120.0
"""Seconds to wait for another run's install before giving up."""

Log = Callable[[str], None]


class InstallError(RuntimeError):
    """The OpenStack virtualenv could not be installed; the message ends with pip's output."""


def default_home() -> Path:
    """``$SPFED_OPENSTACK_HOME``, else ``~/.cache/spfed/openstack``."""
    configured = os.environ.get("SPFED_OPENSTACK_HOME")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "spfed" / "openstack"


def constraints_digest() -> str:
    """First 12 hex digits of the SHA-256 of ``constraints.txt``."""
    return hashlib.sha256(CONSTRAINTS.read_bytes()).hexdigest()[:12]


def venv_path(home: Path) -> Path:
    """The virtualenv for the current constraints, whether or not it exists yet."""
    return home / f"venv-{constraints_digest()}"


def is_complete(venv: Path) -> bool:
    """Whether ``venv`` finished installing (its stamp was written)."""
    return (venv / STAMP).is_file()


def ensure_venv(home: Path, log: Log) -> Path:
    """The complete virtualenv for the current constraints, installing it if needed."""
    venv = venv_path(home)
    if not is_complete(venv):
        home.mkdir(parents=True, exist_ok=True)
        with _exclusive(home / "install.lock", LOCK_TIMEOUT, log):
            if not is_complete(venv):
                _install(venv, log)
    install_binding_driver(venv)
    return venv


@contextlib.contextmanager
def _exclusive(path: Path, timeout: float, log: Log) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path``, waiting at most ``timeout`` seconds for it."""
    with path.open("a") as handle:
        deadline = time.monotonic() + timeout
        announced = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise InstallError(f"another install held {path} for {timeout:.0f} s") from None
                if not announced:
                    log(f"waiting for another run's install ({path})")
                    announced = True
                time.sleep(1.0)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _install(venv: Path, log: Log) -> None:
    """Create ``venv`` from scratch and install the pinned OpenStack into it."""
    if venv.exists():
        log(f"removing incomplete {venv}")
        shutil.rmtree(venv)
    started = time.monotonic()
    log(f"installing OpenStack into {venv} (a few minutes the first time)")
    _run([sys.executable, "-m", "venv", str(venv)], venv.parent / "install.log", mode="w")
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check"]
    _run([*pip, "-c", str(CONSTRAINTS), *TOP_LEVEL], venv.parent / "install.log", mode="a")
    install_binding_driver(venv)
    (venv / STAMP).write_text(f"{constraints_digest()}\n")
    log(f"installed in {time.monotonic() - started:.0f} s")


def _run(argv: list[str], log_path: Path, mode: str) -> None:
    """Run ``argv``, its output appended to ``log_path``; InstallError with the tail on failure."""
    with log_path.open(mode) as out:
        out.write(f"$ {' '.join(argv)}\n")
        out.flush()
        try:
            completed = subprocess.run(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                timeout=INSTALL_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise InstallError(f"{argv[0]} timed out after {INSTALL_TIMEOUT:.0f} s") from None
    if completed.returncode != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-40:])
        raise InstallError(f"{' '.join(argv[:4])} ... failed ({completed.returncode}):\n{tail}")


def site_packages(venv: Path) -> Path:
    """The virtualenv's ``site-packages`` directory."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return venv / "lib" / version / "site-packages"


def install_binding_driver(venv: Path) -> None:
    """Copy the binding driver into ``venv`` and register its entry point (idempotent)."""
    target = site_packages(venv)
    _write_if_changed(target / f"{BINDING_MODULE}.py", BINDING_SOURCE.read_text())
    dist_info = target / f"{BINDING_MODULE}-1.0.dist-info"
    dist_info.mkdir(exist_ok=True)
    _write_if_changed(
        dist_info / "METADATA",
        f"Metadata-Version: 2.1\nName: {BINDING_MODULE}\nVersion: 1.0\n"
        "Summary: spfed qualification harness: an ML2 driver that binds every port\n",
    )
    _write_if_changed(
        dist_info / "entry_points.txt",
        "[neutron.ml2.mechanism_drivers]\n"
        f"{BINDING_ENTRY_POINT} = {BINDING_MODULE}:BindingDriver\n",
    )
    _write_if_changed(dist_info / "top_level.txt", f"{BINDING_MODULE}\n")


def _write_if_changed(path: Path, text: str) -> None:
    """Replace ``path`` atomically with ``text`` unless it already holds exactly that."""
    if path.is_file() and path.read_text() == text:
        return
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text)
    temporary.replace(path)
