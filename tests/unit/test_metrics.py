"""The node metrics module: one registry per node, bounded labels, scrape-time figures,
the HTTP endpoint, and the workflow/task metering around the engine."""

from __future__ import annotations

import asyncio
import threading
import urllib.request

import pytest
from prometheus_client import REGISTRY, generate_latest

from spfed.engine import RunId, Schedule, Succeeded, TaskRegistry, WorkflowRunner, task_id
from spfed.errors import SpfedError
from spfed.lifecycle.metering import MeteredRunner, metered_runner
from spfed.metrics import (
    CatalogueRejections,
    MetricsEndpoint,
    NodeGauges,
    NodeMetrics,
    NodeSnapshot,
    PoolUsage,
)
from spfed.model import TaskState


def value(metrics: NodeMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_each_node_has_its_own_registry_not_the_global_one() -> None:
    a, b = NodeMetrics("a"), NodeMetrics("b")
    a.observe_rpc("/spfed.v1.PlatformService/GetCatalogue", "OK", 0.002)
    assert (
        value(
            a,
            "spfed_rpc_duration_seconds_count",
            method="/spfed.v1.PlatformService/GetCatalogue",
            code="OK",
        )
        == 1
    )
    assert (
        value(
            b,
            "spfed_rpc_duration_seconds_count",
            method="/spfed.v1.PlatformService/GetCatalogue",
            code="OK",
        )
        is None
    )
    assert REGISTRY.get_sample_value("spfed_node_info", {"node": "a"}) is None
    assert value(a, "spfed_node_info", node="a") == 1


def test_auth_reasons_outside_the_known_set_count_as_other() -> None:
    m = NodeMetrics("a")
    m.refused("sign_in", "bad_credentials")
    m.refused("call", "no_token")
    m.refused("call", "acme-account-name")  # never a label value
    m.refused("elsewhere", "expired")
    assert value(m, "spfed_auth_refused_total", stage="sign_in", reason="bad_credentials") == 1
    assert value(m, "spfed_auth_refused_total", stage="call", reason="no_token") == 1
    assert value(m, "spfed_auth_refused_total", stage="call", reason="other") == 1
    assert value(m, "spfed_auth_refused_total", stage="other", reason="expired") == 1


def test_open_ended_labels_are_bounded() -> None:
    m = NodeMetrics("a")
    for i in range(100):
        m.observe_rpc(f"/x.Y/M{i}", "OK", 0.001)
    text = generate_latest(m.registry).decode()
    methods = {
        line.split('method="')[1].split('"')[0]
        for line in text.splitlines()
        if line.startswith("spfed_rpc_duration_seconds_count")
    }
    assert len(methods) == 65  # the first 64, then "other"
    assert value(m, "spfed_rpc_duration_seconds_count", method="other", code="OK") == 36


def test_tasks_without_a_seen_start_are_counted_not_timed() -> None:
    m = NodeMetrics("a")
    m.observe_task("instantiate", "validate", "succeeded", 0.01)
    m.observe_task("instantiate", "validate", "compensated", None)
    labels = {"workflow": "instantiate", "task": "validate"}
    assert value(m, "spfed_tasks_total", state="succeeded", **labels) == 1
    assert value(m, "spfed_tasks_total", state="compensated", **labels) == 1
    assert value(m, "spfed_task_duration_seconds_count", state="succeeded", **labels) == 1
    assert value(m, "spfed_task_duration_seconds_count", state="compensated", **labels) is None


def _snapshot() -> NodeSnapshot:
    return NodeSnapshot(
        catalogue_version=7,
        pools=(PoolUsage("vnis", 16, 1000),),
        rejections=(CatalogueRejections("edge-be", "bad_signature", 2),),
    )


async def test_scrape_time_figures_are_taken_on_the_loop_from_another_thread() -> None:
    m = NodeMetrics("a")
    threads: list[threading.Thread] = []

    def snapshot() -> NodeSnapshot:
        threads.append(threading.current_thread())
        return _snapshot()

    m.registry.register(NodeGauges(snapshot, asyncio.get_running_loop()))
    endpoint = MetricsEndpoint.start("127.0.0.1:0", m.registry)
    try:
        assert endpoint.address.startswith("127.0.0.1:")
        url = f"http://{endpoint.address}/metrics"
        body = await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=5).read())
    finally:
        await endpoint.stop()
    text = body.decode()
    assert "spfed_catalogue_version 7.0" in text
    assert 'spfed_pool_used{pool="vnis"} 16.0' in text
    assert 'spfed_pool_size{pool="vnis"} 1000.0' in text
    assert 'spfed_catalogue_rejections_total{lower_sp="edge-be",reason="bad_signature"} 2.0' in text
    assert threads == [threading.current_thread()]  # the loop's thread, not the server's


async def test_a_scrape_on_the_loop_itself_reads_directly() -> None:
    m = NodeMetrics("a")
    m.registry.register(NodeGauges(_snapshot, asyncio.get_running_loop()))
    assert value(m, "spfed_catalogue_version") == 7


async def test_a_stopped_endpoint_frees_its_port() -> None:
    endpoint = MetricsEndpoint.start("127.0.0.1:0", NodeMetrics("a").registry)
    await endpoint.stop()
    host, _, port = endpoint.address.rpartition(":")
    again = MetricsEndpoint.start(f"{host}:{port}", NodeMetrics("b").registry)
    await again.stop()


def test_a_bad_listen_address_is_refused() -> None:
    with pytest.raises(ValueError, match="host:port"):
        MetricsEndpoint.start("9100", NodeMetrics("a").registry)


class _Recorder:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    async def task_started(self, run_id: RunId, task: str, attempt: int) -> None:
        self.seen.append(("started", task))

    async def task_finished(
        self,
        run_id: RunId,
        task: str,
        state: TaskState,
        attempts: int,
        error: SpfedError | None,
        output: object = None,
    ) -> None:
        self.seen.append((state.value, task))

    async def compensating(self, run_id: RunId, error: SpfedError) -> None:
        self.seen.append(("compensating", ""))


async def test_the_metered_runner_times_runs_and_tasks_and_passes_every_report_on() -> None:
    registry: TaskRegistry[None] = TaskRegistry()

    @registry.task(task_id("one"))
    async def one(ctx: None) -> Succeeded:
        return Succeeded()

    m = NodeMetrics("a")
    inner = _Recorder()
    runner = metered_runner(
        registry,
        inner,
        workflow="instantiate",
        metrics=m,
        default_timeout_s=5.0,
        max_attempts=1,
        retry_delay_s=0.0,
        fault_hook=None,
    )
    assert isinstance(runner, MeteredRunner)
    result = await runner.run(RunId("r1"), Schedule(((task_id("one"),),)), None)
    assert result.succeeded
    assert inner.seen == [("started", "one"), ("succeeded", "one")]
    assert (
        value(
            m, "spfed_workflow_duration_seconds_count", workflow="instantiate", outcome="succeeded"
        )
        == 1
    )
    assert (
        value(
            m,
            "spfed_task_duration_seconds_count",
            workflow="instantiate",
            task="one",
            state="succeeded",
        )
        == 1
    )
    plain = metered_runner(
        registry,
        inner,
        workflow="instantiate",
        metrics=None,
        default_timeout_s=5.0,
        max_attempts=1,
        retry_delay_s=0.0,
        fault_hook=None,
    )
    assert type(plain) is WorkflowRunner
