"""The resume journal: an SQLite file recording every item's outcome as it happens.

Writes go through one writer thread that commits in batches (WAL mode), so the event loop
never waits on the disk for ordinary outcomes. One write is different: before the last byte
of a *creating* request leaves (a note, an attachment, a comms entry), the item is marked
``sent`` and that mark is committed first. If the process dies after that, the rerun knows
the request may have been applied and does not send it again (status ``unknown``, unless
``retry_unknown=True``); if it dies before, the request cannot have been applied, and the
rerun sends it. That is what makes a killed import resumable without duplicates.

The ``sent`` mark is committed on the event loop's thread, and the last byte is written
right after it with no ``await`` in between: a process killed in that gap would leave an
item marked ``sent`` that the server never received (it would end ``unknown`` and be
missing). Done in the writer thread, the gap would be an event-loop turn (milliseconds under
load); done here, it is microseconds, for the price of one small WAL commit (no fsync).

One run holds a journal at a time: :meth:`Journal.open` takes an exclusive lock on a
``<journal>.lock`` file beside it (``flock``; the kernel releases it when the process dies,
so a killed run never leaves a stale lock) and writes the holder's pid and host there, so a
second run fails at once with a :class:`~zyntro_async.JournalError` naming the process.

The file identifies itself (SQLite ``application_id`` and ``user_version``): an empty file,
another program's database, a damaged file or a journal written by a newer zyntro-async is
a :class:`~zyntro_async.JournalError` before anything is sent. Each outcome (and each
``sent`` mark) is stored with the item's *fingerprint* (a hash of its content, its key left
out), so an item whose content changed under the same key is not mistaken for one already
done: :func:`resume` sends a changed upsert again, and reports a changed creating item
whose earlier content may be in Zyntro as a conflict (``JOURNAL_CONFLICT``) unless
``retry_changed``.

One more row, in a table of its own: what the latest run learned of the API's rate limit
(its rate, a cap's window), so that a rerun in a new process starts paced from it instead
of meeting the limit blind (see :class:`~zyntro_async.bulk.LearnedLimit`). Older journals
get the table when opened; older versions of the library ignore it.

Credentials never reach the journal: it stores keys, statuses, result values (IDs) and
error codes/messages, which the SDK already scrubs of secrets.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import socket
import sqlite3
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

import anyio.to_thread
import attrs

from zyntro_async._errors import (
    AmbiguousOutcomeError,
    JournalConflictError,
    JournalError,
    ZyntroError,
)
from zyntro_async._serde import converter
from zyntro_async.bulk._governor import LearnedLimit
from zyntro_async.bulk._report import Status, error_code
from zyntro_async.models._results import (
    AttachmentResult,
    CommsResult,
    ContactRecord,
    ContactResult,
    Note,
)

__all__ = ["Journal", "JournalEntry", "Resume", "recorded_status", "resume"]

SENT = "sent"  # write-ahead mark of a creating request whose body is about to complete
_RESULT_TYPES: dict[str, type[Any]] = {
    cls.__name__: cls for cls in (ContactResult, ContactRecord, Note, AttachmentResult, CommsResult)
}
# "ZYNJ" in the SQLite header's application_id: this file is a zyntro-async journal.
APPLICATION_ID = 0x5A594E4A
# user_version: 1 had no application_id and no fingerprints (upgraded in place), 2 is this.
FORMAT_VERSION = 2
_SCHEMA = """
CREATE TABLE IF NOT EXISTS outcomes (
    key TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    value_type TEXT,
    value TEXT,
    code TEXT,
    message TEXT,
    updated REAL NOT NULL,
    fingerprint TEXT
);
CREATE TABLE IF NOT EXISTS rate_limit (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    rate REAL,
    window INTEGER,
    measured INTEGER NOT NULL,
    updated REAL NOT NULL
);
"""
# What the latest run with the journal learned of the API's rate limit (one row).
_KEEP_LEARNED = (
    "INSERT INTO rate_limit (id, rate, window, measured, updated) VALUES (1, ?, ?, ?, ?) "
    "ON CONFLICT(id) DO UPDATE SET rate=excluded.rate, window=excluded.window, "
    "measured=excluded.measured, updated=excluded.updated"
)
_V1_COLUMNS = ("key", "status", "value_type", "value", "code", "message", "updated")
_UPSERT = (
    "INSERT INTO outcomes (key, status, value_type, value, code, message, updated, fingerprint) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET status=excluded.status, "
    "value_type=excluded.value_type, value=excluded.value, code=excluded.code, "
    "message=excluded.message, updated=excluded.updated, "
    "fingerprint=coalesce(excluded.fingerprint, outcomes.fingerprint)"
)
_BATCH = 512
_HOLDER_WAIT = 0.5  # seconds a silent holder is waited for before it is called unknown


@attrs.frozen
class JournalEntry:
    """What an earlier run recorded for a key."""

    status: str
    value: Any = None
    code: str | None = None
    message: str | None = None
    fingerprint: str | None = None

    @property
    def maybe_applied(self) -> bool:
        """``unknown`` or a ``sent`` mark with no outcome after it."""
        return self.status in (Status.UNKNOWN.value, SENT)


@attrs.frozen
class Resume:
    """What an earlier run's entry means for an item about to run.

    Attributes:
        status: ``None``: send the item. Otherwise the item's status without sending it
            (``succeeded`` with the recorded ``value``, ``unknown`` with ``error``, or
            ``failed`` with a :class:`~zyntro_async.JournalConflictError`).
        value: the recorded result of an earlier success.
        error: why it is not sent again.
        earlier_unknown: an earlier run may have applied this creating request (and it is
            sent again anyway, ``retry_unknown``): whatever this run's attempts prove, the
            journal keeps saying ``unknown`` until a success (see :func:`recorded_status`).
        earlier_failed: an earlier run already reported this very item failed or unknown:
            if it does again, that is no news, and does not count toward ``max_failures``.
    """

    status: Status | None = None
    value: Any = None
    error: ZyntroError | None = None
    earlier_unknown: bool = False
    earlier_failed: bool = False


_SEND = Resume()
_SEND_AGAIN = Resume(earlier_failed=True)
_NOT_SENT_AGAIN = (
    "an earlier run may have applied this; not sent again, so as not to duplicate it "
    "(retry_unknown=True sends it anyway)"
)


def resume(
    entry: JournalEntry | None,
    *,
    idempotent: bool,
    retry_unknown: bool,
    endpoint: str,
    key: str = "",
    fingerprint: str | None = None,
    retry_changed: bool = False,
) -> Resume:
    """Decide what to do with an item given what an earlier run recorded for its key.

    A recorded success is reused (not sent again). A creating request an earlier run may
    have applied (``unknown``, or a ``sent`` mark with no outcome after it) is not sent
    again, unless ``retry_unknown``. Anything else is sent.

    When both the entry and the item have a fingerprint and they differ, the key was used
    for other content: the entry says nothing about this item. An idempotent item (a
    contact upsert) is then sent again; a creating one whose earlier content may be in
    Zyntro (succeeded, unknown, sent) is a conflict (``failed``, code
    ``JOURNAL_CONFLICT``), unless ``retry_changed``. An entry without a fingerprint
    (written by the first journal format) is taken as this item's.

    Args:
        entry: the earlier record, ``None`` when there is none.
        idempotent: whether repeating the item's request cannot change the outcome.
        retry_unknown: send creating requests of unknown outcome again anyway.
        endpoint: the item's endpoint (named in the error).
        key: the item's key (named in a conflict).
        fingerprint: the item's content fingerprint, if it has one.
        retry_changed: send a creating item whose content changed under its key anyway.
    """
    if entry is None:
        return _SEND
    if fingerprint is not None and entry.fingerprint not in (None, fingerprint):
        return _changed(entry, idempotent=idempotent, key=key, retry_changed=retry_changed)
    earlier_unknown = entry.maybe_applied and not idempotent
    if entry.status == Status.SUCCEEDED.value and entry.value is not None:
        return Resume(Status.SUCCEEDED, value=entry.value)
    if earlier_unknown and not retry_unknown:
        error = AmbiguousOutcomeError(_NOT_SENT_AGAIN, endpoint=endpoint)
        return Resume(Status.UNKNOWN, error=error)
    if earlier_unknown:
        return Resume(earlier_unknown=True, earlier_failed=True)
    if entry.status in (Status.FAILED.value, Status.UNKNOWN.value):
        return _SEND_AGAIN
    return _SEND


def _changed(entry: JournalEntry, *, idempotent: bool, key: str, retry_changed: bool) -> Resume:
    """The decision for an item whose key an earlier run used for other content."""
    applied = entry.status == Status.SUCCEEDED.value or entry.maybe_applied
    if idempotent or not applied or retry_changed:
        return _SEND
    what = "was applied" if entry.status == Status.SUCCEEDED.value else "may have been applied"
    error = JournalConflictError(
        f"key {key!r} was used by an earlier run of this journal for different content, "
        f"which {what}; this item was not sent, so as not to add a second entry next to "
        "it. To add it anyway, pass retry_changed=True; if it is another item, give it a "
        "key of its own",
        key=key,
        earlier=entry.status,
    )
    return Resume(Status.FAILED, error=error)


def recorded_status(status: Status, decision: Resume) -> Status:
    """The status to journal: an earlier "may have been applied" stays until a success."""
    if decision.earlier_unknown and status is not Status.SUCCEEDED:
        return Status.UNKNOWN
    return status


def _encode_value(value: Any) -> tuple[str | None, str | None]:
    if value is None:
        return None, None
    name = type(value).__name__
    if name in _RESULT_TYPES:
        return name, json.dumps(converter.unstructure(value))
    return None, None


def _decode_value(value_type: str | None, text: str | None) -> Any:
    if value_type is None or text is None or value_type not in _RESULT_TYPES:
        return None
    try:
        return converter.structure(json.loads(text), _RESULT_TYPES[value_type])
    except Exception:  # a journal from another version: the value is only informative
        return None


def _lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def _try_lock(handle: IO[str]) -> bool:
    """Take an exclusive, non-blocking lock on ``handle``; ``False`` if another holds it."""
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _lock_or_holder(handle: IO[str]) -> str | None:
    """Lock ``handle``'s file, or say who holds it; ``None`` once locked.

    A holder writes its line just after it takes the lock and empties the file just before
    it lets go. So while the file is empty, this keeps trying the lock (a finishing holder
    lets go) and reading the line (a starting one writes it) for a moment, before it calls
    the holder unknown.
    """
    deadline = time.monotonic() + _HOLDER_WAIT
    while not _try_lock(handle):
        handle.seek(0)
        holder = handle.read().strip()
        if holder:
            return holder
        if time.monotonic() >= deadline:
            return "another process, starting or finishing"
        time.sleep(0.01)
    return None


class _JournalLock:
    """The exclusive lock of one journal, held for the lifetime of a run."""

    def __init__(self, journal: Path) -> None:
        self.journal = journal
        self.path = _lock_path(journal)
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock or raise :class:`JournalError` naming the process that holds it."""
        while True:
            try:
                handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held open
            except OSError as exc:
                raise JournalError(
                    f"journal {self.journal}: cannot create its lock file {self.path}: "
                    f"{exc.strerror or exc}",
                    path=self.journal,
                ) from exc
            holder = _lock_or_holder(handle)
            if holder is not None:
                handle.close()
                raise JournalError(
                    f"journal {self.journal} is in use by another run ({holder}); two runs on "
                    "one journal could send the same items twice. Wait for that run to finish, "
                    "stop it, or use another journal.",
                    path=self.journal,
                )
            # The file we locked must still be the one at the path (a holder that finished
            # may have replaced it between our open and our lock): otherwise lock again.
            try:
                same = os.path.samestat(os.fstat(handle.fileno()), os.stat(self.path))
            except OSError:
                same = False
            if same:
                break
            handle.close()
        handle.seek(0)
        handle.truncate()
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}, since {started}\n")
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        """Let the next run take the journal (idempotent)."""
        handle, self._handle = self._handle, None
        if handle is not None:
            with contextlib.suppress(OSError):
                handle.truncate(0)
            handle.close()  # closing the file releases the lock


