"""``spfed login`` and ``spfed logout``: a cached access token per node.

The token (at most 15 minutes) and the TLS files used go to the token cache
(``spfed.cli._access``, mode 0600), and every later command that calls that
node uses them until the token expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from typing import TYPE_CHECKING

import click

from spfed.cli._options import fail, json_option, node_options

if TYPE_CHECKING:
    from spfed.cli._access import NodeTarget

__all__ = ["login", "logout"]


@click.command()
@node_options
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from stdin instead of a prompt."
)
@json_option
def login(node: NodeTarget, password_stdin: bool, as_json: bool) -> None:
    """Sign in at a node as a user and cache the token for later commands.

    --account names the user (at a topology operator it defaults to admin,
    and the topology's generated password is used unless --password-stdin).
    With --json, stdout gets who signed in, until when, and where the token is
    cached (not the token itself).
    """
    from spfed.cli._access import save_login
    from spfed.client import PlatformClient
    from spfed.errors import SpfedError
    from spfed.model import PasswordCredential

    address = node.address()
    try:
        tls = node.tls(address)
    except SpfedError as exc:
        fail(exc, as_json=as_json)
    account = node.account
    password = ""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        found = node.topology_security(address)
        if found is not None:  # a topology's user: its generated password
            from spfed.errors import FailedPrecondition
            from spfed.topology.security import ADMIN

            operator, security = found
            account = account or ADMIN
            with contextlib.suppress(FailedPrecondition):
                password = security.password(operator, account)
    if account is None:
        account = click.prompt("account")
    if not password:
        password = click.prompt(f"password for {account}", hide_input=True)

    async def sign_in() -> None:
        async with PlatformClient(address, node_id=node.named, tls=tls) as client:
            issued = await client.issue_token(PasswordCredential(account, password))
        path = save_login(
            address,
            {
                "account": issued.account,
                "token": issued.token,
                "expire_time": issued.expire_time.isoformat(),
                "ca_file": node.ca or "",
                "cert_file": node.cert or "",
                "key_file": node.key or "",
                "insecure": node.insecure,
            },
        )
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "node": node.node,
                        "address": address,
                        "account": issued.account,
                        "roles": [r.value for r in issued.roles],
                        "expire_time": issued.expire_time.isoformat(),
                        "token_cache": str(path),
                    },
                    indent=2,
                )
            )
            return
        roles = ", ".join(r.value for r in issued.roles)
        click.echo(
            f"signed in at {node.node} as {issued.account} ({roles}) until "
            f"{issued.expire_time:%H:%M:%S} UTC; token cached in {path}"
        )

    try:
        asyncio.run(sign_in())
    except SpfedError as exc:
        fail(exc, as_json=as_json)


@click.command()
@node_options
@json_option
def logout(node: NodeTarget, as_json: bool) -> None:
    """Forget the token cached for a node."""
    from spfed.cli._access import forget_login

    address = node.address()
    forgotten = forget_login(address)
    if as_json:
        click.echo(
            json.dumps({"node": node.node, "address": address, "signed_out": forgotten}, indent=2)
        )
    elif forgotten:
        click.echo(f"signed out of {node.node}")
    else:
        click.echo(f"no cached sign-in for {node.node}")
