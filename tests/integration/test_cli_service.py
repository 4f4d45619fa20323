"""``spfed service`` and ``spfed catalogue`` against a real node: a ``spfed serve`` process.

Each test starts its own nodes on 127.0.0.1 (port 0, the address read from
the ready file) in ``tmp_path``, each with its own CA, certificate (mutual
TLS) and ``admin`` user; the ``serve`` fixture signs in at each with
``spfed login`` (the token cache lives in ``tmp_path``) and stops every node
at the end, whatever happens. The CLI runs in-process through click's
runner, except where a signal must reach it.
"""

from __future__ import annotations

import ipaddress
import json
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from spfed.cli import cli
from spfed.cli._access import cached_login
from spfed.topology.security import TopologySecurity

pytestmark = pytest.mark.multiprocess

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "descriptors"
NSD = str(EXAMPLES / "nsd-edge-cdn.yml")
CACHE = str(EXAMPLES / "vnfd-cache.yml")
ROUTER = str(EXAMPLES / "vnfd-router.yml")
EDGE_CDN = (NSD, CACHE, ROUTER)
SPFED = Path(sys.executable).parent / "spfed"
START_S = 30.0
"""Bound on a node's start (it takes about a second)."""

Serve = Callable[..., str]
"""``serve(node_id, vcpus=8, onboard=())``: start a node, return its address."""


def _config(node_id: str, vcpus: int, onboard: tuple[str, ...], security: TopologySecurity) -> str:
    return json.dumps(
        {
            **security.config_sections(node_id, []),
            "id": node_id,
            "server": {"listen": "127.0.0.1:0", "ready_file": "ready", "grace_period_s": 1},
            "storage": {"url": "sqlite:///node.db"},
            "pops": [
                {
                    "name": "ams",
                    "region": "nl",
                    "capacity": {"vcpus": vcpus, "memory_mib": 16384, "disk_gib": 200},
                }
            ],
            "catalogue": {"descriptors": list(onboard)},
            "logging": {"level": "WARNING"},
        }
    )  # JSON is YAML


