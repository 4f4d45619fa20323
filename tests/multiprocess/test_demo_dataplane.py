"""``spfed demo-dataplane`` as a user runs it: real packets across three operators (root)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path

import pytest

from spfed.netns import inventory
from spfed.topology.dataplane import netns_prefix
from tests.multiprocess.test_topology import SPFED, processes_under
from tests.netns._support import netns_unusable

pytestmark = [
    pytest.mark.multiprocess,
    pytest.mark.skipif(bool(netns_unusable()), reason=netns_unusable() or "usable"),
    pytest.mark.timeout(180),
]


def test_the_dataplane_demo_sends_packets_through_every_operator_and_cleans_up(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1"}
    done = subprocess.run(
        [str(SPFED), "demo-dataplane", "--state-dir", str(tmp_path), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )
    # With --json the narrative is on stderr and stdout holds only the summary.
    out = done.stderr
    assert done.returncode == 0, done.stdout + out
    assert "ICMP echo 192.0.2.10 → 198.51.100.20: 3/3 answered" in out
    hops = [line.split() for line in out.splitlines() if line.startswith("  ") and " at " in line]
    assert [(h[2], h[4]) for h in hops] == [
        ("vnf_fw", "retail"),
        ("vnf_dpi", "wholesale-us"),
        ("vnf_nat", "wholesale-eu"),
    ]
    assert "UDP 192.0.2.10 → 198.51.100.20:40000: 5/5 arrived" in out
    assert "Traceback" not in out + done.stdout
    summary = json.loads(done.stdout)
    assert summary["ok"] is True
    assert summary["slice"]["created"] == "ACTIVE"
    assert summary["slice"]["deleted"] == "DELETED"
    assert summary["packets"] == {
        "icmp_answered": 3,
        "route": ["vnf_fw", "vnf_dpi", "vnf_nat"],
        "reached": True,
        "udp_delivered": 5,
        "in_order": True,
    }
    assert summary["left_behind"] == ""
    assert not processes_under(tmp_path)
    assert asyncio.run(inventory(netns_prefix("dataplane"))).empty
