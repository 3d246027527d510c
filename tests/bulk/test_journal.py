"""The resume journal: what a rerun skips, what it sends again, and what it will not."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from zyntro_async import AmbiguousOutcomeError, Contact, ZyntroClient
from zyntro_async._errors import JournalConflictError, JournalError
from zyntro_async.bulk import (
    AddNote,
    ContactBundle,
    ItemResult,
    LearnedLimit,
    Status,
    UpsertContact,
)
from zyntro_async.bulk._journal import Journal
from zyntro_async.testing import Emulator, Latency, RateLimited, ResetAfterApply, ServerFailure

from ._helpers import ADD_CONTACTS, ADD_NOTES, ClientFactory, bundles, email, fast_retry, upsert


@pytest.fixture
def journal(tmp_path: Path) -> Path:
    return tmp_path / "import.journal"


@pytest.fixture
def contact_id(emulator: Emulator) -> str:
    return emulator.add_contact(fields={"primaryEmail": "j@x.example"}).contact_id


def notes(emu: Emulator) -> Counter[str]:
    return Counter(note.content for note in emu.notes)


async def test_rerun_skips_what_succeeded_without_a_single_request(
    emulator: Emulator, zy: ZyntroClient, journal: Path
) -> None:
    first = await zy.bulk.run(bundles(10), journal=journal)
    assert first.all_succeeded
    requests = sum(emulator.request_counts.values())

    results: list[ItemResult] = []
    again = await zy.bulk.run(bundles(10), journal=journal, on_result=results.append)

    assert again.all_succeeded
    assert sum(emulator.request_counts.values()) == requests
    assert all(r.from_journal and r.attempts == 0 for r in results)
    assert all(c.from_journal and c.value is not None for r in results for c in r.children)
    # The restored values are the typed results of the first run.
    assert {r.value.contact_id for r in results} == {c.contact_id for c in emulator.contacts}


async def test_rerun_sends_again_what_failed_and_idempotent_items_left_unknown(
    emulator: Emulator, make_client: ClientFactory, journal: Path, contact_id: str
) -> None:
    emulator.faults.add(ResetAfterApply(), endpoint=ADD_CONTACTS, times=1)
    # A 503 proves nothing was applied (a 429 would too, but it is waited out beyond
    # max_retries): with no retries the note fails, and the rerun sends it.
    emulator.faults.add(ServerFailure(status=503), endpoint=ADD_NOTES, times=1)
    items = [upsert(0), AddNote(contact_id, "refused once")]
    async with make_client(retry_policy=fast_retry(max_retries=0)) as zy:
        first = await zy.bulk.run(items, journal=journal)
        first_results = sorted(first.results, key=lambda r: r.index)
        assert [r.status for r in first_results] == [Status.UNKNOWN, Status.FAILED]

        results: list[ItemResult] = []
        again = await zy.bulk.run(items, journal=journal, on_result=results.append)

    assert again.all_succeeded
    assert not any(r.from_journal for r in results)
    assert emulator.request_counts[ADD_CONTACTS] == 2
    assert emulator.request_counts[ADD_NOTES] == 2
    assert emulator.find_contact(email=email(0)) is not None
    assert len(emulator.contacts) == 2  # the note's contact, and the upserted one once
    assert notes(emulator) == Counter(["refused once"])


async def test_rerun_does_not_send_a_creating_item_left_unknown_unless_asked(
    emulator: Emulator, zy: ZyntroClient, journal: Path, contact_id: str
) -> None:
    emulator.faults.add(ResetAfterApply(), endpoint=ADD_NOTES, times=1)
    items = [AddNote(contact_id, "maybe sent")]
    first = await zy.bulk.run(items, journal=journal)
    assert first.unknown == 1
    assert notes(emulator) == Counter(["maybe sent"])  # it was, in fact, applied

    second = await zy.bulk.run(items, journal=journal)
    (result,) = second.results
    assert result.status is Status.UNKNOWN
    assert result.from_journal
    assert isinstance(result.error, AmbiguousOutcomeError)
    assert "retry_unknown=True" in str(result.error)
    assert result.error.endpoint == ADD_NOTES  # the endpoint, like a live error's
    assert emulator.request_counts[ADD_NOTES] == 1

    third = await zy.bulk.run(items, journal=journal, retry_unknown=True)
    assert third.all_succeeded
    assert emulator.request_counts[ADD_NOTES] == 2
    assert notes(emulator) == Counter({"maybe sent": 2})  # what retry_unknown risks


async def test_stopped_run_keeps_an_earlier_unknown_mark(
    emulator: Emulator, zy: ZyntroClient, journal: Path, contact_id: str
) -> None:
    note = AddNote(contact_id, "maybe sent")
    emulator.faults.add(ResetAfterApply(), endpoint=ADD_NOTES, times=1)
    assert (await zy.bulk.run([note], journal=journal)).unknown == 1

    # A later run pulls the note but stops before starting it (every worker is busy with
    # a slow contact): that must not erase the "unknown" mark, or the run after would
    # send it a second time.
    emulator.faults.add(Latency(500), endpoint=ADD_CONTACTS)
    results: list[ItemResult] = []

    async def items() -> AsyncIterator[UpsertContact | AddNote]:
        for item in (upsert(0), upsert(1), upsert(2), note):
            yield item

    with anyio.move_on_after(0.2):
        await zy.bulk.run(items(), concurrency=1, journal=journal, on_result=results.append)
    assert [r.status for r in results if r.op is note] == [Status.SKIPPED]
    assert dict(Journal(journal).entries())[note.stable_key()] == "unknown"

    emulator.faults.clear()
    final = await zy.bulk.run([note], journal=journal)
    assert final.unknown == 1
    assert notes(emulator) == Counter(["maybe sent"])


async def test_creating_item_stopped_while_waiting_to_retry_is_sent_by_the_rerun(
    emulator: Emulator, zy: ZyntroClient, journal: Path, contact_id: str
) -> None:
    # A 429 proves nothing was applied; the run is stopped during the Retry-After wait.
    emulator.faults.add(RateLimited(retry_after=1), endpoint=ADD_NOTES)
    note = AddNote(contact_id, "throttled")
    results: list[ItemResult] = []
    with anyio.move_on_after(0.3):
        await zy.bulk.run([note], journal=journal, on_result=results.append)
    (stopped,) = results
    assert stopped.status is Status.SKIPPED
    assert stopped.attempts == 1

    emulator.faults.clear()
    rerun = await zy.bulk.run([note], journal=journal)
    assert rerun.all_succeeded
    assert notes(emulator) == Counter(["throttled"])


async def test_custom_keys_identify_items_in_the_journal(
    emulator: Emulator, zy: ZyntroClient, journal: Path
) -> None:
    contact = Contact(first_name="Ada", primary_email="ada@x.example")
    items = [
        UpsertContact(contact, key="crm-row-17"),
        ContactBundle(
            Contact(first_name="Bob", primary_email="bob@x.example"),
            notes=[AddNote(None, "hello")],
            key="account-9",
        ),
        upsert(3),
    ]
    assert (await zy.bulk.run(items, journal=journal)).all_succeeded
    keys = {key for key, _ in Journal(journal).entries()}
    assert {"crm-row-17", "account-9", "account-9/notes/0", upsert(3).stable_key()} <= keys


async def test_a_key_reused_for_changed_content_is_updated_or_reported_as_a_conflict(
    emulator: Emulator, zy: ZyntroClient, journal: Path
) -> None:
    def items(name: str, note: str) -> list[UpsertContact | ContactBundle]:
        return [
            UpsertContact(Contact(first_name=name, primary_email="ada@x.example"), key="row-17"),
            ContactBundle(
                Contact(first_name="Bob", primary_email="bob@x.example"),
                notes=[AddNote(None, note)],
                key="account-9",
            ),
        ]

    assert (await zy.bulk.run(items("Ada", "hello"), journal=journal)).all_succeeded

    # Same keys, different content: the upsert (idempotent) is sent again and updates the
    # contact; the note (creating) is not, since "hello" is in Zyntro already: a conflict.
    results: list[ItemResult] = []
    edited = items("Ada L.", "hello, edited")
    report = await zy.bulk.run(edited, journal=journal, on_result=results.append)
    upserted, bundle = sorted(results, key=lambda r: r.index)
    assert upserted.status is Status.SUCCEEDED
    assert not upserted.from_journal
    ada = emulator.find_contact(email="ada@x.example")
    assert ada is not None
    assert ada.first_name == "Ada L."
    assert bundle.status is Status.SUCCEEDED
    assert bundle.from_journal
    (note,) = bundle.children
    assert (note.status, note.code) == (Status.FAILED, "JOURNAL_CONFLICT")
    assert note.key == "account-9/notes/0"
    assert note.from_journal
    assert isinstance(note.error, JournalConflictError)
    assert note.error.earlier == "succeeded"
    assert "retry_changed=True" in str(note.error)
    assert "key of its own" in str(note.error)
    assert notes(emulator) == Counter(["hello"])
    assert report.child_counts[Status.FAILED] == 1

    # Not resolved, a rerun reports it again (the journal still holds the first content).
    again = await zy.bulk.run(edited, journal=journal)
    assert again.child_counts[Status.FAILED] == 1
    assert notes(emulator) == Counter(["hello"])

    # retry_changed sends it; the journal then holds the new content as done.
    assert (await zy.bulk.run(edited, journal=journal, retry_changed=True)).all_succeeded
    assert notes(emulator) == Counter(["hello", "hello, edited"])
    requests = sum(emulator.request_counts.values())
    final = await zy.bulk.run(edited, journal=journal)
    assert final.all_succeeded
    assert sum(emulator.request_counts.values()) == requests


async def test_changed_content_under_a_key_that_failed_before_is_simply_sent(
    emulator: Emulator, zy: ZyntroClient, journal: Path
) -> None:
    missing = AddNote("no-such-contact", "first try", key="note-1")
    assert (await zy.bulk.run([missing], journal=journal)).failed == 1
    contact_id = emulator.add_contact(fields={"primaryEmail": "k@x.example"}).contact_id
    fixed = AddNote(contact_id, "first try, fixed", key="note-1")
    assert (await zy.bulk.run([fixed], journal=journal)).all_succeeded
    assert notes(emulator) == Counter(["first try, fixed"])


async def test_a_file_that_is_not_a_journal_is_refused_and_left_with_nothing_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    path = tmp_path / "notes.txt"
    path.write_bytes(b"this is not an SQLite database, just some text " * 100)
    opened: list[sqlite3.Connection] = []
    connect = sqlite3.connect

    def recording_connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = connect(*args, **kwargs)
        opened.append(conn)
        return conn

    monkeypatch.setattr(sqlite3, "connect", recording_connect)
    journal = Journal(path)
    with pytest.raises(JournalError, match="damaged or not a journal"):
        await journal.open()
    assert opened
    for conn in opened:  # each one closed (an open one would leak until GC, and warn)
        with pytest.raises(sqlite3.ProgrammingError, match="closed"):
            conn.execute("SELECT 1")


def fingerprints(path: Path) -> dict[str, str | None]:
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        return dict(conn.execute("SELECT key, fingerprint FROM outcomes").fetchall())
    finally:
        conn.close()


async def test_every_outcome_and_sent_mark_is_journaled_with_the_items_fingerprint(
    emulator: Emulator, zy: ZyntroClient, journal: Path, contact_id: str
) -> None:
    item = next(bundles(1))
    note = AddNote(contact_id, "maybe sent", key="n-1")
    emulator.faults.add(ResetAfterApply(), endpoint=ADD_NOTES, times=1)
    await zy.bulk.run([item, note], journal=journal, concurrency=1)

    recorded = fingerprints(journal)
    # The note's outcome (unknown) was written over its "sent" mark: both had it.
    assert recorded["n-1"] == note.fingerprint()
    assert recorded[item.stable_key()] == item.parent.fingerprint()
    for position, child in enumerate(item.children):
        assert recorded[f"{item.stable_key()}/{item.child_label(position)}"] == child.fingerprint()
    # The key is left out: the same content under another key has the same fingerprint.
    assert AddNote(contact_id, "maybe sent", key="other").fingerprint() == note.fingerprint()
    assert AddNote(contact_id, "edited", key="n-1").fingerprint() != note.fingerprint()


async def test_an_entry_without_a_fingerprint_is_taken_as_the_items(
    emulator: Emulator, zy: ZyntroClient, journal: Path, contact_id: str
) -> None:
    emulator.faults.add(ResetAfterApply(), endpoint=ADD_NOTES, times=1)
    await zy.bulk.run([AddNote(contact_id, "old", key="n-2")], journal=journal)
    import sqlite3

    # As the first journal format left it: an outcome with no fingerprint.
    with sqlite3.connect(journal) as conn:
        conn.execute("UPDATE outcomes SET fingerprint = NULL")
    conn.close()

    results: list[ItemResult] = []
    edited = [AddNote(contact_id, "edited", key="n-2")]
    await zy.bulk.run(edited, journal=journal, on_result=results.append)

    (result,) = results
    assert result.status is Status.UNKNOWN  # today's behaviour: not sent again
    assert result.from_journal
    assert notes(emulator) == Counter(["old"])


def test_a_conflict_error_is_public_pickles_and_reports_its_code() -> None:
    import pickle

    import zyntro_async
    from zyntro_async.bulk._report import error_code

    error = JournalConflictError("key 'k' was used ...", key="k", earlier="succeeded")
    again = pickle.loads(pickle.dumps(error))
    assert (str(again), again.key, again.earlier) == (str(error), "k", "succeeded")
    assert zyntro_async.JournalConflictError is JournalConflictError
    assert error_code(error) == "JOURNAL_CONFLICT"


async def test_the_journal_keeps_what_the_last_run_learned_of_the_rate_limit(
    journal: Path,
) -> None:
    opened = Journal(journal)
    await opened.open()
    try:
        assert await opened.learned_limit() is None  # a new journal: start blind
        await opened.keep_learned(LearnedLimit(rate=291.5, measured=False))
        await opened.keep_learned(LearnedLimit(rate=300.0, window=8))  # the latest run's
    finally:
        await opened.aclose()

    again = Journal(journal)
    await again.open()
    try:
        assert await again.learned_limit() == LearnedLimit(rate=300.0, window=8)
    finally:
        await again.aclose()


async def test_a_rate_limit_row_no_run_wrote_is_no_start(journal: Path) -> None:
    opened = Journal(journal)
    await opened.open()
    await opened.aclose()
    import sqlite3

    with sqlite3.connect(journal) as conn:  # a window of 2.5 requests: nothing we write
        conn.execute("INSERT INTO rate_limit VALUES (1, -3.0, 2.5, 1, 0.0)")
    conn.close()

    again = Journal(journal)
    await again.open()
    try:
        assert await again.learned_limit() is None
    finally:
        await again.aclose()
