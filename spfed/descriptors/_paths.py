"""Field paths: ``virtual_links[2].connection_points_reference[0]``.

A path names a field from the root of one descriptor document. The empty
path names the document itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

_TOKEN = re.compile(r"\[(\d+)\]|\.?([^.\[]+)")


def field_path(parts: Iterable[str | int]) -> str:
    """Join keys and list indices into a path (``("a", 0, "b")`` gives ``a[0].b``)."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif out:
            out += f".{part}"
        else:
            out = part
    return out


def child(path: str, key: str | int) -> str:
    """The path of ``key`` (a field name or a list index) below ``path``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def reroot(prefix: str, path: str) -> str:
    """Put ``path`` below ``prefix``; ``prefix`` may end with ``.`` or not."""
    base = prefix.rstrip(".")
    if not base:
        return path
    if not path:
        return base
    return f"{base}{path}" if path.startswith("[") else f"{base}.{path}"


def document_order(document: Any, path: str) -> tuple[int, ...]:
    """A sort key that puts paths in the order their fields appear in ``document``.

    A field the document lacks (a missing required one) sorts after the
    fields its parent has. To sort many paths, use ``document_orderer``.
    """
    return document_orderer(document)(path)


def document_orderer(document: Any) -> Callable[[str], tuple[int, ...]]:
    """``document_order`` for one document, for many paths.

    Each mapping's key positions are indexed once, so sorting the paths of n
    violations costs O(n · path length), not O(n · keys): a document with
    100,000 unknown keys would otherwise sort in quadratic time.
    """
    positions: dict[int, dict[Any, int]] = {}

    def position(node: Mapping[Any, Any], name: str) -> int:
        index = positions.get(id(node))
        if index is None:
            index = positions[id(node)] = {key: at for at, key in enumerate(node)}
        return index[name]

    def order(path: str) -> tuple[int, ...]:
        key: list[int] = []
        node = document
        for match in _TOKEN.finditer(path):
            index, name = match.group(1), match.group(2)
            if index is not None and isinstance(node, list) and int(index) < len(node):
                key.append(int(index))
                node = node[int(index)]
            elif name is not None and isinstance(node, Mapping) and name in node:
                key.append(position(node, name))
                node = node[name]
            else:
                key.append(len(node) if isinstance(node, Mapping | list) else 0)
                break
        return tuple(key)

    return order
