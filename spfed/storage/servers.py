"""Database URLs and whole databases on a PostgreSQL server, for tools that set nodes up.

A node only ever uses the database its ``storage.url`` names (``Database``).
``spfed topology up`` may give each operator a database of its own on one
PostgreSQL server: ``database_on`` names it, ``create_database`` makes it
when it is missing, ``drop_database`` removes it again (``down --purge``).
``url_problem`` tells, without connecting, why a URL cannot be used, and
``masked`` hides its password for logs and state files.

Everything here blocks (one short connection per call); foreign errors are
translated into the domain error tree, as ``spfed.storage.database`` does.
"""

from __future__ import annotations

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    NoSuchModuleError,
    OperationalError,
    ProgrammingError,
)
from sqlalchemy.pool import NullPool

from spfed.errors import Aborted, InvalidArgument, Unavailable

__all__ = [
    "MAINTENANCE_DATABASE",
    "create_database",
    "database_on",
    "drop_database",
    "masked",
    "postgresql_server_problem",
    "url_problem",
]

MAINTENANCE_DATABASE = "postgres"
"""The database a server URL without one connects to, to create and drop others."""
_CONNECT_TIMEOUT_S = 5
_INSTALL_HINTS = {"psycopg": "pip install 'spfed[postgres]'"}
"""How to install a missing driver, by its SQLAlchemy driver name."""


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except ArgumentError as exc:
        raise InvalidArgument(f"not a database URL: {exc}") from None


def masked(url: str) -> str:
    """``url`` with its password replaced by ``***`` (as is, if it does not parse)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def url_problem(url: str) -> str | None:
    """Why a node could not use storage URL ``url``, or None; nothing is connected.

    The URL must parse, and its dialect and driver must be installed.
    """
    try:
        parsed = _parse(url)
    except InvalidArgument as exc:
        return exc.message
    try:
        dialect = parsed.get_dialect()
        dialect.import_dbapi()
    except (NoSuchModuleError, ImportError) as exc:
        hint = _INSTALL_HINTS.get(parsed.drivername.partition("+")[2])
        return f"no driver for '{parsed.drivername}': {exc}" + (f" ({hint})" if hint else "")
    return None


def postgresql_server_problem(url: str) -> str | None:
    """Why ``url`` cannot name a PostgreSQL server to make databases on, or None."""
    problem = url_problem(url)
    if problem is not None:
        return problem
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return (
            f"'{masked(url)}' is not a PostgreSQL URL"
            " (e.g. postgresql+psycopg://user@127.0.0.1:5432)"
        )
    return None


def database_on(server_url: str, name: str) -> str:
    """The URL of database ``name`` on the server of ``server_url`` (its user, host, options).

    Raises:
        InvalidArgument: ``server_url`` is not a database URL.
    """
    return _parse(server_url).set(database=name).render_as_string(hide_password=False)


def _admin(url: str) -> tuple[URL, str]:
    """The maintenance URL of the server of ``url``, and the database ``url`` names."""
    parsed = _parse(url)
    if parsed.get_backend_name() != "postgresql":
        raise InvalidArgument(f"'{masked(url)}' is not a PostgreSQL database")
    if not parsed.database:
        raise InvalidArgument(f"'{masked(url)}' names no database")
    return parsed.set(database=MAINTENANCE_DATABASE), parsed.database


def _execute(admin: URL, name: str, action: str) -> bool:
    """Run ``action`` (create or drop) for database ``name`` through ``admin``.

    CREATE and DROP DATABASE cannot run inside a transaction: the connection autocommits.
    """
    engine = create_engine(
        admin,
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
        connect_args={"connect_timeout": _CONNECT_TIMEOUT_S},
    )
    where = f"PostgreSQL at {admin.render_as_string(hide_password=True)}"
    try:
        with engine.connect() as conn:
            return _create(conn, name) if action == "create" else _drop(conn, name)
    except OperationalError as exc:
        raise Unavailable(f"{where}: cannot {action} database {name}: {exc.orig}") from exc
    except DBAPIError as exc:
        raise Aborted(f"{where}: cannot {action} database {name}: {exc.orig}") from exc
    finally:
        engine.dispose()


def _exists(conn: Connection, name: str) -> bool:
    found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name})
    return found.first() is not None


def _create(conn: Connection, name: str) -> bool:
    if _exists(conn, name):
        return False
    quoted = conn.dialect.identifier_preparer.quote_identifier(name)
    try:
        conn.execute(text(f"CREATE DATABASE {quoted}"))
    except ProgrammingError:
        if _exists(conn, name):  # created meanwhile by someone else
            return False
        raise
    return True


def _drop(conn: Connection, name: str) -> bool:
    if not _exists(conn, name):
        return False
    quoted = conn.dialect.identifier_preparer.quote_identifier(name)
    # FORCE (PostgreSQL 13+) ends the sessions still connected to it, e.g. a node killed
    # a moment ago whose connections the server has not noticed yet.
    conn.execute(text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
    return True


def create_database(url: str) -> bool:
    """Create the PostgreSQL database ``url`` names, unless it exists; True if created.

    Raises:
        InvalidArgument: ``url`` is not a PostgreSQL URL naming a database.
        Unavailable: the server cannot be reached.
        Aborted: the server refused (e.g. the user may not create databases).
    """
    admin, name = _admin(url)
    return _execute(admin, name, "create")


def drop_database(url: str) -> bool:
    """Drop the PostgreSQL database ``url`` names, if it exists; True if dropped.

    Sessions still connected to it are ended first.

    Raises:
        InvalidArgument: ``url`` is not a PostgreSQL URL naming a database.
        Unavailable: the server cannot be reached.
        Aborted: the server refused.
    """
    admin, name = _admin(url)
    return _execute(admin, name, "drop")
