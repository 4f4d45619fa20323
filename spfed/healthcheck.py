"""``python -m spfed.healthcheck``: is a node serving? For container health checks.

One ``grpc.health.v1.Health/Check`` of ``spfed.v1.PlatformService``, under a deadline.
Exits 0 when the answer is SERVING, 1 otherwise, with one line saying what was asked and
what came back (``docker inspect`` keeps it)::

    python -m spfed.healthcheck --config /var/lib/spfed/retail/node.yaml
    python -m spfed.healthcheck 127.0.0.1:50051 --ca ca.crt --cert me.crt --key me.key

Without ADDRESS everything comes from the node's configuration: ``--config``, else
``$SPFED_CONFIG``, else the ``--config`` of the container's main process (``spfed serve
--config FILE`` as PID 1, so an image's HEALTHCHECK needs no setting). It is read as
``spfed serve`` reads it (``SPFED__*`` overrides included): the address the node listens on,
asked on loopback when that is every interface, and its TLS, the node's own certificate
serving as the client certificate (it carries clientAuth). Health checks need no token.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from spfed.config import ConfigError, load_config
from spfed.errors import SpfedError
from spfed.tls import ClientTls

__all__ = [
    "PLATFORM_SERVICE",
    "Probe",
    "check",
    "config_of_main_process",
    "main",
    "probe_from_config",
]

PLATFORM_SERVICE = "spfed.v1.PlatformService"
"""The service whose health is asked: the node's API."""
MAIN_PROCESS = Path("/proc/1/cmdline")
"""The command line of a container's main process."""
_WILDCARDS = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "[::]": "[::1]", "::": "[::1]"}
"""Listen hosts meaning every interface, and the loopback address to ask instead."""


@dataclass(frozen=True)
class Probe:
    """Where to ask, and how."""

    address: str
    """``host:port``."""
    tls: ClientTls | None
    """``None``: plaintext (a node started insecure)."""


def config_of_main_process(cmdline: Path = MAIN_PROCESS) -> str:
    """The value of ``--config`` on the main process's command line ("" when there is none)."""
    try:
        words = cmdline.read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return ""
    for i, word in enumerate(words):
        if word == "--config" and i + 1 < len(words):
            return words[i + 1]
        if word.startswith("--config="):
            return word.partition("=")[2]
    return ""


def probe_from_config(path: str) -> Probe:
    """The probe of the node configured by ``path``.

    Raises:
        ConfigError: the configuration is unreadable or invalid.
        FailedPrecondition: its TLS files cannot be used.
    """
    config = load_config(path)
    host, _, port = config.server.listen.rpartition(":")
    address = f"{_WILDCARDS.get(host, host)}:{port}"
    tls = config.tls
    if tls.insecure:
        return Probe(address, None)
    return Probe(address, ClientTls.load(tls.ca_file, tls.cert_file, tls.key_file))


def check(probe: Probe, timeout_s: float) -> tuple[bool, str]:
    """Ask once; (whether it is SERVING, what happened in words)."""
    if probe.tls is None:
        channel = grpc.insecure_channel(probe.address)
    else:
        channel = grpc.secure_channel(
            probe.address, probe.tls.credentials(), options=probe.tls.channel_options()
        )
    with channel:
        stub = health_pb2_grpc.HealthStub(channel)
        request = health_pb2.HealthCheckRequest(service=PLATFORM_SERVICE)
        try:
            reply = stub.Check(request, timeout=timeout_s)
        except grpc.RpcError as exc:
            code = getattr(exc, "code", None)  # the sync channel raises a grpc.Call
            said = code().name if callable(code) else "no answer"
            return False, f"{probe.address}: {said}"
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    return reply.status == health_pb2.HealthCheckResponse.SERVING, f"{probe.address}: {status}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m spfed.healthcheck",
        description="Exit 0 when the node's API is SERVING (grpc.health.v1), 1 otherwise.",
    )
    parser.add_argument("address", nargs="?", help="HOST:PORT (default: from --config)")
    parser.add_argument(
        "--config",
        default=os.environ.get("SPFED_CONFIG", ""),
        help="the node's YAML configuration (default: $SPFED_CONFIG, else the --config of"
        " the container's main process)",
    )
    parser.add_argument("--ca", default="", help="CA certificate(s) to trust the node with")
    parser.add_argument("--cert", default="", help="client certificate, for mutual TLS")
    parser.add_argument("--key", default="", help="private key of --cert")
    parser.add_argument("--insecure", action="store_true", help="plaintext gRPC")
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds (default: 3)")
    return parser


def main(argv: Sequence[str] | None = None, *, main_process: Path = MAIN_PROCESS) -> int:
    """Run one check; the exit status. ``main_process``: see ``config_of_main_process``."""
    parser = _parser()
    args = parser.parse_args(argv)
    config = args.config or config_of_main_process(main_process)
    try:
        if args.address:
            tls = None if args.insecure else ClientTls.load(args.ca, args.cert, args.key)
            probe = Probe(args.address, tls)
        elif config:
            probe = probe_from_config(config)
        else:
            # Not parser.error: its status 2 is one Docker reserves.
            print(
                "unhealthy: give ADDRESS, --config or $SPFED_CONFIG (the main process has no"
                " --config)",
                file=sys.stderr,
            )
            return 1
    except (ConfigError, SpfedError) as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1
    serving, said = check(probe, args.timeout)
    print(("healthy: " if serving else "unhealthy: ") + said)
    return 0 if serving else 1


if __name__ == "__main__":
    sys.exit(main())
