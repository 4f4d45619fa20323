"""Rendering helpers: rich output captured as plain text, as a CI log would get it."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from rich.console import Console, RenderableType


def plain(*renderables: RenderableType, width: int = 200) -> str:
    """What ``renderables`` print on a non-terminal console, trailing blanks stripped."""
    console = Console(file=io.StringIO(), width=width)
    for renderable in renderables:
        console.print(renderable)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    return "\n".join(line.rstrip() for line in text.splitlines())


@pytest.fixture
def render() -> Callable[..., str]:
    """``plain``, as a fixture."""
    return plain


@pytest.fixture(autouse=True)
def _no_topology_here(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Operator names resolve against an empty state directory, never the developer's."""
    monkeypatch.setenv("SPFED_STATE_DIR", str(tmp_path_factory.mktemp("state")))
    monkeypatch.delenv("SPFED_NODE", raising=False)
