"""Shared pieces of the configuration sections: strictness, names, the error."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field

_STRICT = ConfigDict(extra="forbid")
Name = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9\-_.]*$", max_length=63)]
PositiveSeconds = Annotated[float, Field(gt=0)]


class ConfigError(ValueError):
    """The configuration file or an override is invalid; one problem per line."""
