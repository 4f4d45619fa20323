"""The OpenStack example topology from the command line, as a user runs it: ``spfed
topology up``, ``spfed service instantiate``, the servers in Nova, ``terminate``, ``down``.

The nodes find the cloud the way the openstack CLI does, through ``OS_CLIENT_CONFIG_FILE``.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.multiprocess.test_topology import SPFED, processes_under, state_root
from tests.openstack.harness import CloudInfo

pytestmark = [pytest.mark.multiprocess, pytest.mark.timeout(180)]

REPO = Path(__file__).resolve().parents[2]
TOPOLOGY = REPO / "examples" / "topologies" / "openstack.yaml"
PLACEMENT = REPO / "examples" / "topologies" / "openstack-placement.yaml"
FUNCTIONS = sorted((REPO / "examples" / "openstack").glob("*.yml"))

__all__ = ["state_root"]  # the fixture, imported for this module


def _spfed(cloud: CloudInfo, root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "SPFED_STATE_DIR": str(root),
        "OS_CLIENT_CONFIG_FILE": str(cloud.clouds_yaml),
    }
    return subprocess.run(
        [str(SPFED), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _servers(admin: Any, project_id: str) -> dict[str, Any]:
    return {s.id: s for s in admin.compute.servers(all_projects=True, project_id=project_id)}


async def test_the_openstack_topology_from_the_command_line(
    state_root: Path, openstack_cloud: CloudInfo, admin: Any, chain_images: None
) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return _spfed(openstack_cloud, state_root, *args)

    before = set(_servers(admin, openstack_cloud.project_id))
    up = await asyncio.to_thread(run, "topology", "up", str(TOPOLOGY))
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        made = await asyncio.to_thread(
            run,
            "service",
            "instantiate",
            "--node",
            "retail",
            *map(str, FUNCTIONS),
            "--placement",
            str(PLACEMENT),
        )
        assert made.returncode == 0, made.stdout + made.stderr
        found = re.search(r"service ([0-9a-f]{32}) is active", made.stdout)
        assert found, made.stdout
        booted = {
            i: s for i, s in _servers(admin, openstack_cloud.project_id).items() if i not in before
        }
        names = sorted(s.name.split("-", 1)[1] for s in booted.values())
        assert names == ["vnf_dpi-vm", "vnf_nat-vm"]
        assert {s.status for s in booted.values()} == {"ACTIVE"}
        shown = await asyncio.to_thread(run, "service", "show", "--node", "retail", found[1])
        for server in booted:
            assert server in shown.stdout  # the tree names Nova's servers

        ended = await asyncio.to_thread(run, "service", "terminate", "--node", "retail", found[1])
        assert ended.returncode == 0, ended.stdout + ended.stderr
        assert not set(_servers(admin, openstack_cloud.project_id)) & set(booted)
    finally:
        down = await asyncio.to_thread(run, "topology", "down", "openstack")
    assert down.returncode == 0, down.stdout + down.stderr
    assert not processes_under(state_root)
