"""Typed parts: the text form is stable, ``parse_part`` is its only inverse, order is kept."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spfed.errors import InvalidArgument
from spfed.model import DelegatedPart, LocalPart, Part, parse_part

NAMES = st.text(min_size=1, max_size=20)
PARTS: st.SearchStrategy[Part] = st.one_of(NAMES.map(LocalPart), NAMES.map(DelegatedPart))


def test_text_form_is_the_wire_and_stored_form() -> None:
    assert str(LocalPart("ams")) == "pop:ams"
    assert str(DelegatedPart("wholesale-eu")) == "sp:wholesale-eu"
    assert f"{DelegatedPart('x')}/eu" == "sp:x/eu"


def test_parse_tells_the_kinds_apart() -> None:
    assert parse_part("pop:ams") == LocalPart("ams")
    assert parse_part("sp:edge-be") == DelegatedPart("edge-be")
    # only the first prefix counts: the rest is the name, colons included
    assert parse_part("pop:sp:x") == LocalPart("sp:x")
    assert parse_part("sp:a:b") == DelegatedPart("a:b")


@given(PARTS)
def test_round_trip(part: Part) -> None:
    assert parse_part(str(part)) == part


@pytest.mark.parametrize(
    "text", ["", "pop:", "sp:", "ams", "pop", "POP:ams", "Sp:x", " pop:ams", "vim:ams", ":ams"]
)
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        parse_part(text)
    assert "not a part id" in raised.value.message
    assert raised.value.field_violations[0].field == "part"


def test_an_empty_name_is_refused_so_that_every_part_round_trips() -> None:
    with pytest.raises(InvalidArgument):
        LocalPart("")
    with pytest.raises(InvalidArgument):
        DelegatedPart("")


def test_kinds_are_distinct_values() -> None:
    assert LocalPart("x") != DelegatedPart("x")
    assert len({LocalPart("x"), DelegatedPart("x"), LocalPart("x")}) == 2


def test_match_by_kind() -> None:
    def where(part: Part) -> str:
        match part:
            case LocalPart(pop):
                return f"PoP {pop}"
            case DelegatedPart(lower):
                return f"lower SP {lower}"

    assert [where(parse_part(t)) for t in ("pop:ams", "sp:eu")] == ["PoP ams", "lower SP eu"]


@given(st.lists(PARTS, max_size=12))
def test_parts_sort_as_their_text_did(parts: list[Part]) -> None:
    assert [str(p) for p in sorted(parts)] == sorted(str(p) for p in parts)
