"""A real Prometheus server scrapes a 3-operator topology and answers PromQL about it.

Prometheus is Debian's ``prometheus`` package, installed here when missing (as root;
``apt-get install``, with service start-up refused through ``policy-rc.d`` so that no
packaged server is left running). Without root, outside CI, the test is skipped, saying
why; under ``CI=true`` it runs or fails. Prometheus listens on a free port of 127.0.0.1,
keeps its data in ``tmp_path``, scrapes only the nodes' 127.0.0.1 metrics ports, and is
stopped by the test, as is every node.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from spfed.client import PlatformClient
from spfed.topology import TopologyState, up
from spfed.topology._ports import pick_free_port
from spfed.topology.security import TopologySecurity
from tests.multiprocess.test_topology import SPFED, stopped_at_exit

pytestmark = [pytest.mark.multiprocess, pytest.mark.timeout(240)]

REPO = Path(__file__).resolve().parents[2]
DESCRIPTORS = REPO / "examples" / "descriptors"
OPERATORS = ("retail", "wholesale-eu", "edge-be")
CALLS = 5
"""GetCatalogue calls made at each operator."""
SETTLE_S = 60.0
"""Bound on Prometheus answering as expected (it scrapes every second)."""
POLICY_RC_D = Path("/usr/sbin/policy-rc.d")
CAPACITY = {"vcpus": 16, "memory_mib": 32768, "disk_gib": 500}


def _install_prometheus() -> str | None:
    """Install Debian's ``prometheus`` without starting its service; its path, or None."""
    placed = not POLICY_RC_D.exists()
    if placed:  # refuse every service start during the install (invoke-rc.d's contract)
        POLICY_RC_D.write_text("#!/bin/sh\nexit 101\n")
        POLICY_RC_D.chmod(0o755)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        for command in (
            ["apt-get", "update"],
            ["apt-get", "install", "-y", "--no-install-recommends", "prometheus"],
        ):
            subprocess.run(command, env=env, check=True, capture_output=True, timeout=600)
    except (OSError, subprocess.SubprocessError):
        return None
    finally:
        if placed:
            POLICY_RC_D.unlink(missing_ok=True)
    return shutil.which("prometheus")


@pytest.fixture(scope="module")
def prometheus_binary() -> str:
    found = shutil.which("prometheus")
    if found:
        return found
    ci = os.environ.get("CI") == "true"
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        why = "Prometheus is not installed, and installing Debian's package needs root and apt"
        if ci:
            pytest.fail(f"{why} (CI=true: this test must run)")
        pytest.skip(why)
    installed = _install_prometheus()
    if installed is None:
        if ci:
            pytest.fail("apt-get install prometheus failed (CI=true: this test must run)")
        pytest.skip("apt-get install prometheus failed")
    return installed


def _topology_file(directory: Path) -> Path:
    data = {
        "name": "metrics",
        "operators": {
            "retail": {"pops": [{"name": "ams", "region": "nl", "capacity": CAPACITY}]},
            "wholesale-eu": {
                "parents": ["retail"],
                "pops": [{"name": "fra", "region": "de", "capacity": CAPACITY}],
                "descriptors": [str(DESCRIPTORS / "vnfd-legacy-nat.yml")],
            },
            "edge-be": {
                "parents": ["wholesale-eu"],
                "pops": [{"name": "bru", "region": "be", "capacity": CAPACITY}],
                "descriptors": [
                    str(DESCRIPTORS / "nsd-edge-cdn.yml"),
                    str(DESCRIPTORS / "vnfd-router.yml"),
                    str(DESCRIPTORS / "vnfd-cache.yml"),
                ],
            },
        },
    }
    path = directory / "metrics.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture
def prometheus_dir(tmp_path: Path) -> Path:
    out = tmp_path / "prometheus"
    out.mkdir()
    return out


