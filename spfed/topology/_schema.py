"""pydantic validation errors as ``<field path>: <problem>`` lines, in the file's terms."""

from __future__ import annotations

from pydantic import ValidationError

__all__ = ["schema_problems"]


def schema_problems(exc: ValidationError, *, key_kind: str = "name") -> list[str]:
    """One line per error; a bad mapping key reads ``<path>.<key>: invalid <key_kind>: ...``.

    pydantic's "an instance of <class>" would name an internal class; a file
    only has mappings.
    """
    lines = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        what = err["msg"]
        if err["type"] == "dataclass_type":
            what = "Input should be a mapping"
        if "[key]" in loc:
            loc.remove("[key]")
            what = f"invalid {key_kind}: {what}"
        lines.append(f"{'.'.join(loc) or '(top)'}: {what}")
    return lines
