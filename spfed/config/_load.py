"""Reading a node's configuration: one YAML file, environment overrides, semantic checks
and paths resolved against the file's directory."""

from __future__ import annotations

import copy
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from spfed.bounded_yaml import load_yaml, read_limited
from spfed.config._base import ConfigError
from spfed.config._node import NodeConfig
from spfed.config._sections import (
    AddressingConfig,
)
from spfed.model import AccountKind, DescriptorLimits

_ADAPTER: TypeAdapter[NodeConfig] = TypeAdapter(NodeConfig)
_ENV_PREFIX = "SPFED__"


def _apply_overrides(data: dict[str, Any], environ: Mapping[str, str]) -> None:
    for key, raw in environ.items():
        if not key.startswith(_ENV_PREFIX):
            continue
        path = [p.lower() for p in key[len(_ENV_PREFIX) :].split("__") if p]
        if not path:
            raise ConfigError(f"{key}: name a field after the prefix, e.g. SPFED__SERVER__LISTEN")
        node: dict[str, Any] = data
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"{key}: {'.'.join(path[:-1])} is not a section")
            node = child
        try:
            node[path[-1]] = load_yaml(raw, DescriptorLimits()) if raw else raw
        except yaml.YAMLError as exc:
            raise ConfigError(f"{key}: {' '.join(str(exc).split())}") from None


def _addressing_problems(addressing: AddressingConfig) -> list[str]:
    try:
        pool = ipaddress.ip_network(addressing.service_pool, strict=True)
    except ValueError as exc:
        return [f"addressing.service_pool: {exc}"]
    problems = []
    for name in ("service_prefix_length", "link_prefix_length", "crossing_link_prefix_length"):
        if getattr(addressing, name) > pool.max_prefixlen:
            problems.append(
                f"addressing.{name}: longer than an IPv{pool.version} prefix can be"
                f" ({pool.max_prefixlen})"
            )
    if addressing.service_prefix_length < pool.prefixlen:
        problems.append(
            f"addressing.service_prefix_length: /{addressing.service_prefix_length} is larger"
            f" than the pool {pool}"
        )
    return problems


def _wim_problems(config: NodeConfig) -> list[str]:
    problems = []
    pops = {p.name for p in config.pops}
    borders = [b.id for b in config.catalogue.borders]
    problems += [
        f"catalogue.borders: border id '{b}' is also a PoP name"
        for b in sorted(set(borders) & pops)
    ]
    problems += [
        f"catalogue.borders: border id '{b}' is used twice"
        for b in sorted(set(borders))
        if borders.count(b) > 1
    ]
    ends = pops | set(borders)
    ids = [link.id for link in config.wim.links]
    problems += [
        f"wim.links: link id '{n}' is used twice" for n in sorted(set(ids)) if ids.count(n) > 1
    ]
    for i, link in enumerate(config.wim.links):
        for side in ("a", "b"):
            end = getattr(link, side)
            if end not in ends:
                problems.append(
                    f"wim.links.{i}.{side}: '{end}' is neither a PoP nor a border point"
                    f" ({', '.join(sorted(ends)) or 'none configured'})"
                )
        if link.a == link.b:
            problems.append(f"wim.links.{i}: a link joins two different ends, not '{link.a}' twice")
    prefix = config.wim.netns_prefix
    if prefix and not (2 <= len(prefix) <= 8 and prefix.isalnum() and prefix[0].isalpha()):
        problems.append(
            f"wim.netns_prefix: '{prefix}' is not 2 to 8 lower-case letters and digits,"
            " starting with a letter"
        )
    elif prefix != prefix.lower():
        problems.append(f"wim.netns_prefix: '{prefix}' must be lower case")
    first, sep, last = config.wim.vni_pool.partition("-")
    if not (sep and first.strip().isdigit() and last.strip().isdigit()):
        problems.append(f"wim.vni_pool: '{config.wim.vni_pool}' is not first-last")
    elif not 1 <= int(first) <= int(last) <= 16_777_215:
        problems.append(f"wim.vni_pool: '{config.wim.vni_pool}' is not within 1-16777215")
    return problems


def _security_problems(config: NodeConfig) -> list[str]:
    problems = []
    tls = config.tls
    if not tls.insecure:
        for name in ("cert_file", "key_file", "ca_file"):
            if not getattr(tls, name):
                problems.append(
                    f"tls.{name}: required (or, for development only, tls.insecure: true)"
                )
    fed = config.federation
    for i, lower in enumerate(fed.lower_sps):
        if not (lower.key_file or fed.key_file):
            problems.append(
                f"federation.lower_sps.{i}.key_file: required to sign in at '{lower.id}'"
                " (or set federation.key_file)"
            )
        if not lower.public_key_file:
            problems.append(
                f"federation.lower_sps.{i}.public_key_file: required to check the catalogue"
                f" of '{lower.id}'"
            )
    for ref in config.catalogue.prices:
        parts = ref.split("/")
        if len(parts) != 3 or not all(parts):
            problems.append(f"catalogue.prices: '{ref}' is not vendor/name/version")
    if not (config.catalogue.signing_key_file or fed.key_file):
        problems.append(
            "catalogue.signing_key_file: required to sign the catalogue (or set"
            " federation.key_file)"
        )
    names = [a.name for a in config.auth.accounts]
    problems += [
        f"auth.accounts: account '{n}' is listed twice"
        for n in sorted(set(names))
        if names.count(n) > 1
    ]
    for i, seed in enumerate(config.auth.accounts):
        if seed.kind is AccountKind.SERVICE and not seed.public_key_file:
            problems.append(f"auth.accounts.{i}.public_key_file: required for a service account")
        if seed.kind is AccountKind.USER and not seed.password_hash:
            problems.append(f"auth.accounts.{i}.password_hash: required for a user")
    return problems


