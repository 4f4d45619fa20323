"""The database handle: engine, migrations, and where statements run.

Work is queued and run in order, one transaction per batch (group commit):
everything submitted while a batch runs, or during one turn of the event
loop, shares a commit.

- **A server database** (PostgreSQL): batches run on one database thread, so
  network waits never block the event loop.
- **The embedded SQLite**: a batch of at most ``LOOP_BATCH`` works runs on
  the event loop itself, once per loop turn; a larger one runs on the
  database thread. In WAL mode with ``synchronous=NORMAL`` a commit writes
  to the WAL without syncing (measured 20-230 µs), and a hand-off to the
  thread costs more than that: with every batch on the thread, the demo
  service's instantiate took 56 ms at the median instead of 40. But a batch's
  size is not bounded: a 256-function service queues some 3,000 rows (PoP
  state, handles, events) within a few loop turns, and every sqlite3 call
  releases the GIL, so with another thread busy (admission runs on threads)
  each statement waits up to the switch interval to take it back. On the
  loop, such a batch stalled every other caller for up to a second; on the
  thread, the loop keeps its turns. Both keep one connection, used by one
  batch at a time (a pool check-out and reset per commit cost more than most
  batches' statements). The one step that syncs to disk, the WAL checkpoint,
  is kept out of the commits: automatic checkpoints are off and the database
  thread checkpoints between batches.

Foreign errors are translated here, in one table, into the domain error tree.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, Executable, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    IntegrityError,
    NoSuchModuleError,
    OperationalError,
)
from sqlalchemy.pool import StaticPool

from spfed.errors import Aborted, AlreadyExists, InvalidArgument, SpfedError, Unavailable
from spfed.storage.servers import url_problem

__all__ = ["Database", "MigrationReport", "executes"]

T = TypeVar("T")
log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # NORMAL is durable across application crashes in WAL mode; only a power
    # loss may roll back the last commits.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    # Checkpoints (the only step that syncs to disk) run on a background
    # thread, not inside a commit on the event loop.
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


def _translate(exc: Exception) -> SpfedError:
    """The one table of foreign storage errors."""
    if isinstance(exc, IntegrityError):
        return AlreadyExists(f"conflicting record: {exc.orig}")
    if isinstance(exc, OperationalError):
        return Unavailable(f"database unavailable: {exc.orig}")
    if isinstance(exc, DBAPIError):
        return Aborted(f"database error: {exc.orig}")
    return Aborted(f"database error: {exc}")


def executes(statement: Executable, params: Mapping[str, Any]) -> Callable[[Connection], None]:
    """Work that executes one statement with its parameters."""

    def run(conn: Connection) -> None:
        conn.execute(statement, params)

    return run


def _wal_file(engine: Engine) -> Path | None:
    """The write-ahead log of a SQLite file database; None for any other database."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(f"{url.database}-wal")


@dataclass(frozen=True)
class MigrationReport:
    """What ``Database.migrate`` did."""

    applied: tuple[str, ...]
    """The revisions it applied, oldest first; empty when the schema was up to date."""
    schema: str
    """The schema's revision afterwards (the newest one)."""


_Work = tuple[Callable[[Connection], Any], "asyncio.Future[Any]"]
_Outcome = tuple[bool, Any]
_CHECKPOINT_BYTES = 4 * 1024 * 1024
LOOP_BATCH = 8
"""Most works an embedded database's batch may hold and still run on the event loop."""