def _check_format(conn: sqlite3.Connection, path: Path) -> bool:
    """Make ``conn``'s database a journal of this format; ``True`` if it holds outcomes.

    Raises:
        JournalError: the file is another program's database, damaged, or of a newer format.
    """
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if app_id == APPLICATION_ID:
        if version > FORMAT_VERSION:
            raise JournalError(
                f"journal {path} was written by a newer zyntro-async (format {version}; this "
                f"version reads up to {FORMAT_VERSION}): upgrade zyntro-async to resume it",
                path=path,
            )
    elif app_id != 0 or (tables and tables != {"outcomes"}):
        raise JournalError(
            f"{path} is an SQLite database but not a zyntro-async journal; refusing to write "
            "to it. Pass the path of a journal, or a new file.",
            path=path,
        )
    elif tables:
        columns = tuple(row[1] for row in conn.execute("PRAGMA table_info(outcomes)"))
        if columns != _V1_COLUMNS:
            raise JournalError(
                f"{path} has an 'outcomes' table that is not a zyntro-async journal's",
                path=path,
            )
        with conn:  # the first format (no fingerprints): upgrade it in place
            conn.execute("ALTER TABLE outcomes ADD COLUMN fingerprint TEXT")
    with conn:
        conn.executescript(_SCHEMA)
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version = {FORMAT_VERSION}")
    problems = conn.execute("PRAGMA quick_check(1)").fetchone()[0]
    if problems != "ok":
        raise JournalError(f"journal {path} is damaged ({problems})", path=path)
    return conn.execute("SELECT 1 FROM outcomes LIMIT 1").fetchone() is not None


