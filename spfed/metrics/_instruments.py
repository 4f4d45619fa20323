"""The instruments a node feeds while it works, in a registry of its own."""

from __future__ import annotations

import threading
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["AUTH_REASONS", "NodeMetrics"]

AUTH_REASONS: Final = frozenset(
    {
        # spfed.auth.rejections.REJECTIONS: tokens and client assertions
        "no_token",
        "malformed",
        "bad_algorithm",
        "unknown_key",
        "bad_signature",
        "expired",
        "not_yet_valid",
        "wrong_audience",
        "wrong_issuer",
        "missing_claim",
        "too_long_lived",
        # spfed.identity: accounts, credentials, throttling
        "unknown_account",
        "account_disabled",
        "role_mismatch",
        "bad_credentials",
        "replayed_assertion",
        "rate_limited",
        "invalid_credential",
        # lower_sp.api.interceptors.auth: rights
        "unlisted_method",
        "missing_role",
    }
)
"""Every ``reason`` label of ``spfed_auth_refused_total``; anything else counts as ``other``."""

OTHER: Final = "other"
"""The label value that stands for every value past a label's bound."""

_RPC_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_RUN_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
_MAX_VALUES = 64
"""Distinct values one open-ended label (method, workflow, task) may take before ``other``."""


class _BoundedLabel:
    """The values one label has taken: the first ``limit`` pass, later ones are ``other``.

    Method names and task ids come from the code (the server's handlers, the task
    registries and plug-ins), so the bound is a guard, not a policy."""

    def __init__(self, limit: int = _MAX_VALUES) -> None:
        self._seen: set[str] = set()
        self._limit = limit
        self._lock = threading.Lock()

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        with self._lock:
            if len(self._seen) >= self._limit:
                return OTHER
            self._seen.add(value)
        return value


class NodeMetrics:
    """One node's instruments, in ``registry`` (never the process-wide default: several
    nodes may share a process).

    Every ``observe_*`` and ``refused`` call is cheap (a dictionary lookup and a
    lock), thread-safe, and never raises for a label value.
    """

    def __init__(self, node_id: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        """What ``MetricsEndpoint`` serves."""
        self._methods = _BoundedLabel()
        self._workflows = _BoundedLabel()
        self._tasks = _BoundedLabel()
        info = Gauge(
            "spfed_node_info",
            "Always 1; names the node (operator id) behind the scraped address.",
            ("node",),
            registry=self.registry,
        )
        info.labels(node_id).set(1)
        self._rpc = Histogram(
            "spfed_rpc_duration_seconds",
            "Served RPCs (health and reflection aside) by full method name and status code.",
            ("method", "code"),
            buckets=_RPC_BUCKETS,
            registry=self.registry,
        )
        self._workflow = Histogram(
            "spfed_workflow_duration_seconds",
            "Workflow runs by workflow and outcome (succeeded, failed, cancelled).",
            ("workflow", "outcome"),
            buckets=_RUN_BUCKETS,
            registry=self.registry,
        )
        self._task = Histogram(
            "spfed_task_duration_seconds",
            "Tasks from their first attempt to their final state, by workflow, task, state.",
            ("workflow", "task", "state"),
            buckets=_RUN_BUCKETS,
            registry=self.registry,
        )
        self._tasks_total = Counter(
            "spfed_tasks",
            "Tasks that reached a final state (compensated ones included), by workflow, task, "
            "state.",
            ("workflow", "task", "state"),
            registry=self.registry,
        )
        self._auth = Counter(
            "spfed_auth_refused",
            "Refused sign-ins (stage sign_in) and refused calls (stage call), by reason.",
            ("stage", "reason"),
            registry=self.registry,
        )

    def observe_rpc(self, method: str, code: str, seconds: float) -> None:
        """One served call of ``method`` (``/pkg.Service/Method``) that ended with ``code``."""
        self._rpc.labels(self._methods(method), code).observe(seconds)

    def observe_workflow(self, workflow: str, outcome: str, seconds: float) -> None:
        """One run of ``workflow`` that ended with ``outcome``."""
        self._workflow.labels(self._workflows(workflow), outcome).observe(seconds)

    def observe_task(self, workflow: str, task: str, state: str, seconds: float | None) -> None:
        """One task of ``workflow`` that reached ``state`` (a ``TaskState`` value), ``seconds``
        after its first attempt started (None: no start was seen, as for a compensation or a
        task cancelled before it ran; it is counted, not timed)."""
        labels = (self._workflows(workflow), self._tasks(task), state)
        self._tasks_total.labels(*labels).inc()
        if seconds is not None:
            self._task.labels(*labels).observe(seconds)

    def refused(self, stage: str, reason: str) -> None:
        """One refused authentication: ``stage`` is ``sign_in`` or ``call``; a ``reason``
        outside ``AUTH_REASONS`` counts as ``other``."""
        self._auth.labels(
            stage if stage in ("sign_in", "call") else OTHER,
            reason if reason in AUTH_REASONS else OTHER,
        ).inc()
