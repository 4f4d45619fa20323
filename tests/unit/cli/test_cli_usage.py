"""``spfed service`` and ``spfed catalogue`` through click's runner: help, usage errors, bad files.

Nothing here reaches a node: every command that would is stopped before it
sends anything, which the exit status 2 (not 1, UNAVAILABLE) shows, since
``--node`` names a port where nothing listens.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from spfed.cli import cli

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "descriptors"
NSD = str(EXAMPLES / "nsd-edge-cdn.yml")
CACHE = str(EXAMPLES / "vnfd-cache.yml")
ROUTER = str(EXAMPLES / "vnfd-router.yml")
BROKEN_VNFD = str(EXAMPLES / "invalid" / "vnfd-schema-violation.yml")
NOWHERE = "127.0.0.1:1"
"""No node listens there: a command that got as far as calling would exit 1."""


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.mark.parametrize(
    ("command", "first_line"),
    [
        (["service"], "Instantiate, list, show, watch and terminate services on a node."),
        (["service", "instantiate"], "Instantiate a service from descriptor files."),
        (["service", "list"], "List the node's services, newest first."),
        (["service", "show"], "Show a service as a tree across every operator it reaches, and its"),
        (["service", "watch"], "Stream a service's lifecycle events."),
        (["service", "terminate"], "Terminate a service everywhere it runs."),
        (["catalogue"], "Show a node's published catalogue"),
        (["catalogue", "show"], "Print the node's published catalogue like a supplier"),
    ],
)
def test_every_command_has_help(command: list[str], first_line: str) -> None:
    result = run(*command, "--help")
    assert result.exit_code == 0
    assert first_line in result.stdout


def test_help_imports_neither_grpc_nor_rich() -> None:
    script = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from spfed.cli import cli\n"
        "for args in (['service', 'instantiate', '--help'], ['catalogue', 'show', '--help']):\n"
        "    assert CliRunner().invoke(cli, args).exit_code == 0\n"
        "print(sorted(m for m in ('grpc', 'rich', 'spfed.client') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_node_is_required() -> None:
    result = run("service", "list")
    assert result.exit_code == 2
    assert "Missing option '--node'" in result.stderr


def test_node_comes_from_the_environment_too() -> None:
    result = CliRunner(env={"SPFED_NODE": "nosuch"}).invoke(cli, ["service", "list"])
    assert result.exit_code == 2
    assert "'nosuch' is neither host:port nor a running operator" in result.stderr


def test_unknown_operator_is_a_usage_error() -> None:
    result = run("service", "show", "svc-1", "--node", "retail")
    assert result.exit_code == 2
    assert "Invalid value for '--node'" in result.stderr
    assert "no topology is running here" in result.stderr


def test_invalid_descriptor_prints_one_line_per_problem_and_sends_nothing() -> None:
    result = run("service", "instantiate", NSD, CACHE, ROUTER, BROKEN_VNFD, "--node", NOWHERE)
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == (
        f"{BROKEN_VNFD}: vendor: 'EU.spfed.demo' is not valid:"
        " use lower-case letters, digits, '-', '_' and '.'"
    )
    assert len(lines) == 4
    assert lines[-1] == "3 problems in the descriptor files; nothing was sent"


def test_invalid_descriptor_with_json_prints_only_json_on_stdout() -> None:
    result = run(
        "service", "instantiate", NSD, CACHE, ROUTER, BROKEN_VNFD, "--node", NOWHERE, "--json"
    )
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert data["error"]["code"] == "INVALID_ARGUMENT"
    assert data["error"]["field_violations"][0]["field"] == f"{BROKEN_VNFD}[0].vendor"
    assert data["validation"]["ok"] is False


def test_yaml_that_is_not_a_descriptor_is_invalid(tmp_path: Path) -> None:
    junk = tmp_path / "junk.yml"
    junk.write_text("- just\n- a list\n")
    result = run("service", "instantiate", NSD, CACHE, ROUTER, str(junk), "--node", NOWHERE)
    assert result.exit_code == 2
    assert f"{junk}: a descriptor is a mapping of fields, not a list" in result.stderr


def test_first_file_must_hold_the_nsd() -> None:
    result = run("service", "instantiate", CACHE, NSD, ROUTER, "--node", NOWHERE)
    assert result.exit_code == 2
    assert f"{CACHE} holds no NSD; give the NSD first, or choose one with --nsd" in result.stderr


@pytest.mark.parametrize(
    ("nsd", "problem"),
    [
        ("edge-cdn", "'edge-cdn' is not VENDOR/NAME/VERSION"),
        ("eu.spfed.demo/edge-cdn/9.9", "no NSD eu.spfed.demo/edge-cdn/9.9 among the files"),
    ],
)
def test_nsd_choice_must_name_a_given_nsd(nsd: str, problem: str) -> None:
    result = run("service", "instantiate", NSD, CACHE, ROUTER, "--nsd", nsd, "--node", NOWHERE)
    assert result.exit_code == 2
    assert problem in result.stderr


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        (["--rule", "vnf_cache"], "is not MEMBER=region:X"),
        (["--rule", "vnf_cache=zone:be"], "unknown field 'zone'"),
        (["--rule", "vnf_cache=region:be", "--rule", "vnf_cache=region:nl"], "has two rules"),
        (["--placement", "/nonexistent/placement.yaml"], "does not exist"),
    ],
)
def test_bad_placement_is_a_usage_error(options: list[str], problem: str) -> None:
    result = run("service", "instantiate", NSD, CACHE, ROUTER, "--node", NOWHERE, *options)
    assert result.exit_code == 2
    assert problem in result.stderr


def test_missing_file_is_a_usage_error() -> None:
    result = run("service", "instantiate", "/nonexistent/nsd.yml", "--node", NOWHERE)
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["service", "watch", "svc-1", "--node", NOWHERE, "--after", "-1"],
        ["service", "show", "--node", NOWHERE],
        ["catalogue", "show", "--node", NOWHERE, "--format", "pdf"],
    ],
)
def test_bad_arguments_exit_2(args: list[str]) -> None:
    assert run(*args).exit_code == 2


def _leaf_commands(
    group: click.Group, ctx: click.Context, path: str = ""
) -> dict[str, click.Command]:
    found: dict[str, click.Command] = {}
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        if isinstance(command, click.Group):
            found.update(_leaf_commands(command, ctx, f"{path}{name} "))
        else:
            found[f"{path}{name}"] = command
    return found


def test_every_command_takes_json() -> None:
    """What the README promises: every command takes --json, for scripts."""
    commands = _leaf_commands(cli, click.Context(cli))
    assert {"login", "logout", "serve", "demo", "account hash-password"} <= set(commands)
    missing = [
        name
        for name, command in commands.items()
        if not any(isinstance(p, click.Option) and "--json" in p.opts for p in command.params)
    ]
    assert missing == []
