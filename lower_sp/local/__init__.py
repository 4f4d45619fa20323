"""Where a node's own leaf functions land: ``leaves`` (a local part onto a VIM) and ``vim``."""
