"""Client assertion ids (``jti``) against the ``used_assertions`` column, on SQLite and PostgreSQL.

The column holds 128 characters. SQLite would store a longer id whole and
PostgreSQL refuse it with a database error; the gatekeeper refuses such an
assertion before either sees it, and the store refuses the id itself too.

The PostgreSQL runs create a uniquely named database at 127.0.0.1:5432 and
drop it afterwards; they skip when the server is unreachable, unless
``CI=true``, where that is a failure.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from psycopg import sql

from spfed.auth import ASSERTION_TYPE, generate_key, key_id, public_key_pem
from spfed.config import AuthConfig
from spfed.errors import InvalidArgument, Unauthenticated
from spfed.identity import IdentityProvider
from spfed.model import AccountKind, AssertionCredential, Role
from spfed.storage import AccountStore, Database
from tests.forge import signed
from tests.unit.storage.backends import PG_HOST, PG_PORT, PG_USER, admin_connection


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database, dropped after the test whatever happened."""
    conn = admin_connection()
    # The storage tests' prefix: their session cleanup drops it if this process dies first.
    name = f"spfed_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        yield f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'node.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    database = Database.connect(url)
    await database.migrate()
    yield database
    await database.close()


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return generate_key()


@pytest.fixture
async def gatekeeper(tmp_path: Path, db: Database, key: Ed25519PrivateKey) -> IdentityProvider:
    config = AuthConfig(key_dir=str(tmp_path / "keys"), scrypt_log_n=10)
    gatekeeper = await IdentityProvider.open("retail", config, AccountStore(db))
    await gatekeeper.create_account(
        "upper", AccountKind.SERVICE, Role.PLATFORM, public_key=public_key_pem(key.public_key())
    )
    return gatekeeper


def assertion(key: Ed25519PrivateKey, jti: str) -> AssertionCredential:
    now = int(time.time())
    claims = {
        "iss": "upper",
        "sub": "upper",
        "aud": "retail",
        "iat": now,
        "exp": now + 60,
        "jti": jti,
    }
    header = {"alg": "EdDSA", "typ": "JWT", "kid": key_id(key.public_key())}
    return AssertionCredential(ASSERTION_TYPE, signed(header, claims, key))


async def test_a_jti_of_128_characters_is_used_once(
    gatekeeper: IdentityProvider, key: Ed25519PrivateKey
) -> None:
    jti = uuid.uuid4().hex * 4  # 128
    issued = await gatekeeper.issue_token(assertion(key, jti))
    assert issued.account == "upper"
    with pytest.raises(Unauthenticated) as replayed:
        await gatekeeper.issue_token(assertion(key, jti))
    assert replayed.value.metadata["reason"] == "replayed_assertion"


@pytest.mark.parametrize("jti", ["j" * 129, "j" * 200, "j" * 4000])
async def test_a_longer_jti_is_refused_before_the_store(
    gatekeeper: IdentityProvider, key: Ed25519PrivateKey, jti: str
) -> None:
    with pytest.raises(Unauthenticated) as refused:
        await gatekeeper.issue_token(assertion(key, jti))
    assert refused.value.metadata["reason"] == "missing_claim"


async def test_the_store_refuses_an_id_its_column_cannot_hold(db: Database) -> None:
    store = AccountStore(db)
    later = datetime.now(UTC) + timedelta(minutes=5)
    assert await store.use_assertion("j" * 128, "upper", later)
    assert not await store.use_assertion("j" * 128, "upper", later)
    for jti in ("j" * 129, ""):
        with pytest.raises(InvalidArgument):
            await store.use_assertion(jti, "upper", later)
