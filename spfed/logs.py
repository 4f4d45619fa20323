"""Structured logs: one ``key=value`` (or JSON) line per event.

Every line carries the node id and the id of the request being served (a
context variable set by the access interceptor), so one request can be
followed across the log of every operator it touched.

Warnings and errors that repeat are rate-limited (``RepeatFilter``): a caller
sending thousands of bad requests must not grow the log without bound. The
first of a kind is written, then at most one per interval, carrying
``suppressed=N`` for the lines of that kind left out since the last one.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime

from spfed.config import LoggingConfig

__all__ = ["REQUEST_ID", "RepeatFilter", "configure_logging"]

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("spfed_request_id", default="-")


class _ContextFilter(logging.Filter):
    def __init__(self, node: str) -> None:
        super().__init__()
        self._node = node

    def filter(self, record: logging.LogRecord) -> bool:
        record.node = self._node
        record.request_id = REQUEST_ID.get()
        return True


class RepeatFilter(logging.Filter):
    """Lets one record of a kind through per ``interval_s``; counts the others.

    A kind is the logger, the level, the message template (before its arguments:
    the peer or request id differ on every line) and the exception type. Only
    records at WARNING or above are limited, except the audit log's, where each
    refusal is one line by contract. The record let through after a quiet spell
    carries ``suppressed`` (how many of its kind were dropped since the last one
    written); formatters print it. At most ``max_kinds`` kinds are remembered,
    the oldest forgotten first, so the filter's memory is bounded too.
    """

    def __init__(
        self,
        interval_s: float = 10.0,
        *,
        exempt: tuple[str, ...] = ("spfed.audit",),
        max_kinds: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._interval = interval_s
        self._exempt = exempt
        self._max_kinds = max_kinds
        self._clock = clock
        # kind -> (when the last record of the kind was written, records dropped since)
        self._kinds: OrderedDict[tuple[object, ...], tuple[float, int]] = OrderedDict()
        # grpc logs from its own threads, so records may arrive concurrently.
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or record.name in self._exempt:
            return True
        exc_type = record.exc_info[0] if record.exc_info else None
        kind = (record.name, record.levelno, str(record.msg), exc_type)
        now = self._clock()
        with self._lock:
            seen = self._kinds.get(kind)
            if seen is not None and now - seen[0] < self._interval:
                self._kinds[kind] = (seen[0], seen[1] + 1)
                return False
            self._kinds[kind] = (now, 0)
            self._kinds.move_to_end(kind)
            while len(self._kinds) > self._max_kinds:
                self._kinds.popitem(last=False)
        if seen is not None and seen[1]:
            record.suppressed = seen[1]
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
        suppressed = getattr(record, "suppressed", 0)
        if suppressed:
            line += f" suppressed={suppressed}"
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
        suppressed = getattr(record, "suppressed", 0)
        if suppressed:
            body["suppressed"] = suppressed
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
    handler.addFilter(RepeatFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(config.level)
    # Alembic narrates every migration step at INFO; its warnings still show.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))
