"""Linux names of the data plane: deterministic, short, valid and owned by their prefix."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spfed.errors import InvalidArgument
from spfed.netns import (
    IFNAME_MAX,
    check_prefix,
    interface_name,
    is_valid_interface_name,
    namespace_name,
    owned_by,
)

labels = st.text(
    st.characters(codec="utf-8", exclude_categories=("Z", "C")), min_size=1, max_size=64
)
prefixes = st.from_regex(r"[a-z][a-z0-9]{1,7}", fullmatch=True)


@given(prefixes, labels, labels)
def test_interface_names_are_valid_owned_and_reproducible(prefix: str, one: str, two: str) -> None:
    name = interface_name(prefix, "br", one, two)
    assert len(name) == IFNAME_MAX
    assert is_valid_interface_name(name)
    assert owned_by(prefix, name)
    assert name == interface_name(prefix, "br", one, two)


def test_interface_names_differ_by_label_kind_and_prefix() -> None:
    names = {
        interface_name("sf0a1b2c", "br", "gw-a", "vl1"),
        interface_name("sf0a1b2c", "br", "gw-a", "vl2"),
        interface_name("sf0a1b2c", "vx", "gw-a", "vl1"),
        interface_name("sf0a1b2c", "br", "gw-b", "vl1"),
        interface_name("sf0a1b2d", "br", "gw-a", "vl1"),
    }
    assert len(names) == 5
    assert len({interface_name("sf0a1b2c", f"link-{i}") for i in range(2000)}) == 2000


def test_a_short_prefix_leaves_more_of_the_hash() -> None:
    assert interface_name("ab", "x") == f"ab-{interface_name('ab', 'x')[3:]}"
    assert len(interface_name("ab", "x")) == IFNAME_MAX


def test_namespace_names_are_readable_when_the_label_allows() -> None:
    assert namespace_name("sf0a1b2c", "gw-ams") == "sf0a1b2c-gw-ams"
    odd = namespace_name("sf0a1b2c", "gw-Op/ams")
    assert odd.startswith("sf0a1b2c-gw-op-ams-")
    assert odd != namespace_name("sf0a1b2c", "gw-op-ams")
    assert odd != namespace_name("sf0a1b2c", "gw-op:ams")
    assert odd == namespace_name("sf0a1b2c", "gw-Op/ams")
    long = namespace_name("sf0a1b2c", "x" * 64)
    assert len(long) <= len("sf0a1b2c-") + 20 + 7


@given(prefixes, labels)
def test_namespace_names_are_owned_and_valid_file_names(prefix: str, label: str) -> None:
    name = namespace_name(prefix, label)
    assert owned_by(prefix, name)
    assert "/" not in name
    assert name not in {".", ".."}


def test_ownership_ends_at_the_dash() -> None:
    assert owned_by("sf1", "sf1-gw-a")
    assert not owned_by("sf1", "sf12-gw-a")
    assert not owned_by("sf1", "sf1")


@pytest.mark.parametrize("prefix", ["", "s", "1abc", "sf-1", "SF12", "sf0123456", "sf_1"])
def test_bad_prefixes_are_refused(prefix: str) -> None:
    with pytest.raises(InvalidArgument):
        check_prefix(prefix)


@pytest.mark.parametrize("label", ["", "a b", "tab\there", "x" * 65, "nl\n"])
def test_bad_labels_are_refused(label: str) -> None:
    with pytest.raises(InvalidArgument):
        interface_name("sf01", label)
    with pytest.raises(InvalidArgument):
        namespace_name("sf01", label)


def test_an_interface_name_needs_a_label() -> None:
    with pytest.raises(InvalidArgument):
        interface_name("sf01")


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("eth0", True),
        ("eth0.100", True),
        ("a" * 15, True),
        ("a" * 16, False),
        ("", False),
        (".", False),
        ("..", False),
        ("a/b", False),
        ("a:b", False),
        ("a b", False),
    ],
)
def test_interface_name_validity_follows_the_kernel(name: str, valid: bool) -> None:
    assert is_valid_interface_name(name) is valid
