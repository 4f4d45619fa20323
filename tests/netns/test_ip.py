"""The iproute2 runner: error mapping, JSON parsing, bounds; no privileges needed."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import pytest

from spfed.errors import (
    AlreadyExists,
    DeadlineExceeded,
    FailedPrecondition,
    Internal,
    NotFound,
    SpfedError,
)
from spfed.netns import IpRoute, cleanup, error_for_failure, inventory, parse_json

ARGV = ("ip", "-n", "sf01-gw-a", "link", "add", "x", "type", "vxlan", "id", "7")


@pytest.mark.parametrize(
    ("stderr", "error"),
    [
        ("RTNETLINK answers: Operation not permitted", FailedPrecondition),
        ("mount --make-shared /run/netns failed: Permission denied", FailedPrecondition),
        ("Error: Unknown device type.", FailedPrecondition),
        ("RTNETLINK answers: Address family not supported by protocol", FailedPrecondition),
        (
            'Cannot open network namespace "sf01-gw-a": Permission denied',
            FailedPrecondition,
        ),
        ('Cannot find device "sf01-abcdef"', NotFound),
        ('Device "sf01-abcdef" does not exist.', NotFound),
        ('Cannot open network namespace "sf01-gw-a": No such file or directory', NotFound),
        ('Cannot remove namespace file "/run/netns/x": No such file or directory', NotFound),
        ("RTNETLINK answers: No such process", NotFound),
        ("Error: FIB table does not exist.", NotFound),
        ("Error: Cannot delete qdisc with handle of zero.", NotFound),
        ("RTNETLINK answers: File exists", AlreadyExists),
        ("Error: A VXLAN device with the specified VNI already exists.", AlreadyExists),
        ('Error: argument "x" is wrong: invalid value', Internal),
        ("", Internal),
    ],
)
def test_failures_map_to_domain_errors(stderr: str, error: type[SpfedError]) -> None:
    mapped = error_for_failure(ARGV, 2, stderr + "\n")
    assert type(mapped) is error
    assert "ip -n sf01-gw-a link add x type vxlan id 7" in mapped.message
    assert stderr in mapped.message
    assert mapped.metadata == {
        "command": "ip -n sf01-gw-a link add x type vxlan id 7",
        "stderr": stderr,
        "returncode": "2",
    }


def test_the_command_line_is_quoted_as_a_shell_would() -> None:
    mapped = error_for_failure(["ip", "link", "set", "dev", "x", "alias", "a b"], 1, "boom")
    assert "alias 'a b'" in mapped.message


def test_json_answers_are_lists_of_objects() -> None:
    assert parse_json(["ip"], "") == []
    assert parse_json(["ip"], "\n") == []
    assert parse_json(["ip"], '[{"ifname": "lo"}]') == [{"ifname": "lo"}]
    with pytest.raises(Internal, match="invalid JSON"):
        parse_json(["ip"], "[{")
    with pytest.raises(Internal, match="not a list of objects"):
        parse_json(["ip"], '{"ifname": "lo"}')


async def test_stdout_comes_back() -> None:
    said = await IpRoute().run([sys.executable, "-c", "print('hello')"])
    assert said == "hello\n"


async def test_a_failing_command_raises_with_its_stderr() -> None:
    script = "import sys; sys.stderr.write('RTNETLINK answers: File exists'); sys.exit(2)"
    with pytest.raises(AlreadyExists, match="File exists") as raised:
        await IpRoute().run([sys.executable, "-c", script])
    assert raised.value.metadata["returncode"] == "2"


async def test_a_missing_tool_is_a_failed_precondition() -> None:
    with pytest.raises(FailedPrecondition, match="not installed"):
        await IpRoute(ip="/nonexistent/ip").ip("link", "show")


async def test_a_command_that_hangs_is_killed_at_its_bound() -> None:
    with pytest.raises(DeadlineExceeded, match="killed"):
        await IpRoute().run([sys.executable, "-c", "import time; time.sleep(30)"], timeout_s=0.3)


async def test_namespaces_and_json_go_where_iproute2_wants_them() -> None:
    ip = IpRoute()
    assert ip.ip_argv("link", "show", netns="n1", json_output=True) == [
        "ip", "-j", "-n", "n1", "link", "show",
    ]  # fmt: skip
    assert ip.exec_argv("n1", ["ping", "x"]) == ["ip", "netns", "exec", "n1", "ping", "x"]


class ScriptedIp(IpRoute):
    """Answers from a table of argv tuples, and records every command: no process, no root."""

    def __init__(self, answers: dict[tuple[str, ...], str]) -> None:
        super().__init__()
        self.answers = answers
        self.commands: list[tuple[str, ...]] = []

    async def run(self, argv: Sequence[str], *, timeout_s: float | None = None) -> str:
        self.commands.append(tuple(argv))
        return self.answers.get(tuple(argv), "")


NETNS = '[{"name": "sf01-gw-a"}, {"name": "sf012-gw-a"}, {"name": "other"}]'
ROOT_LINKS = '[{"ifname": "lo"}, {"ifname": "sf01-abcdefghij"}, {"ifname": "eth0"}]'
GW_LINKS = '[{"ifname": "lo", "flags": ["UP"], "mtu": 65536}]'


async def test_cleanup_removes_exactly_the_prefix_namespaces_and_stray_links() -> None:
    ip = ScriptedIp(
        {("ip", "-j", "netns", "list"): NETNS, ("ip", "-j", "-d", "link", "show"): ROOT_LINKS}
    )
    await cleanup("sf01", ip=ip)
    deletes = [command for command in ip.commands if "delete" in command]
    assert deletes == [
        ("ip", "netns", "delete", "sf01-gw-a"),
        ("ip", "link", "delete", "dev", "sf01-abcdefghij"),
    ]


async def test_inventory_lists_the_prefix_only() -> None:
    ip = ScriptedIp(
        {
            ("ip", "-j", "netns", "list"): NETNS,
            ("ip", "-j", "-n", "sf01-gw-a", "-d", "link", "show"): GW_LINKS,
            ("ip", "-j", "-d", "link", "show"): ROOT_LINKS,
        }
    )
    found = await inventory("sf01", ip=ip)
    assert [ns.name for ns in found.namespaces] == ["sf01-gw-a"]
    assert [link.name for link in found.links("sf01-gw-a")] == ["lo"]
    assert found.links("sf01-gw-a")[0].up
    assert [link.name for link in found.stray_links] == ["sf01-abcdefghij"]
    assert not found.empty
