"""``grpc.health.v1.Health/List`` of a node: every status set so far, as it is now.

The integration test (tests/integration/test_api_edge.py) calls it on a running node;
this one follows the statuses through changes and a graceful shutdown. It also guards
the one internal of grpc's reference servicer that ``NodeHealth.List`` reads.
"""

from __future__ import annotations

from grpc_health.v1 import health_pb2

from spfed.server import PLATFORM_SERVICE, NodeHealth

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def _listed(servicer: NodeHealth) -> dict[str, int]:
    reply = await servicer.List(health_pb2.HealthListRequest(), None)
    return {name: answer.status for name, answer in reply.statuses.items()}


async def test_list_follows_every_status_set() -> None:
    servicer = NodeHealth()
    assert await _listed(servicer) == {"": SERVING}
    await servicer.set(PLATFORM_SERVICE, SERVING)
    assert await _listed(servicer) == {"": SERVING, PLATFORM_SERVICE: SERVING}
    await servicer.set("", NOT_SERVING)
    assert await _listed(servicer) == {"": NOT_SERVING, PLATFORM_SERVICE: SERVING}


async def test_list_shows_everything_not_serving_after_a_graceful_shutdown() -> None:
    servicer = NodeHealth()
    await servicer.set(PLATFORM_SERVICE, SERVING)
    await servicer.enter_graceful_shutdown()
    assert await _listed(servicer) == {"": NOT_SERVING, PLATFORM_SERVICE: NOT_SERVING}
