"""Reading the YAML files of ``spfed.topology`` strictly and within bounds.

A repeated key is an error: PyYAML keeps the last of two equal keys silently,
and in a topology that would merge two operators into one without a word.
The file is read through ``spfed.bounded_yaml`` with the default
``DescriptorLimits``, so an alias bomb, a deep nest or a huge file is refused
in one line instead of exhausting the machine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from spfed.bounded_yaml import YamlRefused, load_yaml, read_limited
from spfed.model.limits import DescriptorLimits

__all__ = ["read_yaml"]


def read_yaml(path: Path, limits: DescriptorLimits | None = None) -> Any:
    """The one YAML document of ``path`` (``None`` when empty).

    Raises:
        ValueError: unreadable, too large or too deep for ``limits`` (default
            ``DescriptorLimits()``), not YAML, or a mapping repeats a key; the
            message says where (line and column, 1-based) without the file name.
    """
    limits = limits if limits is not None else DescriptorLimits()
    try:
        text = read_limited(path, limits)
    except YamlRefused as exc:
        raise ValueError(str(exc)) from exc
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ValueError(f"cannot read the file: {reason}") from exc
    try:
        return load_yaml(text, limits, unique_keys=True)
    except YamlRefused as exc:
        raise ValueError(str(exc)) from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ValueError(f"invalid YAML{where}: {exc.problem or exc}") from exc
    except yaml.YAMLError as exc:
        raise ValueError(f"invalid YAML: {exc}") from exc
