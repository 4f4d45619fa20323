"""Accounts and roles of the gatekeeper API."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf import timestamp_pb2

from spfed.api.v1 import gatekeeper_pb2 as pb
from spfed.model import Account, AccountKind, Role

__all__ = [
    "account_from_pb",
    "account_to_pb",
    "kind_from_pb",
    "kind_to_pb",
    "role_from_pb",
    "role_to_pb",
]

_ROLES: dict[Role, pb.Role.ValueType] = {
    Role.CUSTOMER: pb.ROLE_CUSTOMER,
    Role.PLATFORM: pb.ROLE_PLATFORM,
    Role.OPERATOR: pb.ROLE_OPERATOR,
}
_KINDS: dict[AccountKind, pb.AccountKind.ValueType] = {
    AccountKind.USER: pb.ACCOUNT_KIND_USER,
    AccountKind.SERVICE: pb.ACCOUNT_KIND_SERVICE,
}


def role_to_pb(role: Role) -> pb.Role.ValueType:
    """The protobuf value of a role."""
    return _ROLES[role]


def role_from_pb(value: int) -> Role | None:
    """The role of a protobuf value; None for UNSPECIFIED or unknown."""
    return next((r for r, v in _ROLES.items() if v == value), None)


def kind_to_pb(kind: AccountKind) -> pb.AccountKind.ValueType:
    """The protobuf value of an account kind."""
    return _KINDS[kind]


def kind_from_pb(value: int) -> AccountKind | None:
    """The account kind of a protobuf value; None for UNSPECIFIED or unknown."""
    return next((k for k, v in _KINDS.items() if v == value), None)


def _stamp(moment: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def account_to_pb(account: Account) -> pb.Account:
    """An account for the wire; the password hash never leaves the node."""
    return pb.Account(
        name=account.name,
        kind=kind_to_pb(account.kind),
        role=role_to_pb(account.role),
        disabled=account.disabled,
        public_key=account.public_key,
        create_time=_stamp(account.create_time),
        update_time=_stamp(account.update_time),
    )


def account_from_pb(message: pb.Account) -> Account:
    """An account read from the wire (without a password hash)."""
    return Account(
        name=message.name,
        kind=kind_from_pb(message.kind) or AccountKind.USER,
        role=role_from_pb(message.role) or Role.CUSTOMER,
        disabled=message.disabled,
        public_key=message.public_key,
        create_time=message.create_time.ToDatetime(tzinfo=UTC),
        update_time=message.update_time.ToDatetime(tzinfo=UTC),
    )