class Journal:
    """An open journal file. Use :meth:`open` inside a running loop, :meth:`aclose` after.

    Args:
        path: the SQLite file (created if missing).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._queue: queue.Queue[tuple[Any, ...] | None] = queue.Queue()  # rows; None: stop
        self._thread: threading.Thread | None = None
        self._reader: sqlite3.Connection | None = None
        self._read_lock = threading.Lock()
        # The one writing connection, shared by the writer thread and ``mark_sent``.
        self._conn: sqlite3.Connection | None = None
        self._write_lock = threading.Lock()
        self._error: BaseException | None = None
        self._lock = _JournalLock(self.path)
        self.had_entries = False

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        try:
            conn.execute("PRAGMA journal_mode=WAL")  # the first read: fails on a non-journal
            # NORMAL in WAL mode: a commit survives the process being killed (not power loss).
            conn.execute("PRAGMA synchronous=NORMAL")
        except BaseException:
            conn.close()
            raise
        return conn

    async def open(self) -> None:
        """Lock the journal, check (or create) the file and schema, start the writer thread.

        Raises:
            JournalError: another run holds the journal, or the file is empty, another
                program's database, damaged, or of a newer format. Nothing was written.
        """

        def setup() -> bool:
            self._lock.acquire()
            try:
                if self.path.exists() and self.path.stat().st_size == 0:
                    raise JournalError(
                        f"journal {self.path} is an empty file, not a journal (a journal is "
                        "never empty once created); delete it to start over, or pass the "
                        "path of the journal to resume",
                        path=self.path,
                    )
                conn = self._connect()
                try:
                    had = _check_format(conn, self.path)
                    self._reader = self._connect()
                except BaseException:  # not a journal (or unreadable): leave nothing open
                    conn.close()
                    raise
            except sqlite3.DatabaseError as exc:
                self._lock.release()
                raise JournalError(
                    f"journal {self.path} is damaged or not a journal: {exc}", path=self.path
                ) from exc
            except BaseException:
                self._lock.release()
                raise
            self._conn = conn
            return had

        try:
            self.had_entries = await anyio.to_thread.run_sync(setup)
        except BaseException:
            # Cancelled while setup ran (the thread finishes it anyway): close what it opened.
            for conn in (self._conn, self._reader):
                if conn is not None:
                    conn.close()
            self._conn = self._reader = None
            self._lock.release()
            raise
        self._thread = threading.Thread(
            target=self._writer, name="zyntro-journal-writer", daemon=True
        )
        self._thread.start()

    def _writer(self) -> None:
        conn = self._conn
        assert conn is not None  # set by open() before the thread starts
        try:
            while True:
                item = self._queue.get()
                if item is None:
                    return
                rows: list[tuple[Any, ...]] = []
                stop = False
                while item is not None:
                    rows.append(item)
                    if len(rows) >= _BATCH:
                        break
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        stop = True
                try:
                    with self._write_lock, conn:
                        conn.executemany(_UPSERT, rows)
                except BaseException as exc:
                    self._error = exc
                    if stop:  # the stop mark was in this batch: do not wait for another
                        return
                    continue
                if stop:
                    return
        finally:
            with self._write_lock:
                self._conn = None
                conn.close()

    def _check(self) -> None:
        if self._error is not None:
            raise OSError(f"journal {self.path} cannot be written: {self._error}")

    def record(
        self,
        key: str,
        status: Status,
        value: Any,
        error: BaseException | None,
        *,
        fingerprint: str | None = None,
    ) -> None:
        """Queue an item's outcome (never blocks the loop).

        Args:
            key: the item's key.
            status: its outcome.
            value: the result (kept for succeeded items).
            error: the error, for the code and message.
            fingerprint: a hash of the item's content (``None`` keeps the recorded one).
        """
        self._check()
        value_type, value_text = (
            _encode_value(value)
            if status is Status.SUCCEEDED
            else (
                None,
                None,
            )
        )
        message = None
        if error is not None:
            message = getattr(error, "message", None) or str(error)
        row = (
            key,
            status.value,
            value_type,
            value_text,
            error_code(error),
            message,
            time.time(),
            fingerprint,
        )
        self._queue.put(row)

    async def mark_sent(self, key: str, *, fingerprint: str | None = None) -> None:
        """Commit a ``sent`` mark for ``key`` before returning, without yielding to the loop.

        Awaited just before the last byte of a creating request is written: with no
        suspension in between, a process killed after the commit may have had the request
        applied, and one killed before cannot have (see the module docs). It blocks the loop
        for one small commit, or while the writer thread finishes its batch.

        Raises:
            OSError: the journal cannot be written (or is closed).
        """
        self._check()
        row = (key, SENT, None, None, None, None, time.time(), fingerprint)
        with self._write_lock:
            conn = self._conn
            if conn is None:
                raise OSError(f"journal {self.path} is closed")
            try:
                with conn:
                    conn.execute(_UPSERT, row)
            except sqlite3.Error as exc:
                raise OSError(f"journal write failed: {exc}") from exc

    async def learned_limit(self) -> LearnedLimit | None:
        """What the latest run with this journal learned of the API's rate limit.

        A rerun (after Ctrl-C, in a new process) starts from it as the same client's next
        run would (see :class:`~zyntro_async.bulk.LearnedLimit`). ``None`` when no run kept
        one, or the row is not one this library wrote.
        """
        reader = self._reader
        if reader is None:
            return None

        def query() -> tuple[Any, ...] | None:
            with self._read_lock:
                row: tuple[Any, ...] | None = reader.execute(
                    "SELECT rate, window, measured FROM rate_limit WHERE id = 1"
                ).fetchone()
                return row

        try:
            row = await anyio.to_thread.run_sync(query)
        except sqlite3.Error:
            return None  # a journal of this format without the table (read-only): start blind
        if row is None:
            return None
        rate, window, measured = row
        try:
            return LearnedLimit(
                rate=None if rate is None else float(rate), window=window, measured=bool(measured)
            )
        except (TypeError, ValueError):
            return None  # nothing a run of ours kept: start blind

    async def keep_learned(self, learned: LearnedLimit) -> None:
        """Keep what this run learned of the API's rate limit for the next run's start.

        Best effort: a journal that cannot take it keeps the outcomes all the same (the
        next run starts blind), and the run's result does not change.
        """
        row = (learned.rate, learned.window, int(learned.measured), time.time())

        def write() -> None:
            with self._write_lock:
                conn = self._conn
                if conn is None:
                    return
                with conn:
                    conn.execute(_KEEP_LEARNED, row)

        with contextlib.suppress(sqlite3.Error):
            await anyio.to_thread.run_sync(write)

    async def lookup(self, key: str) -> JournalEntry | None:
        """What an earlier run recorded for ``key`` (``None`` when nothing)."""
        if not self.had_entries or self._reader is None:
            return None
        reader = self._reader

        def query() -> tuple[Any, ...] | None:
            with self._read_lock:
                row: tuple[Any, ...] | None = reader.execute(
                    "SELECT status, value_type, value, code, message, fingerprint "
                    "FROM outcomes WHERE key=?",
                    (key,),
                ).fetchone()
                return row

        row = await anyio.to_thread.run_sync(query)
        if row is None:
            return None
        status, value_type, value, code, message, fingerprint = row
        return JournalEntry(status, _decode_value(value_type, value), code, message, fingerprint)

    async def aclose(self) -> None:
        """Flush everything queued, stop the writer, close the files, release the lock."""
        with anyio.CancelScope(shield=True):
            thread = self._thread
            if thread is not None:
                self._queue.put(None)
                await anyio.to_thread.run_sync(thread.join)
                self._thread = None
            if self._reader is not None:
                reader, self._reader = self._reader, None
                await anyio.to_thread.run_sync(reader.close)
            self._lock.release()
        self._check()

    def entries(self) -> list[tuple[str, str]]:
        """Every ``(key, status)`` recorded (for inspection and tests; reads the whole file)."""
        conn = self._connect()
        try:
            rows: list[tuple[str, str]] = conn.execute(
                "SELECT key, status FROM outcomes ORDER BY key"
            ).fetchall()
            return rows
        finally:
            conn.close()
