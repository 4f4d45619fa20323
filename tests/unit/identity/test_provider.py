"""``IdentityProvider``: configured accounts, sign-in, token checks, account management.

Real keys, real scrypt (cheap parameters) and a real SQLite database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from spfed.auth import (
    ASSERTION_TYPE,
    ScryptParams,
    generate_key,
    hash_password,
    make_assertion,
    public_key_pem,
)
from spfed.config import AccountSeed, AuthConfig
from spfed.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    Unauthenticated,
)
from spfed.identity import IdentityProvider
from spfed.model import (
    AccountKind,
    AssertionCredential,
    PasswordCredential,
    Permission,
    Role,
)
from spfed.storage import AccountStore, Database

PASSWORD = "correct horse battery"
OWNER = "192.0.2.1"
GUESSER = "203.0.113.9"


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database.connect(f"sqlite:///{tmp_path / 'node.db'}")
    await database.migrate()
    yield database
    await database.close()


def config(tmp_path: Path, *seeds: AccountSeed, **changes: object) -> AuthConfig:
    return AuthConfig(
        key_dir=str(tmp_path / "keys"),
        scrypt_log_n=10,
        accounts=seeds,
        **changes,  # type: ignore[arg-type]
    )


def admin_seed() -> AccountSeed:
    return AccountSeed(
        "admin",
        AccountKind.USER,
        Role.OPERATOR,
        password_hash=hash_password(PASSWORD, ScryptParams(log_n=10)),
    )


async def opened(
    tmp_path: Path, db: Database, *seeds: AccountSeed, **changes: object
) -> IdentityProvider:
    return await IdentityProvider.open(
        "retail", config(tmp_path, *seeds, **changes), AccountStore(db)
    )


async def test_a_configured_user_signs_in_and_its_token_authenticates(
    tmp_path: Path, db: Database
) -> None:
    gatekeeper = await opened(tmp_path, db, admin_seed())
    issued = await gatekeeper.issue_token(PasswordCredential("admin", PASSWORD))
    assert issued.account == "admin"
    assert issued.roles == (Role.OPERATOR,)
    principal = gatekeeper.authenticate(f"Bearer {issued.token}")
    assert principal.account == "admin"
    assert principal.may(Permission.MANAGE_ACCOUNTS)
    assert principal.sees_every_service


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [(None, "no_token"), ("", "no_token"), ("Basic abc", "malformed"), ("Bearer x.y", "malformed")],
)
async def test_missing_or_malformed_authorization_is_unauthenticated(
    tmp_path: Path, db: Database, authorization: str | None, reason: str
) -> None:
    gatekeeper = await opened(tmp_path, db)
    with pytest.raises(Unauthenticated) as refused:
        gatekeeper.authenticate(authorization)
    assert refused.value.metadata["reason"] == reason


async def test_a_service_account_signs_in_with_a_single_use_assertion(
    tmp_path: Path, db: Database
) -> None:
    key = generate_key()
    (tmp_path / "upper.pub").write_text(public_key_pem(key.public_key()))
    seed = AccountSeed(
        "upper", AccountKind.SERVICE, Role.PLATFORM, public_key_file=str(tmp_path / "upper.pub")
    )
    gatekeeper = await opened(tmp_path, db, seed)
    credential = AssertionCredential(ASSERTION_TYPE, make_assertion("upper", "retail", key))
    issued = await gatekeeper.issue_token(credential)
    assert gatekeeper.authenticate(f"Bearer {issued.token}").may(Permission.WATCH_CATALOGUE)
    with pytest.raises(Unauthenticated, match="already used"):
        await gatekeeper.issue_token(credential)
    with pytest.raises(InvalidArgument) as wrong_type:
        await gatekeeper.issue_token(AssertionCredential("password", credential.assertion))
    assert wrong_type.value.field_violations[0].field == "client_assertion.assertion_type"
    stranger = make_assertion("upper", "retail", generate_key())
    with pytest.raises(Unauthenticated):
        await gatekeeper.issue_token(AssertionCredential(ASSERTION_TYPE, stranger))


async def test_an_unreadable_configured_key_stops_the_start(tmp_path: Path, db: Database) -> None:
    seed = AccountSeed(
        "upper", AccountKind.SERVICE, Role.PLATFORM, public_key_file=str(tmp_path / "missing.pub")
    )
    with pytest.raises(FailedPrecondition, match="cannot read the public key of 'upper'"):
        await opened(tmp_path, db, seed)
    (tmp_path / "garbage.pub").write_text("not a key")
    seed = AccountSeed(
        "upper", AccountKind.SERVICE, Role.PLATFORM, public_key_file=str(tmp_path / "garbage.pub")
    )
    with pytest.raises(FailedPrecondition, match="is not an Ed25519 public key"):
        await opened(tmp_path, db, seed)


async def test_accounts_are_created_validated_disabled_and_rekeyed(
    tmp_path: Path, db: Database
) -> None:
    gatekeeper = await opened(tmp_path, db, admin_seed())
    acme = await gatekeeper.create_account(
        "acme", AccountKind.USER, Role.CUSTOMER, password="acme password"
    )
    assert acme.password_hash.startswith("scrypt$10$")
    with pytest.raises(AlreadyExists):
        await gatekeeper.create_account("acme", AccountKind.USER, Role.CUSTOMER, password="x" * 9)
    bad: list[tuple[str, AccountKind, dict[str, str], str]] = [
        ("Bad Name", AccountKind.USER, {"password": "long enough"}, "name"),
        ("shorty", AccountKind.USER, {"password": "short"}, "password"),
        ("keyed", AccountKind.USER, {"password": "long enough", "public_key": "k"}, "public_key"),
        ("svc", AccountKind.SERVICE, {"public_key": "not a key"}, "public_key"),
        ("svc", AccountKind.SERVICE, {"password": "long enough"}, "password"),
    ]
    for name, kind, credential, field in bad:
        with pytest.raises(InvalidArgument) as refused:
            await gatekeeper.create_account(name, kind, Role.CUSTOMER, **credential)
        assert [v.field for v in refused.value.field_violations] == [field], name

    token = (await gatekeeper.issue_token(PasswordCredential("acme", "acme password"))).token
    await gatekeeper.rotate_account_key("acme", password="a new password")
    with pytest.raises(Unauthenticated):
        await gatekeeper.issue_token(PasswordCredential("acme", "acme password"))
    assert gatekeeper.authenticate(f"Bearer {token}").account == "acme"  # still valid
    await gatekeeper.disable_account("acme")
    with pytest.raises(Unauthenticated) as disabled:
        gatekeeper.authenticate(f"Bearer {token}")
    assert disabled.value.metadata["reason"] == "account_disabled"
    with pytest.raises(NotFound):
        await gatekeeper.disable_account("nobody")

    # The store holds the same: a restarted gatekeeper knows it all.
    again = await opened(tmp_path, db, admin_seed())
    assert {a.name: a.disabled for a in again.accounts()} == {"acme": True, "admin": False}


async def test_failed_passwords_lock_the_account_name_for_a_while_from_that_source(
    tmp_path: Path, db: Database
) -> None:
    gatekeeper = await opened(tmp_path, db, admin_seed(), password_max_failures=2)
    for name in ("admin", "admin", "ghost", "ghost"):
        with pytest.raises(Unauthenticated):
            await gatekeeper.issue_token(PasswordCredential(name, "wrong"), source=GUESSER)
    for name, password in (("admin", PASSWORD), ("ghost", "wrong")):
        with pytest.raises(ResourceExhausted, match="too many failed sign-ins") as locked:
            await gatekeeper.issue_token(PasswordCredential(name, password), source=GUESSER)
        assert locked.value.retry_after_s == 60.0
        assert locked.value.metadata == {
            "reason": "rate_limited",
            "scope": "account_source",
            "retry_after_s": "60",
        }
    # The owner, elsewhere, is not locked out by the guesser.
    issued = await gatekeeper.issue_token(PasswordCredential("admin", PASSWORD), source=OWNER)
    assert issued.account == "admin"


async def test_a_revoking_rotation_ends_every_earlier_token(tmp_path: Path, db: Database) -> None:
    gatekeeper = await opened(tmp_path, db, admin_seed())
    token = (await gatekeeper.issue_token(PasswordCredential("admin", PASSWORD))).token
    kid, kids = gatekeeper.rotate_signing_key()
    assert kids[0] == kid
    assert len(kids) == 2
    gatekeeper.authenticate(f"Bearer {token}")  # the previous key still verifies
    kid, kids = gatekeeper.rotate_signing_key(revoke_previous=True)
    assert kids == [kid]
    with pytest.raises(Unauthenticated) as revoked:
        gatekeeper.authenticate(f"Bearer {token}")
    assert revoked.value.metadata["reason"] == "unknown_key"
