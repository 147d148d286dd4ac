"""The persistent default cache: one SQLite file, WAL mode, shared by every call in the process.

Writes never block the caller: answers are queued and one writer thread commits them in groups
(every few milliseconds, see :mod:`.buffered`), so an interrupted run resumes where it stopped,
losing at most the last few milliseconds. WAL with ``synchronous=NORMAL`` keeps each commit cheap
(no fsync per write) while staying crash-safe for the database itself, and lets reads run while
another connection (or process) writes.

What goes wrong, and what happens then:

* another process holds the write lock (a long transaction): the write is rolled back, the
  answers stay in memory (served) and the writer retries with backoff until it gets through;
  the caller is warned if that lasts more than a few seconds;
* the file is corrupt (truncated, not a database): reads raise :class:`~hf_frame.errors.CacheError`
  naming the file and the remedy; :meth:`SQLiteCache.clear` recreates it;
* the directory is not writable: a good database is opened read-only and still serves reads;
  new answers are kept in memory (one warning). Without a database there, opening fails naming
  the directory;
* the file or its directory is deleted while the process runs: noticed before the next write,
  which recreates it.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from ..errors import CacheError
from .buffered import BufferedCache

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL,
    created REAL NOT NULL DEFAULT (julianday('now'))
) WITHOUT ROWID
"""
_CHUNK = 500  # SQLite limits the number of bound parameters per statement
_OPEN_BUSY_S = 5.0  # opening may wait this long for another process (creating the schema)
_WRITE_BUSY_MS = 100  # a write waits this long for the lock, then the writer backs off and retries
_READ_BUSY_MS = 2000
_MAGIC = b"SQLite format 3\x00"
_INSERT = "INSERT OR REPLACE INTO answers (key, value) VALUES (?, ?)"


