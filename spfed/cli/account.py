"""``spfed account``: a node's accounts, managed by one of its operators.

    spfed account create acme --role customer --node retail          # a user; password prompted
    spfed account create retail --kind service --role platform \\
        --public-key retail.pub --node wholesale-eu                  # an upper SP
    spfed account list --node retail
    spfed account disable acme --node retail
    spfed account rotate-key retail --public-key new.pub --node wholesale-eu
    spfed account rotate-key --signing-key --node retail             # the node's own key
    spfed account hash-password                                      # for auth.accounts

Every command but ``hash-password`` calls the node and needs an operator's
sign-in (see ``spfed login``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from spfed.cli._options import call_node, json_option, node_options

if TYPE_CHECKING:
    from spfed.cli._access import NodeTarget
    from spfed.client import PlatformClient
    from spfed.model import Account

__all__ = ["account"]

_F = TypeVar("_F", bound=Callable[..., Any])
_KINDS = ("user", "service")
_ROLES = ("customer", "platform", "operator")


@click.group()
def account() -> None:
    """Create, list, disable and re-key a node's accounts (operator role)."""


def _password(password_stdin: bool, *, confirm: bool = True) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(click.prompt("password", hide_input=True, confirmation_prompt=confirm))


def _credential_options(command: _F) -> _F:
    """``--public-key``, ``--generate-key`` (service accounts), ``--password-stdin`` (users)."""
    for option in (
        click.option("--password-stdin", is_flag=True, help="Users: read the password from stdin."),
        click.option(
            "--generate-key",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Service accounts: make a key pair, write the private key here (and .pub"
            " beside it).",
        ),
        click.option(
            "--public-key",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="Service accounts: the holder's Ed25519 public key (PEM).",
        ),
    ):
        command = option(command)
    return command


def _key_material(public_key: Path | None, generate_key: Path | None) -> str:
    """The public key PEM to register: read, or made with a new private key written out."""
    if public_key is not None and generate_key is not None:
        raise click.UsageError("give --public-key or --generate-key, not both")
    if public_key is not None:
        return public_key.read_text()
    if generate_key is None:
        raise click.UsageError(
            "a service account needs --public-key FILE, or --generate-key FILE to make a key pair"
        )
    from spfed.auth import generate_key as new_key
    from spfed.auth import public_key_pem, write_private_key

    if generate_key.exists():
        raise click.UsageError(f"{generate_key} exists; choose a new file for the private key")
    key = new_key()
    write_private_key(generate_key, key)
    pem = public_key_pem(key.public_key())
    generate_key.with_suffix(".pub").write_text(pem)
    click.echo(
        f"private key written to {generate_key} (mode 0600), public key to "
        f"{generate_key.with_suffix('.pub')}; give the private key to the account's holder",
        err=True,
    )
    return pem


def _row(item: Account) -> dict[str, object]:
    return {
        "name": item.name,
        "kind": item.kind.value,
        "role": item.role.value,
        "disabled": item.disabled,
        "public_key": item.public_key,
        "create_time": item.create_time.isoformat(),
        "update_time": item.update_time.isoformat(),
    }


def _print(item: Account, *, as_json: bool) -> None:
    import json

    if as_json:
        click.echo(json.dumps(_row(item), indent=2))
        return
    state = "disabled" if item.disabled else "enabled"
    click.echo(f"{item.name}: {item.kind.value}, {item.role.value}, {state}")


@account.command("create")
@click.argument("name")
@node_options
@click.option("--kind", type=click.Choice(_KINDS), default="user", show_default=True)
@click.option("--role", type=click.Choice(_ROLES), required=True)
@_credential_options
@json_option
def create(
    name: str,
    node: NodeTarget,
    kind: str,
    role: str,
    public_key: Path | None,
    generate_key: Path | None,
    password_stdin: bool,
    as_json: bool,
) -> None:
    """Create an account: a user (password) or a service account (public key)."""
    from spfed.model import AccountKind, Role

    account_kind = AccountKind(kind)
    password, pem = "", ""
    if account_kind is AccountKind.USER:
        if public_key is not None or generate_key is not None:
            raise click.UsageError("a user signs in with a password, not a key")
        password = _password(password_stdin)
    else:
        pem = _key_material(public_key, generate_key)

    async def work(client: PlatformClient) -> int:
        created = await client.create_account(
            name, account_kind, Role(role), password=password, public_key=pem
        )
        _print(created, as_json=as_json)
        return 0

    call_node(node, work, as_json=as_json)


@account.command("list")
@node_options
@json_option
def list_accounts(node: NodeTarget, as_json: bool) -> None:
    """List the node's accounts."""

    async def work(client: PlatformClient) -> int:
        import json

        accounts = await client.list_accounts()
        if as_json:
            click.echo(json.dumps([_row(a) for a in accounts], indent=2))
            return 0
        from rich.table import Table

        from spfed.cli._render import make_console

        table = Table("name", "kind", "role", "state", "created")
        for item in accounts:
            table.add_row(
                item.name,
                item.kind.value,
                item.role.value,
                "disabled" if item.disabled else "enabled",
                f"{item.create_time:%Y-%m-%d %H:%M:%S} UTC",
            )
        make_console().print(table)
        return 0

    call_node(node, work, as_json=as_json)


@account.command("disable")
@click.argument("name")
@node_options
@json_option
def disable(name: str, node: NodeTarget, as_json: bool) -> None:
    """Disable an account; its tokens stop working at once."""

    async def work(client: PlatformClient) -> int:
        _print(await client.disable_account(name), as_json=as_json)
        return 0

    call_node(node, work, as_json=as_json)


@account.command("rotate-key")
@click.argument("name", required=False)
@node_options
@_credential_options
@click.option(
    "--signing-key",
    is_flag=True,
    help="Instead of an account's: replace the node's token-signing key (tokens signed with"
    " the old one stay valid until they expire).",
)
@click.option(
    "--revoke-previous",
    is_flag=True,
    help="With --signing-key: every token signed so far stops working now (key compromise).",
)
@json_option
def rotate_key(
    name: str | None,
    node: NodeTarget,
    public_key: Path | None,
    generate_key: Path | None,
    password_stdin: bool,
    signing_key: bool,
    revoke_previous: bool,
    as_json: bool,
) -> None:
    """Give an account a new key or password, or the node a new signing key.

    A service account gets --public-key or --generate-key; a user a new
    password (prompted, or --password-stdin). Tokens already issued stay
    valid until they expire.
    """
    if signing_key:
        if name is not None:
            raise click.UsageError("--signing-key rotates the node's key; give no account name")

        async def rotate_node(client: PlatformClient) -> int:
            import json

            kid, kids = await client.rotate_signing_key(revoke_previous=revoke_previous)
            if as_json:
                click.echo(json.dumps({"key_id": kid, "key_ids": kids}, indent=2))
            else:
                click.echo(f"new signing key {kid}; keys that verify: {', '.join(kids)}")
            return 0

        call_node(node, rotate_node, as_json=as_json)
    if name is None:
        raise click.UsageError("name the account, or pass --signing-key")
    if revoke_previous:
        raise click.UsageError("--revoke-previous goes with --signing-key")
    password, pem = "", ""
    if public_key is not None or generate_key is not None:
        pem = _key_material(public_key, generate_key)
    else:
        password = _password(password_stdin)

    async def work(client: PlatformClient) -> int:
        rotated = await client.rotate_account_key(name, public_key=pem, password=password)
        _print(rotated, as_json=as_json)
        return 0

    call_node(node, work, as_json=as_json)


@account.command("hash-password")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@json_option
def hash_password(password_stdin: bool, as_json: bool) -> None:
    """Print an scrypt hash of a password, for ``auth.accounts`` in a node's configuration."""
    from spfed.auth import hash_password as make_hash
    from spfed.errors import InvalidArgument

    try:
        encoded = make_hash(_password(password_stdin))
    except InvalidArgument as exc:
        raise click.UsageError(exc.message) from exc
    if as_json:
        click.echo(json.dumps({"password_hash": encoded}, indent=2))
    else:
        click.echo(encoded)
