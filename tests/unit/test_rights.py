"""The table of rights: every API method is in it, and what each role may call."""

from __future__ import annotations

from lower_sp.api.rights import OPEN, RIGHTS, method_names
from spfed.model import ROLE_PERMISSIONS, Permission, Principal, Role


def test_every_method_of_the_api_has_a_right() -> None:
    assert sorted(RIGHTS) == sorted(method_names())


def test_only_issue_token_is_open() -> None:
    assert [m for m, right in RIGHTS.items() if right is OPEN] == [
        "/spfed.v1.GatekeeperService/IssueToken"
    ]


def callable_by(role: Role) -> set[str]:
    principal = Principal("someone", frozenset({role}))
    return {
        m.rsplit("/", 1)[1]
        for m, right in RIGHTS.items()
        if right is OPEN or (isinstance(right, Permission) and principal.may(right))
    }


def test_what_each_role_may_call() -> None:
    services = {
        "GetCatalogue",
        "InstantiateService",
        "GetService",
        "ListServices",
        "WatchService",
        "TerminateService",
        "GetOperation",
        "CreateSlice",
        "GetSlice",
        "ListSlices",
        "DeleteSlice",
        "IssueToken",
    }
    assert callable_by(Role.CUSTOMER) == services
    assert callable_by(Role.PLATFORM) == services | {"WatchCatalogue"}
    assert callable_by(Role.OPERATOR) == {m.rsplit("/", 1)[1] for m in RIGHTS}


def test_only_operators_see_every_service() -> None:
    assert [r for r in Role if Permission.EVERY_SERVICE in ROLE_PERMISSIONS[r]] == [Role.OPERATOR]
    customer = Principal("acme", frozenset({Role.CUSTOMER}))
    assert customer.owns("acme")
    assert not customer.owns("globex")
    assert Principal("root", frozenset({Role.OPERATOR})).owns("globex")
