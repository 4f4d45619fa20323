"""lower_sp: the role a node plays toward whoever calls it (a customer or an upper SP).

It holds the gRPC servicer, request admission (authenticate, authorise,
validate, admit), and the placement of the node's own leaf functions onto its
local VIMs through VIM drivers (``lower_sp.vim``).
"""
