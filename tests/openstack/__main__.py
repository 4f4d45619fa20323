"""``python -m tests.openstack up|down|status``: a qualification cloud that outlives the command.

``up`` starts one (or finds the one already running), detached, with its run directory in
``build/openstack/run`` and its state in ``build/openstack/state.json``; the test fixture
``openstack_cloud`` reuses it while it is healthy. ``down`` removes it. ``status`` prints the
state and exits 0 if it is healthy, 3 if nothing healthy is running.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import warnings
from pathlib import Path

from tests.openstack.harness import CloudInfo, HarnessError, OpenStackHarness

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build" / "openstack"
STATE_FILE = BUILD / "state.json"
RUN_DIR = BUILD / "run"
NOT_RUNNING = 3


def _say(message: str) -> None:
    """One line on stderr."""
    print(message, file=sys.stderr, flush=True)


def _summary(info: CloudInfo) -> str:
    """How to use the running cloud."""
    return "\n".join(
        [
            f"clouds.yaml: {info.clouds_yaml}",
            f"clouds:      {info.cloud} (member of project spfed), {info.admin_cloud} (admin)",
            f"logs:        {info.run_dir / 'logs'}",
            f"try:         OS_CLIENT_CONFIG_FILE={info.clouds_yaml} OS_CLOUD={info.cloud} ...",
        ]
    )


def _existing() -> OpenStackHarness | None:
    """The harness of ``build/openstack/state.json``, if there is one."""
    if not STATE_FILE.is_file():
        return None
    try:
        return OpenStackHarness.from_state(STATE_FILE)
    except (OSError, ValueError, KeyError) as error:
        _say(f"unreadable {STATE_FILE} ({error}); remove it by hand after checking `ps`")
        raise SystemExit(1) from error


def up() -> int:
    """Start the detached cloud unless a healthy one runs already."""
    harness = _existing()
    if harness is not None:
        if harness.healthy() and harness.info is not None:
            _say("already running")
            print(_summary(harness.info))
            return 0
        _say("the recorded cloud is not healthy: removing it first")
        harness.down()
    if RUN_DIR.exists():
        shutil.rmtree(RUN_DIR)
    harness = OpenStackHarness(run_dir=RUN_DIR, state_file=STATE_FILE, detached=True)
    info = harness.up()
    print(_summary(info))
    return 0


def down() -> int:
    """Remove the detached cloud, if any."""
    harness = _existing()
    if harness is None:
        _say("nothing to stop")
        return 0
    harness.down()
    return 0


def status() -> int:
    """Print the state; 0 if healthy."""
    harness = _existing()
    if harness is None:
        _say("not running")
        return NOT_RUNNING
    report = harness.status()
    print(json.dumps(report, indent=2))
    return 0 if report["running"] else NOT_RUNNING


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    warnings.filterwarnings("ignore", category=PendingDeprecationWarning, module="openstack")
    parser = argparse.ArgumentParser(prog="python -m tests.openstack", description=__doc__)
    parser.add_argument("command", choices=("up", "down", "status"))
    args = parser.parse_args(argv)
    commands = {"up": up, "down": down, "status": status}
    try:
        return commands[args.command]()
    except HarnessError as error:
        _say(f"error: {error}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