@pytest.fixture
def serve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Serve]:
    """Starts ``spfed serve`` processes and signs in at each as its admin; stops them all at
    the end (SIGTERM, then SIGKILL)."""
    monkeypatch.setenv("SPFED_CONFIG_DIR", str(tmp_path / "cli-config"))
    started: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(node_id: str, vcpus: int = 8, onboard: tuple[str, ...] = ()) -> str:
        home = tmp_path / node_id
        home.mkdir()
        security = TopologySecurity.provision(home, node_id, [node_id], scrypt_log_n=10)
        (home / "node.yaml").write_text(_config(node_id, vcpus, onboard, security))
        log = home / "node.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(SPFED), "serve", "--config", str(home / "node.yaml")],
                cwd=home,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        started.append((process, log))
        ready = home / "ready"
        deadline = time.monotonic() + START_S
        while not (ready.exists() and ready.read_text().strip()):
            if process.poll() is not None:
                pytest.fail(f"{node_id} exited {process.returncode}:\n{log.read_text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"{node_id} did not start in {START_S} s:\n{log.read_text()}")
            time.sleep(0.05)
        address = ready.read_text().strip()
        signed = CliRunner().invoke(
            cli,
            [
                "login",
                "--node",
                address,
                "--account",
                "admin",
                "--password-stdin",
                *tls_options(security),
            ],
            input=security.password(node_id) + "\n",
        )
        assert signed.exit_code == 0, signed.output
        assert signed.stdout.startswith(f"signed in at {address} as admin (operator) until ")
        return address

    try:
        yield start
    finally:
        for process, _ in started:
            if process.poll() is None:
                process.terminate()
        for process, _ in started:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def tls_options(security: TopologySecurity) -> list[str]:
    """``--ca``, ``--cert`` and ``--key`` of a node's CA and the CLI's certificate."""
    return [
        "--ca",
        str(security.ca_file),
        "--cert",
        str(security.client_cert),
        "--key",
        str(security.client_key),
    ]


def ca_of(address: str) -> str:
    """The CA file ``spfed login`` cached for a node."""
    login = cached_login(address)
    assert login is not None
    return str(login["ca_file"])


def run(*args: str, input_text: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input_text)


def run_json(*args: str) -> Any:
    result = run(*args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_instantiate_list_show_watch_terminate(serve: Serve) -> None:
    node = serve("solo")
    result = run("service", "instantiate", *EDGE_CDN, "--node", node, "--name", "cdn", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    service = json.loads(result.stdout)  # nothing but the JSON on stdout
    assert service["state"] == "active"
    assert service["name"] == "cdn"
    uuid.UUID(service["request_id"])  # a fresh uuid by default
    ports = [
        port
        for part in service["parts"]
        for vnf in part["vnfs"]
        for unit in vnf["units"]
        for port in unit["ports"]
    ]
    assert len(ports) == 6
    assert all(port["address"] for port in ports)

    listed = run_json("service", "list", "--node", node)
    assert [(s["id"], s["state"]) for s in listed] == [(service["id"], "active")]
    table = run("service", "list", "--node", node)
    assert table.exit_code == 0
    assert service["id"] in table.stdout
    assert "pop:ams" in table.stdout

    shown = run_json("service", "show", service["id"], "--node", node)
    assert shown["id"] == service["id"]
    assert shown["parts"] == service["parts"]
    tree = run("service", "show", service["id"], "--node", node)
    assert tree.exit_code == 0
    assert tree.stdout.startswith(
        f'solo  active  eu.spfed.demo/edge-cdn/1.0  "cdn"  id {service["id"]}'
    )
    assert ports[0]["address"] in tree.stdout
    # the address plan: every port's address, VNI and port id, and the checks passed
    assert "\naddress plan\n" in tree.stdout
    # port ids share the operator/service prefix: named once in the header
    node_name, service_short, _ = ports[0]["port_id"].split("/", 2)
    assert f"port id ({node_name}/{service_short}/…)" in tree.stdout
    for port in ports:
        assert port["port_id"].startswith(f"{node_name}/{service_short}/")
        assert port["port_id"].split("/", 2)[2] in tree.stdout
        assert str(port["vni"]) in tree.stdout
    assert "✓ 6 interfaces on" in tree.stdout
    assert "✗" not in tree.stdout

    watched = run("service", "watch", service["id"], "--node", node, "--until-settled", "--json")
    assert watched.exit_code == 0
    events = [json.loads(line) for line in watched.stdout.splitlines()]
    assert events[-1]["kind"] == "state_changed"
    assert events[-1]["state"] == "active"
    assert [e["sequence"] for e in events] == list(range(1, len(events) + 1))

    terminated = run("service", "terminate", service["id"], "--node", node, "--json")
    assert terminated.exit_code == 0, terminated.stderr
    assert json.loads(terminated.stdout)["state"] == "terminated"
    assert run_json("service", "list", "--node", node) == []
    assert [s["state"] for s in run_json("service", "list", "--node", node, "--all")] == [
        "terminated"
    ]


def test_ipv6_and_customer_access_points_from_the_command_line(serve: Serve) -> None:
    node = serve("solo")
    result = run(
        "service", "instantiate", *EDGE_CDN, "--node", node, "--ipv6",
        "--ingress", "nl=2001:db8:feed::10/128",
        "--egress", "nl=2001:db8:beef::20/128@output",
        "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    service = json.loads(result.stdout)
    ports = {
        (vnf["vnf_id"], port["virtual_link"]): port
        for part in service["parts"]
        for vnf in part["vnfs"]
        for unit in vnf["units"]
        for port in unit["ports"]
    }
    assert all(ipaddress.ip_interface(p["address"]).version == 6 for p in ports.values())
    # each NAP's /127 holds the customer's address and the function's interface
    router_in = ipaddress.ip_interface(ports[("vnf_router", "input-2-router")]["address"])
    cache_out = ipaddress.ip_interface(ports[("vnf_cache", "cache-2-output")]["address"])
    assert router_in.network == ipaddress.ip_network("2001:db8:feed::10/127")
    assert cache_out.network == ipaddress.ip_network("2001:db8:beef::20/127")
    assert str(router_in.ip) == "2001:db8:feed::11"
    terminated = run("service", "terminate", service["id"], "--node", node, "--json")
    assert terminated.exit_code == 0, terminated.stderr

    refused = run("service", "instantiate", *EDGE_CDN, "--node", node, "--ingress", "nl:10.0.0.1")
    assert refused.exit_code == 2
    assert "is not REGION=ADDRESS[@POINT]" in refused.stderr
    elsewhere = run(
        "service", "instantiate", *EDGE_CDN, "--node", node, "--ingress", "jp=192.0.2.1/32",
        "--json",
    )  # fmt: skip
    assert elsewhere.exit_code == 1
    error = json.loads(elsewhere.stdout)["error"]
    print(error)
    assert error["code"] in ("FAILED_PRECONDITION", "INVALID_ARGUMENT")
    assert "jp" in error["message"] or any(
        "jp" in v["description"] for v in error["field_violations"]
    )


def test_instantiate_for_people_shows_progress_tree_and_a_reusable_request_id(
    serve: Serve,
) -> None:
    node = serve("solo")
    result = run("service", "instantiate", *EDGE_CDN, "--node", node, "--request-id", "r-42")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"instantiating eu.spfed.demo/edge-cdn/1.0 on {node}, request id r-42"
    assert any(line.endswith("solo                         ✓ deploy_local") for line in lines)
    assert any(line.startswith("solo  active  eu.spfed.demo/edge-cdn/1.0") for line in lines)
    assert "└── local pop:ams  PoP ams  members vnf_router, vnf_cache" in lines
    assert lines[-1].startswith("service ")
    assert lines[-1].endswith(" is active")
    assert "\x1b" not in result.stdout  # not a terminal: no colours, no live redraws

    again = run("service", "instantiate", *EDGE_CDN, "--node", node, "--request-id", "r-42")
    assert again.exit_code == 0, again.stderr
    assert again.stdout.splitlines()[-1] == lines[-1]  # the same service, not a second one
    assert len(run_json("service", "list", "--node", node)) == 1


def test_invalid_descriptor_exits_2_and_creates_nothing(serve: Serve) -> None:
    node = serve("solo")
    broken = str(EXAMPLES / "invalid" / "vnfd-schema-violation.yml")
    result = run("service", "instantiate", *EDGE_CDN, broken, "--node", node)
    assert result.exit_code == 2
    assert f"{broken}: vendor: 'EU.spfed.demo' is not valid" in result.stderr
    assert run_json("service", "list", "--node", node, "--all") == []


def test_member_not_in_the_files_may_be_one_the_node_offers(serve: Serve) -> None:
    node = serve("solo", onboard=(ROUTER,))
    result = run("service", "instantiate", NSD, CACHE, "--node", node, "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["state"] == "active"

    bare = serve("bare")
    refused = run("service", "instantiate", NSD, CACHE, "--node", bare)
    assert refused.exit_code == 2
    assert (
        f"{NSD}: network_functions[0]: no VNFD eu.spfed.demo/router/1.0 among"
        " eu.spfed.demo/cache/1.0 (the files and the node's offers)"
    ) in refused.stderr
    assert run_json("service", "list", "--node", bare, "--all") == []


def test_service_that_does_not_fit_exits_1_with_the_error(serve: Serve) -> None:
    node = serve("tiny", vcpus=1)
    result = run("service", "instantiate", *EDGE_CDN, "--node", node)
    assert result.exit_code == 1
    errors = result.stderr.splitlines()
    assert errors[0].startswith("RESOURCE_EXHAUSTED at tiny: no room for vnf_cache")
    assert errors[1].startswith("  pop:ams: 2 vCPU asked")

    as_json = run(
        "service", "instantiate", *EDGE_CDN, "--node", node, "--json", "--request-id", "r-1"
    )
    assert as_json.exit_code == 1
    data = json.loads(as_json.stdout)
    assert data["error"]["code"] == "RESOURCE_EXHAUSTED"
    assert data["error"]["origin"] == ["tiny"]
    assert data["request_id"] == "r-1"


def test_catalogue_show(serve: Serve) -> None:
    node = serve("solo", onboard=EDGE_CDN)
    published = run_json("catalogue", "show", "--node", node)
    assert published == json.loads(
        run("catalogue", "show", "--node", node, "--format", "json").stdout
    )
    assert published["publisher"] == "solo"
    offers = {(o["kind"], o["descriptor"]["name"]) for o in published["offers"]}
    assert ("network_service", "edge-cdn") in offers
    assert ("network_function", "cache") in offers
    assert published["regions"][0]["region"] == "nl"
    assert published["regions"][0]["total"] == {"vcpus": 8, "memory_mib": 16384, "disk_gib": 200}

    markdown = run("catalogue", "show", "--node", node, "--format", "markdown")
    assert markdown.exit_code == 0
    assert markdown.stdout.startswith("# Supplier information note: solo\n")
    table = run("catalogue", "show", "--node", node)
    assert table.exit_code == 0
    assert "eu.spfed.demo/edge-cdn/1.0" in table.stdout


def test_unknown_service_and_unreachable_node_exit_1(serve: Serve) -> None:
    node = serve("solo")
    missing = run("service", "show", "nope", "--node", node)
    assert missing.exit_code == 1
    assert missing.stderr.strip() == "NOT_FOUND at solo: service nope not found"

    with socket.socket() as probe:  # a port where, once closed, nothing listens
        probe.bind(("127.0.0.1", 0))
        nowhere = f"127.0.0.1:{probe.getsockname()[1]}"
    unreachable = run("service", "list", "--node", nowhere, "--ca", ca_of(node))
    assert unreachable.exit_code == 1
    assert unreachable.stderr.startswith(f"UNAVAILABLE: cannot reach the node at {nowhere}: ")
    as_json = run("catalogue", "show", "--node", nowhere, "--json", "--insecure")
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout)["error"]["code"] == "UNAVAILABLE"


def test_ctrl_c_ends_a_watch_cleanly(serve: Serve) -> None:
    node = serve("solo")
    service = run_json("service", "instantiate", *EDGE_CDN, "--node", node)
    watch = subprocess.Popen(
        [str(SPFED), "service", "watch", service["id"], "--node", node],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert watch.stdout is not None
        first = watch.stdout.readline()  # the backlog has arrived; the watch now waits
        assert first.split()[0] == "1"
        watch.send_signal(signal.SIGINT)
        _, err = watch.communicate(timeout=15)
    finally:
        if watch.poll() is None:
            watch.kill()
            watch.wait()
    assert watch.returncode == 0
    assert "Traceback" not in err


def test_accounts_logins_and_tenants_from_the_command_line(serve: Serve, tmp_path: Path) -> None:
    node = serve("solo")
    created = run(
        "account",
        "create",
        "acme",
        "--role",
        "customer",
        "--node",
        node,
        "--password-stdin",
        input_text="acme's long password\n",
    )
    assert created.exit_code == 0, created.stderr
    assert created.stdout.strip() == "acme: user, customer, enabled"
    upper = run_json(
        "account",
        "create",
        "upper",
        "--kind",
        "service",
        "--role",
        "platform",
        "--generate-key",
        str(tmp_path / "upper.key"),
        "--node",
        node,
    )
    assert upper["kind"] == "service"
    assert upper["public_key"].startswith("-----BEGIN PUBLIC KEY")
    assert oct((tmp_path / "upper.key").stat().st_mode & 0o777) == "0o600"
    names = {a["name"]: a["role"] for a in run_json("account", "list", "--node", node)}
    assert names == {"admin": "operator", "acme": "customer", "upper": "platform"}

    mine = run_json("service", "instantiate", *EDGE_CDN, "--node", node)  # as admin
    ca = ca_of(node)
    login = cached_login(node)
    assert login is not None
    acme_login = run(
        "login",
        "--node",
        node,
        "--account",
        "acme",
        "--password-stdin",
        "--ca",
        ca,
        "--cert",
        login["cert_file"],
        "--key",
        login["key_file"],
        input_text="acme's long password\n",
    )
    assert acme_login.exit_code == 0, acme_login.stderr
    assert "as acme (customer)" in acme_login.stdout
    # Now the cached token is acme's: it sees none of admin's services, and may not manage.
    assert run_json("service", "list", "--node", node) == []
    hidden = run("service", "show", mine["id"], "--node", node)
    assert hidden.exit_code == 1
    assert hidden.stderr.strip() == f"NOT_FOUND at solo: service {mine['id']} not found"
    denied = run("account", "list", "--node", node)
    assert denied.exit_code == 1
    assert denied.stderr.startswith("PERMISSION_DENIED at solo: account 'acme' may not manage")

    wrong = run(
        "login",
        "--node",
        node,
        "--account",
        "acme",
        "--password-stdin",
        input_text="not it\n",
    )
    assert wrong.exit_code == 1
    assert wrong.stderr.strip() == "UNAUTHENTICATED at solo: wrong account or password"

    assert run("logout", "--node", node).stdout.strip() == f"signed out of {node}"
    anonymous = run(
        "service",
        "list",
        "--node",
        node,
        "--ca",
        ca,
        "--cert",
        login["cert_file"],
        "--key",
        login["key_file"],
    )
    assert anonymous.exit_code == 1
    assert "not signed in: run 'spfed login --node" in anonymous.stderr
    assert "UNAUTHENTICATED at solo: no access token" in anonymous.stderr


def test_a_node_over_tls_needs_to_be_told_how(serve: Serve) -> None:
    node = serve("solo")
    assert run("logout", "--node", node).exit_code == 0
    result = run("service", "list", "--node", node)
    assert result.exit_code == 2
    assert "Pass --ca CA_FILE" in result.stderr
    plaintext = run("service", "list", "--node", node, "--insecure")
    assert plaintext.exit_code == 1  # a TLS server hangs up on a plaintext client
    assert plaintext.stderr.startswith(f"UNAVAILABLE: cannot reach the node at {node}")


def test_slice_create_list_show_delete_from_the_command_line(serve: Serve, tmp_path: Path) -> None:
    """Two firewall services on the node's one PoP, joined by a slice link."""
    node = serve("solo")
    slices = REPO / "examples" / "slices"
    template = tmp_path / "two-firewalls.yml"
    template.write_text(
        (slices / "nst-three-operators.yml")
        .read_text()
        .replace('name: "three-operators"', 'name: "two-firewalls"')
    )
    text = template.read_text()
    # keep the firewall hop twice: the DPI and NAT subnets become firewall hops
    text = text.replace('nsd-name: "dpi-hop"', 'nsd-name: "fw-hop"')
    text = text.replace('nsd-name: "nat-hop"', 'nsd-name: "fw-hop"')
    text = text.replace('location: "de"', 'location: "nl"')  # the node's one region
    template.write_text(text)
    files = (str(template), str(slices / "nsd-fw-hop.yml"), str(EXAMPLES / "vnfd-firewall.yml"))

    created = run("slice", "create", *files, "--node", node, "--name", "fw3", "--json")
    assert created.exit_code == 0, created.stdout + created.stderr
    made = json.loads(created.stdout)
    assert made["state"] == "ACTIVE"
    assert [s["subnet_id"] for s in made["subnets"]] == ["fw", "dpi", "nat"]
    assert [ipaddress.ip_network(link["subnet"]).prefixlen for link in made["links"]] == [31, 31]

    listed = run_json("slice", "list", "--node", node)
    assert [(s["id"], s["state"]) for s in listed] == [(made["id"], "ACTIVE")]
    shown = run("slice", "show", made["id"], "--node", node)
    assert shown.exit_code == 0
    assert f"slice {made['id']}  fw3" in shown.stdout
    assert "link fw-2-dpi: " in shown.stdout

    bad = run("slice", "create", str(slices / "nsd-fw-hop.yml"), "--node", node)
    assert bad.exit_code == 2  # no template among the files
    assert "exactly one slice template" in bad.stderr

    deleted = run("slice", "delete", made["id"], "--node", node, "--json")
    assert deleted.exit_code == 0, deleted.stderr
    assert json.loads(deleted.stdout)["state"] == "DELETED"
    assert run_json("slice", "list", "--node", node) == []
    assert run_json("service", "list", "--node", node) == []


def test_serve_login_and_logout_speak_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPFED_CONFIG_DIR", str(tmp_path / "cli-config"))
    security = TopologySecurity.provision(tmp_path, "solo", ["solo"], scrypt_log_n=10)
    config = tmp_path / "node.yaml"
    settings = json.loads(_config("solo", 4, (), security))
    settings["logging"]["level"] = "INFO"
    config.write_text(json.dumps(settings))
    log = tmp_path / "node.log"
    with log.open("wb") as err:
        process = subprocess.Popen(
            [str(SPFED), "serve", "--json", "--config", str(config)],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=err,
        )
    assert process.stdout is not None
    try:
        serving = json.loads(process.stdout.readline())  # the first line, once it serves
        address = serving["address"]
        assert serving == {
            "event": "serving",
            "node": "solo",
            "address": address,
            "pid": process.pid,
        }
        assert address.startswith("127.0.0.1:")
        # --json also makes the logs JSON lines (on stderr here).
        logged = [json.loads(line) for line in log.read_text().splitlines()]
        assert all(entry["node"] == "solo" for entry in logged)
        assert [e["schema"] for e in logged if e.get("event") == "schema_migrated"] != []

        signed = run(
            "login",
            "--node",
            address,
            "--account",
            "admin",
            "--password-stdin",
            "--json",
            *tls_options(security),
            input_text=security.password("solo") + "\n",
        )
        assert signed.exit_code == 0, signed.stderr
        login = json.loads(signed.stdout)  # nothing but the JSON on stdout
        assert login["token_cache"] == str(tmp_path / "cli-config" / "tokens.json")
        assert {k: login[k] for k in ("node", "address", "account", "roles")} == {
            "node": address,
            "address": address,
            "account": "admin",
            "roles": ["operator"],
        }
        assert "token" not in login
        wrong = run(
            "login",
            "--node",
            address,
            "--account",
            "admin",
            "--password-stdin",
            "--json",
            input_text="not it\n",
        )
        assert wrong.exit_code == 1
        assert json.loads(wrong.stdout)["error"]["code"] == "UNAUTHENTICATED"

        assert run_json("logout", "--node", address) == {
            "node": address,
            "address": address,
            "signed_out": True,
        }
        assert run_json("logout", "--node", address)["signed_out"] is False
    finally:
        process.send_signal(signal.SIGTERM)
        with process.stdout:
            rest = process.stdout.read()
        process.wait(timeout=15)
    assert json.loads(rest) == {"event": "stopped", "node": "solo"}
    assert process.returncode == 0


def test_serve_json_reports_an_invalid_configuration(tmp_path: Path) -> None:
    config = tmp_path / "node.yaml"
    config.write_text("id: solo\nserver: {listen: 1}\n")
    result = run("serve", "--json", "--config", str(config))
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "INVALID_ARGUMENT"
    assert error["message"].startswith("invalid configuration\n")
    assert result.stderr.startswith("spfed serve: invalid configuration\n")
