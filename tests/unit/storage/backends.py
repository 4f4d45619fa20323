"""Reaching the PostgreSQL server the storage tests run against."""

from __future__ import annotations

import os
from typing import Any

import psycopg
import pytest

PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"


def admin_connection(host: str = PG_HOST, port: int = PG_PORT) -> psycopg.Connection[Any]:
    """An autocommit connection to the ``postgres`` database.

    Skips the calling test when the server is unreachable, or fails it when ``CI=true``.
    """
    where = f"PostgreSQL at {host}:{port} (user {PG_USER}, trust auth)"
    try:
        return psycopg.connect(
            host=host,
            port=port,
            user=PG_USER,
            dbname="postgres",
            autocommit=True,
            connect_timeout=3,
        )
    except psycopg.OperationalError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{where} is required when CI=true: {exc}")
        pytest.skip(f"{where} is not reachable, so the PostgreSQL runs are skipped: {exc}")
