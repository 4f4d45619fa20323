"""The qualification harness itself: the cloud it brings up, and its tear-down bookkeeping."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.openstack import _backends, _procs, _provision
from tests.openstack._cloud import admin_connection, member_connection
from tests.openstack.conftest import outside_test_limits, require_backends
from tests.openstack.harness import CloudInfo, OpenStackHarness

pytestmark = pytest.mark.openstack


@pytest.fixture
def member(openstack_cloud: CloudInfo) -> Iterator[Any]:
    """openstacksdk as the member user of project spfed."""
    with contextlib.closing(member_connection(openstack_cloud)) as connection:
        yield connection


@pytest.fixture
def admin(openstack_cloud: CloudInfo) -> Iterator[Any]:
    """openstacksdk as the cloud's admin."""
    with contextlib.closing(admin_connection(openstack_cloud)) as connection:
        yield connection


# --- the cloud -----------------------------------------------------------------------


def test_the_member_cloud_authenticates_in_project_spfed(
    member: Any, openstack_cloud: CloudInfo
) -> None:
    assert member.authorize()
    assert member.current_project_id == openstack_cloud.project_id
    roles = member.session.auth.get_access(member.session).role_names
    assert "member" in roles
    assert "admin" not in roles


def test_the_flavors_exist_with_their_sizes(member: Any, openstack_cloud: CloudInfo) -> None:
    found = {f.name: (f.vcpus, f.ram, f.disk) for f in member.compute.flavors()}

    assert set(openstack_cloud.flavors) <= set(found)
    assert found["spfed.tiny"] == (1, 128, 1)
    assert found["spfed.large"] == (4, 4096, 10)


def test_the_image_exists_and_its_md5_matches(member: Any, openstack_cloud: CloudInfo) -> None:
    image = member.image.find_image(openstack_cloud.image_name, ignore_missing=False)

    assert image.checksum == openstack_cloud.image_md5
    assert (
        image.checksum == hashlib.md5(_provision.image_payload(), usedforsecurity=False).hexdigest()
    )
    assert (image.disk_format, image.container_format, image.visibility) == (
        "raw",
        "bare",
        "public",
    )
    assert image.size == 1024 * 1024


def test_the_project_quota_is_generous(admin: Any, openstack_cloud: CloudInfo) -> None:
    compute = admin.get_compute_quotas(openstack_cloud.project_id)
    network = admin.get_network_quotas(openstack_cloud.project_id)

    assert (compute.instances, compute.cores, compute.ram) >= (50, 100, 100 * 1024)
    assert min(network.ports, network.networks, network.subnets) >= 200


def test_a_server_boots_on_a_port_and_deletes_cleanly(
    member: Any, openstack_cloud: CloudInfo
) -> None:
    network = member.network.create_network(name="harness-boot")
    try:
        member.network.create_subnet(network_id=network.id, ip_version=4, cidr="10.77.0.0/28")
        port = member.network.create_port(network_id=network.id, name="harness-boot")
        address = port.fixed_ips[0]["ip_address"]
        image = member.image.find_image(openstack_cloud.image_name, ignore_missing=False)
        flavor = member.compute.find_flavor("spfed.tiny", ignore_missing=False)

        server = member.compute.create_server(
            name="harness-boot",
            image_id=image.id,
            flavor_id=flavor.id,
            networks=[{"port": port.id}],
        )
        server = member.compute.wait_for_server(server, failures=["ERROR"], interval=0.5, wait=60)

        addresses = [a["addr"] for a in server.addresses["harness-boot"]]
        assert addresses == [address]
        bound = member.network.get_port(port.id)
        assert (bound.device_id, bound.status) == (server.id, "ACTIVE")

        member.compute.delete_server(server)
        member.compute.wait_for_delete(server, interval=0.5, wait=60)
        assert member.compute.find_server(server.id) is None
        assert member.network.get_port(port.id).device_id == ""
    finally:
        for left in member.network.ports(network_id=network.id):
            member.network.delete_port(left)
        member.network.delete_network(network)


# --- tear-down bookkeeping (no cloud needed) -----------------------------------------

SLEEPER = (
    "import subprocess, sys, time\n"
    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
    "time.sleep(60)\n"
)
"""A parent that starts a child in its own process group, then both sleep."""


def _spawn_sleeper(tmp_path: Path) -> _procs.ProcRecord:
    record = _procs.spawn(
        "sleeper", [sys.executable, "-c", SLEEPER], os.environ, tmp_path / "sleeper.log", tmp_path
    )
    deadline = time.monotonic() + 10
    while len(_group(record)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    return record


def _group(record: _procs.ProcRecord) -> list[str]:
    """Pids of live processes in the record's process group, from ps."""
    output = subprocess.run(
        ["ps", "-eo", "pid=,pgid=,stat="], capture_output=True, text=True, check=True
    ).stdout
    rows = (line.split() for line in output.splitlines())
    return [pid for pid, pgid, stat in rows if pgid == str(record.pid) and not stat.startswith("Z")]


def test_stop_ends_the_whole_process_group(tmp_path: Path) -> None:
    record = _spawn_sleeper(tmp_path)
    assert len(_group(record)) == 2

    assert _procs.stop([record], grace=5) == []

    assert not _procs.alive(record)
    assert _group(record) == []


def test_a_recycled_pid_is_never_signalled() -> None:
    me = _procs.process_start_time(os.getpid())
    assert me is not None
    stranger = _procs.ProcRecord("not-ours", os.getpid(), me + 1, "")

    assert not _procs.alive(stranger)
    assert _procs.stop([stranger], grace=0.1) == []  # and this test is still running


def test_down_removes_what_the_state_records_and_is_safe_twice(tmp_path: Path) -> None:
    record = _spawn_sleeper(tmp_path)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    state_file = tmp_path / "state.json"
    harness = OpenStackHarness(tmp_path / "home", run_dir, state_file=state_file)
    harness._state = _bookkeeping_state(harness, run_dir, record)
    harness._save()

    reloaded = OpenStackHarness.from_state(state_file)
    reloaded.down()
    reloaded.down()

    assert not _procs.alive(record)
    assert _group(record) == []
    assert not run_dir.exists()
    assert not state_file.exists()


def _bookkeeping_state(harness: OpenStackHarness, run_dir: Path, record: _procs.ProcRecord) -> Any:
    """A state with one process and no database or vhost (the parts a unit test can own)."""
    from tests.openstack.harness import _State

    return _State(
        run_id="unit",
        home=harness.home,
        run_dir=run_dir,
        venv=harness.home / "no-venv",
        owner_pid=os.getpid(),
        owner_start=_procs.process_start_time(os.getpid()) or 0,
        detached=False,
        processes=[record],
    )


# --- the fixture's rules (no cloud needed) --------------------------------------------


def test_missing_backends_skip_outside_ci_and_fail_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_backends, "reachable", lambda port, host="", timeout=0.0: False)

    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"MariaDB .* and RabbitMQ"):
        require_backends()

    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        require_backends()


def test_the_test_timer_is_suspended_during_bring_up_and_resumed_after() -> None:
    previous = signal.getitimer(signal.ITIMER_REAL)
    signal.setitimer(signal.ITIMER_REAL, 50.0)
    try:
        with outside_test_limits():
            assert signal.getitimer(signal.ITIMER_REAL)[0] == 0.0
        assert 45.0 < signal.getitimer(signal.ITIMER_REAL)[0] <= 50.0
    finally:
        signal.setitimer(signal.ITIMER_REAL, *previous)
