"""Repeated warnings and errors are written at a bounded rate, with a count of the rest."""

from __future__ import annotations

import logging
from pathlib import Path

from spfed.config import LoggingConfig
from spfed.logs import RepeatFilter, configure_logging


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def record(
    msg: str,
    *args: object,
    name: str = "lower_sp.api.interceptors.decode",
    level: int = logging.WARNING,
    exc: BaseException | None = None,
) -> logging.LogRecord:
    exc_info = (type(exc), exc, None) if exc is not None else None
    return logging.LogRecord(name, level, __file__, 1, msg, args, exc_info)


def test_one_line_per_interval_per_kind_then_the_count() -> None:
    clock = Clock()
    limit = RepeatFilter(10.0, clock=clock)
    template = "event=request_undecodable method=%s peer=%s"
    first = record(template, "/m", "peer-0")
    assert limit.filter(first)
    assert not hasattr(first, "suppressed")
    # Other arguments, same kind: dropped within the interval.
    for i in range(1, 500):
        clock.now = i * 0.01
        assert not limit.filter(record(template, "/m", f"peer-{i}"))
    # Another kind is not held back by the first.
    assert limit.filter(record("event=rpc_crashed method=%s", "/m", level=logging.ERROR))
    clock.now = 10.0
    summary = record(template, "/m", "peer-500")
    assert limit.filter(summary)
    assert summary.suppressed == 499
    clock.now = 10.5
    assert not limit.filter(record(template, "/m", "peer-501"))


def test_exception_types_are_kinds_and_info_and_audit_lines_pass() -> None:
    limit = RepeatFilter(10.0, clock=Clock())
    template = "Unexpected error in %s"
    assert limit.filter(record(template, "/m", exc=ValueError("x")))
    assert limit.filter(record(template, "/m", exc=KeyError("x")))
    assert not limit.filter(record(template, "/m", exc=KeyError("y")))
    for _ in range(3):
        assert limit.filter(record("event=rpc method=%s", "/m", name="spfed.access", level=20))
        assert limit.filter(record("event=call_rejected method=%s", "/m", name="spfed.audit"))


def test_the_filter_remembers_a_bounded_number_of_kinds() -> None:
    limit = RepeatFilter(10.0, max_kinds=8, clock=Clock())
    for i in range(100):
        assert limit.filter(record(f"event=kind{i}"))
    assert len(limit._kinds) == 8


def test_the_node_log_writes_the_first_line_then_one_summary(tmp_path: Path) -> None:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    log_file = tmp_path / "node.log"
    try:
        configure_logging(LoggingConfig(level="INFO", file=str(log_file)), "edge")
        noisy = logging.getLogger("grpc._cython.cygrpc")
        for i in range(1000):
            try:
                raise ValueError(f"bad body {i}")
            except ValueError:
                noisy.exception("Unexpected [ValueError] raised by servicer method [/m]")
        for handler in root.handlers:
            handler.flush()
        text = log_file.read_text()
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
            handler.close()
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
    assert text.count("Unexpected [ValueError]") == 1
    assert text.count("Traceback") == 1
