"""Service-specific plug-ins shipped with spfed, enabled per node by name.

Third-party plug-ins register under the ``spfed.plugins`` entry-point group
the same way these do (see pyproject.toml).
"""

from spfed.plugins.chain_check import ChainCheckPlugin

__all__ = ["ChainCheckPlugin"]
