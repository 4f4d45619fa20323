"""Where a call enters a node: servicers, the interceptor chain and the table of rights.

Nothing below the API edge imports this package; the import-linter layers
contract puts it above the lifecycle.
"""
