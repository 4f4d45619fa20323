"""How a command reaches a node: its address, TLS, and who it signs in as.

``--node`` is ``host:port`` or an operator of a running topology.

- **TLS.** ``--ca`` (with ``--cert``/``--key`` for nodes that require a
  client certificate) names the files; a topology operator uses its
  topology's CA and CLI certificate; an address signed in at with
  ``spfed login`` reuses the files given then. ``--insecure`` is plaintext,
  for development nodes only.
- **Sign-in.** ``--account`` at a topology operator signs in with that
  user's generated password. Otherwise a token cached by ``spfed login`` for
  the address is used; otherwise, at a topology operator, its ``admin``.

The token cache is ``$SPFED_CONFIG_DIR/tokens.json`` (default
``$XDG_CONFIG_HOME/spfed``, i.e. ``~/.config/spfed``), mode 0600.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from spfed.credentials import SignIn
    from spfed.tls import ClientTls
    from spfed.topology.security import TopologySecurity

__all__ = [
    "NodeTarget",
    "cached_login",
    "config_dir",
    "forget_login",
    "node_target_options",
    "save_login",
]

_F = TypeVar("_F", bound=Callable[..., Any])
_TOKENS = "tokens.json"
_MARGIN = timedelta(seconds=10)


def config_dir() -> Path:
    """Where the CLI keeps its token cache."""
    explicit = os.environ.get("SPFED_CONFIG_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "spfed"


def _load_cache() -> dict[str, Any]:
    try:
        data = json.loads((config_dir() / _TOKENS).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _save_cache(data: dict[str, Any]) -> None:
    directory = config_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / _TOKENS
    temp = path.with_suffix(".tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2)
    os.chmod(temp, 0o600)
    temp.replace(path)


def cached_login(address: str) -> dict[str, Any] | None:
    """The cached login for ``address``, if any (expired ones included; see ``expire_time``)."""
    entry = _load_cache().get(address)
    return entry if isinstance(entry, dict) else None


def save_login(address: str, entry: dict[str, Any]) -> Path:
    """Cache a login for ``address``; returns the cache file."""
    data = _load_cache()
    data[address] = entry
    _save_cache(data)
    return config_dir() / _TOKENS


def forget_login(address: str) -> bool:
    """Drop the cached login of ``address``; whether there was one."""
    data = _load_cache()
    if data.pop(address, None) is None:
        return False
    _save_cache(data)
    return True


def _valid(entry: dict[str, Any]) -> bool:
    try:
        expires = datetime.fromisoformat(str(entry["expire_time"]))
    except (KeyError, ValueError):
        return False
    return bool(entry.get("token")) and expires - _MARGIN > datetime.now(UTC)


@dataclass(frozen=True)
class NodeTarget:
    """What ``--node`` and its companions say."""

    node: str
    """As given: ``host:port`` or an operator name."""
    topology: str | None = None
    account: str | None = None
    ca: str | None = None
    cert: str | None = None
    key: str | None = None
    insecure: bool = False

    @property
    def named(self) -> str:
        """The operator name, when ``--node`` is one ("" for an address)."""
        return self.node if ":" not in self.node else ""

    def address(self) -> str:
        """``host:port``; an unknown operator is a usage error (exit 2)."""
        if ":" in self.node:
            return self.node
        from spfed.topology.state import resolve_node

        try:
            return resolve_node(self.node, topology=self.topology)
        except LookupError as exc:
            raise click.BadParameter(str(exc), param_hint="'--node'") from exc

    def topology_security(self, address: str) -> tuple[str, TopologySecurity] | None:
        """(operator, security) of the running topology ``address`` belongs to."""
        from spfed.topology.security import TopologySecurity
        from spfed.topology.state import TopologyState

        for state in TopologyState.all():
            if self.topology is not None and state.name != self.topology:
                continue
            for op in state.operators.values():
                if op.address == address or (self.named and op.id == self.named):
                    return op.id, TopologySecurity.under(state.directory)
        return None

    def tls(self, address: str) -> ClientTls | None:
        """The channel's TLS (None: plaintext, with ``--insecure``).

        Raises:
            click.UsageError: TLS is needed and nothing says how.
            FailedPrecondition: the files given cannot be used.
        """
        from spfed.tls import ClientTls

        if self.insecure:
            return None
        if self.ca:
            return ClientTls.load(self.ca, self.cert or "", self.key or "")
        found = self.topology_security(address)
        if found is not None:
            return found[1].client_tls()
        login = cached_login(address)
        if login is not None and login.get("insecure"):
            return None
        if login is not None and login.get("ca_file"):
            return ClientTls.load(
                login["ca_file"], login.get("cert_file", ""), login.get("key_file", "")
            )
        raise click.UsageError(
            f"how to reach {self.node} over TLS? Pass --ca CA_FILE (and --cert/--key when it"
            " requires a client certificate), sign in first with 'spfed login', or, for a"
            " development node, --insecure"
        )

    def sign_in(self, address: str) -> SignIn | None:
        """Who the calls run as (None: no token; the node will refuse most calls).

        Raises:
            FailedPrecondition: ``--account`` names a user the topology does not have.
        """
        from spfed.credentials import BearerToken

        found = self.topology_security(address)
        if self.account is not None and found is not None:
            operator, security = found
            return security.sign_in(operator, self.account)
        login = cached_login(address)
        mine = login is not None and self.account in (None, login.get("account"))
        if login is not None and mine and _valid(login):
            return BearerToken(str(login["token"]))
        if found is not None:
            operator, security = found
            return security.sign_in(operator)
        return None


def node_target_options(command: _F) -> _F:
    """``--node``, ``--topology``, ``--account``, ``--ca``, ``--cert``, ``--key``,
    ``--insecure``; the command receives them as one ``node: NodeTarget``."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        target = NodeTarget(
            node=kwargs.pop("node"),
            topology=kwargs.pop("topology"),
            account=kwargs.pop("account"),
            ca=kwargs.pop("ca"),
            cert=kwargs.pop("cert"),
            key=kwargs.pop("key"),
            insecure=kwargs.pop("insecure"),
        )
        return command(*args, node=target, **kwargs)

    decorated: Any = wrapper
    file_option = functools.partial(
        click.option, type=click.Path(exists=True, dir_okay=False), default=None
    )
    for option in (
        click.option(
            "--insecure",
            is_flag=True,
            help="Plaintext gRPC, for a development node started with --insecure.",
        ),
        file_option("--key", envvar="SPFED_KEY", help="Private key of --cert."),
        file_option(
            "--cert", envvar="SPFED_CERT", help="Client certificate, for mutual-TLS nodes."
        ),
        file_option("--ca", envvar="SPFED_CA", help="CA certificate(s) to trust the node with."),
        click.option(
            "--account",
            metavar="NAME",
            default=None,
            help="At a topology operator: sign in as this user (default: a cached"
            " 'spfed login', else admin).",
        ),
        click.option(
            "--topology",
            metavar="NAME",
            help="Running topology to look --node up in, when several have that operator.",
        ),
        click.option(
            "--node",
            "-n",
            required=True,
            envvar="SPFED_NODE",
            show_envvar=True,
            metavar="HOST:PORT|OPERATOR",
            help="The node to talk to: its address, or an operator of a running topology.",
        ),
    ):
        decorated = option(decorated)
    return decorated  # type: ignore[no-any-return]
