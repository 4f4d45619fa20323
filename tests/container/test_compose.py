"""The docker compose federation (docker-compose.yml) from the images up, on PostgreSQL.

Builds the images (``scripts/build_image.py``, as ``make image``; the Debian base is built
once and kept), brings the federation up with ``docker-compose.loopback.yml`` over the
root file (host networking, every server on a loopback port of its own), instantiates the
demo service through retail with the ``demo`` service, kills the wholesale node's container
and starts it again, shows and terminates the service, checks in the compose PostgreSQL
that no node holds anything of it, and runs ``down -v``. Every container and volume of the
test's compose project is removed, whatever happens. The root file alone (a bridge
network, as users run it) is checked by ``docker-compose config`` only: its containers
would talk over private addresses, and these tests talk over loopback only.

About 50 s with the images built; some 3 minutes on a machine without them (the Debian
base, then both images), plus installing Docker where it is missing.

Needs Docker (``_docker``): skipped without it outside CI, an error with ``CI=true``.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import yaml

from tests.container._docker import DockerTools, DockerUnavailable, docker_tools

ROOT = Path(__file__).resolve().parents[2]
OVERRIDE = Path(__file__).resolve().parent / "docker-compose.loopback.yml"
OPERATORS = ("retail", "wholesale", "edge")
DB_PASSWORD = "spfed"
"""docker-compose.yml's default (SPFED_DB_PASSWORD)."""
BUILD_S = 900.0
"""Bound on building the images: the Debian base (debootstrap, once), spfed, PostgreSQL."""
HEALTHY_S = 120.0
"""Bound on a node's container becoming healthy."""
CLEAN_S = 15.0
"""Bound on every database showing nothing held once the service is terminated."""
STEP_S = 180.0
"""Bound on one compose command."""

pytestmark = [pytest.mark.container, pytest.mark.timeout(BUILD_S + 600)]

# What a node holds for a service, by table; each must be empty once it is terminated.
HOLDINGS = (
    "service_parts",
    "resource_handles",
    "address_allocations",
    "emulated_resources",
    "wim_connectivity",
    "wim_segments",
    "effect_intents",
    "slice_holds",
)


