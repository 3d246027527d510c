"""A journal is trusted only when it is ours, whole, of a format we read, and not in use.

Each refusal is a :class:`JournalError` raised before anything is sent, so a wrong file can
never make a run skip (or repeat) items it should not.
"""

from __future__ import annotations

import fcntl
import os
import pickle
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import IO

import pytest

from zyntro_async import ZyntroClient
from zyntro_async._errors import JournalError
from zyntro_async.bulk import Status
from zyntro_async.bulk._journal import APPLICATION_ID, FORMAT_VERSION, Journal
from zyntro_async.testing import Emulator

from ._helpers import bundles


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "import.journal"


def _scramble_schema_page(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[100:4096] = os.urandom(4096 - 100)
    path.write_bytes(bytes(data))


def _start_holder(path: Path) -> subprocess.Popen[str]:
    """Another process holding ``path`` open as a journal; it prints "locked" once it does."""
    return subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path)], stdout=subprocess.PIPE, text=True
    )


async def _refused(zy: ZyntroClient, emulator: Emulator, path: Path, match: str) -> None:
    before = sum(emulator.request_counts.values())
    with pytest.raises(JournalError, match=match) as caught:
        await zy.bulk.run(bundles(3), journal=path)
    assert caught.value.path == path
    assert sum(emulator.request_counts.values()) == before  # nothing was sent


async def test_an_empty_file_is_not_taken_for_a_new_journal(
    emulator: Emulator, zy: ZyntroClient, path: Path
) -> None:
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY))
    await _refused(zy, emulator, path, "empty file, not a journal")
    assert os.stat(path).st_size == 0  # left as it was


async def test_another_programs_database_is_refused_untouched(
    emulator: Emulator, zy: ZyntroClient, path: Path
) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    conn.close()
    await _refused(zy, emulator, path, "not a zyntro-async journal")
    with sqlite3.connect(path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert conn.execute("PRAGMA application_id").fetchone()[0] == 0
    conn.close()
    assert tables == {"invoices"}


async def test_a_damaged_file_is_a_journal_error_not_a_raw_sqlite_error(
    emulator: Emulator, zy: ZyntroClient, path: Path
) -> None:
    assert (await zy.bulk.run(bundles(3), journal=path)).all_succeeded
    _scramble_schema_page(path)
    await _refused(zy, emulator, path, "damaged")


async def test_a_journal_of_a_newer_format_is_refused(
    emulator: Emulator, zy: ZyntroClient, path: Path
) -> None:
    assert (await zy.bulk.run(bundles(2), journal=path)).all_succeeded
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {FORMAT_VERSION + 1}")
    conn.close()
    await _refused(zy, emulator, path, "newer zyntro-async")


async def test_a_first_format_journal_is_upgraded_and_still_resumes(
    emulator: Emulator, zy: ZyntroClient, path: Path
) -> None:
    first = await zy.bulk.run(bundles(3), journal=path)
    assert first.all_succeeded
    # Rewrite it as the first format wrote it: no application id, no fingerprint column.
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT key, status, value_type, value, code, message, updated FROM outcomes"
        ).fetchall()
        conn.execute("DROP TABLE outcomes")
        conn.execute(
            "CREATE TABLE outcomes (key TEXT PRIMARY KEY, status TEXT NOT NULL, value_type TEXT,"
            " value TEXT, code TEXT, message TEXT, updated REAL NOT NULL)"
        )
        conn.executemany("INSERT INTO outcomes VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        conn.execute("DROP TABLE rate_limit")  # the first format kept no learned limit
        conn.execute("PRAGMA application_id = 0")
        conn.execute("PRAGMA user_version = 0")
    conn.close()

    before = sum(emulator.request_counts.values())
    again = await zy.bulk.run(bundles(3), journal=path)
    assert again.all_succeeded
    assert sum(emulator.request_counts.values()) == before
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert conn.execute("PRAGMA user_version").fetchone()[0] == FORMAT_VERSION
    conn.close()


async def test_fingerprints_are_kept_and_an_outcome_without_one_keeps_the_earlier(
    path: Path,
) -> None:
    journal = Journal(path)
    await journal.open()
    await journal.mark_sent("a", fingerprint="f1")
    journal.record("a", Status.SUCCEEDED, None, None)
    journal.record("b", Status.FAILED, None, ValueError("bad"), fingerprint="f2")
    await journal.aclose()

    again = Journal(path)
    await again.open()
    try:
        a, b = await again.lookup("a"), await again.lookup("b")
    finally:
        await again.aclose()
    assert a is not None
    assert (a.status, a.fingerprint) == ("succeeded", "f1")
    assert b is not None
    assert (b.status, b.fingerprint, b.message) == ("failed", "f2", "bad")


async def test_one_run_per_journal_in_one_process(path: Path) -> None:
    first = Journal(path)
    await first.open()
    try:
        with pytest.raises(JournalError, match=rf"in use by another run \(pid {os.getpid()} "):
            await Journal(path).open()
    finally:
        await first.aclose()
    # Released on close: the next run takes it.
    second = Journal(path)
    await second.open()
    await second.aclose()


def _take_lock_silently(path: Path) -> IO[str]:
    """Hold ``path``'s journal lock as a run does in its first moment: no line written yet."""
    held = path.with_name(path.name + ".lock").open("a+", encoding="utf-8")
    fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    return held


async def test_a_refusal_in_the_holders_first_moment_still_names_it(path: Path) -> None:
    # The holder has its lock but has not written its line yet: the refusal waits for it.
    with _take_lock_silently(path) as held:
        line = "pid 4242 on host, since now\n"
        threading.Timer(0.1, lambda: Path(held.name).write_text(line)).start()
        with pytest.raises(JournalError, match=r"in use by another run \(pid 4242 on host"):
            await Journal(path).open()


async def test_a_holder_letting_go_in_that_moment_hands_the_journal_over(path: Path) -> None:
    # A finishing run has emptied its line and is about to let go: the next run waits.
    threading.Timer(0.1, _take_lock_silently(path).close).start()
    journal = Journal(path)
    await journal.open()
    await journal.aclose()


async def test_a_holder_that_never_says_who_it_is_is_still_refused(path: Path) -> None:
    with (
        _take_lock_silently(path),
        pytest.raises(JournalError, match="another process, starting or finishing"),
    ):
        await Journal(path).open()


_HOLDER = textwrap.dedent(
    """
    import asyncio, sys
    from zyntro_async.bulk._journal import Journal

    async def main():
        journal = Journal(sys.argv[1])
        await journal.open()
        print("locked", flush=True)
        await asyncio.sleep(60)

    asyncio.run(main())
    """
)


@pytest.mark.parametrize("kill", [signal.SIGKILL, signal.SIGTERM])
async def test_a_journal_held_by_another_process_is_refused_and_freed_when_it_dies(
    path: Path, kill: signal.Signals
) -> None:
    holder = _start_holder(path)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(JournalError) as caught:
            await Journal(path).open()
        assert f"pid {holder.pid} " in str(caught.value)
    finally:
        holder.send_signal(kill)
        holder.wait(timeout=30)
        if holder.stdout is not None:
            holder.stdout.close()
    # The kernel released the lock with the process, even when it was killed.
    journal = Journal(path)
    await journal.open()
    await journal.aclose()


def test_journal_errors_pickle_with_their_path(path: Path) -> None:
    error = JournalError("journal x is in use", path=path)
    copy = pickle.loads(pickle.dumps(error))
    assert (str(copy), copy.path) == (str(error), path)
