"""A topology CA, a second CA of the same name, and certificates from both."""

from __future__ import annotations

from pathlib import Path

import pytest

from spfed.topology.pki import IssuedCert, TopologyCa


@pytest.fixture
def ca(tmp_path: Path) -> TopologyCa:
    """The CA of topology ``demo``."""
    return TopologyCa.create(tmp_path / "pki", "demo")


@pytest.fixture
def other_ca(tmp_path: Path) -> TopologyCa:
    """The CA of another topology also called ``demo``: same name, different key."""
    return TopologyCa.create(tmp_path / "other-pki", "demo")


@pytest.fixture
def node(ca: TopologyCa, tmp_path: Path) -> IssuedCert:
    """Node ``retail`` of ``demo``."""
    return ca.issue_node("retail", tmp_path / "retail")


@pytest.fixture
def client(ca: TopologyCa, tmp_path: Path) -> IssuedCert:
    """Alice's CLI in ``demo``."""
    return ca.issue_client("alice", tmp_path / "alice")


@pytest.fixture
def stranger(other_ca: TopologyCa, tmp_path: Path) -> IssuedCert:
    """A client certificate from the other CA."""
    return other_ca.issue_client("mallory", tmp_path / "mallory")
