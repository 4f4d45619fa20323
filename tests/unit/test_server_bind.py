"""Binding the API server: a taken port is an OSError naming the address."""

from __future__ import annotations

import socket

import pytest

from lower_sp.api.gatekeeper import GatekeeperServicer
from lower_sp.api.servicer import PlatformServicer
from spfed.errors import Unauthenticated
from spfed.model import Principal
from spfed.server import ApiServer


def _refuse(token: str | None) -> Principal:
    raise Unauthenticated("no calls in this test")


def _server() -> ApiServer:
    # Registration only looks the methods up on the class; no call reaches them here.
    servicer = PlatformServicer.__new__(PlatformServicer)
    gatekeeper = GatekeeperServicer.__new__(GatekeeperServicer)
    return ApiServer(servicer, gatekeeper, "solo", _refuse)


async def test_a_taken_port_is_an_os_error_naming_the_address() -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        address = f"127.0.0.1:{squatter.getsockname()[1]}"
        server = _server()
        try:
            with pytest.raises(OSError, match=f"cannot listen on {address}"):
                server.bind(address, None)
        finally:
            await server.stop(0)


async def test_port_zero_binds_a_free_port() -> None:
    server = _server()
    try:
        bound = server.bind("127.0.0.1:0", None)
        host, _, port = bound.rpartition(":")
        assert host == "127.0.0.1"
        assert int(port) > 0
    finally:
        await server.stop(0)
