"""WIM drivers: the interface, and the capacity-only driver that needs no root.

- ``base``: the ``WimDriver`` protocol and its contract.
- ``capacity``: ``CapacityOnlyDriver``, bookkeeping without a data plane.
"""

from wim.drivers.base import WimDriver
from wim.drivers.capacity import CapacityOnlyDriver

__all__ = ["CapacityOnlyDriver", "WimDriver"]
