"""The example files shipped with spfed: topologies, descriptors, slices, placements.

They are package data (``spfed/examples``, a link to the repository's
``examples/`` that the wheel carries as files), so ``spfed demo`` and
``spfed demo-dataplane`` find them in a source tree and in an installed
package alike.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["EXAMPLES"]

EXAMPLES = Path(str(resources.files("spfed").joinpath("examples")))
"""The examples' directory."""
