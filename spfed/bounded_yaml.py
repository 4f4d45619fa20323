"""Reading YAML from users within ``DescriptorLimits``: size, aliases, depth, expansion.

Every YAML text a user hands spfed (descriptor files, node configuration,
topology and placement files) goes through here, so that no input can cost
more than the limits allow:

- a text or file larger than ``max_request_bytes`` is refused before parsing
  (a file is read only up to that size, so ``/dev/zero`` costs nothing);
- more than ``max_yaml_aliases`` alias nodes (``*name``) in one stream are
  refused, and so are aliases that together would expand the stream beyond
  ``max_request_bytes`` nodes: a billion-laughs file stays a few hundred
  bytes on disk but explodes for every consumer that walks it, and a text
  without aliases cannot hold more nodes than it has bytes, so this bound
  never refuses a plain file;
- an alias inside the very collection it names (a cycle) is refused: walking
  such a structure never ends;
- collections nested deeper than ``max_yaml_depth`` are refused. PyYAML's
  composer is recursive and would hit Python's recursion limit long before
  libyaml's own bound (1000 levels), so documents are composed here by a loop
  over the parser's events that counts depth as it goes.

Parsing uses libyaml (``CParser``) when PyYAML was built with it, else
PyYAML's pure-Python parser; both are driven by the same composer, so the
limits hold either way. Construction is PyYAML's ``SafeConstructor``: plain
data only, never Python objects.

A refusal is a ``YamlRefused``, a ``yaml.YAMLError`` whose text is one line
naming the limit, e.g. ``refused: more than 100 aliases (limits.max_yaml_aliases)``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.events import (
    AliasEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    StreamEndEvent,
    StreamStartEvent,
)
from yaml.nodes import CollectionNode, MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from spfed.model.limits import DescriptorLimits

__all__ = ["YamlRefused", "load_yaml", "load_yaml_all", "read_limited"]

try:
    from yaml._yaml import CParser as _Parser  # libyaml: an order of magnitude faster
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml.parser import Parser as _PyParser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Parser(Reader, Scanner, _PyParser):  # type: ignore[no-redef]
        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            _PyParser.__init__(self)


_resolve: Callable[[Resolver, type[Node], str | None, Any], str] = Resolver.resolve
"""A node's implicit tag (``tag:yaml.org,2002:int`` for ``3``); typed here, untyped in the stubs."""

_LIBYAML_TOO_DEEP = "exceeded maximum nesting depth"
"""libyaml's own scanner error past 1000 levels (its bound, not ours); read as a depth refusal."""


class _Mark(Protocol):
    """Where in the text: PyYAML's and libyaml's marks both have a 0-based line."""

    line: int


class YamlRefused(yaml.YAMLError):
    """A YAML text exceeds one of the ``DescriptorLimits``; ``str()`` is one line.

    ``key`` names the limit (``max_yaml_aliases``); ``line`` is 1-based, or
    ``None`` when the whole text is at fault (its size).
    """

    def __init__(self, what: str, key: str, mark: _Mark | None = None) -> None:
        self.what = what
        self.key = key
        self.line: int | None = mark.line + 1 if mark is not None else None
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f" at line {self.line}" if self.line is not None else ""
        return f"refused: {self.what}{where} (limits.{self.key})"


def _too_big(limits: DescriptorLimits) -> YamlRefused:
    return YamlRefused(f"larger than {limits.max_request_bytes} bytes", "max_request_bytes")


def read_limited(path: Path, limits: DescriptorLimits) -> str:
    """The UTF-8 text of ``path``, read only up to ``limits.max_request_bytes``.

    Raises:
        YamlRefused: the file is larger than the limit.
        OSError: the file cannot be read.
        UnicodeDecodeError: the file is not UTF-8.
    """
    with path.open("rb") as stream:
        data = stream.read(limits.max_request_bytes + 1)
    if len(data) > limits.max_request_bytes:
        raise _too_big(limits)
    return data.decode("utf-8")