class Database:
    """An engine plus the thread its statements run on."""

    def __init__(self, engine: Engine, executor: ThreadPoolExecutor, *, embedded: bool) -> None:
        self.engine = engine
        self._executor = executor
        self._embedded = embedded
        self._queue: list[_Work] = []
        self._in_flight = False
        self._closed = False
        self._checkpointer: asyncio.Task[None] | None = None
        self._conn: Connection | None = None
        self._wal = _wal_file(engine)

    @classmethod
    def connect(cls, url: str) -> Database:
        """Create the engine for a SQLAlchemy URL (no I/O yet).

        Raises:
            InvalidArgument: the URL is malformed or names an unknown driver.
        """
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise InvalidArgument(f"storage.url: {exc}") from exc
        sqlite = parsed.get_backend_name() == "sqlite"
        memory = sqlite and parsed.database in (None, "", ":memory:")
        kwargs: dict[str, Any] = {}
        if sqlite:
            kwargs["connect_args"] = {"check_same_thread": False}
            if memory:
                kwargs["poolclass"] = StaticPool
        else:
            kwargs["pool_pre_ping"] = True
        try:
            engine = create_engine(parsed, **kwargs)
        except (NoSuchModuleError, ImportError) as exc:
            problem = url_problem(url) or f"no driver for '{parsed.drivername}': {exc}"
            raise InvalidArgument(f"storage.url: {problem}") from exc
        if sqlite:
            event.listen(engine, "connect", _sqlite_pragmas)
        executor = ThreadPoolExecutor(1, thread_name_prefix="spfed-db")
        return cls(engine, executor, embedded=sqlite)

    async def migrate(self) -> MigrationReport:
        """Bring the schema to the newest Alembic revision; logs and returns what was applied.

        One INFO line, ``event=schema_migrated applied=0009,0010 schema=0010``
        (``applied=none`` when the schema was already at the newest revision).
        """

        def upgrade(conn: Connection) -> MigrationReport:
            before = MigrationContext.configure(conn).get_current_revision()
            cfg = Config()
            cfg.set_main_option("script_location", str(MIGRATIONS))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            after = MigrationContext.configure(conn).get_current_revision()
            script = ScriptDirectory.from_config(cfg)
            applied = [
                r.revision
                for r in script.iterate_revisions(after, before or "base")
                if r is not None
            ]
            return MigrationReport(tuple(reversed(applied)), after or "")

        report = await self.run(upgrade)
        log.info(
            "event=schema_migrated applied=%s schema=%s",
            ",".join(report.applied) or "none",
            report.schema or "empty",
        )
        return report

    def submit(self, fn: Callable[[Connection], T]) -> asyncio.Future[T]:
        """Queue ``fn`` for the database thread now; the future resolves once committed.

        Work is committed in the order it was submitted, so a caller may
        submit without awaiting and still rely on later work landing after
        it. ``fn`` may share its transaction with other work submitted
        meanwhile; if any of them fails, each is re-run in a transaction of its
        own, so one failure never rolls back another caller's write.

        Contract: ``fn`` acts only through the connection (it may run twice,
        the first run rolled back), and returns a value built from what it read.

        Raises (through the future):
            SpfedError: a translated database error; ``fn``'s changes are rolled back.
            Unavailable: the database was closed.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        if self._closed:
            future.set_exception(Unavailable("the node's database is closed"))
            return future
        self._queue.append((fn, future))
        if not self._in_flight:
            self._in_flight = True
            if self._embedded:
                loop.call_soon(self._dispatch, loop)  # gather this turn's work first
            else:
                self._dispatch(loop)
        if self._checkpointer is None and self._wal is not None:
            self._checkpointer = loop.create_task(self._checkpoints(self._wal))
        return future

    async def _checkpoints(self, wal: Path) -> None:
        """Checkpoint the WAL on the database thread, every second, while it grows."""
        loop = asyncio.get_running_loop()

        def checkpoint() -> None:
            if not wal.exists() or wal.stat().st_size <= _CHECKPOINT_BYTES:
                return
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

        while not self._closed:
            await asyncio.sleep(1.0)
            try:
                await loop.run_in_executor(self._executor, checkpoint)
            except (DBAPIError, OSError):
                log.warning("event=wal_checkpoint_failed", exc_info=True)

    async def run(self, fn: Callable[[Connection], T]) -> T:
        """Submit ``fn`` and wait until it is committed (see ``submit``)."""
        return await self.submit(fn)

    def _dispatch(self, loop: asyncio.AbstractEventLoop) -> None:
        """Run the queued work as one batch: a small embedded one here, any other on the thread.

        Called with ``_in_flight`` set; it stays set until the batch is settled.
        """
        batch, self._queue = self._queue, []
        if self._embedded and len(batch) <= LOOP_BATCH:
            self._settle(batch, self._run_batch([fn for fn, _ in batch]))
            self._in_flight = False
            return
        done = loop.run_in_executor(self._executor, self._run_batch, [fn for fn, _ in batch])
        done.add_done_callback(lambda f: self._finish_batch(loop, batch, f))

    def _finish_batch(
        self,
        loop: asyncio.AbstractEventLoop,
        batch: list[_Work],
        done: asyncio.Future[list[_Outcome]],
    ) -> None:
        if done.cancelled():
            outcomes: list[_Outcome] = [(False, Aborted("the database thread stopped"))] * len(
                batch
            )
        elif done.exception() is not None:
            outcomes = [(False, done.exception())] * len(batch)
        else:
            outcomes = done.result()
        self._settle(batch, outcomes)
        if self._queue:
            self._dispatch(loop)
        else:
            self._in_flight = False

    @staticmethod
    def _settle(batch: list[_Work], outcomes: list[_Outcome]) -> None:
        for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
            if future.done():
                continue  # the caller went away; the work itself was done
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    def _run_batch(self, batch: list[Callable[[Connection], Any]]) -> list[_Outcome]:
        if len(batch) > 1:
            try:
                with self._transaction() as conn:
                    return [(True, fn(conn)) for fn in batch]
            except Exception:  # isolate the failing work below
                log.debug("event=group_commit_split size=%d", len(batch))
        return [self._run_one(fn) for fn in batch]

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """One transaction; with SQLite, on the one connection kept open for it.

        Checking a connection out of the pool and resetting it on return cost
        more than most batches' statements. One batch runs at a time (on the
        loop or on the database thread), so the kept connection is never shared.
        """
        if not self._embedded:
            with self.engine.begin() as conn:
                yield conn
            return
        if self._conn is None or self._conn.invalidated or self._conn.closed:
            self._conn = self.engine.connect()
        with self._conn.begin():
            yield self._conn

    def _dispose(self) -> None:
        """Close the kept connection and the pool (on the database thread, which used them)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self.engine.dispose()

    def _run_one(self, fn: Callable[[Connection], Any]) -> _Outcome:
        try:
            with self._transaction() as conn:
                return True, fn(conn)
        except SpfedError as exc:
            return False, exc
        except (DBAPIError, OSError) as exc:
            error = _translate(exc)
            error.__cause__ = exc
            return False, error
        except Exception as exc:  # a bug in fn: its caller gets it, not the batch
            return False, exc

    async def close(self) -> None:
        """Let submitted work finish, refuse new work, release every connection."""
        if self._closed:
            return
        while self._in_flight or self._queue:
            await self.submit(lambda conn: None)
        self._closed = True
        if self._checkpointer is not None:
            self._checkpointer.cancel()
            await asyncio.gather(self._checkpointer, return_exceptions=True)
        await asyncio.get_running_loop().run_in_executor(self._executor, self._dispose)
        self._executor.shutdown(wait=False)  # its one thread is idle: dispose just ran there
