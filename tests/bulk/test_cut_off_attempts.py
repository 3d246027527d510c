"""An attempt cut off mid-way (the run cancelled) may have been applied, unless the journal
watched its body and it never reached its last byte: then the rerun sends it again."""

from __future__ import annotations

from pathlib import Path

from zyntro_async._observe import Attempt, AttemptResult, Call
from zyntro_async._retry import FailureKind
from zyntro_async.bulk._governor import RateGovernor
from zyntro_async.bulk._item_observer import ItemObserver
from zyntro_async.bulk._journal import Journal
from zyntro_async.bulk._limiter import CircuitBreaker

NOTE = "crm/addNotestoContact"


def observer(journal: Journal | None, key: str, **kwargs: str) -> ItemObserver:
    return ItemObserver(RateGovernor(), CircuitBreaker(), journal, key, **kwargs)


async def _cut_off(observer: ItemObserver, *, reached_last_byte: bool) -> None:
    attempt = Attempt(Call(NOTE, idempotent=False), 1, 100)
    await observer.before_attempt(attempt)
    if reached_last_byte:
        await observer.before_last_byte(attempt)
    # How the transport reports an attempt that a cancellation cut off.
    observer.after_attempt(AttemptResult(attempt, 0.01, None, FailureKind.AMBIGUOUS, None))


async def test_a_body_cut_off_before_its_last_byte_was_not_applied(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j")
    await journal.open()
    try:
        before = observer(journal, "note-1", fingerprint="f")
        await _cut_off(before, reached_last_byte=False)
        after = observer(journal, "note-2", fingerprint="f")
        await _cut_off(after, reached_last_byte=True)
    finally:
        await journal.aclose()

    assert not before.maybe_applied  # skipped: the rerun sends it
    assert after.maybe_applied  # unknown: the journal's "sent" mark says it may be in
    assert dict(journal.entries()) == {"note-2": "sent"}


async def test_without_a_journal_watching_a_cut_off_attempt_may_have_been_applied() -> None:
    watched = observer(None, "contact-1")
    await _cut_off(watched, reached_last_byte=False)
    assert watched.maybe_applied
