"""How to start ``_agent`` in a namespace: its source passed to ``python -c``, never a path.

Passing the source (rather than ``-m spfed.netns._agent``) makes the agent independent
of the working directory and of how spfed is installed; ``-I -S`` keeps the child
from reading the environment, user site or site-packages (it needs none of them) and
makes it start faster.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

from . import _agent

__all__ = ["agent_argv"]


@functools.cache
def _source() -> str:
    return Path(_agent.__file__).read_text(encoding="utf-8")


def agent_argv(command: str, *args: str, python: str = sys.executable) -> list[str]:
    """The argv that runs agent ``command`` with ``args`` (to be wrapped in ``ip netns exec``)."""
    return [python, "-I", "-S", "-c", _source(), command, *args]
