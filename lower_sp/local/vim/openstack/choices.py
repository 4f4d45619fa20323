"""What the driver picks from the cloud's lists: a flavor for a VDU, an image for a unit.

Pure functions over small value types, so the rules are tested without a cloud:

- **Flavor.** A named flavor must exist and cover the request. Otherwise the
  smallest flavor that covers it on every axis: fewest vCPUs, then least
  memory, then least disk, then name (so the choice is stable).
- **Image.** SONATA VNFDs carry ``vm_image`` (a name, an id or a URL) and often
  ``vm_image_md5``; Glance keeps every image's md5 as ``checksum``. An image is
  found by id, then by name (a URL by its file name, with or without its
  extensions), then by md5. When both are given, the image found must have that
  md5: booting another image than the descriptor's would be silent corruption.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from spfed.errors import FailedPrecondition, FieldViolation, QuotaViolation, ResourceExhausted
from spfed.model import Resources

__all__ = ["Flavor", "Image", "choose_flavor", "choose_image"]


@dataclass(frozen=True)
class Flavor:
    """A Nova flavor, as much of it as the choice needs."""

    id: str
    name: str
    resources: Resources
    """vCPUs, RAM (MiB) and root disk (GiB)."""


@dataclass(frozen=True)
class Image:
    """A Glance image, as much of it as the choice needs."""

    id: str
    name: str
    md5: str
    """Glance's ``checksum`` (md5 of the data), "" if it has none yet."""
    active: bool = True
    """Whether its status is ``active`` (bootable)."""


def choose_flavor(
    flavors: Sequence[Flavor], wanted: Resources, *, pop: str, named: str = ""
) -> Flavor:
    """The flavor to boot a server needing ``wanted`` with.

    Raises:
        FailedPrecondition: ``named`` is given and no flavor has that name or id,
            or it does not cover ``wanted``.
        ResourceExhausted: no flavor covers ``wanted`` (one ``QuotaViolation``,
            subject ``pop:<pop>``): no server that size can exist on this cloud.
    """
    if named:
        flavor = next((f for f in flavors if named in (f.name, f.id)), None)
        if flavor is None:
            known = ", ".join(sorted(f.name for f in flavors)) or "none"
            raise FailedPrecondition(
                f"pop {pop} has no flavor '{named}' (flavors: {known})",
                field_violations=[FieldViolation("flavor", f"'{named}' is not on the cloud")],
            )
        if not wanted.fits_in(flavor.resources):
            raise FailedPrecondition(
                f"flavor '{named}' of pop {pop} ({flavor.resources}) is smaller than the"
                f" unit's requirements ({wanted})",
                field_violations=[FieldViolation("flavor", f"smaller than {wanted}")],
            )
        return flavor
    fitting = [f for f in flavors if wanted.fits_in(f.resources)]
    if not fitting:
        largest = max(
            (f.resources for f in flavors),
            key=lambda r: (r.vcpus, r.memory_mib, r.disk_gib),
            default=Resources(),
        )
        description = f"asked {wanted}; no flavor is that large (largest: {largest})"
        raise ResourceExhausted(
            f"pop {pop} has no flavor for {wanted}",
            quota_violations=[QuotaViolation(f"pop:{pop}", description)],
        )
    return min(
        fitting,
        key=lambda f: (f.resources.vcpus, f.resources.memory_mib, f.resources.disk_gib, f.name),
    )


def _names(reference: str) -> list[str]:
    """The names ``reference`` may go by: itself, and a URL's file name with and without
    extensions (``http://x/ubuntu.qcow2`` → ``ubuntu.qcow2``, ``ubuntu``)."""
    names = [reference]
    path = urlsplit(reference).path if "://" in reference else reference
    base = posixpath.basename(path.rstrip("/"))
    if base and base != reference:
        names.append(base)
    stem = base.split(".", 1)[0]
    if stem and stem not in names:
        names.append(stem)
    return names


def choose_image(images: Sequence[Image], reference: str, md5: str, *, pop: str) -> Image:
    """The image a unit boots from (see the module docstring for the order).

    Raises:
        FailedPrecondition: no active image matches, several images share the
            name, or the image found has another md5 than ``md5``.
    """
    active = [i for i in images if i.active]
    found: Image | None = None
    for name in _names(reference) if reference and reference != md5 else []:
        by_id = [i for i in active if i.id == name]
        matches = by_id or [i for i in active if i.name == name]
        if len(matches) > 1:
            raise FailedPrecondition(
                f"pop {pop} has {len(matches)} images named '{name}'; name one by id",
                field_violations=[FieldViolation("image", f"'{name}' is ambiguous")],
            )
        if matches:
            found = matches[0]
            break
    if found is None and md5:
        found = next((i for i in sorted(active, key=lambda i: i.id) if i.md5 == md5), None)
    if found is None:
        what = " or ".join(filter(None, (f"'{reference}'" if reference else "", md5)))
        raise FailedPrecondition(
            f"pop {pop} has no active image {what}; upload it to Glance first",
            field_violations=[FieldViolation("image", f"{what} is not on the cloud")],
        )
    if md5 and found.md5 and found.md5 != md5:
        raise FailedPrecondition(
            f"image '{found.name}' ({found.id}) on pop {pop} has md5 {found.md5},"
            f" the descriptor asks for {md5}",
            field_violations=[FieldViolation("image_md5", f"{found.md5} != {md5}")],
        )
    return found
