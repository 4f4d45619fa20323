"""Structured logs: one ``key=value`` (or JSON) line per event.

Every line carries the node id and the id of the request being served (a
context variable set by the access interceptor), so one request can be
followed across the log of every operator it touched.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from datetime import UTC, datetime

from spfed.config import LoggingConfig

__all__ = ["REQUEST_ID", "configure_logging"]

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("spfed_request_id", default="-")


class _ContextFilter(logging.Filter):
    def __init__(self, node: str) -> None:
        super().__init__()
        self._node = node

    def filter(self, record: logging.LogRecord) -> bool:
        record.node = self._node
        record.request_id = REQUEST_ID.get()
        return True


class _KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        node = getattr(record, "node", "-")
        request = getattr(record, "request_id", "-")
        line = (
            f"ts={stamp} level={record.levelname.lower()} node={node} request={request} "
            f"logger={record.name} {record.getMessage()}"
        )
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "node": getattr(record, "node", "-"),
            "request": getattr(record, "request_id", "-"),
            "logger": record.name,
        }
        for pair in record.getMessage().split(" "):
            key, sep, value = pair.partition("=")
            if sep:
                body[key] = value
        if record.exc_info:
            body["exception"] = self.formatException(record.exc_info)
        return json.dumps(body)


def configure_logging(config: LoggingConfig, node_id: str) -> None:
    """Send the root logger's output to stderr or a file, in the configured format."""
    handler: logging.Handler = (
        logging.FileHandler(config.file) if config.file else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(_JsonFormatter() if config.format == "json" else _KeyValueFormatter())
    handler.addFilter(_ContextFilter(node_id))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(config.level)
    # Alembic narrates every migration step at INFO; its warnings still show.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))
