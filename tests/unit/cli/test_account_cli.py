"""``spfed account`` usage that needs no node: hashing a password, and misuse."""

from __future__ import annotations

import json

from click.testing import CliRunner

from spfed.auth import verify_password
from spfed.cli import cli


def test_hash_password_prints_a_hash_for_the_configuration() -> None:
    result = CliRunner().invoke(
        cli, ["account", "hash-password", "--password-stdin"], input="a good password\n"
    )
    assert result.exit_code == 0, result.output
    encoded = result.stdout.strip()
    assert encoded.startswith("scrypt$15$8$1$")
    assert verify_password("a good password", encoded)
    empty = CliRunner().invoke(cli, ["account", "hash-password", "--password-stdin"], input="\n")
    assert empty.exit_code == 2


def test_rotate_key_wants_an_account_or_the_signing_key() -> None:
    def run(*args: str) -> str:
        result = CliRunner().invoke(cli, ["account", "rotate-key", *args, "--node", "h:1"])
        assert result.exit_code == 2
        return result.stderr

    assert "name the account, or pass --signing-key" in run("--password-stdin")
    assert "give no account name" in run("acme", "--signing-key")
    assert "--revoke-previous goes with --signing-key" in run(
        "acme", "--revoke-previous", "--password-stdin"
    )


def test_hash_password_speaks_json() -> None:
    result = CliRunner().invoke(
        cli, ["account", "hash-password", "--password-stdin", "--json"], input="a good password\n"
    )
    assert result.exit_code == 0, result.output
    encoded = json.loads(result.stdout)["password_hash"]
    assert verify_password("a good password", encoded)
