"""How a bulk run classifies faults: repeat what is safe, never create twice, say "unknown".

Idempotent upserts are retried through every kind of fault; creating calls (notes here)
are retried only when the fault proves nothing was applied (429, 503), and an ambiguous
fault leaves them ``unknown`` with an :class:`AmbiguousOutcomeError`.
"""

from __future__ import annotations

from collections import Counter

import pytest

from zyntro_async import (
    AmbiguousOutcomeError,
    APITimeoutError,
    Contact,
    RateLimitError,
    ServerError,
)
from zyntro_async.bulk import AddNote, ItemResult, Status, UpsertContact
from zyntro_async.testing import (
    Emulator,
    Malformed,
    RateLimited,
    ResetAfterApply,
    ResetBeforeApply,
    ServerFailure,
    Stall,
)

from ._helpers import ADD_CONTACTS, ADD_NOTES, ClientFactory, email, fast_retry, settled, upsert


@pytest.fixture
def contact_id(emulator: Emulator) -> str:
    """A contact owned by the demo member, for notes."""
    return emulator.add_contact(
        fields={"firstName": "Noted", "primaryEmail": "n@x.example"}
    ).contact_id


def notes_by_content(emu: Emulator) -> Counter[str]:
    return Counter(note.content for note in emu.notes)


async def test_idempotent_upserts_survive_every_kind_of_fault(
    emulator: Emulator, make_client: ClientFactory
) -> None:
    for fault, probability in (
        (ServerFailure(500, apply=True), 0.08),
        (ServerFailure(502), 0.06),
        (ServerFailure(503), 0.06),
        (RateLimited(retry_after=0), 0.06),
        (ResetBeforeApply(), 0.06),
        (ResetAfterApply(), 0.06),
    ):
        emulator.faults.add(fault, endpoint=ADD_CONTACTS, probability=probability)
    emulator.faults.add(Stall(1.0, then="apply"), endpoint=ADD_CONTACTS, after=3, times=2)
    n = 60
    async with make_client(timeout=0.5, retry_policy=fast_retry(max_retries=10)) as zy:
        report = await zy.bulk.run([upsert(i) for i in range(n)], concurrency=8)

    assert report.all_succeeded
    assert report.succeeded == n
    assert emulator.request_counts[ADD_CONTACTS] > n  # faults were met and retried
    emails = Counter((c.primary_email or "") for c in emulator.contacts)
    assert emails == Counter(email(i) for i in range(n))
    assert sum(emulator.faults.fired.values()) >= 5


async def test_creating_call_is_never_sent_twice_after_an_ambiguous_fault(
    emulator: Emulator, make_client: ClientFactory, contact_id: str
) -> None:
    faults = emulator.faults
    faults.add(ResetAfterApply(), endpoint=ADD_NOTES, every=5)  # 5, 10, ..., 30
    faults.add(ServerFailure(500, apply=True), endpoint=ADD_NOTES, every=7)  # 7, 14, 21, 28
    faults.add(ServerFailure(502), endpoint=ADD_NOTES, every=11)  # 11, 22: not applied
    faults.add(ResetBeforeApply(), endpoint=ADD_NOTES, every=13)  # 13, 26: not applied
    faults.add(Stall(1.0, then="apply"), endpoint=ADD_NOTES, after=2, times=1)  # 3
    n = 30
    results: list[ItemResult] = []
    async with make_client(timeout=0.5, retry_policy=fast_retry(max_retries=5)) as zy:
        # Concurrency 1: the n-th request is the n-th note, so the faults land as listed.
        await zy.bulk.run(
            [AddNote(contact_id, f"note {i}") for i in range(n)],
            concurrency=1,
            on_result=results.append,
        )

    await settled(emulator, ADD_NOTES, n)  # the stalled one answers after the client left
    assert emulator.request_counts[ADD_NOTES] == n  # nothing was sent a second time
    stored = notes_by_content(emulator)
    assert set(stored.values()) == {1}
    unknown = {r.index + 1: r for r in results if r.status is Status.UNKNOWN}  # by request
    for result in unknown.values():
        assert isinstance(result.error, AmbiguousOutcomeError)
        assert result.attempts == 1
    # On a loaded machine a request may also outlive the 0.5 s timeout: unknown too.
    late = {k for k, r in unknown.items() if isinstance(r.error.__cause__, APITimeoutError)}
    assert set(unknown) - late == {5, 7, 10, 11, 13, 14, 15, 20, 21, 22, 25, 26, 28, 30}
    assert 3 in late  # the stall
    applied_anyway = {k for k, r in unknown.items() if stored[r.op.note] == 1}
    assert applied_anyway - late == {5, 7, 10, 14, 15, 20, 21, 25, 28, 30}
    for result in results:
        if result.status is Status.SUCCEEDED:
            assert stored[result.op.note] == 1
            assert result.value.note_id in {note.note_id for note in emulator.notes}


