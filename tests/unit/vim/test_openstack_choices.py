"""The OpenStack driver's choices: the smallest fitting flavor, the image by id, name or md5."""

from __future__ import annotations

import pytest

from lower_sp.local.vim.openstack.choices import Flavor, Image, choose_flavor, choose_image
from spfed.errors import FailedPrecondition, ResourceExhausted
from spfed.model import Resources

FLAVORS = [
    Flavor("f-large", "large", Resources(4, 4096, 10)),
    Flavor("f-tiny", "tiny", Resources(1, 128, 1)),
    Flavor("f-small", "small", Resources(1, 512, 2)),
    Flavor("f-medium", "medium", Resources(2, 1024, 5)),
    Flavor("f-fat", "fat-disk", Resources(1, 512, 40)),
]
MD5 = "0123456789abcdef0123456789abcdef"
IMAGES = [
    Image("i-1", "ubuntu", "aa" * 16),
    Image("i-2", "sonata-vtc", MD5),
    Image("i-3", "broken", "bb" * 16, active=False),
]


@pytest.mark.parametrize(
    ("wanted", "name"),
    [
        (Resources(1, 128, 1), "tiny"),
        (Resources(0, 0, 0), "tiny"),
        (Resources(1, 256, 1), "small"),
        (Resources(2, 512, 1), "medium"),
        (Resources(1, 512, 3), "fat-disk"),
        (Resources(3, 100, 1), "large"),
    ],
)
def test_the_smallest_flavor_that_covers_every_axis(wanted: Resources, name: str) -> None:
    assert choose_flavor(FLAVORS, wanted, pop="os1").name == name


def test_no_flavor_large_enough_is_resource_exhausted_on_the_pop() -> None:
    with pytest.raises(ResourceExhausted) as raised:
        choose_flavor(FLAVORS, Resources(8, 128, 1), pop="os1")

    (violation,) = raised.value.quota_violations
    assert violation.subject == "pop:os1"
    assert "8 vCPU" in violation.description
    assert "largest: 4 vCPU" in violation.description


def test_a_named_flavor_is_used_when_it_covers_the_unit() -> None:
    assert choose_flavor(FLAVORS, Resources(1, 128, 1), pop="os1", named="medium").id == "f-medium"
    assert choose_flavor(FLAVORS, Resources(1, 128, 1), pop="os1", named="f-large").name == "large"


def test_a_named_flavor_that_is_missing_or_too_small_is_refused() -> None:
    with pytest.raises(FailedPrecondition, match=r"no flavor 'm1\.huge'"):
        choose_flavor(FLAVORS, Resources(1, 128, 1), pop="os1", named="m1.huge")
    with pytest.raises(FailedPrecondition, match="smaller than"):
        choose_flavor(FLAVORS, Resources(2, 128, 1), pop="os1", named="tiny")


@pytest.mark.parametrize(
    ("reference", "md5", "image_id"),
    [
        ("ubuntu", "", "i-1"),
        ("i-2", "", "i-2"),
        ("http://images.example/sonata-vtc.qcow2", "", "i-2"),
        ("file:///srv/images/ubuntu.img.gz", "", "i-1"),
        ("", MD5, "i-2"),
        (MD5, MD5, "i-2"),
        ("not-uploaded", MD5, "i-2"),
        ("sonata-vtc", MD5, "i-2"),
    ],
)
def test_images_by_id_name_url_or_md5(reference: str, md5: str, image_id: str) -> None:
    assert choose_image(IMAGES, reference, md5, pop="os1").id == image_id


def test_an_image_with_another_md5_is_refused() -> None:
    with pytest.raises(FailedPrecondition) as raised:
        choose_image(IMAGES, "ubuntu", MD5, pop="os1")

    assert [v.field for v in raised.value.field_violations] == ["image_md5"]


def test_a_missing_or_inactive_image_is_refused_with_a_hint() -> None:
    with pytest.raises(FailedPrecondition, match="upload it to Glance"):
        choose_image(IMAGES, "broken", "", pop="os1")
    with pytest.raises(FailedPrecondition, match="no active image 'nope' or " + "ff" * 16):
        choose_image(IMAGES, "nope", "ff" * 16, pop="os1")


def test_an_ambiguous_name_is_refused() -> None:
    twins = [*IMAGES, Image("i-9", "ubuntu", "cc" * 16)]

    with pytest.raises(FailedPrecondition, match="2 images named 'ubuntu'"):
        choose_image(twins, "ubuntu", "", pop="os1")
