"""The session fixture ``openstack_cloud``: a real OpenStack for the tests of this directory.

- A healthy cloud started by ``make openstack-up`` (``build/openstack/state.json``) is reused
  and left running.
- Otherwise the fixture starts its own with ``OpenStackHarness().up()`` on first use and
  removes it after the last test that uses it (at the latest when the session ends), also
  when tests fail.
- It skips only when MariaDB (127.0.0.1:3306) or RabbitMQ (127.0.0.1:5672) cannot be
  reached and ``CI`` is not ``true``; with ``CI=true`` that is an error. A harness that does
  not come up is an error whose message ends with the relevant log's tail, never a skip.

The bring-up takes longer than the per-test timeout (pytest-timeout counts a fixture's
set-up and tear-down in the test that triggers them), so the timer of the running test is
suspended while the harness starts or stops, and resumed with the time it had left (this
needs pytest-timeout's ``signal`` method, its default on Linux); the harness bounds its own
waits. Warnings raised by OpenStack's client libraries during the bring-up are not the
test's, so they are ignored there. In the tests of this directory, openstacksdk 4.22's
"removed in SDK 5.0/6.0" PendingDeprecationWarnings about its *own* code (raised on every
connection and resource) are ignored too; every other warning stays an error.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.openstack import _backends, _provision
from tests.openstack._cloud import admin_connection, uploaded_image
from tests.openstack.harness import CloudInfo, HarnessError, OpenStackHarness

HERE = Path(__file__).resolve().parent
STATE_FILE = HERE.parents[1] / "build" / "openstack" / "state.json"
MARKER = "openstack: runs against the real OpenStack of tests/openstack/harness.py"


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``openstack`` marker."""
    config.addinivalue_line("markers", MARKER)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test of this directory ``openstack``; ignore openstacksdk's own warnings."""
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.openstack)
            item.add_marker(pytest.mark.filterwarnings(_provision.SDK_SELF_WARNINGS_FILTER))


@contextlib.contextmanager
def outside_test_limits() -> Iterator[None]:
    """Suspend pytest-timeout's SIGALRM timer and ignore warnings, for a bring-up or tear-down.

    The timer (signal method, main thread) is re-armed afterwards with what it had left.
    """
    suspend = threading.current_thread() is threading.main_thread()
    remaining, interval = signal.setitimer(signal.ITIMER_REAL, 0) if suspend else (0.0, 0.0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        if remaining > 0:
            signal.setitimer(signal.ITIMER_REAL, remaining, interval)


def running_cloud(state_file: Path = STATE_FILE) -> CloudInfo | None:
    """The cloud of ``make openstack-up`` if its state file describes a healthy one."""
    if not state_file.is_file():
        return None
    try:
        harness = OpenStackHarness.from_state(state_file)
    except (OSError, ValueError, KeyError):
        return None
    return harness.info if harness.healthy() else None


def require_backends() -> None:
    """Skip (or fail with ``CI=true``) when MariaDB or RabbitMQ cannot be reached."""
    missing = [
        f"{name} ({_backends.HOST}:{port})"
        for name, port in (
            ("MariaDB", _backends.MARIADB_PORT),
            ("RabbitMQ", _backends.RABBITMQ_PORT),
        )
        if not _backends.reachable(port)
    ]
    if not missing:
        return
    reason = f"the OpenStack harness needs {' and '.join(missing)}, which cannot be reached"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: this is an error, not a skip)", pytrace=False)
    pytest.skip(reason)


class SessionCloud:
    """The cloud this pytest session started, and when to remove it.

    It goes down right after the teardown of the last collected test that uses
    ``openstack_cloud`` (when that test lives in this directory, whose hooks see it), and in
    any case when the session finishes, so that it does not idle through the rest of the
    suite.
    """

    def __init__(self) -> None:
        """Nothing started yet."""
        self.harness: OpenStackHarness | None = None
        self.last_user: str | None = None

    def start(self) -> CloudInfo:
        """Bring a cloud up (pytest.fail with the harness's explanation if it cannot)."""
        require_backends()
        self.harness = OpenStackHarness()
        with outside_test_limits():
            try:
                return self.harness.up()
            except HarnessError as error:
                self.harness = None
                pytest.fail(f"the OpenStack harness did not come up:\n{error}", pytrace=False)

    def stop(self) -> None:
        """Tear the cloud down if this session started one (HarnessError if incomplete)."""
        harness, self.harness = self.harness, None
        if harness is not None:
            with outside_test_limits():
                harness.down()


SESSION = SessionCloud()


@pytest.fixture(scope="session")
def openstack_cloud() -> CloudInfo:
    """A running qualification cloud (reused from ``make openstack-up`` or started here)."""
    reused = running_cloud()
    if reused is not None:
        return reused
    return SESSION.start()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Remember the last test that uses the cloud (after every plugin has ordered them)."""
    users = [item for item in session.items if "openstack_cloud" in _fixture_names(item)]
    SESSION.last_user = users[-1].nodeid if users else None


def _fixture_names(item: pytest.Item) -> tuple[str, ...]:
    """The fixtures ``item`` uses ((), for items that are not functions)."""
    return tuple(getattr(item, "fixturenames", ()))


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    """After the last test that uses the cloud, remove the cloud this session started."""
    if item.nodeid == SESSION.last_user:
        SESSION.stop()


def pytest_sessionfinish() -> None:
    """Remove the cloud this session started, if it is still up."""
    try:
        SESSION.stop()
    except HarnessError as error:
        print(f"\nOpenStack harness: {error}", file=sys.stderr)


@pytest.fixture(scope="module")
def admin(openstack_cloud: CloudInfo) -> Iterator[Any]:
    """An openstacksdk connection as the cloud's admin, for checks from outside spfed."""
    connection = admin_connection(openstack_cloud)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def chain_images(admin: Any) -> Iterator[None]:
    """The images of ``examples/openstack``'s VNFDs: two by name, the DPI's by its md5."""
    with (
        uploaded_image(admin, "spfed-cloud-fw", b"fw" * 512),
        uploaded_image(admin, "spfed-cloud-nat", b"nat" * 512),
        uploaded_image(admin, "spfed-cloud-dpi", bytes(65536)),
    ):
        yield
