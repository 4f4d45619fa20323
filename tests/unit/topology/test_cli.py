"""``spfed topology`` through click's runner, on states whose processes are gone.

Real processes are started in ``tests/multiprocess/test_topology.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from spfed.cli import cli
from tests.unit.topology.builders import operator, topology
from tests.unit.topology.states import NO_SUCH_PID, fake_state


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["topology", *args])
    return result.exit_code, result.stdout, result.stderr


def test_help_lists_the_commands() -> None:
    code, out, _ = run("--help")
    assert code == 0
    for command in ("up", "status", "restart", "down"):
        assert f"  {command} " in out


def test_up_with_an_invalid_file_fails_with_one_line_per_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    data = topology(a=operator("b"), b=operator("a"))
    path.write_text(json.dumps(data))
    code, out, err = run("up", str(path), "--state-dir", str(tmp_path / "state"))
    assert code == 1
    assert out == ""
    assert err.splitlines() == [
        "spfed topology up: invalid topology file",
        f"{path}: operators: the parents form a cycle: a -> b -> a (each a parent of the next)",
    ]
    assert not (tmp_path / "state" / "t").exists()


def test_up_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run("up", str(tmp_path / "missing.yaml"))[0] == 2
    assert run("up", str(tmp_path), "--timeout", "0")[0] == 2


def test_status_without_topologies_fails(tmp_path: Path) -> None:
    code, out, err = run("status", "--state-dir", str(tmp_path))
    assert code == 1
    assert out == ""
    assert err == f"spfed topology status: no topology is running (state dir: {tmp_path})\n"
    code, _, err = run("status", "demo", "--state-dir", str(tmp_path))
    assert code == 1
    assert "topology 'demo' is not running" in err


def test_status_reports_processes_that_are_gone(tmp_path: Path) -> None:
    fake_state(tmp_path, retail=NO_SUCH_PID, edge_be=NO_SUCH_PID)
    code, out, _ = run("status", "--state-dir", str(tmp_path), "--json")
    assert code == 1
    report = json.loads(out)
    assert report["name"] == "demo"
    assert [(o["id"], o["process"], o["health"], o["serving"]) for o in report["operators"]] == [
        ("retail", "gone", None, False),
        ("edge-be", "gone", None, False),
    ]
    code, out, _ = run("status", "--state-dir", str(tmp_path))
    assert code == 1
    assert "gone" in out
    assert "retail" in out


def test_name_is_needed_when_several_run(tmp_path: Path) -> None:
    fake_state(tmp_path, "one", a=NO_SUCH_PID)
    fake_state(tmp_path, "two", a=NO_SUCH_PID)
    for command in ("status", "down"):
        code, _, err = run(command, "--state-dir", str(tmp_path))
        assert code == 2
        assert "several topologies are running (one, two); name one" in err


def test_restart_names_what_runs_when_it_cannot_find_the_operator(tmp_path: Path) -> None:
    code, out, err = run("restart", "retail", "--state-dir", str(tmp_path))
    assert (code, out) == (1, "")
    assert err == f"spfed topology restart: no topology is running (state dir: {tmp_path})\n"
    fake_state(tmp_path, "one", a=NO_SUCH_PID, b=NO_SUCH_PID)
    code, _, err = run("restart", "retail", "--state-dir", str(tmp_path))
    assert code == 1
    assert "no running topology has operator 'retail' (operators: a, b)" in err
    code, _, err = run("restart", "a", "--topology", "two", "--state-dir", str(tmp_path))
    assert code == 1
    assert "topology 'two' is not running" in err


def test_restart_needs_the_topology_when_several_have_the_operator(tmp_path: Path) -> None:
    fake_state(tmp_path, "one", a=NO_SUCH_PID)
    fake_state(tmp_path, "two", a=NO_SUCH_PID, b=NO_SUCH_PID)
    code, _, err = run("restart", "a", "--state-dir", str(tmp_path))
    assert code == 2
    assert "operator 'a' is in several topologies (one, two); pass --topology" in err
    # Named, or the only one having it: restart itself then reports what stops it.
    for args in (("a", "--topology", "two"), ("b",)):
        code, _, err = run("restart", *args, "--state-dir", str(tmp_path))
        assert code == 1
        assert err.startswith(f"spfed topology restart: cannot restart {args[0]}: ")


def test_down_is_idempotent(tmp_path: Path) -> None:
    fake_state(tmp_path, retail=NO_SUCH_PID)
    code, out, _ = run("down", "--state-dir", str(tmp_path), "--json")
    assert code == 0
    assert json.loads(out) == {
        "name": "demo",
        "operators": [{"operator": "retail", "pid": NO_SUCH_PID, "outcome": "not_running"}],
        "purged": False,
    }
    code, out, _ = run("down", "--state-dir", str(tmp_path))
    assert (code, out) == (0, "no topology is running; nothing to stop\n")
    code, out, _ = run("down", "demo", "--state-dir", str(tmp_path), "--purge")
    assert (code, out) == (0, "topology 'demo' is not running; nothing to stop (purged)\n")
    assert not (tmp_path / "demo").exists()


def test_down_by_name_among_several(tmp_path: Path) -> None:
    fake_state(tmp_path, "one", a=NO_SUCH_PID)
    fake_state(tmp_path, "two", a=NO_SUCH_PID)
    code, out, _ = run("down", "two", "--state-dir", str(tmp_path), "--purge")
    assert code == 0
    assert "topology two is down (purged)" in out
    assert (tmp_path / "one" / "state.json").exists()
    assert not (tmp_path / "two").exists()


def test_state_dir_defaults_to_the_environment(tmp_path: Path) -> None:
    fake_state(tmp_path, retail=NO_SUCH_PID)
    result = CliRunner(env={"SPFED_STATE_DIR": str(tmp_path)}).invoke(
        cli, ["topology", "down", "--json"]
    )
    assert result.exit_code == 0
    assert json.loads(result.stdout)["name"] == "demo"
