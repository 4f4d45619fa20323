"""The OpenStack VIM driver: a PoP on an OpenStack cloud, through openstacksdk.

- ``driver``: ``OpenStackVim``, the ``Vim`` protocol; async, on worker threads.
- ``cloud``: ``Cloud``, the only code that calls openstacksdk (blocking).
- ``errors``: openstacksdk and keystoneauth errors → ``spfed.errors``, one table.
- ``choices``: the smallest flavor that fits, the image by id, name or md5.
- ``capacity``: capacity from quotas, Placement and configuration.
- ``options``: ``PopConfig.options`` of the driver, checked.

Only this package imports openstacksdk (an import-linter contract says so).
"""

from lower_sp.local.vim.openstack.driver import OpenStackVim
from lower_sp.local.vim.openstack.options import OpenStackOptions, parse_options

__all__ = ["OpenStackOptions", "OpenStackVim", "parse_options"]
