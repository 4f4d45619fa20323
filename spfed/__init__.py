"""spfed: a hierarchical, recursive federation of telecom service platforms."""

__version__ = "0.1.0"
