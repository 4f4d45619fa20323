"""Admission's first stage (size, shape, addressing values) and the per-account gate."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from dataclasses import replace

import pytest

from spfed.errors import DeadlineExceeded, FieldViolation, InvalidArgument, ResourceExhausted
from spfed.lifecycle.admission import check_request, request_size
from spfed.lifecycle.admission_control import (
    AccountGate,
    AdmissionWorker,
    _stop_pools,
)
from spfed.model import (
    AddressConstraints,
    DescriptorLimits,
    DescriptorRef,
    IdRange,
    InstantiateRequest,
    NestedServiceRef,
    NetworkServiceDescriptor,
    PlacementConstraints,
    PlacementRule,
    ServiceDescriptors,
)
from tests.integration._maximal import maximal_request, wide_nsd

LIMITS = DescriptorLimits()
LARGE = 1 << 20
"""A size no worker runs inline."""


def _refused(request: InstantiateRequest, limits: DescriptorLimits = LIMITS) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as caught:
        check_request(request, limits)
    return caught.value


def test_a_maximal_request_passes() -> None:
    check_request(maximal_request("r", pop="ams", address_space="10.0.0.0/16"), LIMITS)


def test_too_many_functions_is_refused_naming_limit_and_field() -> None:
    error = _refused(maximal_request("r", functions=257))
    assert "limits.max_functions is 256" in error.message
    assert [v.field for v in error.field_violations] == ["descriptors.nsd.network_functions"]


def test_too_many_placement_rules() -> None:
    request = maximal_request("r", functions=2)
    rules = {f"m{i}": PlacementRule(region="nl") for i in range(3)}
    error = _refused(
        replace(request, placement=PlacementConstraints(rules=rules)),
        DescriptorLimits(max_placement_rules=2),
    )
    assert "limits.max_placement_rules is 2" in error.message
    assert error.field_violations[0].field == "placement.rules"


def test_nesting_depth_and_expansion_are_bounded_across_nested_nsds() -> None:
    # Each level nests the next one twice: 2**depth functions once flattened.
    def level(i: int) -> NetworkServiceDescriptor:
        inner = DescriptorRef("eu.spfed.test", f"level{i + 1}", "1.0")
        nsd = wide_nsd(1, name=f"level{i}")
        return replace(
            nsd, network_services=(NestedServiceRef("a", inner), NestedServiceRef("b", inner))
        )

    nested = tuple(level(i) for i in range(1, 10))
    top = level(0)
    request = InstantiateRequest(
        "r",
        descriptors=ServiceDescriptors(nsd=top, nested_nsds=nested),  # type: ignore[arg-type]
    )
    error = _refused(request, DescriptorLimits(max_nesting_depth=8, max_functions=10_000))
    assert "limits.max_nesting_depth is 8" in error.message
    assert error.field_violations[0].field == "descriptors.nsd.network_services"
    error = _refused(request, DescriptorLimits(max_nesting_depth=64, max_functions=256))
    assert "limits.max_functions is 256" in error.message


@pytest.mark.parametrize(
    "space", ["0.0.0.0/0", "::/0", "10.0.0.0/33", "300.1.1.1/8", "10.0.0.1/8", "224.0.0.0/8"]
)
def test_unusable_address_spaces_are_refused(space: str) -> None:
    request = replace(maximal_request("r", functions=1), addressing=AddressConstraints(space))
    error = _refused(request)
    assert [v.field for v in error.field_violations] == ["addressing.address_space"]


def test_a_reversed_or_oversized_vni_range_is_refused() -> None:
    for vnis in (IdRange(200, 100), IdRange(0, 10), IdRange(1, 1 << 24)):
        addressing = AddressConstraints("10.0.0.0/16", vni_space=vnis)
        error = _refused(replace(maximal_request("r", functions=1), addressing=addressing))
        assert [v.field for v in error.field_violations] == ["addressing.vni_space"]


async def test_the_gate_refuses_the_excess_with_a_retry_delay_and_forgets_idle_accounts() -> None:
    gate = AccountGate(limit=2, retry_after_s=1.5)
    async with gate.admit("alice"), gate.admit("alice"):
        with pytest.raises(ResourceExhausted) as caught:
            async with gate.admit("alice"):
                pass
        assert caught.value.retry_after_s == 1.5
        async with gate.admit("bob"):
            assert gate.running("bob") == 1
    assert gate.running("alice") == 0
    assert gate._running == {}


async def test_a_larger_limit_for_one_account_names_its_own_setting() -> None:
    gate = AccountGate(limit=1, retry_after_s=1.0)
    platform = ("upper-sp", 2, "admissions_per_platform")
    async with gate.admit(*platform), gate.admit(*platform):
        with pytest.raises(ResourceExhausted) as refused:
            async with gate.admit(*platform):
                pass
    assert "limits.admissions_per_platform is 2" in refused.value.message
    assert gate.running("upper-sp") == 0


def _where() -> tuple[int, int]:
    return os.getpid(), threading.get_ident()


def _refuse(field: str) -> None:
    raise InvalidArgument("bad", field_violations=[FieldViolation(field, "why")])


async def test_the_worker_runs_stages_in_another_process_and_keeps_their_errors() -> None:
    worker = AdmissionWorker(processes=1)
    pid, _ = await worker.run(30.0, LARGE, _where)  # the first call waits for the worker to start
    assert pid != os.getpid()
    request = maximal_request("r", pop="ams", address_space="10.0.0.0/16")
    await worker.run(5.0, LARGE, check_request, request, LIMITS)
    with pytest.raises(InvalidArgument) as caught:
        await worker.run(5.0, LARGE, _refuse, "nsd.name")
    assert caught.value.field_violations == (FieldViolation("nsd.name", "why"),)


async def test_start_starts_the_worker_before_any_stage_is_sent() -> None:
    _stop_pools()
    assert not multiprocessing.active_children()
    worker = AdmissionWorker(processes=1)
    worker.start()
    started = multiprocessing.active_children()
    assert len(started) == 1
    pid, _ = await worker.run(30.0, LARGE, _where)
    assert pid == started[0].pid  # the stage ran in the worker started beforehand


async def test_a_stage_past_its_deadline_ends_its_worker_and_the_next_stage_runs() -> None:
    worker = AdmissionWorker(processes=1)
    before, _ = await worker.run(30.0, LARGE, _where)
    began = time.monotonic()
    with pytest.raises(DeadlineExceeded, match="admission_timeout_s"):
        await worker.run(0.2, LARGE, time.sleep, 30)
    assert time.monotonic() - began < 5
    after, _ = await worker.run(30.0, LARGE, _where)
    assert after != before  # the sleeping worker was ended, not left to run for 30 s
    assert not _alive(before, within_s=5.0)


def _alive(pid: int, within_s: float) -> bool:
    """Whether process ``pid`` still exists after waiting up to ``within_s`` for it to go."""
    until = time.monotonic() + within_s
    while time.monotonic() < until:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        time.sleep(0.05)
    return True


async def test_a_small_request_is_admitted_on_the_callers_thread() -> None:
    worker = AdmissionWorker(processes=1, inline_below=64)
    small = maximal_request("r", pop="ams", functions=2)
    assert request_size(small) < 64
    assert await worker.run(5.0, request_size(small), _where) == (
        os.getpid(),
        threading.get_ident(),
    )
    large = maximal_request("r", pop="ams")
    assert request_size(large) >= 64
    pid, _ = await worker.run(30.0, request_size(large), _where)
    assert pid != os.getpid()


async def test_with_no_processes_the_worker_uses_threads_of_its_own() -> None:
    worker = AdmissionWorker(processes=0)
    try:
        assert await worker.run(1.0, LARGE, lambda: 42) == 42
        pid, thread = await worker.run(1.0, LARGE, _where)
        assert pid == os.getpid()
        assert thread != threading.get_ident()
        with pytest.raises(DeadlineExceeded, match="admission_timeout_s"):
            await worker.run(0.05, LARGE, time.sleep, 0.3)
    finally:
        worker.close()
