"""An ML2 mechanism driver that binds every port, for the qualification cloud only.

ML2 ships no mechanism driver that binds a port without a real L2 back end (Open vSwitch,
OVN, Linux bridge, ...), so without this Nova fails a boot with ``PortBindingFailed``.
This driver binds a port on the first segment it is offered, with status ``ACTIVE``, and
does nothing else: there is no data plane behind the qualification cloud.

It is a test fixture of the harness, not product code. The harness copies this file into
the OpenStack virtualenv as the module ``spfed_qual_binding`` and registers the class under
the entry-point group ``neutron.ml2.mechanism_drivers`` with the name ``spfed_binding``.
It is imported only by neutron-api, inside that virtualenv.
"""

from __future__ import annotations

from typing import Any

from neutron_lib import constants
from neutron_lib.api.definitions import portbindings
from neutron_lib.plugins.ml2 import api

VIF_TYPE = portbindings.VIF_TYPE_OTHER
"""What Nova is told the port is plugged as; the fake virt driver does not look at it."""

VIF_DETAILS: dict[str, Any] = {portbindings.CAP_PORT_FILTER: False}


class BindingDriver(api.MechanismDriver):  # type: ignore[misc]
    """Binds any port of any VNIC type on the first segment it is offered."""

    def initialize(self) -> None:
        """Nothing to set up: the driver keeps no state."""

    @property
    def connectivity(self) -> str:
        """Layer-2 connectivity, like the agent-based drivers this stands in for."""
        return str(portbindings.CONNECTIVITY_L2)

    def bind_port(self, context: Any) -> None:
        """Bind ``context``'s port on its first segment to bind, with status ACTIVE."""
        for segment in context.segments_to_bind:
            context.set_binding(
                segment[api.ID], VIF_TYPE, dict(VIF_DETAILS), status=constants.PORT_STATUS_ACTIVE
            )
            return
