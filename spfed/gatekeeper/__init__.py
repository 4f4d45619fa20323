"""The gatekeeper: accounts, access tokens, and the check of every call.

``Gatekeeper`` owns the node's accounts and signing keys, issues tokens to
users (password) and service accounts (client assertion), and authenticates
the bearer token of each call. The cryptographic primitives are in
``spfed.auth``; the interceptor that applies this to every RPC is
``lower_sp.interceptors.auth``.
"""

from spfed.gatekeeper.gatekeeper import Gatekeeper, audit

__all__ = ["Gatekeeper", "audit"]
