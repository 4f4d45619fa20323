"""The API as any gRPC client sees it: health, reflection, status details, deadlines."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status

from spfed.api.v1 import platform_service_pb2 as api
from spfed.api.v1 import platform_service_pb2_grpc as api_grpc
from spfed.errors import InvalidArgument
from spfed.model import AddressConstraints
from spfed.wire import instantiate_request_to_pb
from tests.integration._federation import Federation, Operator, edge_cdn, examples

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
async def fed(tmp_path: Path) -> AsyncIterator[Federation]:
    """One node, ``edge``, with a 4-vCPU PoP."""
    spec = {"edge": Operator("ams", "nl", capacity={"vcpus": 4, "memory_mib": 8192})}
    federation = await Federation.start(tmp_path, spec)
    try:
        yield federation
    finally:
        await federation.stop()


async def signed(fed: Federation) -> tuple[tuple[str, str], ...]:
    """Call metadata with an admin token of ``edge``."""
    return (("authorization", f"Bearer {await fed.token('edge')}"),)


async def test_health_reports_serving_for_the_server_and_the_api(fed: Federation) -> None:
    async with fed.channel("edge") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        for service in ("", "spfed.v1.PlatformService"):
            reply = await stub.Check(health_pb2.HealthCheckRequest(service=service))
            assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_health_lists_the_server_and_the_api_without_an_error(
    fed: Federation, caplog: pytest.LogCaptureFixture
) -> None:
    async with fed.channel("edge") as channel:
        reply = await health_pb2_grpc.HealthStub(channel).List(health_pb2.HealthListRequest())
    assert {name: answer.status for name, answer in reply.statuses.items()} == {
        "": health_pb2.HealthCheckResponse.SERVING,
        "spfed.v1.PlatformService": health_pb2.HealthCheckResponse.SERVING,
    }
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_reflection_lists_and_describes_the_api(fed: Federation) -> None:
    async with fed.channel("edge") as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)

        async def ask(
            request: reflection_pb2.ServerReflectionRequest,
        ) -> reflection_pb2.ServerReflectionResponse:
            call = stub.ServerReflectionInfo(iter([request]))
            async for reply in call:
                return reply
            raise AssertionError("no reply")

        listed = await ask(reflection_pb2.ServerReflectionRequest(list_services=""))
        names = {s.name for s in listed.list_services_response.service}
        assert {
            "spfed.v1.PlatformService",
            "spfed.v1.GatekeeperService",
            "grpc.health.v1.Health",
        } <= names
        described = await ask(
            reflection_pb2.ServerReflectionRequest(
                file_containing_symbol="spfed.v1.PlatformService"
            )
        )
        assert described.file_descriptor_response.file_descriptor_proto


async def test_bad_input_gets_invalid_argument_with_bad_request_details(fed: Federation) -> None:
    async with fed.channel("edge") as channel:
        stub = api_grpc.PlatformServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.InstantiateService(
                api.InstantiateServiceRequest(request_id="x"), metadata=await signed(fed)
            )
        assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        status: status_pb2.Status = rpc_status.from_call(caught.value)
        violations = []
        origin = ""
        for detail in status.details:
            bad = error_details_pb2.BadRequest()
            info = error_details_pb2.ErrorInfo()
            if detail.Unpack(bad):
                violations += [v.field for v in bad.field_violations]
            elif detail.Unpack(info):
                origin = info.metadata["origin"]
        assert violations == ["source"]
        assert origin == "edge"


async def test_bad_addressing_is_invalid_argument_naming_each_field_and_stores_nothing(
    fed: Federation,
) -> None:
    cdn = edge_cdn()
    assert cdn.descriptors is not None
    vnfds = tuple(v for v in examples().vnfds if v.ref.name in ("router", "cache"))
    request = replace(
        cdn,
        descriptors=replace(cdn.descriptors, vnfds=vnfds),
        addressing=AddressConstraints(ip_version=5, mtu=100),
    )
    async with fed.client("edge") as client:
        with pytest.raises(InvalidArgument) as caught:
            await client.instantiate(request)
        assert [v.field for v in caught.value.field_violations] == [
            "addressing.ip_version",
            "addressing.mtu",
        ]
        assert await client.list_services(include_inactive=True) == []


async def test_unknown_service_is_not_found(fed: Federation) -> None:
    async with fed.channel("edge") as channel:
        stub = api_grpc.PlatformServiceStub(channel)
        metadata = await signed(fed)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.GetService(api.GetServiceRequest(service_id="nope"), metadata=metadata)
        assert caught.value.code() is grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.GetOperation(api.GetOperationRequest(operation_id="nope"), metadata=metadata)
        assert caught.value.code() is grpc.StatusCode.NOT_FOUND


async def test_an_expired_deadline_fails_the_call_and_the_server_goes_on(fed: Federation) -> None:
    async with fed.channel("edge") as channel:
        stub = api_grpc.PlatformServiceStub(channel)
        metadata = await signed(fed)
        watch = stub.WatchCatalogue(
            api.WatchCatalogueRequest(after_version=0), timeout=0.3, metadata=metadata
        )
        first = await watch.read()
        assert first.catalogue.publisher == "edge"  # the current version...
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await watch.read()  # ...then silence until the deadline
        assert caught.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
        reply = await stub.GetCatalogue(api.GetCatalogueRequest(), timeout=5, metadata=metadata)
        assert reply.catalogue.publisher == "edge"


def _call_through_reflection_only(
    address: str, credentials: grpc.ChannelCredentials, token: str
) -> tuple[str, dict[str, object]]:
    """What a generic client (grpcurl, Postman, evans) does: no stubs, only reflection."""
    from google.protobuf import descriptor_pool, json_format, message_factory
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
        ProtoReflectionDescriptorDatabase,
    )

    with grpc.secure_channel(address, credentials) as channel:
        pool = descriptor_pool.DescriptorPool(ProtoReflectionDescriptorDatabase(channel))
        service = pool.FindServiceByName("spfed.v1.PlatformService")
        method = service.methods_by_name["GetCatalogue"]
        request_class = message_factory.GetMessageClass(method.input_type)
        response_class = message_factory.GetMessageClass(method.output_type)
        call = channel.unary_unary(
            f"/{service.full_name}/{method.name}",
            request_serializer=request_class.SerializeToString,
            response_deserializer=response_class.FromString,
        )
        response = call(
            request_class(), timeout=5, metadata=(("authorization", f"Bearer {token}"),)
        )
        return method.output_type.full_name, json_format.MessageToDict(response)


async def test_a_client_without_stubs_calls_the_api_through_reflection(fed: Federation) -> None:
    type_name, response = await asyncio.to_thread(
        _call_through_reflection_only,
        fed.nodes["edge"].address,
        fed.security.client_tls().credentials(),
        await fed.token("edge"),
    )
    assert type_name == "spfed.v1.GetCatalogueResponse"
    catalogue = response["catalogue"]
    assert isinstance(catalogue, dict)
    assert catalogue["publisher"] == "edge"
    assert catalogue["regions"][0]["free"] == {"vcpus": 4, "memoryMib": "8192"}


def _error_details_through_reflection_only(
    address: str, credentials: grpc.ChannelCredentials, token: str, method: str, request: bytes
) -> tuple[grpc.StatusCode, dict[str, dict[str, object]]]:
    """Call ``method`` and decode its error's details as a generic client does.

    ``google.rpc.Status`` and each detail's type come from the node's reflection, not
    from compiled stubs: a detail whose type reflection does not serve fails the test.
    """
    from google.protobuf import descriptor_pool, json_format, message_factory
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
        ProtoReflectionDescriptorDatabase,
    )

    with grpc.secure_channel(address, credentials) as channel:
        pool = descriptor_pool.DescriptorPool(ProtoReflectionDescriptorDatabase(channel))
        call = channel.unary_unary(
            method, request_serializer=lambda b: b, response_deserializer=lambda b: b
        )
        with pytest.raises(grpc.RpcError) as caught:
            call(request, timeout=5, metadata=(("authorization", f"Bearer {token}"),))
        error = caught.value
        assert isinstance(error, grpc.Call)
        trailer = dict(error.trailing_metadata() or ())["grpc-status-details-bin"]
        status_class = message_factory.GetMessageClass(
            pool.FindMessageTypeByName("google.rpc.Status")
        )
        status = status_class.FromString(trailer)
        details: dict[str, dict[str, object]] = {}
        for detail in status.details:
            name = detail.type_url.rpartition("/")[2]
            detail_class = message_factory.GetMessageClass(pool.FindMessageTypeByName(name))
            details[name] = json_format.MessageToDict(detail_class.FromString(detail.value))
        return error.code(), details


async def test_error_details_decode_through_reflection_alone(tmp_path: Path) -> None:
    """BadRequest, ErrorInfo and QuotaFailure: what buf curl or grpcurl users must decode."""
    tiny = {"edge": Operator("ams", "nl", capacity={"vcpus": 1, "memory_mib": 8192})}
    fed = await Federation.start(tmp_path, tiny)
    try:
        address = fed.nodes["edge"].address
        credentials = fed.security.client_tls().credentials()
        token = await fed.token("edge")
        method = "/spfed.v1.PlatformService/InstantiateService"
        malformed = api.InstantiateServiceRequest(request_id="x").SerializeToString()
        code, details = await asyncio.to_thread(
            _error_details_through_reflection_only, address, credentials, token, method, malformed
        )
        assert code is grpc.StatusCode.INVALID_ARGUMENT
        assert details["google.rpc.BadRequest"]["fieldViolations"] == [
            {"field": "source", "description": "set either 'descriptors' or 'offer'"}
        ]
        assert details["google.rpc.ErrorInfo"]["metadata"] == {"origin": "edge"}

        cdn = edge_cdn()
        assert cdn.descriptors is not None
        vnfds = tuple(v for v in examples().vnfds if v.ref.name in ("router", "cache"))
        cdn = replace(cdn, descriptors=replace(cdn.descriptors, vnfds=vnfds))
        too_big = instantiate_request_to_pb(cdn).SerializeToString()
        code, details = await asyncio.to_thread(
            _error_details_through_reflection_only, address, credentials, token, method, too_big
        )
        assert code is grpc.StatusCode.RESOURCE_EXHAUSTED
        violations = details["google.rpc.QuotaFailure"]["violations"]
        assert isinstance(violations, list)
        assert [v["subject"] for v in violations] == ["pop:ams"]
        assert details["google.rpc.ErrorInfo"]["reason"] == "RESOURCE_EXHAUSTED"
    finally:
        await fed.stop()
