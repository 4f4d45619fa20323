"""``pip install .``, then ``spfed demo``, as a new user does it: from an installed wheel.

The wheel is built from this tree and installed into a fresh virtualenv, without the
source tree anywhere on its path: the demo must find its topology, descriptors and
placement in the installed package. The wheel's dependencies are not downloaded
again: the new virtualenv reads them from this one's site-packages, through a
``.pth`` line placed after its own (a ``.pth`` line adds a directory, not the ``.pth``
files in it, so this tree's editable install stays out).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.multiprocess.test_topology import processes_under

pytestmark = [pytest.mark.multiprocess, pytest.mark.timeout(300)]

REPO = Path(__file__).resolve().parents[2]


def _run(*argv: str | Path, cwd: Path, timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(
        [str(a) for a in argv],
        cwd=cwd,
        env={**env, "COLUMNS": "120", "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def _installed(tmp_path: Path) -> Path:
    """A virtualenv with the wheel of this tree installed; its ``bin`` directory."""
    wheels = tmp_path / "wheels"
    built = _run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
        "-w", wheels, REPO, cwd=tmp_path,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    [wheel] = wheels.glob("spfed-*.whl")
    venv = tmp_path / "venv"
    made = _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    site = _run(
        python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path
    )
    (Path(site.stdout.strip()) / "zz_spfed_test_deps.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n"
    )
    installed = _run(
        sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
        "-q", wheel, cwd=tmp_path,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return venv / "bin"


def test_the_demo_runs_from_an_installed_wheel(tmp_path: Path) -> None:
    bin_dir = _installed(tmp_path)
    venv = bin_dir.parent
    where = _run(
        bin_dir / "python",
        "-c",
        "import json, spfed, spfed.cli._examples as e;"
        " print(json.dumps([spfed.__file__, str(e.EXAMPLES)]))",
        cwd=tmp_path,
    )
    assert where.returncode == 0, where.stderr
    module, examples = json.loads(where.stdout)
    # The package and its examples come from the virtualenv, not from this tree.
    assert Path(module).is_relative_to(venv)
    assert Path(examples).is_relative_to(venv)
    assert not Path(examples).is_symlink()
    assert (Path(examples) / "topologies" / "demo.yaml").is_file()

    state = tmp_path / "state"
    demo = _run(bin_dir / "spfed", "demo", "--json", "--state-dir", state, cwd=tmp_path)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    summary = json.loads(demo.stdout)
    assert Path(summary["topology_file"]).is_relative_to(venv)
    assert summary["ok"] is True
    assert summary["service"]["operators"] == {
        "retail": 1,
        "wholesale-us": 2,
        "wholesale-eu": 2,
        "edge-be": 3,
    }
    assert summary["checks"] == {
        "address_plan_holds": True,
        "catalogues_show_the_service": True,
        "capacity_back_after_terminate": True,
    }
    # Its nodes ran the installed console script, and none is left.
    config = state / "demo" / "retail" / "node.yaml"
    assert config.is_file()
    assert not processes_under(state)
    assert "demo finished in" in demo.stderr
