"""The gatekeeper's sign-in throttles: per source, per (account, source), per account.

Real scrypt (cheap parameters) and a real SQLite database. A password is
checked only when an attempt is admitted, and only a checked wrong password
is UNAUTHENTICATED: so counting UNAUTHENTICATED answers counts the checks.
"""

from __future__ import annotations

import asyncio
from collections import Counter
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
from spfed.config import AccountSeed, AuthConfig, ConfigError, parse_config
from spfed.errors import ResourceExhausted, SpfedError, Unauthenticated
from spfed.identity import IdentityProvider
from spfed.model import AccountKind, AssertionCredential, PasswordCredential, Role
from spfed.storage import AccountStore, Database

PASSWORD = "correct horse battery"
OWNER = "192.0.2.1"


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database.connect(f"sqlite:///{tmp_path / 'node.db'}")
    await database.migrate()
    yield database
    await database.close()


async def opened(tmp_path: Path, db: Database, **changes: object) -> IdentityProvider:
    seed = AccountSeed(
        "alice",
        AccountKind.USER,
        Role.CUSTOMER,
        password_hash=hash_password(PASSWORD, ScryptParams(log_n=10)),
    )
    config = AuthConfig(
        key_dir=str(tmp_path / "keys"),
        scrypt_log_n=10,
        accounts=(seed,),
        **changes,  # type: ignore[arg-type]
    )
    return await IdentityProvider.open("retail", config, AccountStore(db))


def outcome(result: object) -> str:
    """``OK``, or the code and (for a throttle) the scope of a refusal."""
    if isinstance(result, ResourceExhausted):
        return f"RESOURCE_EXHAUSTED/{result.metadata['scope']}"
    if isinstance(result, SpfedError):
        return result.code.name
    assert not isinstance(result, BaseException), result
    return "OK"


async def sign_ins(
    gatekeeper: IdentityProvider, attempts: list[tuple[str, str]], account: str = "alice"
) -> Counter[str]:
    """Sign in once per (password, source), all at once; the outcomes counted."""
    results = await asyncio.gather(
        *(
            gatekeeper.issue_token(PasswordCredential(account, password), source=source)
            for password, source in attempts
        ),
        return_exceptions=True,
    )
    return Counter(outcome(r) for r in results)


async def test_concurrent_wrong_passwords_run_at_most_the_limit_of_checks(
    tmp_path: Path, db: Database
) -> None:
    gatekeeper = await opened(tmp_path, db, sign_in_burst=100)
    counted = await sign_ins(gatekeeper, [("wrong", "203.0.113.9")] * 40)
    assert counted == {"UNAUTHENTICATED": 5, "RESOURCE_EXHAUSTED/account_source": 35}
    # Elsewhere, the owner signs in.
    assert (await sign_ins(gatekeeper, [(PASSWORD, OWNER)])) == {"OK": 1}


async def test_distributed_guessing_is_capped_and_the_usual_source_still_signs_in(
    tmp_path: Path, db: Database
) -> None:
    gatekeeper = await opened(tmp_path, db)
    assert (await sign_ins(gatekeeper, [(PASSWORD, OWNER)])) == {"OK": 1}  # the usual place
    botnet = [("wrong", f"198.51.100.{i}") for i in range(60)]
    counted = await sign_ins(gatekeeper, botnet)
    # 20 failures put the account under attack; new sources then share 10 attempts.
    assert counted == {"UNAUTHENTICATED": 30, "RESOURCE_EXHAUSTED/account": 30}
    assert (await sign_ins(gatekeeper, [(PASSWORD, OWNER)])) == {"OK": 1}
    # A source that failed is held back even with the right password, for now:
    held = await sign_ins(gatekeeper, [(PASSWORD, "198.51.100.1")])
    assert held == {"RESOURCE_EXHAUSTED/account": 1}
    # So is a new one, its share used up; it is told when to retry.
    with pytest.raises(ResourceExhausted) as delayed:
        await gatekeeper.issue_token(PasswordCredential("alice", PASSWORD), source="192.0.2.99")
    assert delayed.value.retry_after_s is not None
    assert 1.0 <= delayed.value.retry_after_s <= 300.0


async def test_sign_ins_from_one_source_are_rate_limited_whatever_the_credential(
    tmp_path: Path, db: Database
) -> None:
    key = generate_key()
    (tmp_path / "upper.pub").write_text(public_key_pem(key.public_key()))
    gatekeeper = await opened(tmp_path, db, sign_in_burst=3, sign_in_rate_per_s=0.01)
    await gatekeeper.create_account(
        "upper", AccountKind.SERVICE, Role.PLATFORM, public_key=public_key_pem(key.public_key())
    )
    for _ in range(2):
        await gatekeeper.issue_token(PasswordCredential("alice", PASSWORD), source="10.0.0.1")
    await gatekeeper.issue_token(
        AssertionCredential(ASSERTION_TYPE, make_assertion("upper", "retail", key)),
        source="10.0.0.1",
    )
    for credential in (
        PasswordCredential("alice", PASSWORD),
        AssertionCredential(ASSERTION_TYPE, make_assertion("upper", "retail", key)),
    ):
        with pytest.raises(ResourceExhausted, match="too many sign-ins from this address") as info:
            await gatekeeper.issue_token(credential, source="10.0.0.1")
        assert info.value.metadata["scope"] == "source"
        assert info.value.retry_after_s == 100.0
        assert [v.subject for v in info.value.quota_violations] == ["sign-in:source"]
    await gatekeeper.issue_token(PasswordCredential("alice", PASSWORD), source="10.0.0.2")


async def test_a_disabled_account_with_the_right_password_counts_no_failure(
    tmp_path: Path, db: Database
) -> None:
    gatekeeper = await opened(tmp_path, db, password_max_failures=1)
    await gatekeeper.disable_account("alice")
    for _ in range(3):
        with pytest.raises(Unauthenticated, match="disabled"):
            await gatekeeper.issue_token(PasswordCredential("alice", PASSWORD), source=OWNER)


async def test_a_cancelled_sign_in_counts_as_a_failure(tmp_path: Path, db: Database) -> None:
    gatekeeper = await opened(tmp_path, db, password_max_failures=1)
    task = asyncio.ensure_future(
        gatekeeper.issue_token(PasswordCredential("alice", "wrong"), source=OWNER)
    )
    await asyncio.sleep(0)  # admitted; scrypt running on its thread
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with pytest.raises(ResourceExhausted):
        await gatekeeper.issue_token(PasswordCredential("alice", PASSWORD), source=OWNER)


def test_the_limits_are_configured_and_checked() -> None:
    base = {"id": "retail", "tls": {"insecure": True}, "catalogue": {"signing_key_file": "k"}}
    defaults = parse_config(base).auth
    assert (defaults.sign_in_burst, defaults.sign_in_rate_per_s) == (40, 2.0)
    assert (defaults.password_max_failures, defaults.password_window_s) == (5, 300.0)
    for bad in (
        {"password_lockout_s": 600, "password_max_lockout_s": 60},
        {"sign_in_burst": 0},
        {"sign_in_rate_per_s": float("inf")},
        {"password_trust_s": 0},
    ):
        with pytest.raises(ConfigError, match="auth"):
            parse_config(base | {"auth": bad})
