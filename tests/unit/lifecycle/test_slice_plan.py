"""A slice template to per-subnet service requests and slice-link constraints."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from spfed.descriptors import load_files, parse_document
from spfed.errors import InvalidArgument
from spfed.lifecycle.slice_plan import check_slice_request, link_points, subnet_request
from spfed.model import (
    CreateSliceRequest,
    IdRange,
    Nap,
    PlacementConstraints,
    SliceLinkPoint,
    SliceLinkRecord,
    SliceTemplate,
)

ROOT = Path(__file__).resolve().parents[3]


def _request(**placement: PlacementConstraints) -> CreateSliceRequest:
    nst = parse_document(yaml.safe_load((ROOT / "examples/slices/nst-secure-edge.yml").read_text()))
    assert isinstance(nst, SliceTemplate)
    files = load_files([ROOT / "examples/descriptors"])
    return CreateSliceRequest("r", nst, nsds=files.nsds, vnfds=files.vnfds, placement=placement)


def _none(_ref: object) -> None:
    return None


def test_each_subnet_becomes_a_request_with_its_naps_and_the_link_constraint() -> None:
    request = _request(cdn=PlacementConstraints(default_region="be"))
    plans = {p.subnet.id: p for p in check_slice_request(request, _none)}
    (link,) = request.template.links
    points = link_points(link.connection_points, "172.16.0.0/31")
    links = [SliceLinkRecord(link.id, "172.16.0.0/31", 4242, points)]
    cdn = subnet_request("s", request, plans["cdn"], links)
    chain = subnet_request("s", request, plans["chain"], links)

    assert cdn.request_id == "slice:s/cdn"
    assert cdn.placement.default_region == "be"
    assert cdn.addressing.ingresses == (Nap("be", "198.51.100.1/32"),)
    (out,) = cdn.addressing.constraints
    (into,) = chain.addressing.constraints
    assert (out.connection_point, out.prefix) == ("output", "172.16.0.0/32")
    assert (into.connection_point, into.prefix) == ("input", "172.16.0.1/32")
    assert out.subnet == into.subnet == "172.16.0.0/31"
    assert out.vni == into.vni == IdRange(4242, 4242)
    assert chain.addressing.egresses == (Nap("be", "192.0.2.1/32"),)
    assert chain.descriptors is not None
    assert {v.ref.name for v in chain.descriptors.vnfds} == {"firewall", "dpi", "nat"}


def test_ipv6_links_get_two_addresses_of_a_127() -> None:
    points = link_points((SliceLinkPoint("a", "x"), SliceLinkPoint("b", "y")), "fd5e::/127")
    assert [p.ip_address for p in points] == ["fd5e::", "fd5e::1"]


def test_bad_links_unknown_nsds_and_placement_are_field_violations() -> None:
    request = _request(nowhere=PlacementConstraints())
    (link,) = request.template.links
    template = replace(
        request.template,
        links=(
            replace(
                link,
                connection_points=(SliceLinkPoint("cdn", "mgmt"), SliceLinkPoint("x", "input")),
            ),
            replace(link, id="l2", connection_points=(SliceLinkPoint("chain", "input"),)),
        ),
    )
    with pytest.raises(InvalidArgument) as raised:
        check_slice_request(replace(request, template=template, nsds=()), _none)
    fields = {v.field for v in raised.value.field_violations}
    assert fields >= {
        "template.subnets[0].nsd",
        "template.subnets[1].nsd",
        "template.links[0].connection_points[1].subnet_ref",
        "template.links[1].connection_points",
        "placement[nowhere]",
    }
    with pytest.raises(InvalidArgument) as raised:
        check_slice_request(replace(request, template=template, placement={}), _none)
    fields = {v.field for v in raised.value.field_violations}
    assert "template.links[0].connection_points[0].nsd_cp_ref" in fields
