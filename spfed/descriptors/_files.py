"""Descriptor files: read YAML (several ``---`` documents per file), validate as a set.

The files are checked together: an NSD's functions and nested services
resolve against the VNFDs and NSDs passed alongside it.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from spfed.bounded_yaml import YamlRefused, load_yaml_all, read_limited
from spfed.descriptors._errors import DescriptorError
from spfed.descriptors._parse import parse_document
from spfed.descriptors._parsed import ParsedDescriptor, kind_of
from spfed.descriptors._report import DocumentResult, Problem, ValidationReport
from spfed.descriptors._resolver import DescriptorSet
from spfed.descriptors._service_checks import nesting_loops, nsd_interface_violations
from spfed.errors import FieldViolation
from spfed.model import NetworkServiceDescriptor
from spfed.model.limits import DescriptorLimits

_SUFFIXES = (".yml", ".yaml")

MISSING_HINT = "; pass the file that defines it too"
"""Appended when an NSD names a function or service none of the files define."""


def _yaml_documents(
    name: str, text: str, limits: DescriptorLimits
) -> tuple[list[tuple[int, Any]], list[Problem]]:
    """``(index, document)`` for each non-empty document, and a syntax problem if any."""
    documents: list[tuple[int, Any]] = []
    loader = load_yaml_all(text, limits)
    index = 0
    while True:
        try:
            document = next(loader)
        except StopIteration:
            return documents, []
        except yaml.YAMLError as error:
            return documents, [Problem(name, index, "", _syntax(error))]
        if document is not None:
            documents.append((index, document))
        index += 1


def _syntax(error: yaml.YAMLError) -> str:
    if isinstance(error, YamlRefused):
        return str(error)
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        what = error.problem or "invalid YAML"
        return f"YAML syntax error at line {mark.line + 1}, column {mark.column + 1}: {what}"
    return f"YAML syntax error: {error}"


def _parse(name: str, index: int, document: Any, limits: DescriptorLimits) -> DocumentResult:
    if not isinstance(document, Mapping):
        kind = "a list" if isinstance(document, list) else f"the value {document!r}"
        problem = Problem(name, index, "", f"a descriptor is a mapping of fields, not {kind}")
        return DocumentResult(name, index, None, (problem,))
    try:
        parsed = parse_document(document, source=name, limits=limits)
    except DescriptorError as error:
        problems = tuple(
            Problem(name, index, v.field, v.description) for v in error.field_violations
        )
        return DocumentResult(name, index, None, problems)
    return DocumentResult(name, index, parsed)


def _read(path: Path, limits: DescriptorLimits) -> tuple[list[DocumentResult], list[Problem]]:
    name = str(path)
    try:
        text = read_limited(path, limits)
    except YamlRefused as error:
        return [], [Problem(name, 0, "", str(error))]
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        return [], [Problem(name, 0, "", f"cannot read the file: {reason}")]
    documents, problems = _yaml_documents(name, text, limits)
    if not documents and not problems:
        problems = [Problem(name, 0, "", "the file holds no YAML document")]
    return [_parse(name, index, document, limits) for index, document in documents], problems


def _against_set(
    results: list[DocumentResult], *, resolve: bool, limits: DescriptorLimits
) -> list[DocumentResult]:
    """Add the problems only the whole set shows.

    Those are: two different descriptors with one identity, NSD members that
    do not resolve or lack a referenced point (with ``resolve``), and nesting loops.
    """
    parsed = [(i, r.descriptor) for i, r in enumerate(results) if r.descriptor is not None]
    descriptors: list[ParsedDescriptor] = [d for _, d in parsed]
    found = DescriptorSet(descriptors)
    extra: dict[int, list[Problem]] = {}
    per_file = Counter(r.file for r in results)
    for later, earlier in found.conflicts():
        result, first = results[parsed[later][0]], results[parsed[earlier][0]]
        what = f"{kind_of(descriptors[later]).value} {descriptors[later].ref}"
        several = per_file[first.file] > 1
        where = f"{first.file} (document {first.document + 1})" if several else first.file
        text = f"{what} is also defined, differently, in {where}; pass only one of them"
        extra.setdefault(parsed[later][0], []).append(
            Problem(result.file, result.document, "", text)
        )
    for position, descriptor in parsed:
        if isinstance(descriptor, NetworkServiceDescriptor):
            result = results[position]
            violations = (
                nsd_interface_violations(descriptor, found, missing_hint=MISSING_HINT)
                if resolve
                else []
            )
            violations += nesting_loops(
                descriptor, found.find_nsd, max_depth=limits.max_nesting_depth
            )
            extra.setdefault(position, []).extend(
                Problem(result.file, result.document, v.field, v.description) for v in violations
            )
    return [
        DocumentResult(r.file, r.document, r.descriptor, r.problems + tuple(extra.get(i, ())))
        for i, r in enumerate(results)
    ]


def validate_files(
    paths: Iterable[str | os.PathLike[str]],
    *,
    resolve: bool = True,
    limits: DescriptorLimits | None = None,
) -> ValidationReport:
    """Read and check descriptor files as one set; never raises for bad input.

    A directory stands for the ``.yml`` and ``.yaml`` files directly in it,
    in name order. Every document is parsed (``parse_document``); then NSDs are checked
    against the VNFDs and NSDs of all the files (``check_nsd``), and two
    different descriptors with one identity are reported. Unreadable files
    and YAML syntax errors are problems too. Problems come in file order,
    then document order.

    With ``resolve=False``, an NSD's functions and nested services need not be
    among the files (a node resolves them against its onboarded descriptors
    and its lower SPs' offers); everything else is still checked.

    ``limits`` (default: ``DescriptorLimits()``) bounds every file's size,
    its YAML (aliases, depth) and each NSD's and VNFD's counts
    (``limit_violations``); a file beyond them is one problem naming the
    limit, found before any costly work on it.
    """
    limits = limits if limits is not None else DescriptorLimits()
    results: list[DocumentResult] = []
    problems: list[Problem] = []
    files: list[str] = []
    for path in paths:
        if Path(path).is_dir():
            found = sorted(p for p in Path(path).iterdir() if p.is_file() and p.suffix in _SUFFIXES)
            if not found:
                problems.append(Problem(str(path), 0, "", "no .yml or .yaml file in the directory"))
                files.append(str(path))
        else:
            found = [Path(path)]
        for file in found:
            files.append(str(file))
            documents, file_problems = _read(file, limits)
            results += documents
            problems += file_problems
    results = _against_set(results, resolve=resolve, limits=limits)
    problems += [p for r in results for p in r.problems]
    order = {file: position for position, file in reversed(list(enumerate(files)))}
    problems.sort(key=lambda p: (order[p.file], p.document))  # stable: keeps check order
    return ValidationReport(tuple(results), tuple(problems))


def load_files(
    paths: Iterable[str | os.PathLike[str]],
    *,
    resolve: bool = True,
    limits: DescriptorLimits | None = None,
) -> DescriptorSet:
    """The descriptors of ``paths`` (files or directories), validated together.

    See ``validate_files`` for what is checked (and ``resolve``, ``limits``).

    Raises ``DescriptorError`` listing every problem when anything is wrong;
    each violation's field is ``<file>[<document>].<path>``.
    """
    report = validate_files(list(paths), resolve=resolve, limits=limits)
    if report.ok:
        return report.descriptor_set
    files = {p.file for p in report.problems}
    message = f"{len(report.problems)} problems in {', '.join(sorted(files))}"
    violations = [FieldViolation(p.path, p.description) for p in report.problems]
    raise DescriptorError(message, violations)
