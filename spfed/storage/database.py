"""The database handle: engine, migrations, and where statements run.

Work is queued and run in order, one transaction per batch (group commit):
everything submitted while a batch runs, or during one turn of the event
loop, shares a commit.

- **A server database** (PostgreSQL): batches run on one database thread, so
  network waits never block the event loop.
- **The embedded SQLite**: batches run on the event loop itself, once per
  loop turn. In WAL mode with ``synchronous=NORMAL`` a commit writes to the
  WAL without syncing (measured 20-230 µs), and SQLAlchemy's Python work holds
  the GIL wherever it runs, so a thread only added hand-offs (~60 µs each).
  The one step that syncs to disk, the WAL checkpoint, is taken off the loop:
  automatic checkpoints are off and a background thread checkpoints.

Foreign errors are translated here, in one table, into the domain error tree.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
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

__all__ = ["Database", "executes"]

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


_Work = tuple[Callable[[Connection], Any], "asyncio.Future[Any]"]
_Outcome = tuple[bool, Any]
_CHECKPOINT_BYTES = 4 * 1024 * 1024


class Database:
    """An engine plus the thread its statements run on."""

    def __init__(self, engine: Engine, executor: ThreadPoolExecutor, *, on_loop: bool) -> None:
        self.engine = engine
        self._executor = executor
        self._on_loop = on_loop
        self._queue: list[_Work] = []
        self._in_flight = False
        self._closed = False
        self._checkpointer: asyncio.Task[None] | None = None
        self._conn: Connection | None = None

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
            raise InvalidArgument(
                f"storage.url: no driver for '{parsed.drivername}': {exc}"
            ) from exc
        if sqlite:
            event.listen(engine, "connect", _sqlite_pragmas)
        executor = ThreadPoolExecutor(1, thread_name_prefix="spfed-db")
        return cls(engine, executor, on_loop=sqlite)

    async def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision."""

        def upgrade(conn: Connection) -> None:
            cfg = Config()
            cfg.set_main_option("script_location", str(MIGRATIONS))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

        await self.run(upgrade)

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
            if self._on_loop:
                self._in_flight = True
                loop.call_soon(self._run_on_loop)
            else:
                self._start_batch(loop)
        return future

    def _run_on_loop(self) -> None:
        batch, self._queue = self._queue, []
        self._in_flight = False
        self._settle(batch, self._run_batch([fn for fn, _ in batch]))
        if self._checkpointer is None and self._wal_file() is not None:
            self._checkpointer = asyncio.get_running_loop().create_task(self._checkpoints())

    def _wal_file(self) -> Path | None:
        url = self.engine.url
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            return None
        return Path(f"{url.database}-wal")

    async def _checkpoints(self) -> None:
        """Checkpoint the WAL on the database thread, every second, while it grows."""
        loop = asyncio.get_running_loop()
        wal = self._wal_file()
        assert wal is not None

        def checkpoint() -> None:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

        while not self._closed:
            await asyncio.sleep(1.0)
            try:
                if wal.exists() and wal.stat().st_size > _CHECKPOINT_BYTES:
                    await loop.run_in_executor(self._executor, checkpoint)
            except (DBAPIError, OSError):
                log.warning("event=wal_checkpoint_failed", exc_info=True)

    async def run(self, fn: Callable[[Connection], T]) -> T:
        """Submit ``fn`` and wait until it is committed (see ``submit``)."""
        return await self.submit(fn)

    def _start_batch(self, loop: asyncio.AbstractEventLoop) -> None:
        batch, self._queue = self._queue, []
        done = loop.run_in_executor(self._executor, self._run_batch, [fn for fn, _ in batch])
        self._in_flight = True
        done.add_done_callback(lambda f: self._finish_batch(loop, batch, f))

    def _finish_batch(
        self,
        loop: asyncio.AbstractEventLoop,
        batch: list[_Work],
        done: asyncio.Future[list[_Outcome]],
    ) -> None:
        self._in_flight = False
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
            self._start_batch(loop)

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
        """One transaction; on the loop, on the connection kept open for it.

        Checking a connection out of the pool and resetting it on return cost
        more than most batches' statements, so the loop keeps one.
        """
        if not self._on_loop:
            with self.engine.begin() as conn:
                yield conn
            return
        if self._conn is None or self._conn.invalidated or self._conn.closed:
            self._conn = self.engine.connect()
        with self._conn.begin():
            yield self._conn

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
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        await asyncio.get_running_loop().run_in_executor(self._executor, self.engine.dispose)
        self._executor.shutdown(wait=False)  # its one thread is idle: dispose just ran there