@dataclass
class _Open:
    """A collection being composed."""

    node: CollectionNode
    anchor: str | None
    expanded_at_start: int
    key: Node | None = None
    """A mapping's key waiting for its value."""


@dataclass
class _Budget:
    """What one stream has spent so far against the limits."""

    limits: DescriptorLimits
    aliases: int = 0
    expanded: int = 0
    """Nodes the stream would have with every alias replaced by a copy of what it names."""
    sizes: dict[str, int] = field(default_factory=dict)
    """Expanded size of each finished anchored node of the current document."""


class _BoundedLoader(_Parser, SafeConstructor, Resolver):
    """libyaml's (or PyYAML's) parser, a bounded iterative composer, the safe constructor.

    Replaces the ``Composer`` half of PyYAML's loaders: ``check_node``,
    ``get_node`` and ``get_single_node`` are what ``SafeConstructor`` calls.
    Path resolvers (``add_path_resolver``) are not supported; nothing here
    registers any.
    """

    def __init__(self, text: str, limits: DescriptorLimits) -> None:
        _Parser.__init__(self, text)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self._budget = _Budget(limits)

    def check_node(self) -> bool:
        if self.check_event(StreamStartEvent):
            self._event()
        return not self.check_event(StreamEndEvent)

    def get_node(self) -> Node | None:
        if self.check_event(StreamEndEvent):
            return None
        return self._document()

    def get_single_node(self) -> Node | None:
        self._event()  # stream start
        document = None
        if not self.check_event(StreamEndEvent):
            document = self._document()
        if not self.check_event(StreamEndEvent):
            event = self._event()
            raise ComposerError(
                "expected a single document in the stream",
                document.start_mark if document is not None else None,
                "but found another document",
                event.start_mark,
            )
        self._event()  # stream end
        return document

    def _document(self) -> Node:
        self._event()  # document start
        self._budget.sizes = {}  # anchors do not cross documents
        anchors: dict[str, Node] = {}
        stack: list[_Open] = []
        root: Node | None = None
        while root is None:
            node = self._next_node(anchors, stack)
            if node is None:
                continue  # a collection was opened
            if not stack:
                root = node
            else:
                _attach(stack[-1], node)
        self._event()  # document end: the parser allows nothing else here
        return root

    def _next_node(self, anchors: dict[str, Node], stack: list[_Open]) -> Node | None:
        """The node the next event completes, or ``None`` when it opens a collection."""
        budget = self._budget
        event = self._event()
        # Marks typed loosely: libyaml's are not PyYAML's class, though alike.
        start: Any = event.start_mark
        if isinstance(event, AliasEvent):
            return self._alias(str(event.anchor), start, anchors)
        if isinstance(event, MappingEndEvent | SequenceEndEvent):
            done = stack.pop()
            done.node.end_mark = event.end_mark
            if done.anchor is not None:
                budget.sizes[done.anchor] = budget.expanded - done.expanded_at_start
            return done.node
        anchor = event.anchor
        if anchor is not None and anchor in anchors:
            raise ComposerError(
                f"found duplicate anchor {anchor!r}; first occurrence",
                anchors[anchor].start_mark,
                "second occurrence",
                start,
            )
        self._spend(1, start)
        tag = event.tag
        if isinstance(event, ScalarEvent):
            if tag is None or tag == "!":
                tag = _resolve(self, ScalarNode, event.value, event.implicit)
            end: Any = event.end_mark
            node = ScalarNode(tag, event.value, start, end, style=event.style)
            if anchor is not None:
                anchors[anchor] = node
                budget.sizes[anchor] = 1
            return node
        if len(stack) >= budget.limits.max_yaml_depth:
            raise self.too_deep(start)
        kind = MappingNode if isinstance(event, MappingStartEvent) else SequenceNode
        if tag is None or tag == "!":
            tag = _resolve(self, kind, None, event.implicit)
        collection = kind(tag, [], start, None, flow_style=event.flow_style)
        if anchor is not None:
            anchors[anchor] = collection
        # The collection's own node is already spent, hence the - 1.
        stack.append(_Open(collection, anchor, budget.expanded - 1))
        return None

    def _alias(self, anchor: str, start: Any, anchors: dict[str, Node]) -> Node:
        budget, limits = self._budget, self._budget.limits
        if anchor not in anchors:
            raise ComposerError(None, None, f"found undefined alias {anchor!r}", start)
        budget.aliases += 1
        if budget.aliases > limits.max_yaml_aliases:
            raise YamlRefused(
                f"more than {limits.max_yaml_aliases} aliases", "max_yaml_aliases", start
            )
        size = budget.sizes.get(anchor)
        if size is None:
            # The anchored collection is still open: the alias sits inside it.
            raise YamlRefused(
                f"alias *{anchor} inside the collection it names", "max_yaml_aliases", start
            )
        self._spend(size, start)
        return anchors[anchor]

    def _spend(self, nodes: int, mark: _Mark) -> None:
        budget = self._budget
        budget.expanded += nodes
        if budget.expanded > budget.limits.max_request_bytes:
            raise YamlRefused(
                f"aliases expand the text past {budget.limits.max_request_bytes} nodes",
                "max_request_bytes",
                mark,
            )

    def _event(self) -> Any:
        return self.get_event()

    def too_deep(self, mark: _Mark | None) -> YamlRefused:
        """The refusal of a collection nested beyond ``max_yaml_depth`` at ``mark``."""
        limit = self._budget.limits.max_yaml_depth
        return YamlRefused(f"collections nested deeper than {limit} levels", "max_yaml_depth", mark)


