"""A node decides ``addressing.point_to_point_links`` from its VIMs when it is not set."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from spfed.config import parse_config
from spfed.node import _resolve_point_to_point


@dataclass
class _Pop:
    name: str
    point_to_point: bool


def _config(setting: bool | None) -> object:
    addressing = {} if setting is None else {"point_to_point_links": setting}
    return parse_config(
        {
            "id": "n",
            "tls": {"insecure": True},
            "catalogue": {"signing_key_file": "id.key"},
            "addressing": addressing,
        }
    )


@pytest.mark.parametrize(
    ("setting", "pops", "resolved"),
    [
        (None, [_Pop("edge", True)], True),
        (None, [_Pop("edge", True), _Pop("dc1", False)], False),
        (None, [], True),
        (True, [_Pop("dc1", False)], True),
        (False, [_Pop("edge", True)], False),
    ],
)
def test_point_to_point_links_follow_the_vims_unless_configured(
    setting: bool | None, pops: list[_Pop], resolved: bool
) -> None:
    config = _resolve_point_to_point(_config(setting), pops)  # type: ignore[arg-type]

    assert config.addressing.point_to_point_links is resolved
