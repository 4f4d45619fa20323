"""The gatekeeper: accounts, access tokens, and the check of every call.

``IdentityProvider`` owns the node's accounts and signing keys, issues tokens to
users (password) and service accounts (client assertion), and authenticates
the bearer token of each call. The cryptographic primitives are in
``spfed.auth``; the interceptor that applies this to every RPC is
``lower_sp.api.interceptors.auth``.
"""

from spfed.identity.provider import IdentityProvider, audit

__all__ = ["IdentityProvider", "audit"]
