"""lower_sp: the role a node plays toward whoever calls it (a customer or an upper SP).

Two rooms, top to bottom:

- ``lower_sp.api``: where a call enters. The gRPC servicers (``servicer``:
  the platform API; ``gatekeeper``: sign-in and accounts), the interceptor
  chain (access log, error mapping, authentication and rights, undecodable
  bodies) and the table of rights. It converts and delegates; it decides
  nothing.
- ``lower_sp.local``: where the node's own leaf functions land. ``leaves``
  maps a local part onto a VIM; ``vim`` holds the VIM interface, its
  registry and the drivers (the emulated PoP, OpenStack).
"""
