"""Read-only access to a SQLite store database, for real.

Guarantees, in order of importance:

* Nothing is ever written: connections open with ``SQLITE_OPEN_READONLY``,
  set ``PRAGMA query_only``, and install an authorizer that refuses every
  statement that is not a read.
* No file is created beside the store: a WAL database whose ``-wal`` file is
  absent (no writer has it open) is read ``immutable`` rather than letting
  SQLite create ``-wal``/``-shm`` files; when a writer later appears the
  database is reopened in shared WAL mode.
* Reads are short: each view's queries run in one read transaction
  (:meth:`Database.snapshot`), and none stays open between refreshes, so the
  writer's checkpoints are never starved.
* Change detection is cheap: ``PRAGMA data_version`` on a dedicated probe
  connection (or a stat of the files while immutable).
"""

from __future__ import annotations

import os
import stat
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import apsw

from .errors import QueryCancelled, StoreError, describe_sqlite_error

__all__ = ["Database", "FileCheck", "check_file", "column_blob", "column_int", "column_ms", "column_text"]

BUSY_TIMEOUT_MS = 3000
"""How long a read waits on a lock (WAL recovery, an exclusive writer)."""

PROGRESS_STEPS = 100_000
"""VM steps between cancellation checks: about 7 ms of work (SQLite runs
~14k steps per ms on the benchmark machine). Each check is a Python call, so
it must take the GIL; while the UI thread or another worker runs Python, every
check can wait up to the interpreter's 5 ms switch interval. The 12k closure
(30 ms alone) made ~230 checks at 2,000 steps and ~23 at 20,000, and opening
the detail screen still stretched it to ~250 ms; at 100,000 it makes ~5 and
takes ~120 ms there. A cancelled query stops within ~7 ms of work."""

MAX_IDLE_CONNECTIONS = 4
"""Connections kept open between queries (one per concurrent worker)."""

PAGE_CACHE_KIB = 1024
"""SQLite's page cache per connection (its default is 2000 KiB). Enough for
the interior B-tree pages every lookup walks; scans and leaves come from the
OS page cache at no measurable cost (benchmarks/README.md), and five
connections at the default held ~10 MB of the process's memory."""

_SQLITE_MAGIC = b"SQLite format 3\x00"

# Statements a reader may prepare. Everything else (insert, update, delete,
# create, drop, alter, attach, vacuum, analyze ...) is refused at prepare time.
_ALLOWED_ACTIONS = {
    apsw.SQLITE_READ,
    apsw.SQLITE_SELECT,
    apsw.SQLITE_FUNCTION,
    apsw.SQLITE_RECURSIVE,
    apsw.SQLITE_TRANSACTION,
}

# Pragmas that only read. A pragma with an argument that sets something is
# refused unless listed in _SETTABLE_PRAGMAS.
_READ_PRAGMAS = {
    "data_version",
    "user_version",
    "application_id",
    "schema_version",
    "page_count",
    "page_size",
    "freelist_count",
    "journal_mode",
    "auto_vacuum",
    "table_info",
    "table_xinfo",
    "table_list",
    "index_list",
    "index_info",
    "foreign_key_list",
    "quick_check",
    "integrity_check",
    "query_only",
    "compile_options",
}
_SETTABLE_PRAGMAS = {"query_only": {"1", "on", "true", "yes"}}


def _authorizer(action: int, arg1: str | None, arg2: str | None, _db: str | None, _trigger: str | None) -> int:
    if action in _ALLOWED_ACTIONS:
        return apsw.SQLITE_OK
    if action == apsw.SQLITE_PRAGMA and arg1 is not None:
        name = arg1.lower()
        if name in _READ_PRAGMAS and (
            arg2 is None
            or name in ("table_info", "table_xinfo", "index_list", "index_info", "foreign_key_list", "table_list")
            or arg2.lower() in _SETTABLE_PRAGMAS.get(name, ())
        ):
            return apsw.SQLITE_OK
    return apsw.SQLITE_DENY


@dataclass(frozen=True, slots=True)
class FileCheck:
    """What we found about a database file before opening it."""

    path: str
    size: int
    wal_mode: bool
    wal_exists: bool
    shm_exists: bool


