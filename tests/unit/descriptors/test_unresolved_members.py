"""Files whose NSD members resolve only at a node (``resolve=False``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from spfed.descriptors import DescriptorError, load_files, validate_files

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "descriptors"


def test_a_nested_service_offered_elsewhere_is_a_problem_by_default() -> None:
    report = validate_files([EXAMPLES / "nsd-secure-chain.yml", EXAMPLES / "vnfd-firewall.yml"])
    assert not report.ok
    assert any("edge-cdn" in p.description for p in report.problems)


def test_without_resolution_the_same_files_load() -> None:
    found = load_files(
        [EXAMPLES / "nsd-secure-chain.yml", EXAMPLES / "vnfd-firewall.yml"], resolve=False
    )
    assert [n.ref.name for n in found.nsds] == ["secure-chain"]


def test_without_resolution_everything_else_is_still_checked() -> None:
    with pytest.raises(DescriptorError) as caught:
        load_files([EXAMPLES / "invalid" / "vnfd-misspelt-unit.yml"], resolve=False)
    assert any("did you mean" in v.description for v in caught.value.field_violations)