def _attach(parent: _Open, node: Node) -> None:
    if isinstance(parent.node, SequenceNode):
        parent.node.value.append(node)
    elif parent.key is None:
        parent.key = node
    else:
        parent.node.value.append((parent.key, node))
        parent.key = None


class _UniqueKeyLoader(_BoundedLoader):
    """Refuses a mapping that repeats a key; PyYAML would keep the last one silently."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, Hashable):  # an unhashable key is the constructor's error
                if key in seen:
                    raise ConstructorError(
                        None, None, f"key '{key}' appears twice", key_node.start_mark
                    )
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _translated(error: yaml.MarkedYAMLError, loader: _BoundedLoader) -> yaml.YAMLError:
    """``error``, or a depth refusal when it is libyaml's own nesting bound."""
    if error.problem == _LIBYAML_TOO_DEEP:
        return loader.too_deep(error.problem_mark)
    return error


def _loader(text: str, limits: DescriptorLimits, unique_keys: bool) -> _BoundedLoader:
    if len(text) > limits.max_request_bytes or (
        len(text.encode("utf-8")) > limits.max_request_bytes
    ):
        raise _too_big(limits)
    return (_UniqueKeyLoader if unique_keys else _BoundedLoader)(text, limits)


def load_yaml(text: str, limits: DescriptorLimits, *, unique_keys: bool = False) -> Any:
    """The one document of ``text`` as plain data (``None`` when empty).

    ``unique_keys`` refuses a mapping that repeats a key.

    Raises:
        YamlRefused: ``text`` exceeds ``limits`` (see the module docstring).
        yaml.YAMLError: ``text`` is not YAML, holds several documents, or
            repeats a key (with ``unique_keys``).
    """
    loader = _loader(text, limits, unique_keys)
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as error:
        raise _translated(error, loader) from None
    finally:
        loader.dispose()


def load_yaml_all(
    text: str, limits: DescriptorLimits, *, unique_keys: bool = False
) -> Iterator[Any]:
    """Each ``---`` document of ``text`` in turn, as plain data (``None`` for an empty one).

    Limits on aliases and expansion count over the whole stream; documents
    before a faulty one are yielded first.

    Raises:
        YamlRefused: as ``load_yaml``.
        yaml.YAMLError: as ``load_yaml``, on reaching the faulty document.
    """
    loader = _loader(text, limits, unique_keys)
    try:
        while loader.check_node():
            yield loader.get_data()
    except yaml.MarkedYAMLError as error:
        raise _translated(error, loader) from None
    finally:
        loader.dispose()
