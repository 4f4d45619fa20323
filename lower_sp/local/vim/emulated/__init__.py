"""The emulated PoP: a VIM driver that keeps its resources in memory and in the node's database.

With ``options: {netns: "on"}`` it also runs each VNF unit in a network
namespace of its own, with real interfaces on the WIM's bridges (root only).
It shares only the VIM interface and the request checks of ``lower_sp.local.vim``
with the other drivers; an import-linter contract keeps the drivers independent.
"""

from lower_sp.local.vim.emulated._options import NetnsPlacement, with_netns_node
from lower_sp.local.vim.emulated.pop import EmulatedPop

__all__ = ["EmulatedPop", "NetnsPlacement", "with_netns_node"]