class SQLiteCache(BufferedCache):
    """Key -> bytes in a SQLite file, written by a background thread (see the module docstring).

    >>> cache = SQLiteCache("/tmp/hf_frame_doctest.sqlite")
    >>> cache.put_many({"k": b"v"}); cache.get_many(["k", "missing"])
    {'k': b'v'}
    >>> cache.flush()
    True
    """

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = Path(path).expanduser()
        self.location = str(self.path)
        self._read_lock = threading.Lock()
        self._db: sqlite3.Connection | None = None  # the writer's connection (under _io_lock)
        self._reader: sqlite3.Connection | None = None  # reads (under _read_lock)
        self._identity: tuple[int, int] | None = None  # (device, inode) of the file opened
        self._broken: CacheError | None = None  # set while the file is corrupt
        with self._io_lock:
            self._open()

    # -- opening --------------------------------------------------------------------------

    def _open(self) -> None:
        """(Re)open the file, creating it and its directory if needed. Under ``_io_lock``."""
        self._close_backend()
        self._broken = None
        self._readonly_reason = None
        directory = self.path.parent
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            if not directory.is_dir():
                raise CacheError(
                    f"cannot create the cache directory {directory} ({exc.strerror or exc}); pass "
                    "cache='memory', cache=False or a writable directory"
                ) from None
        if self.path.exists() and not self.path.is_file():
            raise CacheError(f"the answer cache {self.path} is not a file; pass a .sqlite path or a directory")
        damage = _damage(self.path)
        if damage is not None:
            self._broken = self._corrupt(damage)
            return
        try:
            if _writable(directory, self.path):
                try:
                    self._open_read_write()
                except sqlite3.OperationalError as exc:
                    if not _is_readonly(exc):
                        raise
                    self._close_backend()
                    self._open_read_only(f"{directory} is not writable: {exc}")
            else:
                self._open_read_only(f"{directory} is not writable")
        except sqlite3.DatabaseError as exc:
            self._close_backend()
            if _is_corrupt(exc):
                self._broken = self._corrupt(str(exc))
                return
            raise CacheError(f"cannot open the answer cache {self.path}: {exc}") from None
        self._identity = _identity(self.path)

    def _open_read_write(self) -> None:
        db = _connect(str(self.path), uri=False)
        self._db = db
        db.execute(f"PRAGMA busy_timeout={int(_OPEN_BUSY_S * 1000)}")
        (mode,) = db.execute("PRAGMA journal_mode=WAL").fetchone()
        if str(mode).lower() != "wal":
            logger.warning("cache %s: SQLite could not use WAL mode (got %r); concurrent runs will wait on each other",
                           self.path, mode)
        logger.debug("cache: SQLite file %s (journal mode %s)", self.path, mode)
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(_SCHEMA)
        db.execute(f"PRAGMA busy_timeout={_WRITE_BUSY_MS}")
        reader = _connect(str(self.path), uri=False)
        reader.execute(f"PRAGMA busy_timeout={_READ_BUSY_MS}")
        reader.execute("SELECT 1 FROM answers LIMIT 1").fetchall()
        with self._read_lock:
            self._reader = reader

    def _open_read_only(self, reason: str) -> None:
        """A directory we cannot write: read the database if there is one, keep new answers in memory."""
        if not self.path.is_file():
            raise CacheError(
                f"the cache directory {self.path.parent} is not writable and holds no {self.path.name}; "
                "pass cache='memory', cache=False or a writable directory"
            )
        target = quote(str(self.path.resolve()))
        try:  # mode=ro needs the -shm file to exist or be creatable; immutable=1 needs nothing
            reader = _connect(f"file:{target}?mode=ro", uri=True)
            reader.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
        except sqlite3.OperationalError:
            reader = _connect(f"file:{target}?immutable=1", uri=True)
            reader.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
        with self._read_lock:
            self._reader = reader
        self._readonly_reason = reason

    def _corrupt(self, why: str) -> CacheError:
        return CacheError(
            f"the answer cache {self.path} is corrupt ({why}). Clear it with hf_frame.clear_cache() "
            f"or `hf-frame cache --clear` (or delete the file); its answers are lost, nothing else is"
        )

    def _check_file(self) -> None:
        """Before a write: reopen when closed, or when the file was deleted or replaced."""
        if self._db is None or _identity(self.path) != self._identity:
            self._open()
        if self._broken is not None:
            raise self._broken
        if self._db is None:  # opened read-only (the directory became read-only meanwhile)
            raise CacheError(f"the answer cache {self.path} cannot be written ({self._readonly_reason})")

    # -- BufferedCache hooks --------------------------------------------------------------

    def _write(self, items: dict[str, bytes]) -> None:
        self._check_file()
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            db.executemany(_INSERT, items.items())
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:  # never leave a transaction open: the next BEGIN would fail
                try:
                    db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            raise

    def _explain(self, exc: BaseException) -> str:
        if isinstance(exc, CacheError):
            return str(exc)
        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            return f"{exc}: another process holds the write lock"
        return f"{type(exc).__name__}: {exc}"

    def _read(self, keys: list[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        with self._reading() as reader:
            try:
                for i in range(0, len(keys), _CHUNK):
                    part = keys[i : i + _CHUNK]
                    marks = ",".join("?" * len(part))
                    # BLOBs come back as bytes: the rows go into the dict without a Python loop
                    found.update(reader.execute(f"SELECT key, value FROM answers WHERE key IN ({marks})", part))
            except sqlite3.DatabaseError as exc:
                raise self._read_error(exc) from None
        return found

    def _stats(self) -> tuple[int, int]:
        with self._reading() as reader:
            try:
                entries, size = reader.execute(
                    "SELECT count(*), coalesce(sum(length(value)), 0) FROM answers").fetchone()
            except sqlite3.DatabaseError as exc:
                raise self._read_error(exc) from None
        return entries, size

    def _clear_backend(self, pending: set[str]) -> int:
        if self._broken is None:
            if self._readonly_reason is not None:
                raise CacheError(f"cannot clear the answer cache {self.path}: {self._readonly_reason}")
            try:
                return self._delete_all(pending)
            except CacheError:
                if self._broken is None:
                    raise
            except sqlite3.DatabaseError as exc:
                if not _is_corrupt(exc):
                    raise CacheError(f"cannot clear the answer cache {self.path}: {self._explain(exc)}") from None
        self._recreate()
        return len(pending)

    def _delete_all(self, pending: set[str]) -> int:
        self._check_file()
        db = self._db
        (stored,) = db.execute("SELECT count(*) FROM answers").fetchone()
        keys = list(pending)
        known = 0  # pending keys already stored (overwrites): counted once
        for i in range(0, len(keys), _CHUNK):
            part = keys[i : i + _CHUNK]
            marks = ",".join("?" * len(part))
            (n,) = db.execute(f"SELECT count(*) FROM answers WHERE key IN ({marks})", part).fetchone()
            known += n
        db.execute("DELETE FROM answers")
        try:
            db.execute("VACUUM")  # only gives the space back: skipped when another process is busy
        except sqlite3.OperationalError:
            pass
        removed = stored + len(pending) - known
        logger.debug("cache %s: cleared %d entries", self.path, removed)
        return removed

    def _close_backend(self) -> None:
        with self._read_lock:
            reader, self._reader = self._reader, None
        for db in (self._db, reader):
            if db is not None:
                try:
                    db.close()
                except sqlite3.Error:
                    pass
        self._db = None

    # -- helpers --------------------------------------------------------------------------

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """The read connection, under its lock (reopened first if the store was closed)."""
        while True:
            if self._reader is None and self._broken is None:
                with self._io_lock:
                    if self._reader is None and self._broken is None:
                        self._open()
            with self._read_lock:
                if self._broken is not None:
                    raise self._broken
                if self._reader is None:
                    continue  # closed by another thread meanwhile: reopen
                yield self._reader
                return

    def _read_error(self, exc: sqlite3.DatabaseError) -> CacheError:
        if _is_corrupt(exc):
            self._broken = self._corrupt(str(exc))
            return self._broken
        return CacheError(f"cannot read the answer cache {self.path}: {self._explain(exc)}")

    def _recreate(self) -> None:
        """Delete a corrupt file (with its -wal and -shm) and start an empty one."""
        self._close_backend()
        for suffix in ("", "-wal", "-shm", "-journal"):
            try:
                os.unlink(f"{self.path}{suffix}")
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise CacheError(f"cannot delete the corrupt answer cache {self.path}{suffix}: "
                                 f"{exc.strerror or exc}") from None
        self._open()
        if self._broken is not None:
            raise self._broken


def _connect(target: str, *, uri: bool) -> sqlite3.Connection:
    return sqlite3.connect(target, uri=uri, check_same_thread=False, isolation_level=None, timeout=_OPEN_BUSY_S)


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _writable(directory: Path, path: Path) -> bool:
    return os.access(directory, os.W_OK) and (not path.exists() or os.access(path, os.W_OK))


def _damage(path: Path) -> str | None:
    """Why ``path`` is certainly not a usable database (None when it looks fine or is absent).

    Cheap: reads the 100-byte header. A file shorter than its header says is truncated; that is only
    trusted when no -wal file exists (another process checkpointing may be extending the file)."""
    try:
        size = path.stat().st_size
        if size == 0:
            return None
        with open(path, "rb") as f:
            head = f.read(100)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EPERM):
            return None  # sqlite will say so, naming the file
        raise CacheError(f"cannot read the answer cache {path}: {exc.strerror or exc}") from None
    if len(head) < 100 or not head.startswith(_MAGIC):
        return "it is not a SQLite database"
    page_size = int.from_bytes(head[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(head[28:32], "big")
    header_size_valid = head[24:28] == head[92:96]
    wal = Path(f"{path}-wal")
    if pages and header_size_valid and size < pages * page_size and not (wal.exists() and wal.stat().st_size):
        return f"it is truncated: {size} bytes where its header says {pages * page_size}"
    return None


def _is_corrupt(exc: sqlite3.DatabaseError) -> bool:
    name = getattr(exc, "sqlite_errorname", "")
    if name in ("SQLITE_CORRUPT", "SQLITE_NOTADB") or name.startswith("SQLITE_CORRUPT_"):
        return True
    text = str(exc)
    return "malformed" in text or "not a database" in text


def _is_readonly(exc: sqlite3.OperationalError) -> bool:
    name = getattr(exc, "sqlite_errorname", "")
    text = str(exc)
    return (name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM"))
            or "readonly" in text or "unable to open" in text)
