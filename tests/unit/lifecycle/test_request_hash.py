"""The idempotency digest of a request is the same in every process.

A retry after a node restart is judged by comparing its digest with the stored
one; protobuf maps iterate in a different order in each process, so a digest of
fields in arrival order made the same request look like another one.
"""

from __future__ import annotations

import os
import subprocess
import sys

from spfed.lifecycle.lifecycle import request_hash
from spfed.model import InstantiateRequest, PlacementConstraints, PlacementRule

_IN_CHILD = """
from spfed.api.v1 import platform_service_pb2 as api
from spfed.lifecycle.lifecycle import request_hash
from spfed.wire import instantiate_request_from_pb

sent = api.InstantiateServiceRequest(request_id="r-1")
for member in ["fw", "dpi", "nat", "cdn", "a", "b", "c", "zz"]:
    sent.placement.rules[member].pop = "ams"
received = api.InstantiateServiceRequest.FromString(sent.SerializeToString())
print(request_hash(instantiate_request_from_pb(received)))
"""


def _rules(order: list[str]) -> PlacementConstraints:
    return PlacementConstraints({m: PlacementRule(pop="ams") for m in order})


def test_the_order_of_map_entries_does_not_change_the_digest() -> None:
    one = InstantiateRequest("r-1", placement=_rules(["fw", "dpi", "nat"]))
    other = InstantiateRequest("r-1", placement=_rules(["nat", "fw", "dpi"]))
    assert request_hash(one) == request_hash(other)
    assert request_hash(one) != request_hash(InstantiateRequest("r-2", placement=one.placement))


def test_processes_with_different_hash_seeds_agree() -> None:
    digests = set()
    for seed in ("1", "2", "3", "4"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", _IN_CHILD], env=env, capture_output=True, text=True, check=True
        )
        digests.add(out.stdout.strip())
    assert len(digests) == 1, digests
