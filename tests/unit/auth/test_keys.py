"""Key files, key ids and the ``SigningKeys`` ring: create, reopen, rotate, prune, damage."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from spfed.auth import (
    SigningKeys,
    generate_key,
    key_id,
    load_private_key,
    parse_public_key,
    private_key_pem,
    public_key_pem,
    write_private_key,
)
from spfed.auth.keys import MANIFEST_NAME
from spfed.errors import FailedPrecondition, InvalidArgument
from tests.forge import FakeClock


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def manifest(directory: Path) -> dict[str, object]:
    document = json.loads((directory / MANIFEST_NAME).read_text())
    assert isinstance(document, dict)
    return document


def listed(directory: Path) -> list[dict[str, object]]:
    entries = manifest(directory)["keys"]
    assert isinstance(entries, list)
    return entries


# --- key ids and PEM files ---------------------------------------------------------------


def test_key_id_is_the_rfc_8037_thumbprint() -> None:
    # RFC 8037 appendix A.1 (the key) and A.3 (its RFC 7638 thumbprint)
    seed = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key()
    assert key_id(public) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_key_ids_differ_between_keys_and_not_between_copies() -> None:
    key = generate_key()
    copy = parse_public_key(public_key_pem(key.public_key()))
    assert key_id(copy) == key_id(key.public_key())
    assert key_id(generate_key().public_key()) != key_id(key.public_key())


def test_private_key_round_trips_through_a_private_file(tmp_path: Path) -> None:
    key = generate_key()
    path = tmp_path / "a" / "b" / "node.pem"
    write_private_key(path, key)
    assert private_key_pem(load_private_key(path)) == private_key_pem(key)
    assert path.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert mode(path) == 0o600
    assert mode(tmp_path / "a") == 0o700
    assert mode(tmp_path / "a" / "b") == 0o700
    assert os.listdir(path.parent) == ["node.pem"]  # no temporary file left behind


def test_write_private_key_replaces_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "node.pem"
    write_private_key(path, generate_key())
    key = generate_key()
    write_private_key(str(path), key)
    assert key_id(load_private_key(str(path)).public_key()) == key_id(key.public_key())


def test_public_key_pem_round_trips() -> None:
    public = generate_key().public_key()
    pem = public_key_pem(public)
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert key_id(parse_public_key(pem)) == key_id(public)


def ec_private_pem() -> bytes:
    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@pytest.mark.parametrize(
    "content",
    [
        None,  # missing
        b"",
        b"not a key",
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        "encrypted",
        "ec",
        "public",
    ],
)
def test_load_private_key_refuses_naming_the_path(
    tmp_path: Path, content: bytes | str | None
) -> None:
    path = tmp_path / "node.pem"
    key = generate_key()
    if content == "encrypted":
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(b"secret"),
            )
        )
    elif content == "ec":
        path.write_bytes(ec_private_pem())
    elif content == "public":
        path.write_text(public_key_pem(key.public_key()))
    elif isinstance(content, bytes):
        path.write_bytes(content)
    with pytest.raises(FailedPrecondition) as info:
        load_private_key(path)
    assert str(path) in info.value.message


def test_load_private_key_refuses_a_directory(tmp_path: Path) -> None:
    with pytest.raises(FailedPrecondition, match="cannot read"):
        load_private_key(tmp_path)


@pytest.mark.parametrize(
    "pem",
    [
        "",
        "garbage",
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        "ec",
        "private",
    ],
)
def test_parse_public_key_refuses_anything_but_an_ed25519_public_key(pem: str) -> None:
    if pem == "ec":
        pem = public_key_pem_of_ec()
    elif pem == "private":
        pem = private_key_pem(generate_key())
    with pytest.raises(InvalidArgument):
        parse_public_key(pem)


def public_key_pem_of_ec() -> str:
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


# --- SigningKeys: creation and reopening ---------------------------------------------------


def test_open_creates_a_private_directory_with_one_key(tmp_path: Path, clock: FakeClock) -> None:
    directory = tmp_path / "state" / "keys"
    ring = SigningKeys.open(directory, clock=clock)
    kid = ring.active_kid
    assert mode(directory) == 0o700
    assert mode(tmp_path / "state") == 0o700
    assert sorted(os.listdir(directory)) == sorted([MANIFEST_NAME, f"signing-{kid}.pem"])
    assert mode(directory / f"signing-{kid}.pem") == 0o600
    assert mode(directory / MANIFEST_NAME) == 0o600
    assert manifest(directory) == {
        "version": 1,
        "keys": [{"kid": kid, "created": clock.now, "retire_at": None}],
    }
    signing_kid, private = ring.signing_key()
    assert signing_kid == kid == key_id(private.public_key())
    assert ring.kids() == [kid]
    public = ring.public_key(kid)
    assert public is not None
    assert key_id(public) == kid
    assert ring.public_key("no-such-kid") is None
    assert ring.directory == directory


def test_reopening_finds_the_same_keys(tmp_path: Path, clock: FakeClock) -> None:
    first = SigningKeys.open(tmp_path, clock=clock)
    old = first.active_kid
    clock.advance(10)
    new = first.rotate(keep_previous_s=100)
    again = SigningKeys.open(tmp_path, clock=clock)
    assert again.active_kid == new
    assert again.kids() == [new, old]
    assert again.signing_key()[0] == new
    assert private_key_pem(again.signing_key()[1]) == private_key_pem(first.signing_key()[1])


def test_open_ignores_files_the_manifest_does_not_list(tmp_path: Path, clock: FakeClock) -> None:
    ring = SigningKeys.open(tmp_path, clock=clock)
    stray = generate_key()
    write_private_key(tmp_path / f"signing-{key_id(stray.public_key())}.pem", stray)
    (tmp_path / "notes.txt").write_text("hello")
    again = SigningKeys.open(tmp_path, clock=clock)
    assert again.kids() == [ring.active_kid]


def test_open_refuses_a_directory_path_that_is_a_file(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    path.write_text("")
    with pytest.raises(FailedPrecondition, match="not a directory"):
        SigningKeys.open(path)


# --- SigningKeys: rotation and pruning -----------------------------------------------------


def test_rotation_keeps_previous_keys_until_they_retire(tmp_path: Path, clock: FakeClock) -> None:
    ring = SigningKeys.open(tmp_path, clock=clock)
    first = ring.active_kid
    clock.advance(5)
    second = ring.rotate(keep_previous_s=60)
    assert second != first
    assert ring.active_kid == second
    assert ring.signing_key()[0] == second
    assert ring.kids() == [second, first]
    assert ring.public_key(first) is not None
    entries = listed(tmp_path)
    assert entries[0] == {"kid": first, "created": clock.now - 5, "retire_at": clock.now + 60}
    assert entries[1] == {"kid": second, "created": clock.now, "retire_at": None}

    clock.advance(59)
    assert ring.public_key(first) is not None
    clock.advance(1)
    assert ring.public_key(first) is None
    assert ring.kids() == [second]
    assert ring.public_key(second) is not None


def test_a_second_rotation_does_not_postpone_an_earlier_retirement(
    tmp_path: Path, clock: FakeClock
) -> None:
    ring = SigningKeys.open(tmp_path, clock=clock)
    first = ring.active_kid
    ring.rotate(keep_previous_s=60)
    clock.advance(10)
    second = ring.active_kid
    third = ring.rotate(keep_previous_s=600)
    retire = {entry["kid"]: entry["retire_at"] for entry in listed(tmp_path)}
    assert retire == {first: clock.now + 50, second: clock.now + 600, third: None}
    clock.advance(5)
    shorter = ring.rotate(keep_previous_s=1)  # an earlier retirement does win
    retire = {entry["kid"]: entry["retire_at"] for entry in listed(tmp_path)}
    assert retire == {
        first: clock.now + 1,
        second: clock.now + 1,
        third: clock.now + 1,
        shorter: None,
    }


def test_rotate_with_no_overlap_retires_the_old_key_at_once(
    tmp_path: Path, clock: FakeClock
) -> None:
    ring = SigningKeys.open(tmp_path, clock=clock)
    old = ring.active_kid
    new = ring.rotate(keep_previous_s=0)
    assert ring.public_key(old) is None
    assert ring.kids() == [new]


@pytest.mark.parametrize("keep", [-1.0, float("nan"), float("inf")])
def test_rotate_refuses_a_bad_overlap(keys: SigningKeys, keep: float) -> None:
    before = keys.active_kid
    with pytest.raises(InvalidArgument):
        keys.rotate(keep_previous_s=keep)
    assert keys.active_kid == before


def test_prune_deletes_retired_keys_only(tmp_path: Path, clock: FakeClock) -> None:
    ring = SigningKeys.open(tmp_path, clock=clock)
    first = ring.active_kid
    second = ring.rotate(keep_previous_s=10)
    clock.advance(5)
    third = ring.rotate(keep_previous_s=100)
    assert ring.prune() == []
    clock.advance(5)  # first retires now, second has 95 s left
    assert ring.prune() == [first]
    assert not (tmp_path / f"signing-{first}.pem").exists()
    assert [entry["kid"] for entry in listed(tmp_path)] == [second, third]
    assert ring.kids() == [third, second]
    assert ring.prune() == []
    clock.advance(95)
    assert ring.prune() == [second]
    assert ring.kids() == [third]
    assert sorted(os.listdir(tmp_path)) == sorted([MANIFEST_NAME, f"signing-{third}.pem"])
    again = SigningKeys.open(tmp_path, clock=clock)
    assert again.kids() == [third]


def test_a_rotated_ring_reopened_later_does_not_verify_with_retired_keys(
    tmp_path: Path, clock: FakeClock
) -> None:
    ring = SigningKeys.open(tmp_path, clock=clock)
    old = ring.active_kid
    ring.rotate(keep_previous_s=30)
    clock.advance(31)
    again = SigningKeys.open(tmp_path, clock=clock)
    assert again.public_key(old) is None
    assert again.prune() == [old]


# --- SigningKeys: damage -------------------------------------------------------------------


def test_open_refuses_an_unreadable_manifest(tmp_path: Path) -> None:
    (tmp_path / MANIFEST_NAME).mkdir()
    with pytest.raises(FailedPrecondition) as info:
        SigningKeys.open(tmp_path)
    assert MANIFEST_NAME in info.value.message


VALID_KID = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def one_key(created: str = "1", retire_at: str = "null", kid: str = VALID_KID) -> str:
    entry = f'{{"kid": "{kid}", "created": {created}, "retire_at": {retire_at}}}'
    return f'{{"version": 1, "keys": [{entry}]}}'


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{",
        "[]",
        '{"keys": []}',
        '{"version": 2, "keys": []}',
        '{"version": 1, "keys": []}',
        '{"version": 1, "keys": {}}',
        '{"version": 1, "keys": ["x"]}',
        one_key(kid="short"),
        one_key(kid="../../etc/passwd_aaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
        one_key(created='"x"'),
        one_key(created="true"),
        one_key(created="NaN"),
        one_key(created="1e999"),
        one_key(created="1" * 400),
        one_key(retire_at='"x"'),
        one_key(retire_at="5"),  # the newest key, which signs, cannot retire
        '{"version": 1, "keys": ['
        f'{{"kid": "{VALID_KID}", "created": 1, "retire_at": null}}, '
        f'{{"kid": "{VALID_KID}", "created": 2, "retire_at": null}}]}}',
    ],
)
def test_open_refuses_a_corrupt_manifest_naming_it(tmp_path: Path, text: str) -> None:
    (tmp_path / MANIFEST_NAME).write_text(text)
    with pytest.raises(FailedPrecondition, match="is corrupt") as info:
        SigningKeys.open(tmp_path)
    assert str(tmp_path / MANIFEST_NAME) in info.value.message


def test_open_refuses_a_missing_key_file(tmp_path: Path) -> None:
    kid = SigningKeys.open(tmp_path).active_kid
    (tmp_path / f"signing-{kid}.pem").unlink()
    with pytest.raises(FailedPrecondition) as info:
        SigningKeys.open(tmp_path)
    assert f"signing-{kid}.pem" in info.value.message


def test_open_refuses_an_unreadable_key_file(tmp_path: Path) -> None:
    kid = SigningKeys.open(tmp_path).active_kid
    path = tmp_path / f"signing-{kid}.pem"
    path.unlink()
    path.mkdir()  # unreadable as a file even for root, unlike chmod 000
    with pytest.raises(FailedPrecondition, match="cannot read") as info:
        SigningKeys.open(tmp_path)
    assert str(path) in info.value.message


def test_open_refuses_a_corrupt_key_file(tmp_path: Path) -> None:
    kid = SigningKeys.open(tmp_path).active_kid
    path = tmp_path / f"signing-{kid}.pem"
    path.write_text("-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n")
    with pytest.raises(FailedPrecondition) as info:
        SigningKeys.open(tmp_path)
    assert str(path) in info.value.message


def test_open_refuses_a_key_file_of_another_type(tmp_path: Path) -> None:
    kid = SigningKeys.open(tmp_path).active_kid
    path = tmp_path / f"signing-{kid}.pem"
    path.write_bytes(ec_private_pem())
    with pytest.raises(FailedPrecondition, match="not Ed25519") as info:
        SigningKeys.open(tmp_path)
    assert str(path) in info.value.message


def test_open_refuses_a_key_file_holding_another_key(tmp_path: Path) -> None:
    kid = SigningKeys.open(tmp_path).active_kid
    path = tmp_path / f"signing-{kid}.pem"
    write_private_key(path, generate_key())
    with pytest.raises(FailedPrecondition, match="whose id is not") as info:
        SigningKeys.open(tmp_path)
    assert str(path) in info.value.message
