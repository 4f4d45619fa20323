"""The outcome of validating descriptor files together, and one-line summaries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from spfed.descriptors._parsed import ParsedDescriptor, kind_of
from spfed.descriptors._paths import reroot
from spfed.descriptors._resolver import DescriptorSet
from spfed.model import Dialect, NetworkServiceDescriptor, SliceTemplate

_DIALECT_NAMES = {Dialect.TANGO: "5GTANGO", Dialect.SONATA: "SONATA"}


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def summary(descriptor: ParsedDescriptor) -> str:
    """``NSD eu.x/chain/1.0 (5GTANGO; 3 functions, 1 nested service, 5 links)``."""
    head = f"{kind_of(descriptor).value} {descriptor.ref}"
    if isinstance(descriptor, SliceTemplate):
        counts = [_count(len(descriptor.subnets), "subnet"), _count(len(descriptor.links), "link")]
        return f"{head} (5GTANGO; {', '.join(counts)})"
    dialect = _DIALECT_NAMES[descriptor.dialect]
    if isinstance(descriptor, NetworkServiceDescriptor):
        counts = [
            _count(len(descriptor.network_functions), "function"),
            _count(len(descriptor.network_services), "nested service"),
            _count(len(descriptor.virtual_links), "link"),
        ]
    else:
        counts = [
            _count(len(descriptor.deployment_units), "unit"),
            _count(len(descriptor.virtual_links), "link"),
            str(descriptor.resources()),
        ]
    return f"{head} ({dialect}; {', '.join(counts)})"


@dataclass(frozen=True)
class Problem:
    """One problem found in a file."""

    file: str
    """The file, as given."""
    document: int
    """0-based index of the YAML document within the file."""
    field: str
    """Path from the document root ("" for the document or the file itself)."""
    description: str
    """What is wrong, readable by a person."""

    @property
    def path(self) -> str:
        """File, document and field as one path: ``service.yml[0].virtual_links[2]``."""
        return reroot(f"{self.file}[{self.document}]", self.field)


@dataclass(frozen=True)
class DocumentResult:
    """One YAML document of a file, and what became of it."""

    file: str
    """The file, as given."""
    document: int
    """0-based index of the YAML document within the file."""
    descriptor: ParsedDescriptor | None
    """The parsed descriptor; ``None`` when the document was rejected."""
    problems: tuple[Problem, ...] = ()
    """Problems of this document, including those found against the rest of the set."""

    @property
    def ok(self) -> bool:
        """Whether the document has no problem."""
        return not self.problems


@dataclass(frozen=True)
class ValidationReport:
    """Per-document results and every problem of a set of descriptor files."""

    documents: tuple[DocumentResult, ...]
    """Every non-empty YAML document, in file and document order."""
    problems: tuple[Problem, ...]
    """Every problem: the documents' ones and file-level ones (unreadable file, YAML syntax)."""

    @property
    def ok(self) -> bool:
        """Whether nothing is wrong."""
        return not self.problems

    @property
    def descriptor_set(self) -> DescriptorSet:
        """The descriptors that parsed, in order, as a set that resolves references."""
        return DescriptorSet(d.descriptor for d in self.documents if d.descriptor is not None)

    def location(self, problem: Problem) -> str:
        """``service.yml``, or ``bundle.yml (document 2)`` for a file of several documents."""
        siblings = {d.document for d in self.documents if d.file == problem.file}
        if len(siblings | {problem.document}) > 1:
            return f"{problem.file} (document {problem.document + 1})"
        return problem.file

    def describe(self, problem: Problem) -> str:
        """``service.yml: virtual_links[2].connection_points_reference[0]: unknown ...``."""
        field = f"{problem.field}: " if problem.field else ""
        return f"{self.location(problem)}: {field}{problem.description}"

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form: ``ok``, ``documents`` and ``problems``."""
        return {
            "ok": self.ok,
            "documents": [
                {
                    "file": d.file,
                    "document": d.document,
                    "ok": d.ok,
                    "kind": kind_of(d.descriptor).value if d.descriptor else None,
                    "ref": str(d.descriptor.ref) if d.descriptor else None,
                    "summary": summary(d.descriptor) if d.descriptor else None,
                }
                for d in self.documents
            ],
            "problems": [
                {
                    "file": p.file,
                    "document": p.document,
                    "field": p.field,
                    "description": p.description,
                }
                for p in self.problems
            ],
        }
