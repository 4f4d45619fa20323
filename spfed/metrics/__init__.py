"""The node's own metrics, in Prometheus form: one registry per node, served over HTTP.

``NodeMetrics`` holds the instruments a node feeds as it works (RPCs, workflow runs and
tasks, refused authentications); ``NodeGauges`` computes what is cheaper to read at
scrape time (catalogue version, catalogue rejections, pool usage); ``MetricsEndpoint``
serves the registry on ``metrics.listen``. Labels take values from small, fixed sets:
method names, status codes, workflow and task ids, outcomes and reasons, never a
service id or an account.
"""

from spfed.metrics._endpoint import MetricsEndpoint
from spfed.metrics._instruments import (
    AUTH_REASONS,
    NodeMetrics,
)
from spfed.metrics._snapshot import CatalogueRejections, NodeGauges, NodeSnapshot, PoolUsage

__all__ = [
    "AUTH_REASONS",
    "CatalogueRejections",
    "MetricsEndpoint",
    "NodeGauges",
    "NodeMetrics",
    "NodeSnapshot",
    "PoolUsage",
]