@pytest.fixture
def running_prometheus(
    prometheus_binary: str, prometheus_dir: Path
) -> Iterator[tuple[list[subprocess.Popen[bytes]], Path]]:
    """A slot for the server the test starts; whatever happens, it is stopped at exit."""
    holder: list[subprocess.Popen[bytes]] = []
    yield holder, prometheus_dir
    for proc in holder:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _start_prometheus(
    binary: str, directory: Path, targets: list[str], holder: list[subprocess.Popen[bytes]]
) -> str:
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [{"job_name": "spfed", "static_configs": [{"targets": targets}]}],
    }
    (directory / "prometheus.yml").write_text(yaml.safe_dump(config))
    listen = f"127.0.0.1:{pick_free_port()}"
    log = (directory / "prometheus.log").open("wb")
    holder.append(
        subprocess.Popen(
            [
                binary,
                f"--config.file={directory / 'prometheus.yml'}",
                f"--storage.tsdb.path={directory / 'data'}",
                f"--web.listen-address={listen}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    )
    log.close()
    return listen


def _query(listen: str, promql: str) -> list[dict[str, object]]:
    url = f"http://{listen}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(url, timeout=5) as reply:
        body = json.loads(reply.read())
    assert body["status"] == "success", body
    result: list[dict[str, object]] = body["data"]["result"]
    return result


def _scalar(result: list[dict[str, object]]) -> float | None:
    if len(result) != 1:
        return None
    value = result[0]["value"]
    assert isinstance(value, list)
    return float(value[1])


async def _call_every_operator(state: TopologyState) -> None:
    security = TopologySecurity.under(state.directory)
    for op in OPERATORS:
        async with PlatformClient(
            state.operators[op].address,
            node_id=op,
            timeout_s=10.0,
            tls=security.client_tls(),
            sign_in=security.sign_in(op, "admin"),
        ) as client:
            for _ in range(CALLS):
                await client.get_catalogue()


def test_a_real_prometheus_scrapes_a_3_operator_topology(
    tmp_path: Path,
    running_prometheus: tuple[list[subprocess.Popen[bytes]], Path],
    prometheus_binary: str,
) -> None:
    holder, directory = running_prometheus
    with stopped_at_exit(tmp_path / "state") as root:
        state = up(_topology_file(tmp_path), root)
        targets = [state.operators[op].metrics for op in OPERATORS]
        assert all(t.startswith("127.0.0.1:") for t in targets), targets
        assert len(set(targets)) == 3
        shown = subprocess.run(
            [str(SPFED), "topology", "status", "metrics", "--json", "--state-dir", str(root)],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        listed = {o["id"]: o["metrics"] for o in json.loads(shown.stdout)["operators"]}
        assert listed == dict(zip(OPERATORS, targets, strict=True))
        table = subprocess.run(
            [str(SPFED), "topology", "status", "metrics", "--state-dir", str(root)],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
            env={**os.environ, "COLUMNS": "200"},
        )
        assert all(t in table.stdout for t in targets), table.stdout
        asyncio.run(_call_every_operator(state))
        listen = _start_prometheus(prometheus_binary, directory, targets, holder)

        wanted = 'sum(spfed_rpc_duration_seconds_count{method=~".*/GetCatalogue",code="OK"})'
        deadline = time.monotonic() + SETTLE_S
        up_count = calls = None
        while time.monotonic() < deadline:
            assert holder[0].poll() is None, (directory / "prometheus.log").read_text()[-3000:]
            try:
                up_count = _scalar(_query(listen, 'count(up{job="spfed"} == 1)'))
                calls = _scalar(_query(listen, wanted))
                nodes = _query(listen, "spfed_node_info")
            except OSError:  # not listening yet
                time.sleep(0.5)
                continue
            names = {str(r["metric"]["node"]) for r in nodes}  # type: ignore[index]
            if (
                up_count == 3
                and calls is not None
                and calls >= 3 * CALLS
                and names == set(OPERATORS)
            ):
                break
            time.sleep(0.5)
        else:
            pytest.fail(
                f"Prometheus did not see the topology within {SETTLE_S} s: up={up_count},"
                f" GetCatalogue calls={calls}\n"
                + (directory / "prometheus.log").read_text()[-3000:]
            )
        per_node = _query(
            listen,
            'sum by (instance) (spfed_rpc_duration_seconds_count{method=~".*/GetCatalogue",'
            'code="OK"})',
        )
        assert {str(r["metric"]["instance"]) for r in per_node} == set(targets)  # type: ignore[index]
        assert all(float(r["value"][1]) >= CALLS for r in per_node)  # type: ignore[index]
