"""The upper SP role: what a node does toward its own lower SPs.

- ``graph``: resolve an NSD and flatten locally known nested services;
- ``placement``: choose a PoP or a lower SP for every member;
- ``subgraph``: group what goes to one lower SP into one sub-service;
- ``delegation``: run it there through the same API and follow its events.
"""
