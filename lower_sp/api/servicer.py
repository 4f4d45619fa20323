"""The gRPC servicer of ``spfed.v1.PlatformService``: the node's one API.

It converts messages to the domain model and back, and delegates to the
lifecycle and the catalogue publisher. It never aborts a call itself: domain
errors propagate to the error interceptor, which maps them to status codes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import grpc

from capability_catalog import CataloguePublisher, Withdrawals
from spfed.api.v1 import platform_service_pb2 as api
from spfed.api.v1 import platform_service_pb2_grpc as api_grpc
from spfed.api.v1 import slices_pb2 as slices_api
from spfed.api.v1.descriptors_pb2 import DescriptorRef as DescriptorRefPb
from spfed.errors import FieldViolation, InvalidArgument
from spfed.lifecycle import ServiceLifecycle, SliceManager
from spfed.model import DescriptorRef, OfferKind, Principal
from spfed.wire import (
    catalogue_to_pb,
    create_slice_request_from_pb,
    event_to_pb,
    instantiate_request_from_pb,
    operation_to_pb,
    ref_from_pb,
    service_to_pb,
    signed_catalogue_to_pb,
    slice_to_pb,
)
from spfed.wire.catalogue import OFFER_KINDS

__all__ = ["PlatformServicer"]

Context = grpc.aio.ServicerContext[object, object]
_MAX_SEQUENCE = 2**63 - 1
"""Event sequences are signed 64-bit integers where they are stored."""


def _offer_key(kind: int, descriptor: DescriptorRefPb) -> tuple[OfferKind, DescriptorRef]:
    """The offer a request names; every part is required.

    Raises:
        InvalidArgument: with a violation per missing part.
    """
    offer_kind = OFFER_KINDS.from_pb(kind)
    ref = ref_from_pb(descriptor)
    problems = [
        FieldViolation(path, "required")
        for path, missing in (
            ("kind", offer_kind is None),
            ("descriptor.vendor", not ref.vendor),
            ("descriptor.name", not ref.name),
            ("descriptor.version", not ref.version),
        )
        if missing
    ]
    if problems or offer_kind is None:
        raise InvalidArgument(
            "name the offer: its kind and vendor/name/version", field_violations=problems
        )
    return offer_kind, ref


class PlatformServicer(api_grpc.PlatformServiceServicer):
    """The API, backed by one node's lifecycle and catalogue."""

    def __init__(
        self,
        lifecycle: ServiceLifecycle,
        catalogue: CataloguePublisher,
        withdrawals: Withdrawals,
        principal: Callable[[], Principal],
        slices: SliceManager,
    ) -> None:
        self._lifecycle = lifecycle
        self._slices = slices
        self._catalogue = catalogue
        self._withdrawals = withdrawals
        self._principal = principal
        self._node = lifecycle.rt.node_id

    async def GetCatalogue(
        self, request: api.GetCatalogueRequest, context: Context
    ) -> api.GetCatalogueResponse:
        signed = self._catalogue.current_signed
        return api.GetCatalogueResponse(
            catalogue=catalogue_to_pb(signed.catalogue), signed=signed_catalogue_to_pb(signed)
        )

    async def WatchCatalogue(
        self, request: api.WatchCatalogueRequest, context: Context
    ) -> AsyncIterator[api.WatchCatalogueResponse]:
        async for signed in self._catalogue.watch(request.after_version):
            yield api.WatchCatalogueResponse(
                catalogue=catalogue_to_pb(signed.catalogue), signed=signed_catalogue_to_pb(signed)
            )

    async def WithdrawOffer(
        self, request: api.WithdrawOfferRequest, context: Context
    ) -> api.WithdrawOfferResponse:
        kind, ref = _offer_key(request.kind, request.descriptor)
        catalogue = await self._withdrawals.withdraw(kind, ref)
        return api.WithdrawOfferResponse(catalogue=catalogue_to_pb(catalogue))

    async def RestoreOffer(
        self, request: api.RestoreOfferRequest, context: Context
    ) -> api.RestoreOfferResponse:
        kind, ref = _offer_key(request.kind, request.descriptor)
        catalogue = await self._withdrawals.restore(kind, ref)
        return api.RestoreOfferResponse(catalogue=catalogue_to_pb(catalogue))

    async def InstantiateService(
        self, request: api.InstantiateServiceRequest, context: Context
    ) -> api.InstantiateServiceResponse:
        op = await self._lifecycle.instantiate(
            self._principal(), instantiate_request_from_pb(request)
        )
        return api.InstantiateServiceResponse(operation=operation_to_pb(op, self._node))

    async def GetService(
        self, request: api.GetServiceRequest, context: Context
    ) -> api.GetServiceResponse:
        service = await self._lifecycle.get_service(self._principal(), request.service_id)
        return api.GetServiceResponse(service=service_to_pb(service))

    async def ListServices(
        self, request: api.ListServicesRequest, context: Context
    ) -> api.ListServicesResponse:
        services, token = await self._lifecycle.list_services(
            self._principal(),
            include_inactive=request.include_inactive,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return api.ListServicesResponse(
            services=[service_to_pb(s, with_remote=False) for s in services], next_page_token=token
        )

    async def WatchService(
        self, request: api.WatchServiceRequest, context: Context
    ) -> AsyncIterator[api.WatchServiceResponse]:
        if request.after_sequence > _MAX_SEQUENCE:
            # uint64 on the wire: beyond the stored range the database cannot even compare.
            raise InvalidArgument(
                "after_sequence is beyond any event sequence",
                field_violations=[FieldViolation("after_sequence", f"at most {_MAX_SEQUENCE}")],
            )
        async for event in self._lifecycle.watch(
            self._principal(),
            request.service_id,
            request.after_sequence,
            request.until_settled,
            milestones=request.detail == api.EVENT_DETAIL_MILESTONES,
        ):
            yield api.WatchServiceResponse(event=event_to_pb(event, self._node))

    async def TerminateService(
        self, request: api.TerminateServiceRequest, context: Context
    ) -> api.TerminateServiceResponse:
        op = await self._lifecycle.terminate(
            self._principal(), request.service_id, request.request_id
        )
        return api.TerminateServiceResponse(operation=operation_to_pb(op, self._node))

    async def GetOperation(
        self, request: api.GetOperationRequest, context: Context
    ) -> api.GetOperationResponse:
        op = await self._lifecycle.get_operation(self._principal(), request.operation_id)
        return api.GetOperationResponse(operation=operation_to_pb(op, self._node))

    async def CreateSlice(
        self, request: slices_api.CreateSliceRequest, context: Context
    ) -> slices_api.CreateSliceResponse:
        record = await self._slices.create(self._principal(), create_slice_request_from_pb(request))
        return slices_api.CreateSliceResponse(slice=slice_to_pb(record, self._node))

    async def GetSlice(
        self, request: slices_api.GetSliceRequest, context: Context
    ) -> slices_api.GetSliceResponse:
        record = await self._slices.get(self._principal(), request.slice_id)
        return slices_api.GetSliceResponse(slice=slice_to_pb(record, self._node))

    async def ListSlices(
        self, request: slices_api.ListSlicesRequest, context: Context
    ) -> slices_api.ListSlicesResponse:
        records = await self._slices.list_slices(
            self._principal(), include_inactive=request.include_inactive
        )
        return slices_api.ListSlicesResponse(slices=[slice_to_pb(r, self._node) for r in records])

    async def DeleteSlice(
        self, request: slices_api.DeleteSliceRequest, context: Context
    ) -> slices_api.DeleteSliceResponse:
        record = await self._slices.delete(self._principal(), request.slice_id)
        return slices_api.DeleteSliceResponse(slice=slice_to_pb(record, self._node))
