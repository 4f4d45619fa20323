"""What ``IdentityProvider.authenticate`` grants a token signed with the node's own key.

The tokens are forged with the node's real signing key (as an insider who stole
it would), so each refusal comes from the claims, never the signature.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from spfed.auth import ScryptParams, SigningKeys, hash_password
from spfed.config import AccountSeed, AuthConfig
from spfed.errors import Unauthenticated
from spfed.identity import IdentityProvider
from spfed.model import AccountKind, Permission, Role
from spfed.storage import AccountStore, Database
from tests.forge import signed


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database.connect(f"sqlite:///{tmp_path / 'node.db'}")
    await database.migrate()
    yield database
    await database.close()


@pytest.fixture
async def gatekeeper(tmp_path: Path, db: Database) -> IdentityProvider:
    seeds = tuple(
        AccountSeed(
            name,
            AccountKind.USER,
            role,
            password_hash=hash_password("long password", ScryptParams(log_n=10)),
        )
        for name, role in (("acme", Role.CUSTOMER), ("admin", Role.OPERATOR))
    )
    config = AuthConfig(key_dir=str(tmp_path / "keys"), scrypt_log_n=10, accounts=seeds)
    return await IdentityProvider.open("retail", config, AccountStore(db))


def forged(tmp_path: Path, **changes: Any) -> str:
    """``Bearer`` and a token signed by the node's active key, with ``changes`` to its claims."""
    kid, key = SigningKeys.open(tmp_path / "keys").signing_key()
    now = int(time.time())
    claims = {
        "iss": "retail",
        "aud": "retail",
        "sub": "acme",
        "roles": ["customer"],
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
    } | changes
    return "Bearer " + signed({"alg": "EdDSA", "typ": "JWT", "kid": kid}, claims, key)


def refusal(gatekeeper: IdentityProvider, authorization: str) -> str:
    with pytest.raises(Unauthenticated) as refused:
        gatekeeper.authenticate(authorization)
    return refused.value.metadata["reason"]


async def test_the_forged_control_token_is_accepted(
    tmp_path: Path, gatekeeper: IdentityProvider
) -> None:
    principal = gatekeeper.authenticate(forged(tmp_path))
    assert (principal.account, principal.roles) == ("acme", frozenset({Role.CUSTOMER}))


async def test_a_role_the_account_does_not_have_is_not_granted(
    tmp_path: Path, gatekeeper: IdentityProvider
) -> None:
    assert refusal(gatekeeper, forged(tmp_path, roles=["operator"])) == "role_mismatch"
    both = gatekeeper.authenticate(forged(tmp_path, roles=["customer", "operator"]))
    assert both.roles == frozenset({Role.CUSTOMER})
    assert not both.may(Permission.MANAGE_ACCOUNTS)
    assert not both.sees_every_service
    assert refusal(gatekeeper, forged(tmp_path, roles=[])) == "role_mismatch"
    assert refusal(gatekeeper, forged(tmp_path, roles=["root"])) == "malformed"


async def test_a_token_of_an_account_that_does_not_exist_or_is_disabled_is_refused(
    tmp_path: Path, gatekeeper: IdentityProvider
) -> None:
    assert refusal(gatekeeper, forged(tmp_path, sub="mallory")) == "unknown_account"
    token = forged(tmp_path)
    gatekeeper.authenticate(token)
    await gatekeeper.disable_account("acme")
    assert refusal(gatekeeper, token) == "account_disabled"  # also when cached


@pytest.mark.parametrize(
    "changes",
    [
        {"exp": int(time.time()) + 10 * 365 * 86400},
        {"iat": int(time.time()) - 86400, "nbf": int(time.time()) - 86400},
    ],
)
async def test_a_token_living_longer_than_the_node_issues_is_refused(
    tmp_path: Path, gatekeeper: IdentityProvider, changes: dict[str, int]
) -> None:
    assert refusal(gatekeeper, forged(tmp_path, **changes)) == "too_long_lived"


async def test_the_cap_is_the_configured_lifetime(tmp_path: Path, db: Database) -> None:
    seed = AccountSeed(
        "acme",
        AccountKind.USER,
        Role.CUSTOMER,
        password_hash=hash_password("long password", ScryptParams(log_n=10)),
    )
    config = AuthConfig(
        key_dir=str(tmp_path / "keys"),
        scrypt_log_n=10,
        accounts=(seed,),
        token_ttl_s=60,
        leeway_s=5,
    )
    gatekeeper = await IdentityProvider.open("retail", config, AccountStore(db))
    now = int(time.time())
    assert gatekeeper.authenticate(forged(tmp_path, iat=now, nbf=now, exp=now + 65))
    assert refusal(gatekeeper, forged(tmp_path, iat=now, nbf=now, exp=now + 66)) == (
        "too_long_lived"
    )