async def test_creating_call_is_retried_when_the_fault_proves_it_was_not_applied(
    emulator: Emulator, make_client: ClientFactory, contact_id: str
) -> None:
    emulator.faults.add(RateLimited(retry_after=0), endpoint=ADD_NOTES, every=3)
    emulator.faults.add(ServerFailure(503), endpoint=ADD_NOTES, every=4)
    n = 12  # 429s slow the run down on purpose (adaptive pacing): keep it short
    results: list[ItemResult] = []
    async with make_client(retry_policy=fast_retry(max_retries=5)) as zy:
        report = await zy.bulk.run(
            [AddNote(contact_id, f"note {i}") for i in range(n)],
            concurrency=1,
            on_result=results.append,
        )

    assert report.all_succeeded
    assert notes_by_content(emulator) == Counter(f"note {i}" for i in range(n))
    assert emulator.request_counts[ADD_NOTES] > n
    assert max(r.attempts for r in results) > 1


async def test_idempotent_item_whose_last_attempt_may_have_applied_it_is_unknown(
    emulator: Emulator, make_client: ClientFactory
) -> None:
    # Every upsert is applied, then the connection is reset: retries cannot get an answer.
    emulator.faults.add(ResetAfterApply(), endpoint=ADD_CONTACTS)
    async with make_client(retry_policy=fast_retry(max_retries=1)) as zy:
        report = await zy.bulk.run([upsert(0)])

    (result,) = report.results
    assert result.status is Status.UNKNOWN  # not "failed": failed means "not applied"
    assert isinstance(result.error, AmbiguousOutcomeError)
    assert result.attempts == 2
    assert [c.primary_email for c in emulator.contacts] == [email(0)]


async def test_idempotent_item_refused_by_a_fault_that_proves_nothing_happened_is_failed(
    emulator: Emulator, make_client: ClientFactory
) -> None:
    emulator.faults.add(ServerFailure(503), endpoint=ADD_CONTACTS)
    emulator.faults.add(RateLimited(retry_after=0), endpoint=ADD_CONTACTS)
    async with make_client(retry_policy=fast_retry(max_retries=2)) as zy:
        report = await zy.bulk.run([upsert(0)])

    (result,) = report.results
    assert result.status is Status.FAILED
    assert isinstance(result.error, ServerError | RateLimitError)
    assert emulator.contacts == []


async def test_definitive_answer_after_an_ambiguous_attempt_is_failed(
    emulator: Emulator, make_client: ClientFactory
) -> None:
    emulator.faults.add(ServerFailure(500), endpoint=ADD_CONTACTS, times=1)
    bad = UpsertContact(Contact(primary_email=email(0), custom_fields={"undefined": "x"}))
    async with make_client() as zy:
        report = await zy.bulk.run([bad])

    (result,) = report.results
    assert result.status is Status.FAILED
    assert result.code == "CUSTOM_FIELD_ERROR"
    assert result.attempts == 2
    assert emulator.contacts == []


async def test_unreadable_answer_to_a_creating_call_is_unknown(
    emulator: Emulator, make_client: ClientFactory, contact_id: str
) -> None:
    # A proxy mangled the answer of a request that was applied.
    emulator.faults.add(Malformed("truncated", apply=True), endpoint=ADD_NOTES, times=1)
    async with make_client() as zy:
        report = await zy.bulk.run([AddNote(contact_id, "mangled")])

    (result,) = report.results
    assert result.status is Status.UNKNOWN
    assert isinstance(result.error, AmbiguousOutcomeError)
    assert emulator.request_counts[ADD_NOTES] == 1
    assert notes_by_content(emulator) == Counter(["mangled"])
