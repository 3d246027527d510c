"""Thousands of bundles through a faulty emulator: every input accounted for, nothing twice.

The proof is read from the emulator's own state, never from the SDK's word: each
``succeeded`` value's id names exactly one stored record with the right content, ``failed``
and ``skipped`` items are not stored, ``unknown`` ones at most once, and no contact, note,
link or comms entry exists twice.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import attrs
import pytest

from zyntro_async import AmbiguousOutcomeError, Contact
from zyntro_async.bulk import AddNote, ContactBundle, ItemResult, Status
from zyntro_async.testing import (
    Emulator,
    RateLimited,
    ResetAfterApply,
    ResetBeforeApply,
    ServerFailure,
    Stall,
)

from ._helpers import (
    ADD_COMMS,
    ADD_NOTES,
    MANAGE_ATTACHMENTS,
    ClientFactory,
    bundle,
    check_exactly_once,
    check_one_result_per_input,
    email,
    fast_retry,
)

N_BUNDLES = 2000


def soak_input(n: int, *, other_member: str) -> Iterator[ContactBundle]:
    """``n`` bundles; a few are refused by the API itself, so ``failed`` is exercised too.

    Every 97th contact carries an undefined custom field (the contact fails, its children
    are skipped); every 89th bundle has an extra note written as a member who does not own
    the contact (that note fails, NOT_OWNER).
    """
    for i in range(n):
        item = bundle(i)
        if i % 97 == 50:
            item = attrs.evolve(
                item,
                contact=Contact(
                    first_name=f"Person{i}", primary_email=email(i), custom_fields={"nope": 1}
                ),
            )
        elif i % 89 == 40:
            wrong = AddNote(None, f"note {i} by a stranger", member_id=other_member)
            item = attrs.evolve(item, notes=[*item.notes, wrong])
        yield item


def add_faults(emu: Emulator) -> None:
    """About one request in nine goes wrong, in every way the API can go wrong."""
    faults = emu.faults
    faults.add(ServerFailure(500), probability=0.02)
    faults.add(ServerFailure(502, apply=True), probability=0.015)
    faults.add(ServerFailure(504, body="envelope", apply=True), probability=0.005)
    faults.add(ServerFailure(503), probability=0.02)
    faults.add(RateLimited(retry_after=0), probability=0.015)
    faults.add(RateLimited(retry_after=1), probability=0.01, times=3)
    faults.add(ResetBeforeApply(), probability=0.01)
    faults.add(ResetAfterApply(), probability=0.01)
    # Longer than the client's 0.5 s timeout: applied (or not) after the client gave up.
    faults.add(Stall(1.0, then="respond"), probability=0.002)
    faults.add(Stall(1.0, then="apply"), probability=0.002)
    faults.add(Stall(1.0, then="drop"), probability=0.002)


def check_refused(refused: list[ItemResult], code: str) -> None:
    """Each request the API refuses ends ``failed`` with ``code``, or ``unknown`` when a fault
    made its first attempt ambiguous; at least half of them end ``failed``."""
    for r in refused:
        if r.status is Status.UNKNOWN:
            assert isinstance(r.error, AmbiguousOutcomeError), r
        else:
            assert (r.status, r.code) == (Status.FAILED, code), r
    assert sum(r.status is Status.FAILED for r in refused) >= 0.5 * len(refused)


@pytest.mark.slow
async def test_thousands_of_bundles_under_faults_are_applied_exactly_once(
    emulator: Emulator, make_client: ClientFactory
) -> None:
    add_faults(emulator)
    results: list[ItemResult] = []
    started = time.monotonic()
    async with make_client(timeout=0.5, retry_policy=fast_retry(max_retries=4, budget=True)) as zy:
        items = soak_input(N_BUNDLES, other_member=emulator.credentials.other_members[0])
        report = await zy.bulk.run(
            items, concurrency=48, on_result=results.append, breaker_threshold=None
        )
    elapsed = time.monotonic() - started

    check_one_result_per_input(results, N_BUNDLES)
    assert report.total == N_BUNDLES
    seen = check_exactly_once(emulator, results)

    # Each applied creating request stored exactly one record: none was applied twice.
    assert emulator.applied[ADD_NOTES] == len(emulator.notes)
    assert emulator.applied[MANAGE_ATTACHMENTS] == len(emulator.attachments)
    assert emulator.applied[ADD_COMMS] == len(emulator.comms)

    # Ambiguous outcomes are unknown, with the reason; the test exercised every path.
    children = [c for r in results for c in r.children]
    unknown = [c for c in [*results, *children] if c.status is Status.UNKNOWN]
    assert unknown
    assert all(isinstance(c.error, AmbiguousOutcomeError) for c in unknown)
    assert any(c.attempts > 1 and c.status is Status.SUCCEEDED for c in children)
    fired = emulator.faults.fired
    for kind in ("server_failure", "rate_limited", "reset_before_apply", "reset_after_apply"):
        assert fired[kind] > 0, kind
    assert fired["stall"] > 0
    statuses = Counter(c.status.value for c in children)
    codes = Counter(r.code for r in [*results, *children] if r.status is Status.FAILED)
    # What the API refuses is never stored, whatever faults hit it on the way (an
    # ambiguous first attempt leaves a refused note "unknown", not "failed").
    # Which requests the faults hit depends on the order answers arrive in, so how many of
    # these end "unknown" varies from run to run (0 to 6 of 23 seen): each one is checked
    # for what it is, and the refusal path must still be the common one.
    refused_contacts = [r for r in results if r.index % 97 == 50]
    check_refused(refused_contacts, "CUSTOM_FIELD_ERROR")
    assert not any(
        emulator.find_contact(email=r.op.contact.primary_email) for r in refused_contacts
    )
    strangers = [
        c
        for r in results
        for c in r.children
        if isinstance(c.op, AddNote) and "stranger" in c.op.note
    ]
    assert len(strangers) == len(range(40, N_BUNDLES, 89))
    check_refused(strangers, "NOT_OWNER")
    assert not [n for n in emulator.notes if "stranger" in n.content]
    assert statuses["skipped"] >= 3 * codes["CUSTOM_FIELD_ERROR"]
    assert statuses["succeeded"] > 0.8 * len(children)
    print(
        f"\n{N_BUNDLES} bundles, {len(children)} children in {elapsed:.1f}s: "
        f"{report.summary()}; children {dict(statuses)}; "
        f"child status:stored-count {dict(seen)}; failed codes {dict(codes)}; "
        f"faults {dict(fired)}"
    )
    assert elapsed < 60
