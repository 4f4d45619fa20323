"""The gRPC servicer of ``spfed.v1.GatekeeperService``: tokens and accounts.

Like the platform servicer, it only converts messages: the gatekeeper does
the work, the auth interceptor has already checked the caller's rights
(``IssueToken`` is open, the rest needs the operator role), and domain
errors go to the error interceptor. Rejected sign-ins are written to the
audit log here, since no token check precedes them. The caller's address
(``context.peer()``) is the source the gatekeeper throttles sign-ins by.
"""

from __future__ import annotations

import grpc
from google.protobuf import timestamp_pb2

from spfed.api.v1 import gatekeeper_pb2 as pb
from spfed.api.v1 import gatekeeper_pb2_grpc as pb_grpc
from spfed.auth import peer_source
from spfed.errors import FieldViolation, InvalidArgument, SpfedError
from spfed.identity import IdentityProvider, audit
from spfed.model import AssertionCredential, PasswordCredential
from spfed.wire import account_to_pb, kind_from_pb, role_from_pb, role_to_pb

__all__ = ["GatekeeperServicer"]

Context = grpc.aio.ServicerContext[object, object]


class GatekeeperServicer(pb_grpc.GatekeeperServiceServicer):
    """The gatekeeper API of one node."""

    def __init__(self, gatekeeper: IdentityProvider) -> None:
        self._gatekeeper = gatekeeper

    async def IssueToken(
        self, request: pb.IssueTokenRequest, context: Context
    ) -> pb.IssueTokenResponse:
        which = request.WhichOneof("credential")
        credential: PasswordCredential | AssertionCredential
        if which == "password":
            credential = PasswordCredential(request.password.account, request.password.password)
            who = request.password.account
        elif which == "client_assertion":
            credential = AssertionCredential(
                request.client_assertion.assertion_type, request.client_assertion.assertion
            )
            who = "-"
        else:
            raise InvalidArgument(
                "IssueToken needs a credential",
                field_violations=[FieldViolation("credential", "a password or a client_assertion")],
            )
        try:
            issued = await self._gatekeeper.issue_token(
                credential, source=peer_source(context.peer())
            )
        except SpfedError as exc:
            audit.warning(
                "event=sign_in_rejected method=IssueToken credential=%s account=%s code=%s "
                "reason=%s peer=%s",
                which,
                who,
                exc.code.name,
                exc.metadata.get("reason", "-"),
                context.peer(),
            )
            raise
        expire = timestamp_pb2.Timestamp()
        expire.FromDatetime(issued.expire_time)
        return pb.IssueTokenResponse(
            access_token=issued.token,
            token_type="Bearer",
            expire_time=expire,
            account=issued.account,
            roles=[role_to_pb(r) for r in issued.roles],
        )

    async def CreateAccount(
        self, request: pb.CreateAccountRequest, context: Context
    ) -> pb.CreateAccountResponse:
        kind = kind_from_pb(request.kind)
        role = role_from_pb(request.role)
        missing = [
            FieldViolation(name, "required")
            for name, value in (("kind", kind), ("role", role))
            if value is None
        ]
        if missing or kind is None or role is None:
            raise InvalidArgument("an account needs a kind and a role", field_violations=missing)
        account = await self._gatekeeper.create_account(
            request.name,
            kind,
            role,
            password=request.password,
            public_key=request.public_key,
        )
        return pb.CreateAccountResponse(account=account_to_pb(account))

    async def ListAccounts(
        self, request: pb.ListAccountsRequest, context: Context
    ) -> pb.ListAccountsResponse:
        return pb.ListAccountsResponse(
            accounts=[account_to_pb(a) for a in self._gatekeeper.accounts()]
        )

    async def DisableAccount(
        self, request: pb.DisableAccountRequest, context: Context
    ) -> pb.DisableAccountResponse:
        account = await self._gatekeeper.disable_account(request.name)
        return pb.DisableAccountResponse(account=account_to_pb(account))

    async def RotateAccountKey(
        self, request: pb.RotateAccountKeyRequest, context: Context
    ) -> pb.RotateAccountKeyResponse:
        account = await self._gatekeeper.rotate_account_key(
            request.name, password=request.password, public_key=request.public_key
        )
        return pb.RotateAccountKeyResponse(account=account_to_pb(account))

    async def RotateSigningKey(
        self, request: pb.RotateSigningKeyRequest, context: Context
    ) -> pb.RotateSigningKeyResponse:
        kid, kids = self._gatekeeper.rotate_signing_key(revoke_previous=request.revoke_previous)
        return pb.RotateSigningKeyResponse(key_id=kid, key_ids=kids)
