"""Docker for the container tests: Debian's engine, compose and debootstrap, there and running.

``docker_tools()`` returns the clients to use, after making them work:

- As root, what is missing of ``docker.io``, ``docker-compose`` and ``debootstrap`` (the base
  image's builder) is installed with ``apt-get``, and a daemon that does not answer is
  started in the background (and left running; its log is ``/var/log/spfed-dockerd.log``).
  The daemon started here gets no default bridge, no iptables rules and no IP forwarding:
  the tests' containers use the host's network, so nothing of the host's firewall changes.
- Otherwise only an engine that answers already, with the tools installed, is used.

When that is not possible it raises ``DockerUnavailable``, whose reason says what is missing;
the tests skip with it, or fail with ``CI=true``.

The client is Debian's ``/usr/bin/docker`` (the engine's own version) when there is one:
another client on the PATH may speak a newer API than Debian's 20.10 engine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DockerTools", "DockerUnavailable", "docker_tools"]

PACKAGES = ("docker.io", "docker-compose", "debootstrap")
"""Debian's engine, compose v1 and what builds the base image without a registry."""
DAEMON_LOG = Path("/var/log/spfed-dockerd.log")
_DAEMON_OPTIONS = ("--bridge=none", "--iptables=false", "--ip-forward=false")
_APT_TIMEOUT_S = 600.0
_DAEMON_START_S = 60.0


class DockerUnavailable(RuntimeError):
    """Docker cannot be used here; the message says why."""


@dataclass(frozen=True)
class DockerTools:
    """The clients to call."""

    docker: tuple[str, ...]
    """The Docker client."""
    compose: tuple[str, ...]
    """``docker-compose``, or ``docker compose``."""


def _docker_client() -> tuple[str, ...]:
    if Path("/usr/bin/docker").exists():
        return ("/usr/bin/docker",)
    found = shutil.which("docker")
    return (found,) if found else ()


def _answers(docker: tuple[str, ...]) -> bool:
    if not docker:
        return False
    try:
        done = subprocess.run(
            [*docker, "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _compose(docker: tuple[str, ...]) -> tuple[str, ...]:
    found = shutil.which("docker-compose")
    if found:
        return (found,)
    if docker:
        done = subprocess.run(
            [*docker, "compose", "version"], capture_output=True, check=False, timeout=20
        )
        if done.returncode == 0:
            return (*docker, "compose")
    return ()


def _missing() -> list[str]:
    wanted = {"docker.io": "dockerd", "docker-compose": "docker-compose", "debootstrap": ""}
    missing = []
    for package, program in wanted.items():
        if package == "debootstrap":
            present = shutil.which("debootstrap") or Path("/usr/sbin/debootstrap").exists()
        else:
            present = shutil.which(program) or Path("/usr/sbin", program).exists()
        if not present:
            missing.append(package)
    return missing


def _install(packages: list[str]) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-q", "--yes", *packages],
    ):
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                env=env,
                timeout=_APT_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise DockerUnavailable(f"{' '.join(command)}: {exc}") from exc
        if done.returncode != 0:
            tail = " | ".join((done.stdout + done.stderr).strip().splitlines()[-5:])
            raise DockerUnavailable(f"{' '.join(command)} failed: {tail}")


def _start_daemon(docker: tuple[str, ...]) -> None:
    dockerd = shutil.which("dockerd") or "/usr/sbin/dockerd"
    DAEMON_LOG.parent.mkdir(parents=True, exist_ok=True)
    # Through a shell that exits at once: the daemon, in a session of its own, is nobody's
    # child here and outlives the test run, as a system's daemon would.
    subprocess.run(
        ["sh", "-c", 'setsid "$0" "$@" >> "$LOG" 2>&1 < /dev/null &', dockerd, *_DAEMON_OPTIONS],
        env={**os.environ, "LOG": str(DAEMON_LOG)},
        check=True,
        timeout=10,
    )
    deadline = time.monotonic() + _DAEMON_START_S
    while time.monotonic() < deadline:
        if _answers(docker):
            return
        time.sleep(0.5)
    tail = " | ".join(DAEMON_LOG.read_text(errors="replace").strip().splitlines()[-5:])
    raise DockerUnavailable(f"dockerd did not answer within {_DAEMON_START_S:g} s: {tail}")


def docker_tools() -> DockerTools:
    """The Docker and compose clients, with a daemon that answers.

    Raises:
        DockerUnavailable: not root and something is missing or not running; or, as
            root, installing or starting failed.
    """
    root = os.geteuid() == 0
    missing = _missing()
    if missing:
        if not root:
            raise DockerUnavailable(
                f"{', '.join(missing)} not installed, and installing needs root"
                f" (apt-get install {' '.join(PACKAGES)})"
            )
        _install(missing)
    docker = _docker_client()
    if not docker:
        raise DockerUnavailable("no docker client after installing docker.io")
    if not _answers(docker):
        if not root:
            raise DockerUnavailable(
                "the Docker daemon does not answer this user (not running, or no access to"
                " its socket), and starting it needs root"
            )
        _start_daemon(docker)
    compose = _compose(docker)
    if not compose:
        raise DockerUnavailable("neither docker-compose nor the compose plugin is installed")
    return DockerTools(docker, compose)
