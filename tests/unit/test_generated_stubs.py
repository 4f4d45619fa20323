"""The generated stubs in spfed/api/v1 match proto/ (``make proto`` regenerates them)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_stubs_do_not_drift_from_the_proto_files() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_proto.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_stub_imports_point_at_the_api_package() -> None:
    for stub in (ROOT / "spfed" / "api" / "v1").glob("*_pb2*.py"):
        text = stub.read_text()
        assert "from spfed.v1 " not in text, stub.name
        assert "import spfed.v1." not in text, stub.name
