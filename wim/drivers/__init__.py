"""WIM drivers: the interface, the capacity-only driver that needs no root, and the netns one.

- ``base``: the ``WimDriver`` protocol and its contract.
- ``capacity``: ``CapacityOnlyDriver``, bookkeeping without a data plane.
- ``netns``: ``NetnsWimDriver``, services as VXLAN segments between gateway namespaces
  (needs root); ``wan_gateways`` and ``default_prefix`` bind it to a node.
"""

from wim.drivers.base import WimDriver
from wim.drivers.capacity import CapacityOnlyDriver
from wim.drivers.netns import NetnsWimDriver, default_prefix, wan_gateways

__all__ = ["CapacityOnlyDriver", "NetnsWimDriver", "WimDriver", "default_prefix", "wan_gateways"]
