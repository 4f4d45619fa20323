"""The state file: round trip, compatibility both ways, resolving operators."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spfed.topology import TopologyState, resolve_node, topology_directory
from tests.unit.topology.states import NO_SUCH_PID, fake_state


def test_round_trip(tmp_path: Path) -> None:
    state = fake_state(tmp_path, retail=NO_SUCH_PID)
    state.operators["retail"].pops = {"ams": "nl"}
    state.save()
    assert TopologyState.load(state.directory) == state
    assert TopologyState.all(tmp_path) == [state]
    assert state.path == tmp_path / "demo" / "state.json"


def test_older_files_without_new_fields_load(tmp_path: Path) -> None:
    state = fake_state(tmp_path, retail=NO_SUCH_PID)
    data = json.loads(state.path.read_text())
    del data["operators"]["retail"]["pops"]
    state.path.write_text(json.dumps(data))
    assert TopologyState.load(state.directory).operators["retail"].pops == {}


def test_newer_files_with_unknown_fields_load(tmp_path: Path) -> None:
    state = fake_state(tmp_path, retail=NO_SUCH_PID)
    data = json.loads(state.path.read_text())
    data["started"] = "yesterday"
    data["operators"]["retail"]["certificate"] = "x"
    state.path.write_text(json.dumps(data))
    assert TopologyState.load(state.directory) == state


def test_remove_is_idempotent(tmp_path: Path) -> None:
    state = fake_state(tmp_path, retail=NO_SUCH_PID)
    state.remove()
    state.remove()
    assert TopologyState.all(tmp_path) == []
    assert Path(state.directory).is_dir()


def test_resolve_node(tmp_path: Path) -> None:
    fake_state(tmp_path, retail=NO_SUCH_PID, edge_be=NO_SUCH_PID)
    assert resolve_node("retail", root=tmp_path) == "127.0.0.1:40001"
    assert resolve_node("10.0.0.1:5", root=tmp_path) == "10.0.0.1:5"
    with pytest.raises(LookupError, match=r"\(running operators: edge-be, retail\)"):
        resolve_node("nobody", root=tmp_path)


def test_an_operator_still_starting_has_no_address(tmp_path: Path) -> None:
    state = fake_state(tmp_path, retail=NO_SUCH_PID)
    state.operators["retail"].address = ""
    state.save()
    with pytest.raises(LookupError, match=r"^operator 'retail' is still starting"):
        resolve_node("retail", root=tmp_path)


def test_topology_directory_is_absolute(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SPFED_STATE_DIR", raising=False)
    assert topology_directory(None, "demo") == tmp_path / ".spfed" / "demo"
    monkeypatch.setenv("SPFED_STATE_DIR", "states")
    assert topology_directory(None, "demo") == tmp_path / "states" / "demo"
    assert topology_directory(tmp_path / "x", "demo") == tmp_path / "x" / "demo"