@pytest.fixture(scope="module")
def tools() -> DockerTools:
    """Docker, installed and started if need be; skip (or, with CI=true, fail) without."""
    try:
        return docker_tools()
    except DockerUnavailable as exc:
        reason = f"the container tests need Docker: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: this is an error, not a skip)", pytrace=False)
        pytest.skip(reason)


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports free on 127.0.0.1 now."""
    sockets = []
    try:
        for _ in range(count):
            probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            probe.bind(("127.0.0.1", 0))
            sockets.append(probe)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for probe in sockets:
            probe.close()


@dataclass(frozen=True)
class Compose:
    """The test's compose project: the root file with the loopback override."""

    tools: DockerTools
    project: str
    env: Mapping[str, str]

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """``docker-compose <args>`` in the repository (stdout and stderr together)."""
        files = ["-f", str(ROOT / "docker-compose.yml"), "-f", str(OVERRIDE)]
        command = [*self.tools.compose, "-p", self.project, *files, *args]
        done = subprocess.run(
            command,
            cwd=ROOT,
            env=dict(self.env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=STEP_S,
            check=False,
        )
        if check and done.returncode != 0:
            pytest.fail(
                f"{' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{self.logs()}",
                pytrace=False,
            )
        return done

    def docker(self, *args: str) -> str:
        """``docker <args>``; its stdout."""
        done = subprocess.run(
            [*self.tools.docker, *args],
            capture_output=True,
            text=True,
            timeout=STEP_S,
            check=False,
        )
        assert done.returncode == 0, f"docker {' '.join(args)}: {done.stderr}"
        return done.stdout.strip()

    def logs(self) -> str:
        """The last lines of every service's log, for a failure's message."""
        done = self.run("logs", "--no-color", "--tail", "30", check=False)
        return done.stdout

    def container(self, service: str) -> str:
        """The id of ``service``'s container."""
        cid = self.run("ps", "-q", service).stdout.strip()
        assert cid, f"no container for {service}"
        return cid

    def wait_healthy(self, service: str) -> None:
        """Wait (bounded) until ``service``'s container reports healthy."""
        cid = self.container(service)
        deadline = time.monotonic() + HEALTHY_S
        status = "unknown"
        while time.monotonic() < deadline:
            status = self.docker("inspect", "--format", "{{.State.Health.Status}}", cid)
            if status == "healthy":
                return
            time.sleep(0.5)
        pytest.fail(f"{service} is {status} after {HEALTHY_S:g} s\n{self.logs()}", pytrace=False)

    def leftovers(self) -> list[str]:
        """Containers and volumes of the project that still exist."""
        label = f"label=com.docker.compose.project={self.project}"
        containers = self.docker("ps", "-a", "--quiet", "--filter", label).split()
        volumes = self.docker("volume", "ls", "--quiet", "--filter", label).split()
        return [f"container {c}" for c in containers] + [f"volume {v}" for v in volumes]


@pytest.fixture
def compose(tools: DockerTools) -> Iterator[Compose]:
    """The project, its ports on loopback; brought down with its volumes afterwards."""
    pg, retail, wholesale, edge = free_ports(4)
    env = {
        **os.environ,
        "SPFED_TEST_PG_PORT": str(pg),
        "SPFED_TEST_RETAIL_PORT": str(retail),
        "SPFED_TEST_WHOLESALE_PORT": str(wholesale),
        "SPFED_TEST_EDGE_PORT": str(edge),
        "SPFED_DB_PASSWORD": DB_PASSWORD,
    }
    project = Compose(tools, f"spfedtest{os.getpid()}", env)
    try:
        yield project
    finally:
        project.run(
            "--profile",
            "demo",
            "down",
            "--volumes",
            "--remove-orphans",
            "--timeout",
            "10",
            check=False,
        )
        left = project.leftovers()
        assert not left, f"down -v left {', '.join(left)}"


def query(port: int, database: str, sql: str) -> list[tuple[object, ...]]:
    """Rows of ``sql`` in one operator's database of the compose PostgreSQL."""
    with psycopg.connect(
        host="127.0.0.1",
        port=port,
        user="spfed",
        password=DB_PASSWORD,
        dbname=database,
        connect_timeout=5,
    ) as connection:
        return list(connection.execute(sql).fetchall())


def holdings(port: int) -> list[str]:
    """What any node's database still holds: services not terminated, operations running,
    and rows of ``HOLDINGS``."""
    held = []
    for op in OPERATORS:
        for state, count in query(
            port, op, "SELECT state, count(*) FROM services GROUP BY state ORDER BY state"
        ):
            if state != "terminated":
                held.append(f"{op}: {count} service(s) {state}")
        for (count,) in query(
            port, op, "SELECT count(*) FROM operations WHERE state NOT IN ('succeeded', 'failed')"
        ):
            if count:
                held.append(f"{op}: {count} operation(s) not finished")
        for table in HOLDINGS:
            (count,) = query(port, op, f"SELECT count(*) FROM {table}")[0]
            if count:
                held.append(f"{op}: {count} row(s) in {table}")
    return held


def build_images(env: Mapping[str, str]) -> str:
    """``scripts/build_image.py`` (``make image``); its output."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_image.py")],
        cwd=ROOT,
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=BUILD_S,
        check=False,
    )
    tail = "\n".join(done.stdout.splitlines()[-40:])
    assert done.returncode == 0, f"building the images failed:\n{tail}"
    return done.stdout


def demo(compose: Compose, step: str) -> str:
    """``docker-compose run --rm demo <step>``; its output (exit 0 asserted)."""
    return compose.run("--profile", "demo", "run", "--rm", "demo", step).stdout


def test_compose_federation_survives_a_killed_node_and_leaves_nothing(
    compose: Compose,
) -> None:
    built = build_images(compose.env)
    assert re.search(r"image spfed:latest: \d+ MB", built), built

    compose.run("up", "--detach")
    for op in reversed(OPERATORS):  # leaves first, as they start
        compose.wait_healthy(op)
    pg = int(compose.env["SPFED_TEST_PG_PORT"])
    assert holdings(pg) == []

    # The secure chain through retail, as its customer: firewall at retail, DPI and NAT at
    # wholesale, the edge CDN at edge through wholesale.
    said = demo(compose, "instantiate")
    found = re.search(r"service ([0-9a-f]{32}) is active", said)
    assert found, said
    service = found.group(1)
    for op in OPERATORS:
        states = query(pg, op, "SELECT state FROM services")
        assert states == [("active",)], f"{op}: {states}"
        (resources,) = query(pg, op, "SELECT count(*) FROM emulated_resources")[0]
        assert isinstance(resources, int)
        assert resources > 0, f"{op} holds no PoP resources for the service"

    wholesale = compose.container("wholesale")
    compose.docker("kill", wholesale)
    assert compose.docker("inspect", "--format", "{{.State.Running}}", wholesale) == "false"
    compose.docker("start", wholesale)
    compose.wait_healthy("wholesale")

    shown = demo(compose, "show")
    assert f"id {service}" in shown, shown
    assert "no address, MAC or port id twice" in shown, shown

    said = demo(compose, "terminate")
    assert f"service {service} is terminated" in said, said

    deadline = time.monotonic() + CLEAN_S
    held = holdings(pg)
    while held and time.monotonic() < deadline:
        time.sleep(0.5)
        held = holdings(pg)
    assert held == [], held


def test_the_default_file_is_the_bridge_network_federation(tools: DockerTools) -> None:
    """docker-compose.yml as users run it (checked by compose itself, nothing started):
    a bridge network, named volumes, grpc.health.v1 checks, the demo under its profile."""
    done = subprocess.run(
        [*tools.compose, "-f", str(ROOT / "docker-compose.yml"), "config"],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if not k.startswith("SPFED_")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    config = yaml.safe_load(done.stdout)
    services = config["services"]
    assert set(services) == {"postgres", "init", *OPERATORS, "demo"}
    assert not any("network_mode" in s for s in services.values())
    assert set(config["volumes"]) == {"spfed-data", "postgres-data"}
    for op in OPERATORS:
        assert services[op]["healthcheck"]["test"] == ["CMD", "python", "-m", "spfed.healthcheck"]
        assert services[op]["command"] == ["serve", "--config", f"/var/lib/spfed/{op}/node.yaml"]
    assert services["demo"]["profiles"] == ["demo"]
    assert services["init"]["command"][:2] == ["topology", "provision"]
