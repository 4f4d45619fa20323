"""An asyncio client of the spfed API that speaks the domain model.

Used by the CLI, by Python programs, and by an upper SP to call its lower SPs:
every node calls every other node through this same API.

    tls = ClientTls.load("ca.crt")
    async with PlatformClient(
        "retail.example.net:50051", tls=tls, sign_in=PasswordSignIn("acme", "secret")
    ) as node:
        op = await node.instantiate(request)
        async for event in node.watch_service(op.service_id, until_settled=True):
            print(event.kind, event.origin)

Every call carries an access token (``authorization: Bearer``), signed in
for and renewed by the client itself (``spfed.credentials``). Every failure
is raised as a ``spfed.errors`` leaf; a lower node's typed error arrives
intact with its origin path.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import UTC
from types import TracebackType
from typing import TypeVar

import grpc

from spfed.api.v1 import gatekeeper_pb2 as gk
from spfed.api.v1 import gatekeeper_pb2_grpc as gk_grpc
from spfed.api.v1 import platform_service_pb2 as api
from spfed.api.v1 import platform_service_pb2_grpc as api_grpc
from spfed.api.v1 import slices_pb2 as slices_api
from spfed.credentials import Credential, SignIn, TokenKeeper
from spfed.errors import SpfedError
from spfed.model import (
    Account,
    AccountKind,
    Catalogue,
    CreateSliceRequest,
    DescriptorRef,
    InstantiateRequest,
    IssuedToken,
    OfferKind,
    Operation,
    PasswordCredential,
    Role,
    ServiceEvent,
    ServiceRecord,
    SignedCatalogue,
    SliceRecord,
)
from spfed.tls import ClientTls
from spfed.wire import (
    account_from_pb,
    catalogue_from_pb,
    create_slice_request_to_pb,
    error_from_rpc,
    event_from_pb,
    instantiate_request_to_pb,
    kind_to_pb,
    operation_from_pb,
    ref_to_pb,
    role_from_pb,
    role_to_pb,
    service_from_pb,
    signed_catalogue_from_pb,
    slice_from_pb,
)
from spfed.wire.catalogue import OFFER_KINDS

__all__ = ["PlatformClient"]

log = logging.getLogger(__name__)
Req = TypeVar("Req")
Resp = TypeVar("Resp")

_CHANNEL_OPTIONS = (
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.max_receive_message_length", 32 * 1024 * 1024),
)


class PlatformClient:
    """A connection to one node's API: ``PlatformService`` and ``GatekeeperService``."""

    def __init__(
        self,
        target: str,
        *,
        node_id: str = "",
        timeout_s: float = 10.0,
        channel: grpc.aio.Channel | None = None,
        role: str = "node",
        tls: ClientTls | None = None,
        sign_in: SignIn | None = None,
        reconnect_backoff_s: tuple[float, float] | None = None,
    ) -> None:
        """Open a channel to ``target`` (``host:port``); nothing is sent yet.

        ``reconnect_backoff_s`` (first, largest) bounds how long the channel waits
        between attempts to reconnect to a peer that went away (gRPC's default
        grows to two minutes): a node's channel to a lower SP that restarts
        comes back within the largest delay.

        ``node_id`` names the peer (``role`` says what it is to the caller,
        e.g. "lower SP") in errors; ``timeout_s`` is the deadline of every
        unary call (streams have none). Without ``tls`` the channel is
        plaintext (development only). Without ``sign_in`` calls carry no
        token, and only health checks, reflection and ``issue_token`` work.
        """
        self.id = node_id or target
        self._peer = f"{role} {self.id}" if node_id else f"the {role} at {target}"
        self.target = target
        self.timeout_s = timeout_s
        options: tuple[tuple[str, int], ...] = _CHANNEL_OPTIONS
        if reconnect_backoff_s is not None:
            first_ms, largest_ms = (round(s * 1000) for s in reconnect_backoff_s)
            options += (
                ("grpc.initial_reconnect_backoff_ms", first_ms),
                ("grpc.min_reconnect_backoff_ms", first_ms),
                ("grpc.max_reconnect_backoff_ms", largest_ms),
            )
        if channel is not None:
            self._channel = channel
        elif tls is not None:
            self._channel = grpc.aio.secure_channel(
                target, tls.credentials(), options=options + tls.channel_options()
            )
        else:
            self._channel = grpc.aio.insecure_channel(target, options=options)
        self._stub = api_grpc.PlatformServiceStub(self._channel)
        self._gatekeeper = gk_grpc.GatekeeperServiceStub(self._channel)
        self._keeper = TokenKeeper(sign_in, self.issue_token) if sign_in is not None else None

    async def __aenter__(self) -> PlatformClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the channel; running streams end."""
        await self._channel.close()

    def _error(self, exc: grpc.aio.AioRpcError) -> SpfedError:
        return error_from_rpc(exc, self._peer)

    async def _metadata(self) -> tuple[tuple[str, str], ...]:
        if self._keeper is None:
            return ()
        return (("authorization", f"Bearer {await self._keeper.token()}"),)

    def _retry_refused(
        self, exc: grpc.aio.AioRpcError, metadata: tuple[tuple[str, str], ...]
    ) -> bool:
        """Whether a call refused for its token should go again with a new one."""
        if exc.code() is not grpc.StatusCode.UNAUTHENTICATED or self._keeper is None:
            return False
        if not self._keeper.renewable or not metadata:
            return False
        self._keeper.refused(metadata[0][1].removeprefix("Bearer "))
        log.info("event=token_refused peer=%s detail=%r; signing in again", self.id, exc.details())
        return True

    async def _unary(self, method: Callable[..., Awaitable[Resp]], request: object) -> Resp:
        """One unary call with a token; once more with a fresh token if it was refused."""
        for attempt in (1, 2):
            metadata = await self._metadata()
            try:
                return await method(request, timeout=self.timeout_s, metadata=metadata)
            except grpc.aio.AioRpcError as exc:
                if attempt == 1 and self._retry_refused(exc, metadata):
                    continue
                raise self._error(exc) from exc
        raise AssertionError("unreachable")

    async def _stream(
        self, method: Callable[..., grpc.aio.UnaryStreamCall[Req, Resp]], request: Req
    ) -> AsyncGenerator[Resp, None]:
        """A server stream with a token; restarted once with a fresh token if the
        token was refused before anything arrived."""
        for attempt in (1, 2):
            metadata = await self._metadata()
            call = method(request, metadata=metadata)
            received = False
            try:
                async for resp in call:
                    received = True
                    yield resp
                return
            except grpc.aio.AioRpcError as exc:
                if attempt == 1 and not received and self._retry_refused(exc, metadata):
                    continue
                raise self._error(exc) from exc
            finally:
                call.cancel()

    # --- gatekeeper -------------------------------------------------------------------

    async def issue_token(self, credential: Credential) -> IssuedToken:
        """Sign in: an access token for a password or a client assertion."""
        if isinstance(credential, PasswordCredential):
            request = gk.IssueTokenRequest(
                password=gk.PasswordCredential(
                    account=credential.account, password=credential.password
                )
            )
        else:
            request = gk.IssueTokenRequest(
                client_assertion=gk.ClientAssertion(
                    assertion_type=credential.assertion_type, assertion=credential.assertion
                )
            )
        try:
            resp = await self._gatekeeper.IssueToken(request, timeout=self.timeout_s)
        except grpc.aio.AioRpcError as exc:
            raise self._error(exc) from exc
        return IssuedToken(
            token=resp.access_token,
            account=resp.account,
            roles=tuple(r for r in (role_from_pb(v) for v in resp.roles) if r is not None),
            expire_time=resp.expire_time.ToDatetime(tzinfo=UTC),
        )

    async def create_account(
        self, name: str, kind: AccountKind, role: Role, *, password: str = "", public_key: str = ""
    ) -> Account:
        """Create an account (operator)."""
        resp = await self._unary(
            self._gatekeeper.CreateAccount,
            gk.CreateAccountRequest(
                name=name,
                kind=kind_to_pb(kind),
                role=role_to_pb(role),
                password=password,
                public_key=public_key,
            ),
        )
        return account_from_pb(resp.account)

    async def list_accounts(self) -> list[Account]:
        """Every account of the node (operator)."""
        resp = await self._unary(self._gatekeeper.ListAccounts, gk.ListAccountsRequest())
        return [account_from_pb(a) for a in resp.accounts]

    async def disable_account(self, name: str) -> Account:
        """Disable an account; its tokens stop working at once (operator)."""
        resp = await self._unary(
            self._gatekeeper.DisableAccount, gk.DisableAccountRequest(name=name)
        )
        return account_from_pb(resp.account)

    async def rotate_account_key(
        self, name: str, *, public_key: str = "", password: str = ""
    ) -> Account:
        """A service account's new public key, or a user's new password (operator)."""
        resp = await self._unary(
            self._gatekeeper.RotateAccountKey,
            gk.RotateAccountKeyRequest(name=name, public_key=public_key, password=password),
        )
        return account_from_pb(resp.account)

    async def rotate_signing_key(self, *, revoke_previous: bool = False) -> tuple[str, list[str]]:
        """Replace the node's signing key; the new key id and every usable one (operator).

        ``revoke_previous`` makes every token signed so far stop working now.
        """
        resp = await self._unary(
            self._gatekeeper.RotateSigningKey,
            gk.RotateSigningKeyRequest(revoke_previous=revoke_previous),
        )
        return resp.key_id, list(resp.key_ids)

    # --- platform -----------------------------------------------------------------------

    async def get_catalogue(self) -> Catalogue:
        """The node's current catalogue."""
        resp = await self._unary(self._stub.GetCatalogue, api.GetCatalogueRequest())
        return catalogue_from_pb(resp.catalogue)

    async def get_signed_catalogue(self) -> SignedCatalogue:
        """The node's current catalogue as signed (check it with ``capability_catalog``)."""
        resp = await self._unary(self._stub.GetCatalogue, api.GetCatalogueRequest())
        return signed_catalogue_from_pb(resp.signed)

    async def watch_catalogue(self, after_version: int = 0) -> AsyncGenerator[Catalogue, None]:
        """Every new catalogue version after ``after_version``, until cancelled."""
        async with contextlib.aclosing(self.watch_signed_catalogue(after_version)) as stream:
            async for signed in stream:
                yield signed.catalogue

    async def watch_signed_catalogue(
        self, after_version: int = 0
    ) -> AsyncGenerator[SignedCatalogue, None]:
        """Every new catalogue version after ``after_version`` as signed, until cancelled.

        Raises (from the generator):
            InvalidArgument: the node sent a signed payload that is not a catalogue.
        """
        stream = self._stream(
            self._stub.WatchCatalogue, api.WatchCatalogueRequest(after_version=after_version)
        )
        async with contextlib.aclosing(stream):
            async for resp in stream:
                yield signed_catalogue_from_pb(resp.signed)

    async def withdraw_offer(self, kind: OfferKind, ref: DescriptorRef) -> Catalogue:
        """Withdraw one of the node's offers (operator); the catalogue without it."""
        resp = await self._unary(
            self._stub.WithdrawOffer,
            api.WithdrawOfferRequest(kind=OFFER_KINDS.to_pb(kind), descriptor=ref_to_pb(ref)),
        )
        return catalogue_from_pb(resp.catalogue)

    async def restore_offer(self, kind: OfferKind, ref: DescriptorRef) -> Catalogue:
        """Offer a withdrawn function or service again (operator)."""
        resp = await self._unary(
            self._stub.RestoreOffer,
            api.RestoreOfferRequest(kind=OFFER_KINDS.to_pb(kind), descriptor=ref_to_pb(ref)),
        )
        return catalogue_from_pb(resp.catalogue)

    async def instantiate(self, request: InstantiateRequest) -> Operation:
        """Start instantiating; returns the operation (its ``service_id`` names the service)."""
        resp = await self._unary(self._stub.InstantiateService, instantiate_request_to_pb(request))
        return operation_from_pb(resp.operation)

    async def get_service(self, service_id: str) -> ServiceRecord:
        """A service with its tree."""
        resp = await self._unary(
            self._stub.GetService, api.GetServiceRequest(service_id=service_id)
        )
        return service_from_pb(resp.service)

    async def list_services(
        self, *, include_inactive: bool = False, page_size: int = 0
    ) -> list[ServiceRecord]:
        """The caller's services, newest first (all pages)."""
        out: list[ServiceRecord] = []
        token = ""
        while True:
            resp = await self._unary(
                self._stub.ListServices,
                api.ListServicesRequest(
                    page_size=page_size, page_token=token, include_inactive=include_inactive
                ),
            )
            out += [service_from_pb(s) for s in resp.services]
            token = resp.next_page_token
            if not token:
                return out

    async def watch_service(
        self,
        service_id: str,
        *,
        after: int = 0,
        until_settled: bool = False,
        milestones: bool = False,
    ) -> AsyncGenerator[ServiceEvent, None]:
        """Lifecycle events of a service and every part below it.

        With ``milestones``, only state changes, parts, failures and
        compensations (what an upper SP relays), not task progress.
        """
        detail = api.EVENT_DETAIL_MILESTONES if milestones else api.EVENT_DETAIL_ALL
        stream = self._stream(
            self._stub.WatchService,
            api.WatchServiceRequest(
                service_id=service_id,
                after_sequence=after,
                until_settled=until_settled,
                detail=detail,
            ),
        )
        async with contextlib.aclosing(stream):
            async for resp in stream:
                yield event_from_pb(resp.event)

    async def terminate(self, service_id: str, request_id: str = "") -> Operation:
        """Start terminating a service (idempotent per ``request_id``)."""
        resp = await self._unary(
            self._stub.TerminateService,
            api.TerminateServiceRequest(service_id=service_id, request_id=request_id),
        )
        return operation_from_pb(resp.operation)

    async def get_operation(self, operation_id: str) -> Operation:
        """An operation with its per-task progress."""
        resp = await self._unary(
            self._stub.GetOperation, api.GetOperationRequest(operation_id=operation_id)
        )
        return operation_from_pb(resp.operation)

    async def create_slice(self, request: CreateSliceRequest) -> SliceRecord:
        """Start creating a slice; it comes back in CREATING (idempotent per request id)."""
        resp = await self._unary(self._stub.CreateSlice, create_slice_request_to_pb(request))
        return slice_from_pb(resp.slice)

    async def get_slice(self, slice_id: str) -> SliceRecord:
        """One slice."""
        resp = await self._unary(self._stub.GetSlice, slices_api.GetSliceRequest(slice_id=slice_id))
        return slice_from_pb(resp.slice)

    async def list_slices(self, *, include_inactive: bool = False) -> list[SliceRecord]:
        """The caller's slices, newest first."""
        resp = await self._unary(
            self._stub.ListSlices, slices_api.ListSlicesRequest(include_inactive=include_inactive)
        )
        return [slice_from_pb(s) for s in resp.slices]

    async def delete_slice(self, slice_id: str) -> SliceRecord:
        """Start deleting a slice (idempotent)."""
        resp = await self._unary(
            self._stub.DeleteSlice, slices_api.DeleteSliceRequest(slice_id=slice_id)
        )
        return slice_from_pb(resp.slice)