def check_file(path: str) -> FileCheck:
    """Check that ``path`` looks like a SQLite database, without opening it.

    Raises:
        StoreError: missing, a directory, unreadable, empty or not SQLite.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise StoreError(f"{path}: no such file") from None
    except PermissionError:
        raise StoreError(f"{path}: permission denied") from None
    except OSError as exc:
        raise StoreError(f"{path}: cannot be read ({exc.strerror})") from None
    if stat.S_ISDIR(st.st_mode):
        raise StoreError(f"{path}: is a directory, not a database file (try {os.path.join(path, 'db.sqlite')})")
    if st.st_size == 0:
        raise StoreError(f"{path}: empty file, not a store database")
    try:
        with open(path, "rb") as handle:
            header = handle.read(100)
    except OSError as exc:
        raise StoreError(f"{path}: cannot be read ({exc.strerror})") from None
    if not header.startswith(_SQLITE_MAGIC):
        raise StoreError(f"{path}: not a SQLite database (no SQLite header)")
    if len(header) < 100:
        raise StoreError(f"{path}: truncated SQLite file ({len(header)} bytes)")
    # Header bytes 18 and 19 are the write and read format versions: 2 = WAL.
    wal_mode = header[18] == 2 or header[19] == 2
    return FileCheck(
        path=path,
        size=st.st_size,
        wal_mode=wal_mode,
        wal_exists=os.path.exists(path + "-wal"),
        shm_exists=os.path.exists(path + "-shm"),
    )


class Database:
    """A read-only handle on one SQLite file, shared by all threads.

    Each thread that runs a query borrows a connection from a small pool for
    the length of one snapshot; connections never cross threads mid-query.
    """

    def __init__(self, path: str) -> None:
        self.path = os.path.abspath(path)
        self.check = check_file(self.path)
        self.warnings: list[str] = []
        self._lock = threading.Lock()
        self._idle: list[apsw.Connection] = []
        self._local = threading.local()
        self._probe: apsw.Connection | None = None
        self._probe_lock = threading.Lock()
        self._generation = 0
        self._closed = False
        # A WAL database without -wal and -shm has no writer attached: reading
        # it normally would create both files beside the store.
        self.immutable = self.check.wal_mode and not self.check.wal_exists and not self.check.shm_exists
        if self.immutable and not os.access(os.path.dirname(self.path), os.W_OK):
            # Where a plain read-only open would fail (it must create -shm):
            # say which way of reading was chosen. The read is exact while no
            # server runs, and data_version switches to shared when one starts.
            self.warnings.append(
                "the database's directory is not writable and no writer has the database open (no -wal/-shm): "
                "reading it as immutable; live reading starts when a writer opens it"
            )
        self._last_stat: tuple | None = None
        # Which file we opened: a file deleted or replaced under us (a restored
        # backup, a copied-over database) is reported, never silently mixed in.
        self._identity = self._file_identity()
        # Fail now, with a clear message, rather than in the first screen.
        with self.snapshot() as conn:
            try:
                conn.execute("select count(*) from sqlite_schema").fetchall()
            except apsw.Error as exc:
                raise StoreError(describe_sqlite_error(exc, self.path)) from None

    # -- connections -----------------------------------------------------

    def _uri(self, immutable: bool, readonly_shm: bool = False) -> str:
        query = "mode=ro"
        if immutable:
            query += "&immutable=1"
        if readonly_shm:
            query += "&readonly_shm=1"
        return "file:" + urllib.parse.quote(self.path) + "?" + query

    @staticmethod
    def _connect(uri: str, flags: int) -> apsw.Connection:
        conn = apsw.Connection(uri, flags=flags)
        # Before the first read: a writer's commit, checkpoint or WAL recovery
        # holds a lock for a moment, and without a busy handler that read
        # fails at once with "database is locked" instead of waiting.
        conn.setbusytimeout(BUSY_TIMEOUT_MS)
        conn.execute("select 1 from sqlite_schema limit 1").fetchall()
        return conn

    def _open(self) -> apsw.Connection:
        flags = apsw.SQLITE_OPEN_READONLY | apsw.SQLITE_OPEN_URI
        # A new connection opens by name: never let it read a file that
        # replaced the one the pool's connections are reading.
        self._check_same_file()
        try:
            conn = self._connect(self._uri(self.immutable), flags)
        except apsw.CantOpenError:
            if self.immutable:
                raise StoreError(describe_sqlite_error(apsw.CantOpenError("cannot open"), self.path)) from None
            # A -shm we may not write (read-only directory or filesystem).
            try:
                conn = self._connect(self._uri(False, readonly_shm=True), flags)
            except apsw.Error:
                self.immutable = True
                self.warnings.append(
                    "the database's -wal/-shm files cannot be used read-only; reading the main "
                    "file as immutable: changes a running writer has not checkpointed are not shown"
                )
                conn = apsw.Connection(self._uri(True), flags=flags)
        except apsw.Error as exc:
            raise StoreError(describe_sqlite_error(exc, self.path)) from None
        conn.setbusytimeout(BUSY_TIMEOUT_MS)
        conn.execute("pragma query_only = 1")
        conn.execute(f"pragma cache_size = -{PAGE_CACHE_KIB}")
        conn.authorizer = _authorizer
        conn.setprogresshandler(self._progress, PROGRESS_STEPS)
        return conn

    def _progress(self) -> bool:
        check: Callable[[], bool] | None = getattr(self._local, "cancelled", None)
        return bool(check is not None and check())

    def _acquire(self) -> tuple[apsw.Connection, int]:
        with self._lock:
            if self._closed:
                raise StoreError(f"{self.path}: the database was closed")
            generation = self._generation
            if self._idle:
                return self._idle.pop(), generation
        return self._open(), generation

    def _release(self, conn: apsw.Connection, generation: int, healthy: bool) -> None:
        with self._lock:
            if healthy and not self._closed and generation == self._generation and len(self._idle) < MAX_IDLE_CONNECTIONS:
                self._idle.append(conn)
                return
        conn.close()

    @contextmanager
    def snapshot(self) -> Iterator[apsw.Connection]:
        """One consistent read transaction for the queries of one view.

        Re-entrant within a thread: nested snapshots share the outer one. The
        transaction ends when the outermost block exits.

        Raises:
            StoreError: for any SQLite failure, worded for the user.
            QueryCancelled: when the thread's cancellation check fired.
        """
        local = self._local
        outer = getattr(local, "conn", None)
        if outer is not None:
            yield outer
            return
        conn, generation = self._acquire()
        local.conn = conn
        healthy = True
        try:
            conn.execute("begin")
            yield conn
        except apsw.InterruptError:
            healthy = False
            raise QueryCancelled("query cancelled") from None
        except apsw.Error as exc:
            healthy = False
            raise StoreError(describe_sqlite_error(exc, self.path)) from None
        except UnicodeDecodeError as exc:
            # apsw decodes TEXT strictly, and a damaged database (or one no zb
            # wrote) may hold bytes that are not UTF-8 in a text column.
            raise StoreError(
                f"{self.path}: the database holds text that is not valid UTF-8 "
                f"({exc.object[max(0, exc.start - 20) : exc.end + 20]!r}): is it damaged?"
            ) from None
        finally:
            local.conn = None
            try:
                if conn.in_transaction:
                    conn.execute("commit")
            except apsw.Error:
                healthy = False
                try:
                    conn.execute("rollback")
                except apsw.Error:
                    pass
            self._release(conn, generation, healthy)

    @contextmanager
    def cancellable(self, cancelled: Callable[[], bool]) -> Iterator[None]:
        """Abandon this thread's queries as soon as ``cancelled()`` is true.

        Used by search-as-you-type: a superseded query stops within a couple
        of milliseconds (PROGRESS_STEPS) instead of finishing its scan.
        """
        previous = getattr(self._local, "cancelled", None)
        self._local.cancelled = cancelled
        try:
            yield
        finally:
            self._local.cancelled = previous

    def check_cancelled(self) -> None:
        """Raise QueryCancelled if this thread's query was cancelled.

        For answers served from memory (no SQLite step runs, so the progress
        handler never gets to ask): a cancelled caller still sees the same
        exception it would have seen from SQL.
        """
        if self._progress():
            raise QueryCancelled("query cancelled")

    # -- change detection -------------------------------------------------

    def _stat(self) -> os.stat_result:
        try:
            return os.stat(self.path)
        except FileNotFoundError:
            raise StoreError(
                f"{self.path}: the database file was deleted; what is shown was read before it was"
            ) from None
        except OSError as exc:
            raise StoreError(f"{self.path}: the database file went away ({exc.strerror})") from None

    def _file_identity(self) -> tuple[int, int]:
        st = self._stat()
        return (st.st_dev, st.st_ino)

    def _check_same_file(self) -> os.stat_result:
        """Stat the database, raising StoreError if it is not the file we opened."""
        st = self._stat()
        if (st.st_dev, st.st_ino) != self._identity:
            raise StoreError(
                f"{self.path}: the database file was replaced by another file; "
                "what is shown was read from the old one (restart zbtui to read the new one)"
            )
        return st

    def data_version(self) -> tuple:
        """A token that changes whenever another connection commits.

        Costs one ``PRAGMA data_version`` on a connection kept for this alone,
        outside any transaction, and a stat that notices the file being
        deleted or replaced (StoreError). While immutable, the stat stands in,
        and the appearance of a ``-wal`` file switches to shared WAL mode.
        """
        if self.immutable:
            st = self._check_same_file()
            wal = os.path.exists(self.path + "-wal")
            token = ("immutable", st.st_ino, st.st_mtime_ns, st.st_size, wal)
            # A writer may also have switched the file to a rollback journal
            # (no -wal then): immutable reads take no locks and would see its
            # writes half done, so read with locks from now on.
            if (wal or self._left_wal_mode()) and not any(w.startswith("the database's -wal") for w in self.warnings):
                self._reopen_shared()
                return ("shared", self._generation, 0)
            if self._last_stat is not None and token != self._last_stat:
                # A writer came and went between two looks (its WAL already
                # folded back into the file): immutable connections cache
                # pages and would keep answering from the old file.
                self._drop_idle()
            self._last_stat = token
            return token
        self._check_same_file()
        with self._probe_lock:
            try:
                if self._probe is None:
                    self._probe = self._open()
                version = self._probe.execute("pragma data_version").fetchall()[0][0]
            except apsw.Error as exc:
                self._probe = None
                raise StoreError(describe_sqlite_error(exc, self.path)) from None
        return ("shared", self._generation, version)

    def _left_wal_mode(self) -> bool:
        """The file is no longer in WAL mode, or a rollback journal is beside it."""
        if os.path.exists(self.path + "-journal"):
            return True
        try:
            with open(self.path, "rb") as handle:
                header = handle.read(20)
        except OSError:
            return False
        # Bytes 18 and 19: file format write and read versions, 2 for WAL.
        return len(header) == 20 and header[18] != 2 and header[19] != 2

    def _drop_idle(self) -> None:
        """Close pooled connections; busy ones are closed when released."""
        with self._lock:
            self._generation += 1
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def _reopen_shared(self) -> None:
        self.immutable = False
        self._drop_idle()
        with self._probe_lock:
            if self._probe is not None:
                self._probe.close()
                self._probe = None

    def file_sizes(self) -> tuple[int, int | None]:
        """Sizes of the database file and of its WAL (None when absent)."""
        try:
            size = os.path.getsize(self.path)
        except OSError:
            size = 0
        try:
            wal: int | None = os.path.getsize(self.path + "-wal")
        except OSError:
            wal = None
        return size, wal

    def close(self) -> None:
        """Close every connection. Safe to call twice."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
        with self._probe_lock:
            if self._probe is not None:
                self._probe.close()
                self._probe = None


# SQLite columns hold whatever was written, whatever their declared type. zb
# and Nix write the types their schemas say; a damaged database (or one they
# did not write) may not, and a value of the wrong type must not take a screen
# down. The stores turn column values into the types the models promise with
# these, at the point where rows become models.

MAX_TIME_MS = 253_402_300_799_999
"""9999-12-31T23:59:59.999Z: later (or negative) times cannot be shown as dates."""


def column_int(value: object) -> int | None:
    """An INTEGER column's value; None for text, blobs and fractions."""
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def column_ms(value: object) -> int | None:
    """A time column (ms since the epoch) that can be shown as a date, else None."""
    ms = column_int(value)
    return ms if ms is not None and 0 <= ms <= MAX_TIME_MS else None


def column_text(value: object) -> str | None:
    """A TEXT column's value; a blob or number stored there is shown as text."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def column_blob(value: object) -> bytes | None:
    """A BLOB column's value (drv hash bits, keys, signatures) as bytes."""
    if value is None or isinstance(value, bytes):
        return value
    return str(value).encode("utf-8", "replace")
