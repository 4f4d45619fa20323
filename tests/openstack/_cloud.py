"""Helpers for tests that run against the harness's cloud (:class:`CloudInfo`).

- :func:`admin_connection` / :func:`member_connection`: openstacksdk connections to the
  admin and member clouds of the run's ``clouds.yaml`` (and of no other file);
- :func:`driver_options`: the OpenStack VIM driver's options for that cloud, checked;
- :func:`pop_options`: the same as ``PopConfig.options`` (strings), for a node's config;
- :func:`uploaded_image`: a public raw image for the duration of a ``with`` block.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from lower_sp.local.vim.openstack import OpenStackOptions
from tests.openstack import _provision
from tests.openstack.harness import CloudInfo


def admin_connection(info: CloudInfo) -> Any:
    """An openstacksdk Connection as the cloud's admin (close it when done)."""
    return _provision.connect(info.clouds_yaml, info.admin_cloud)


def member_connection(info: CloudInfo) -> Any:
    """An openstacksdk Connection as the member user of project ``spfed`` (close it when done)."""
    return _provision.connect(info.clouds_yaml, info.cloud)


def driver_options(info: CloudInfo, **overrides: Any) -> OpenStackOptions:
    """Options of the OpenStack VIM driver for the member cloud, with ``overrides`` applied."""
    values: dict[str, Any] = {**pop_options(info), **overrides}
    return OpenStackOptions(**values)


def pop_options(info: CloudInfo, **overrides: str) -> dict[str, str]:
    """``PopConfig.options`` of an ``openstack`` PoP on the member cloud, with ``overrides``."""
    values = {
        "cloud": info.cloud,
        "clouds_yaml": str(info.clouds_yaml),
        "region_name": info.region,
    }
    values.update(overrides)
    return values


@contextlib.contextmanager
def uploaded_image(admin: Any, name: str, data: bytes) -> Iterator[Any]:
    """A public raw/bare image ``name`` holding ``data``, deleted when the block ends."""
    image = _provision.upload_image(admin, name, data)
    try:
        yield image
    finally:
        admin.image.delete_image(image, ignore_missing=True)
