"""Schema validation with spfed's own JSON Schemas, and readable violations.

The schemas live in ``spfed/descriptors/schemas`` (Draft 2020-12, YAML) and
accept both SONATA dialects. Every ``jsonschema`` error becomes one or more
``FieldViolation``s whose path points at the offending field (for a missing
field, at the field that should be there) and whose text a person can act on.
A subschema may carry ``x-hint`` (the text to report when it fails) and
``x-field`` (the field to report it on).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping
from datetime import date
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

import yaml
from jsonschema import Draft202012Validator, ValidationError, validators
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from spfed.descriptors._paths import child, document_orderer, field_path
from spfed.descriptors._suggest import did_you_mean
from spfed.errors import FieldViolation

_HINTED = frozenset({"pattern", "not", "oneOf", "anyOf"})
_TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "object": "a mapping",
    "array": "a list",
    "boolean": "true or false",
    "null": "nothing",
}


class SchemaName(StrEnum):
    """spfed's descriptor schemas."""

    NSD = "nsd"
    VNFD = "vnfd"
    NST = "nst"


def _repeat_key(item: Any) -> Hashable | None:
    """What makes two list items equal in JSON Schema's eyes; ``None`` for a collection.

    ``True`` and ``1`` differ in JSON, ``1`` and ``1.0`` do not.
    """
    if isinstance(item, Hashable) and not isinstance(item, tuple):
        return (isinstance(item, bool), item)
    return None


def _first_repeat(items: list[Any]) -> Any:
    """The first scalar item that an earlier one equals, or ``None``; linear time."""
    seen: set[Hashable] = set()
    for item in items:
        key = _repeat_key(item)
        if key is None:
            continue
        if key in seen:
            return item
        seen.add(key)
    return None


def _unique_items(
    validator: Any, unique: Any, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    """``uniqueItems`` in linear time, comparing scalar items only.

    jsonschema's own check falls back to comparing every pair when the
    items do not sort (a list mixing numbers and strings, or holding
    mappings): quadratic, hours for a hostile 1 MiB list. spfed's schemas
    ask for unique items only in lists of strings, whose item type is checked
    on its own, so collections among the items are left to that check.
    """
    if unique and isinstance(instance, list) and _first_repeat(instance) is not None:
        yield ValidationError(f"{instance!r} has non-unique elements")


_extend: Callable[..., Any] = validators.extend  # untyped in jsonschema
_Validator: Any = _extend(Draft202012Validator, {"uniqueItems": _unique_items})
"""Draft 2020-12 with the linear ``uniqueItems``."""


def _load(name: str) -> dict[str, Any]:
    text = resources.files("spfed.descriptors.schemas").joinpath(f"{name}.yml").read_text("utf-8")
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


@cache
def schema_document(name: SchemaName) -> dict[str, Any]:
    """The schema itself, as loaded from the package data."""
    return _load(name.value)


@cache
def _validator(name: SchemaName) -> Any:
    common = _load("common")
    registry: Registry[Any] = Registry().with_resource(
        common["$id"], Resource.from_contents(common, default_specification=DRAFT202012)
    )
    return _Validator(schema_document(name), registry=registry)


def check_schemas() -> None:
    """Check every schema against the Draft 2020-12 meta-schema; raises ``SchemaError``."""
    Draft202012Validator.check_schema(_load("common"))
    for name in SchemaName:
        Draft202012Validator.check_schema(schema_document(name))


def schema_violations(data: Mapping[str, Any], name: SchemaName) -> list[FieldViolation]:
    """Every way ``data`` breaks schema ``name``, in document order, without duplicates."""
    out: dict[FieldViolation, None] = {}  # ordered, and linear to deduplicate
    for error in _validator(name).iter_errors(data):
        out.update(dict.fromkeys(_translate(error)))
    # The validator reports keyword by keyword; people read top to bottom.
    order = document_orderer(data)
    return sorted(out, key=lambda v: order(v.field))


def _value(value: Any) -> str:
    if isinstance(value, str):
        return f"'{value}'"
    return repr(value)


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {_value(value)}"
    kinds = ((list, "a list"), (Mapping, "a mapping"), (type(None), "nothing"))
    fallback = f"a {type(value).__name__} ({value})"  # e.g. YAML reads 2018-01-01 as a date
    return next((text for kind, text in kinds if isinstance(value, kind)), fallback)


# A rule turns one failed keyword into violations: (keyword value, instance,
# path, schema holding the keyword) -> violations.
_Rule = Callable[[Any, Any, str, Mapping[str, Any]], list[FieldViolation]]


def _required(names: Any, got: Any, path: str, schema: Mapping[str, Any]) -> list[FieldViolation]:
    present = got if isinstance(got, Mapping) else {}
    return [
        FieldViolation(child(path, name), "is required") for name in names if name not in present
    ]


def _additional(_: Any, got: Any, path: str, schema: Mapping[str, Any]) -> list[FieldViolation]:
    allowed = [str(key) for key in schema.get("properties", {})]
    extra = [str(key) for key in (got if isinstance(got, Mapping) else {}) if key not in allowed]
    return [
        FieldViolation(child(path, key), f"unknown field{did_you_mean(key, allowed)}")
        for key in extra
    ]


def _type(types: Any, got: Any, path: str, schema: Mapping[str, Any]) -> list[FieldViolation]:
    names = [types] if isinstance(types, str) else list(types)
    text = f"expected {' or '.join(_TYPE_NAMES.get(t, t) for t in names)}, got {_kind_of(got)}"
    if names == ["string"] and isinstance(got, int | float | date) and not isinstance(got, bool):
        text += f' (quote it: "{got}")'
    return [FieldViolation(path, text)]


def _enum(options: Any, got: Any, path: str, schema: Mapping[str, Any]) -> list[FieldViolation]:
    words = [str(option) for option in options]
    guess = did_you_mean(str(got), words)
    return [FieldViolation(path, f"{_value(got)} is not one of {', '.join(words)}{guess}")]


def _simple(text: Callable[[Any, Any], str]) -> _Rule:
    def rule(value: Any, got: Any, path: str, schema: Mapping[str, Any]) -> list[FieldViolation]:
        return [FieldViolation(path, text(value, got))]

    return rule


_RULES: dict[str, _Rule] = {
    "required": _required,
    "additionalProperties": _additional,
    "type": _type,
    "enum": _enum,
    "pattern": _simple(lambda pattern, got: f"{_value(got)} does not match {pattern}"),
    "minLength": _simple(
        lambda n, got: "must not be empty" if n == 1 else f"needs at least {n} characters"
    ),
    "minItems": _simple(lambda n, got: f"needs at least {n} items, got {len(got)}"),
    "uniqueItems": _simple(lambda _, got: f"{_value(_first_repeat(got))} is listed more than once"),
    "exclusiveMinimum": _simple(lambda n, got: f"must be greater than {n}, got {got}"),
    "minimum": _simple(lambda n, got: f"must be at least {n}, got {got}"),
}


def _translate(error: ValidationError) -> list[FieldViolation]:
    path = field_path(error.absolute_path)
    schema: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    hint = schema.get("x-hint")
    if hint and error.validator in _HINTED:
        if "x-field" in schema:
            path = child(path, str(schema["x-field"]))
        if error.validator == "pattern":
            return [FieldViolation(path, f"{_value(error.instance)} is not valid: {hint}")]
        return [FieldViolation(path, str(hint))]
    rule = _RULES.get(str(error.validator))
    if rule is None:
        return [FieldViolation(path, error.message)]
    keyword_value: Any = error.validator_value
    return rule(keyword_value, error.instance, path, schema)
