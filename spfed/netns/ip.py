"""An async runner for iproute2 (``ip``, ``tc``) and for commands inside a namespace.

Every command runs with ``asyncio.create_subprocess_exec`` (never a shell, so no
argument is ever interpreted), in the C locale (so error texts are the ones
mapped below), under a bounded timeout after which the process is killed.

A failing command becomes a domain error in one place, ``error_for_failure``,
carrying the command line and its stderr (also in ``metadata``):

=====================================================  =====================
stderr says                                            domain error
=====================================================  =====================
not permitted, permission denied, unknown device type  ``FailedPrecondition``
(no privilege, module missing); the tool is missing
does not exist, cannot find device, no such process,   ``NotFound``
cannot open network namespace, FIB table does not
exist, cannot delete qdisc with handle of zero
file exists, already exists                            ``AlreadyExists``
the timeout passed                                       ``DeadlineExceeded``
anything else                                          ``Internal``
=====================================================  =====================

``NotFound`` lets every delete of the fabric be idempotent (what is gone is gone),
``AlreadyExists`` lets every create be retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shlex
from collections.abc import Sequence
from typing import Any

from spfed.errors import (
    AlreadyExists,
    DeadlineExceeded,
    FailedPrecondition,
    Internal,
    NotFound,
    SpfedError,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "IpRoute",
    "JsonObject",
    "error_for_failure",
    "parse_json",
]

DEFAULT_TIMEOUT = 10.0
"""Seconds a single iproute2 command may take before it is killed."""

JsonObject = dict[str, Any]
"""One object of ``ip -j`` output."""

_NOT_PERMITTED = (
    "operation not permitted",
    "permission denied",
    "must be root",
    "unknown device type",
    "not supported",
)
_NOT_FOUND = (
    "does not exist",
    "cannot find device",
    "no such device",
    "no such process",
    "no such file or directory",
    "cannot open network namespace",
    "fib table does not exist",
    "cannot delete qdisc with handle of zero",
)
_EXISTS = ("file exists", "already exists")


def _describe(argv: Sequence[str]) -> str:
    return shlex.join(argv)


def error_for_failure(argv: Sequence[str], returncode: int, stderr: str) -> SpfedError:
    """The domain error for a command that exited with ``returncode`` and said ``stderr``.

    Pure, so that the mapping is tested without privileges. The message holds the
    command line and stderr; ``metadata`` holds them separately (``command``,
    ``stderr``, ``returncode``).
    """
    said = stderr.strip()
    lowered = said.lower()
    command = _describe(argv)
    metadata = {"command": command, "stderr": said, "returncode": str(returncode)}
    message = f"`{command}` failed (exit {returncode}): {said or 'no message'}"
    # Permission first: "Cannot open network namespace: Permission denied" is not a NotFound.
    if any(text in lowered for text in _NOT_PERMITTED):
        return FailedPrecondition(message, metadata=metadata)
    if any(text in lowered for text in _EXISTS):
        return AlreadyExists(message, metadata=metadata)
    if any(text in lowered for text in _NOT_FOUND):
        return NotFound(message, metadata=metadata)
    return Internal(message, metadata=metadata)


def parse_json(argv: Sequence[str], output: str) -> list[JsonObject]:
    """The objects of an ``ip -j`` answer; empty output (some queries print nothing) is ``[]``.

    Raises:
        Internal: the output is not a JSON list of objects.
    """
    if not output.strip():
        return []
    try:
        value = json.loads(output)
    except json.JSONDecodeError as exc:
        raise Internal(f"`{_describe(argv)}` printed invalid JSON: {exc}") from exc
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise Internal(f"`{_describe(argv)}` printed JSON that is not a list of objects")
    return value


class IpRoute:
    """Runs iproute2 commands, optionally inside a named network namespace.

    ``run`` is the one place a process is started; a test fake overrides it.
    """

    def __init__(
        self, *, timeout_s: float = DEFAULT_TIMEOUT, ip: str = "ip", tc: str = "tc"
    ) -> None:
        self.timeout_s = timeout_s
        """Default bound, in seconds, of each command."""
        self._ip = ip
        self._tc = tc

    async def run(self, argv: Sequence[str], *, timeout_s: float | None = None) -> str:
        """Run ``argv`` and return its stdout.

        Raises:
            FailedPrecondition: the program is missing, or the command was not permitted.
            DeadlineExceeded: it ran longer than ``timeout_s`` (it is killed).
            NotFound, AlreadyExists, Internal: see ``error_for_failure``.
        """
        limit = self.timeout_s if timeout_s is None else timeout_s
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env={**os.environ, "LC_ALL": "C"},
            )
        except FileNotFoundError as exc:
            raise FailedPrecondition(
                f"`{_describe(argv)}`: {argv[0]} is not installed",
                metadata={"command": _describe(argv)},
            ) from exc
        except PermissionError as exc:
            raise FailedPrecondition(
                f"`{_describe(argv)}`: {exc}", metadata={"command": _describe(argv)}
            ) from exc
        try:
            stdout, stderr = await asyncio.wait_for(process.communicate(), limit)
        except TimeoutError as exc:
            raise DeadlineExceeded(
                f"`{_describe(argv)}` took more than {limit:g} s and was killed",
                metadata={"command": _describe(argv)},
            ) from exc
        finally:
            await _reap(process)
        if process.returncode != 0:
            raise error_for_failure(argv, process.returncode or -1, stderr.decode(errors="replace"))
        return stdout.decode(errors="replace")

    def ip_argv(self, *args: str, netns: str | None = None, json_output: bool = False) -> list[str]:
        """The argv of ``ip [-j] [-n NETNS] ARGS``."""
        argv = [self._ip]
        if json_output:
            argv.append("-j")
        if netns is not None:
            argv += ["-n", netns]
        return [*argv, *args]

    async def ip(self, *args: str, netns: str | None = None, timeout_s: float | None = None) -> str:
        """Run ``ip [-n NETNS] ARGS`` and return its stdout."""
        return await self.run(self.ip_argv(*args, netns=netns), timeout_s=timeout_s)

    async def ip_json(
        self, *args: str, netns: str | None = None, timeout_s: float | None = None
    ) -> list[JsonObject]:
        """Run ``ip -j [-n NETNS] ARGS`` and return the parsed objects."""
        argv = self.ip_argv(*args, netns=netns, json_output=True)
        return parse_json(argv, await self.run(argv, timeout_s=timeout_s))

    async def tc(self, *args: str, netns: str | None = None, timeout_s: float | None = None) -> str:
        """Run ``tc [-n NETNS] ARGS`` and return its stdout."""
        argv = [self._tc, *(["-n", netns] if netns is not None else []), *args]
        return await self.run(argv, timeout_s=timeout_s)

    def exec_argv(self, netns: str, argv: Sequence[str]) -> list[str]:
        """The argv of ``ip netns exec NETNS ARGV``."""
        return [self._ip, "netns", "exec", netns, *argv]

    async def exec_in(
        self, netns: str, argv: Sequence[str], *, timeout_s: float | None = None
    ) -> str:
        """Run ``argv`` inside ``netns`` (``ip netns exec``) and return its stdout."""
        return await self.run(self.exec_argv(netns, argv), timeout_s=timeout_s)


async def _reap(process: asyncio.subprocess.Process) -> None:
    """Kill ``process`` if it still runs (timeout, cancellation) and wait for it."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
