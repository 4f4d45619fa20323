"""The operator graph of a topology: parents, children, levels and start order.

Operators and their parents form a DAG: an edge goes from an upper SP down to
each lower SP it may delegate to. Everything here takes the parents mapping
(``operator -> its parents``) and assumes the parents named are operators,
except ``unknown_parents`` and ``find_cycle``, which check exactly that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = [
    "children_of",
    "find_cycle",
    "levels",
    "start_waves",
    "subtree",
    "top_down",
    "unknown_parents",
]

Parents = Mapping[str, Sequence[str]]


def unknown_parents(parents: Parents) -> list[tuple[str, int, str]]:
    """``(operator, index, parent)`` for every parent that is not an operator."""
    return [
        (op, i, parent)
        for op, ps in parents.items()
        for i, parent in enumerate(ps)
        if parent not in parents
    ]


def find_cycle(parents: Parents) -> list[str]:
    """One cycle as ``[a, b, ..., a]`` (each the parent of the next), or ``[]`` if none.

    Unknown parents are ignored. The search is deterministic (operators in
    name order), so the same file always reports the same cycle.
    """
    done: set[str] = set()
    for start in sorted(parents):
        path: list[str] = []
        on_path: set[str] = set()
        stack: list[tuple[str, int]] = [(start, 0)]
        while stack:
            node, index = stack.pop()
            if index == 0:
                if node in on_path:
                    return [*path[path.index(node) :], node][::-1]
                if node in done:
                    continue
                path.append(node)
                on_path.add(node)
            ups = sorted(p for p in parents.get(node, ()) if p in parents)
            if index < len(ups):
                stack.append((node, index + 1))
                stack.append((ups[index], 0))
            else:
                path.pop()
                on_path.discard(node)
                done.add(node)
    return []


def children_of(parents: Parents, operator: str) -> list[str]:
    """The lower SPs of ``operator``, in name order."""
    return sorted(op for op, ps in parents.items() if operator in ps)


def levels(parents: Parents) -> dict[str, int]:
    """1 for top nodes (no parent), else one more than the deepest parent.

    Taking the deepest parent makes every lower SP's level greater than each
    of its parents', so sorting by level is a valid top-down order.
    """
    out: dict[str, int] = {}

    def level(op: str) -> int:
        if op not in out:
            out[op] = 1 + max((level(p) for p in parents[op]), default=0)
        return out[op]

    for op in sorted(parents):
        level(op)
    return out


def top_down(parents: Parents) -> list[str]:
    """Every operator, parents before their lower SPs (by level, then name)."""
    lv = levels(parents)
    return sorted(parents, key=lambda op: (lv[op], op))


def start_waves(parents: Parents) -> list[list[str]]:
    """Start order: each wave holds the operators whose lower SPs are all in earlier waves.

    The first wave is every leaf; operators within a wave can start together.
    """
    started: set[str] = set()
    waves: list[list[str]] = []
    while len(started) < len(parents):
        wave = [
            op
            for op in sorted(parents)
            if op not in started and all(c in started for c in children_of(parents, op))
        ]
        if not wave:  # only on a cycle, which validation rejects first
            raise ValueError("the operators' parents form a cycle")
        waves.append(wave)
        started.update(wave)
    return waves


def subtree(parents: Parents, operator: str) -> list[str]:
    """``operator`` and every operator below it, in name order."""
    seen = {operator}
    todo = [operator]
    while todo:
        for child in children_of(parents, todo.pop()):
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return sorted(seen)