def _check_semantics(config: NodeConfig) -> list[str]:
    problems = []
    names = [p.name for p in config.pops]
    problems += [
        f"pops: PoP name '{n}' is used twice" for n in sorted(set(names)) if names.count(n) > 1
    ]
    ids = [s.id for s in config.federation.lower_sps]
    problems += [
        f"federation.lower_sps: id '{n}' is used twice"
        for n in sorted(set(ids))
        if ids.count(n) > 1
    ]
    if config.id in ids:
        problems.append(f"federation.lower_sps: a node cannot be its own lower SP ('{config.id}')")
    if "local" in ids:
        problems.append("federation.lower_sps: 'local' is reserved for the node's own PoPs")
    fed = config.federation
    if fed.reconnect_initial_s > fed.reconnect_max_s:
        problems.append("federation.reconnect_initial_s: larger than reconnect_max_s")
    problems += _addressing_problems(config.addressing)
    problems += _wim_problems(config)
    addresses = [("server.listen", config.server.listen)] + [
        (f"federation.lower_sps.{i}.address", s.address)
        for i, s in enumerate(config.federation.lower_sps)
    ]
    problems += _security_problems(config)
    for label, value in addresses:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or int(port) > 65535:
            problems.append(f"{label}: '{value}' is not host:port")
    return problems


def _resolve_paths(config: NodeConfig, base: Path) -> NodeConfig:
    def resolve(p: str) -> str:
        return p if not p or Path(p).is_absolute() else str((base / p).resolve())

    url = config.storage.url
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        tail = url[len("sqlite:///") :]
        if tail and tail != ":memory:":
            url = "sqlite:///" + resolve(tail)
    return replace(
        config,
        storage=replace(config.storage, url=url),
        server=replace(config.server, ready_file=resolve(config.server.ready_file)),
        catalogue=replace(
            config.catalogue,
            descriptors=tuple(resolve(p) for p in config.catalogue.descriptors),
            signing_key_file=resolve(config.catalogue.signing_key_file),
        ),
        logging=replace(config.logging, file=resolve(config.logging.file)),
        tls=replace(
            config.tls,
            cert_file=resolve(config.tls.cert_file),
            key_file=resolve(config.tls.key_file),
            ca_file=resolve(config.tls.ca_file),
        ),
        auth=replace(
            config.auth,
            key_dir=resolve(config.auth.key_dir),
            accounts=tuple(
                replace(a, public_key_file=resolve(a.public_key_file)) for a in config.auth.accounts
            ),
        ),
        federation=replace(
            config.federation,
            key_file=resolve(config.federation.key_file),
            lower_sps=tuple(
                replace(
                    lower,
                    key_file=resolve(lower.key_file),
                    public_key_file=resolve(lower.public_key_file),
                )
                for lower in config.federation.lower_sps
            ),
        ),
    )


def parse_config(
    data: Mapping[str, Any], *, base: Path | None = None, environ: Mapping[str, str] | None = None
) -> NodeConfig:
    """Validate a configuration mapping (plus overrides) into a ``NodeConfig``.

    Raises:
        ConfigError: with one line per problem.
    """
    merged: dict[str, Any] = copy.deepcopy(dict(data))  # overrides must not touch the caller's data
    _apply_overrides(merged, environ if environ is not None else {})
    try:
        config = _ADAPTER.validate_python(merged)
    except ValidationError as exc:
        lines = [
            f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}"
            for err in exc.errors()
        ]
        raise ConfigError("\n".join(lines)) from None
    problems = _check_semantics(config)
    if problems:
        raise ConfigError("\n".join(problems))
    return _resolve_paths(config, base) if base is not None else config


def load_config(path: str | Path, environ: Mapping[str, str] | None = None) -> NodeConfig:
    """Load a node's YAML file, apply ``SPFED__*`` overrides and validate.

    Raises:
        ConfigError: the file is unreadable or invalid; the message names the file.
    """
    path = Path(path)
    try:
        # The file sets the node's limits, so it is read within the defaults.
        data = load_yaml(read_limited(path, DescriptorLimits()), DescriptorLimits()) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    try:
        return parse_config(
            data, base=path.parent, environ=os.environ if environ is None else environ
        )
    except ConfigError as exc:
        raise ConfigError("\n".join(f"{path}: {line}" for line in str(exc).splitlines())) from None
