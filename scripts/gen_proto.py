"""Generate the Python stubs in spfed/api/v1 from proto/, or check them.

    python scripts/gen_proto.py            # regenerate spfed/api/v1
    python scripts/gen_proto.py --check    # exit 1 if spfed/api/v1 drifted
    python scripts/gen_proto.py --buf-deps build/proto-deps

protoc writes modules named after the proto package (spfed.v1); the stubs
live in spfed.api.v1, so imports are rewritten after generation.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import shutil
import sys
import tempfile
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto"
OUT_DIR = ROOT / "spfed" / "api" / "v1"
PACKAGE_INIT = (
    '"""Generated gRPC and protobuf stubs of spfed.v1. Do not edit; run `make proto`."""\n'
)
# Only import statements: the serialised descriptors inside the modules keep
# the proto package name (spfed.v1), which is what the wire and reflection use.
_IMPORT_RE = re.compile(r"^(\s*)(from|import) spfed\.v1\b", re.MULTILINE)


def _googleapis_root() -> Path:
    from google.rpc import status_pb2

    return Path(status_pb2.__file__).resolve().parents[2]


def _protos() -> list[str]:
    return sorted(str(p.relative_to(PROTO_DIR)) for p in PROTO_DIR.rglob("*.proto"))


def generate(out_dir: Path) -> None:
    """Run protoc into a scratch directory and move the rewritten stubs to out_dir."""
    from grpc_tools import protoc

    bin_dir = str(Path(sys.executable).parent)
    os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    wkt = str(resources.files("grpc_tools") / "_proto")
    with tempfile.TemporaryDirectory() as scratch:
        args = [
            "protoc",
            f"-I{PROTO_DIR}",
            f"-I{_googleapis_root()}",
            f"-I{wkt}",
            f"--python_out={scratch}",
            f"--grpc_python_out={scratch}",
            f"--mypy_out=quiet:{scratch}",
            f"--mypy_grpc_out=quiet:{scratch}",
            *_protos(),
        ]
        if protoc.main(args) != 0:
            raise SystemExit("protoc failed")
        out_dir.mkdir(parents=True, exist_ok=True)
        for old in out_dir.glob("*_pb2*"):
            old.unlink()
        for produced in sorted((Path(scratch) / "spfed" / "v1").iterdir()):
            text = produced.read_text()
            if "_grpc" in produced.name and "Stub" not in text:
                continue  # this proto file declares no service
            text = _IMPORT_RE.sub(r"\1\2 spfed.api.v1", text)
            (out_dir / produced.name).write_text(text)
        (out_dir / "__init__.py").write_text(PACKAGE_INIT)
        (out_dir / "py.typed").write_text("")


def check() -> int:
    """Return 0 when spfed/api/v1 matches a fresh generation, else print the drift."""
    with tempfile.TemporaryDirectory() as scratch:
        fresh = Path(scratch) / "v1"
        generate(fresh)
        drift: list[str] = []
        names = {p.name for p in fresh.iterdir()} | {
            p.name for p in OUT_DIR.iterdir() if p.is_file() and not p.name.endswith(".pyc")
        }
        for name in sorted(names):
            want, have = fresh / name, OUT_DIR / name
            if not have.exists():
                drift.append(f"missing: spfed/api/v1/{name}")
            elif not want.exists():
                drift.append(f"stale: spfed/api/v1/{name} (no proto produces it)")
            elif want.read_text() != have.read_text():
                diff = difflib.unified_diff(
                    have.read_text().splitlines(), want.read_text().splitlines(), lineterm="", n=0
                )
                drift.append(f"differs: spfed/api/v1/{name}\n" + "\n".join(list(diff)[:20]))
        for line in drift:
            print(line)
        if drift:
            print("stubs drifted from proto/: run `make proto`")
        return 1 if drift else 0


def buf_deps(target: Path) -> None:
    """Copy the google.rpc protos that proto/ imports, so buf can resolve them."""
    source = _googleapis_root() / "google" / "rpc"
    dest = target / "google" / "rpc"
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("status.proto",):
        shutil.copyfile(source / name, dest / name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the stubs drifted")
    parser.add_argument("--buf-deps", type=Path, help="copy imported google protos here")
    ns = parser.parse_args()
    if ns.buf_deps:
        buf_deps(ns.buf_deps)
        return 0
    if ns.check:
        return check()
    generate(OUT_DIR)
    print(f"generated {len(list(OUT_DIR.glob('*_pb2*')))} files in {OUT_DIR.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
