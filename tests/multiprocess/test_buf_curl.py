"""A generic gRPC client against a running topology: ``buf curl``, as the README shows it.

The demo topology comes up; every call goes through ``buf curl`` (the one npm installs
for ``buf lint``) with server reflection, the topology's certificates
(``security/ca.crt``, ``spfed-cli.crt``, ``spfed-cli.key``), ``--protocol grpc`` and
the address ``spfed topology status`` reports: Health/List, IssueToken with a generated
password, GetCatalogue, InstantiateService from JSON, WatchService until the service
settles. An
error's details come as each detail's type and bytes; they decode with buf against the
``error_details.proto`` that googleapis-common-protos ships.

Without npm the test is skipped, saying so, unless ``CI=true``, where it must run.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.rpc import error_details_pb2

from tests.multiprocess.test_topology import DEMO, spfed, state_root

__all__ = ["state_root"]  # the fixture, imported for the tests below

pytestmark = [pytest.mark.multiprocess, pytest.mark.timeout(240)]

REPO = Path(__file__).resolve().parents[2]
BUF = REPO / "node_modules" / ".bin" / "buf"


@pytest.fixture(scope="module")
def buf() -> Path:
    """``node_modules/.bin/buf``, installed as ``make buf-lint`` does when npm is there."""
    if not BUF.exists():
        npm = shutil.which("npm")
        if npm is None:
            if os.environ.get("CI") == "true":
                pytest.fail("buf curl: npm is required when CI=true (it installs buf)")
            pytest.skip("buf curl: npm is not installed, so buf is not (install Node.js)")
        installed = subprocess.run(
            [npm, "install", "--no-save", "--silent", "--no-audit", "--no-fund"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert installed.returncode == 0, installed.stdout + installed.stderr
    return BUF


class Buf:
    """``buf curl`` at one node of the topology, with its TLS files and a bearer token."""

    def __init__(self, binary: Path, security: Path, address: str, cwd: Path) -> None:
        self.binary = binary
        self.address = address
        self.cwd = cwd
        self.tls = [
            "--protocol", "grpc",
            "--cacert", str(security / "ca.crt"),
            "--cert", str(security / "spfed-cli.crt"),
            "--key", str(security / "spfed-cli.key"),
        ]  # fmt: skip
        self.token = ""

    def call(self, method: str, data: str | None = None) -> subprocess.CompletedProcess[str]:
        argv = [str(self.binary), "curl", *self.tls]
        if self.token:
            argv += ["-H", f"Authorization: Bearer {self.token}"]
        if data is not None:
            argv += ["--data", data]
        argv.append(f"https://{self.address}/{method}")
        return subprocess.run(
            argv, cwd=self.cwd, capture_output=True, text=True, timeout=60, check=False
        )

    def json(self, method: str, data: str | None = None) -> Any:
        done = self.call(method, data)
        assert done.returncode == 0, done.stdout + done.stderr
        return json.loads(done.stdout)


def _messages(text: str) -> Iterator[Any]:
    """The JSON messages of a server stream, as buf prints them one after another."""
    decoder = json.JSONDecoder()
    at = 0
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at == len(text):
            return
        message, at = decoder.raw_decode(text, at)
        yield message


def _decode_detail(buf: Path, type_name: str, value: str) -> Any:
    """A detail's bytes (unpadded base64, as buf prints them) as JSON, through ``buf convert``."""
    proto = error_details_pb2.__file__.replace("_pb2.py", ".proto")
    raw = base64.b64decode(value + "=" * (-len(value) % 4))
    done = subprocess.run(
        [str(buf), "convert", proto, "--type", type_name, "--from", "-#format=binpb"],
        input=raw,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    return json.loads(done.stdout)


def test_buf_curl_signs_in_reads_the_catalogue_instantiates_and_watches(
    buf: Path, state_root: Path, tmp_path: Path
) -> None:
    started = spfed("topology", "up", str(DEMO), root=state_root)
    assert started.returncode == 0, started.stderr
    shown = spfed("topology", "status", "demo", "--json", root=state_root)
    assert shown.returncode == 0, shown.stderr
    status = json.loads(shown.stdout)
    addresses = {o["id"]: o["address"] for o in status["operators"]}
    security = Path(status["directory"]) / "security"

    # The customer at the top node: its generated password is in security/<operator>/.
    retail = Buf(buf, security, addresses["retail"], tmp_path)
    services = subprocess.run(
        [str(buf), "curl", *retail.tls, "--list-services", f"https://{addresses['retail']}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert services.returncode == 0, services.stderr
    assert {"spfed.v1.PlatformService", "spfed.v1.GatekeeperService"} <= set(
        services.stdout.split()
    )
    # Health needs no token; List used to answer INTERNAL.
    health = retail.json("grpc.health.v1.Health/List", "{}")
    assert health == {
        "statuses": {
            "": {"status": "SERVING"},
            "spfed.v1.PlatformService": {"status": "SERVING"},
        }
    }
    password = (security / "retail" / "acme.password").read_text().strip()
    sign_in = {"password": {"account": "acme", "password": password}}
    issued = retail.json("spfed.v1.GatekeeperService/IssueToken", json.dumps(sign_in))
    assert issued["account"] == "acme"
    assert issued["roles"] == ["ROLE_CUSTOMER"]
    retail.token = issued["accessToken"]
    catalogue = retail.json("spfed.v1.PlatformService/GetCatalogue")["catalogue"]
    assert catalogue["publisher"] == "retail"
    offered = {o["descriptor"]["name"] for o in catalogue["offers"]}
    assert {"edge-cdn", "nat", "dpi"} <= offered

    # An error: its details are typed, their bytes decode against error_details.proto.
    refused = retail.call("spfed.v1.PlatformService/InstantiateService", '{"request_id": "x"}')
    assert refused.returncode != 0
    error = json.loads(refused.stderr)
    assert error["code"] == "invalid_argument"
    details = {d["type"]: d["value"] for d in error["details"]}
    assert set(details) == {"google.rpc.ErrorInfo", "google.rpc.BadRequest"}
    assert _decode_detail(buf, "google.rpc.BadRequest", details["google.rpc.BadRequest"]) == {
        "fieldViolations": [
            {"field": "source", "description": "set either 'descriptors' or 'offer'"}
        ]
    }
    info = _decode_detail(buf, "google.rpc.ErrorInfo", details["google.rpc.ErrorInfo"])
    assert info["metadata"] == {"origin": "retail"}

    # The edge CDN that edge-be onboards, instantiated there by its admin, from a JSON file.
    edge = Buf(buf, security, addresses["edge-be"], tmp_path)
    password = (security / "edge-be" / "admin.password").read_text().strip()
    sign_in = {"password": {"account": "admin", "password": password}}
    edge.token = edge.json("spfed.v1.GatekeeperService/IssueToken", json.dumps(sign_in))[
        "accessToken"
    ]
    request = tmp_path / "instantiate.json"
    request.write_text(
        json.dumps(
            {
                "request_id": "cdn-by-buf-1",
                "name": "edge CDN via buf curl",
                "offer": {"vendor": "eu.spfed.demo", "name": "edge-cdn", "version": "1.0"},
            }
        )
    )
    operation = edge.json("spfed.v1.PlatformService/InstantiateService", f"@{request}")
    service_id = operation["operation"]["serviceId"]
    watch = {"service_id": service_id, "until_settled": True}
    watched = edge.call("spfed.v1.PlatformService/WatchService", json.dumps(watch))
    assert watched.returncode == 0, watched.stderr
    events = [m["event"] for m in _messages(watched.stdout)]
    states = [e["state"] for e in events if e["kind"] == "SERVICE_EVENT_KIND_STATE_CHANGED"]
    assert states == ["SERVICE_STATE_INSTANTIATING", "SERVICE_STATE_ACTIVE"]
    assert {e["serviceId"] for e in events} == {service_id}

    stopped = spfed("topology", "down", "demo", root=state_root)
    assert stopped.returncode == 0, stopped.stderr
