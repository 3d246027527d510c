"""Injected faults never cost an item its result, nor create anything twice.

Each fault kind of the emulator fires on about a third of the requests of a bulk run of
every operation kind. Every created note, link and comms entry carries a unique text, so
the emulator's state shows exactly what was applied, and how often. A second run with the
same journal (faults off) then finishes the job without duplicating anything.
"""

from __future__ import annotations

import secrets
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from zyntro_async import Contact, ZyntroError
from zyntro_async.bulk import (
    AddLink,
    AddNote,
    ContactBundle,
    ItemResult,
    LogComms,
    Status,
    UpsertContact,
)
from zyntro_async.testing import (
    Emulator,
    Fault,
    Malformed,
    RateLimited,
    ResetAfterApply,
    ResetBeforeApply,
    ServerFailure,
    Stall,
)

from .conftest import fast_policy

FAULTS: dict[str, Fault] = {
    "500 html, not applied": ServerFailure(500),
    "502 envelope, applied": ServerFailure(502, body="envelope", apply=True),
    "503": ServerFailure(503),
    "504 applied": ServerFailure(504, apply=True),
    "429": RateLimited(retry_after=0),
    "reset before apply": ResetBeforeApply(),
    "reset after apply": ResetAfterApply(),
    "stall, then respond": Stall(1.0, then="respond"),
    "stall, then apply and reset": Stall(1.0, then="apply"),
    "stall, then drop": Stall(1.0, then="drop"),
    "truncated JSON, applied": Malformed("truncated"),
    "html 200, applied": Malformed("html"),
    "wrong shape, applied": Malformed("wrong_shape"),
    "empty 200, not applied": Malformed("empty", apply=False),
}


def operations(contact_id: str, tag: str, n: int = 60) -> list[Any]:
    """Every kind of operation, each creating something with a unique text."""
    ops: list[Any] = []
    for i in range(n):
        unique = f"{tag}-{i}"
        kind = i % 5
        if kind == 0:
            ops.append(UpsertContact(Contact(first_name="U", primary_email=f"{unique}@acme.com")))
        elif kind == 1:
            ops.append(AddNote(contact_id=contact_id, note=f"note {unique}"))
        elif kind == 2:
            ops.append(AddLink(contact_id=contact_id, name=unique, url=f"https://acme.com/{i}"))
        elif kind == 3:
            ops.append(LogComms(contact_id=contact_id, comms_type="sms", data=f"sms {unique}"))
        else:
            ops.append(
                ContactBundle(
                    Contact(first_name="B", primary_email=f"{unique}@acme.com"),
                    notes=[AddNote(contact_id=None, note=f"note {unique}")],
                    comms=[LogComms(contact_id=None, comms_type="call", data=f"call {unique}")],
                )
            )
    return ops


def applied_counts(emu: Emulator) -> Counter[str]:
    """How many times each unique text (or contact e-mail) exists in the emulator."""
    counts: Counter[str] = Counter()
    counts.update(note.note_content for note in emu.notes)
    counts.update(str(att.name) for att in emu.attachments)
    counts.update(str(entry.comms_data) for entry in emu.comms)
    counts.update(str(c.fields.get("primaryEmail")) for c in emu.contacts)
    return counts


def identity(op: Any) -> str:
    """The text (or e-mail) ``op`` creates, as :func:`applied_counts` counts it."""
    if isinstance(op, UpsertContact | ContactBundle):
        return str(op.contact.primary_email)
    if isinstance(op, AddNote):
        return op.note
    if isinstance(op, AddLink):
        return op.name
    assert isinstance(op, LogComms)
    return str(op.data)


def flatten(results: list[ItemResult]) -> list[ItemResult]:
    return [r for result in results for r in (result, *result.children)]


def check_honest(results: list[ItemResult], counts: Counter[str]) -> None:
    """Each status says what happened: succeeded once, failed or skipped never, unknown 0-1."""
    for result in flatten(results):
        applied = counts[identity(result.op)]
        if result.status is Status.SUCCEEDED:
            assert applied == 1, result
        elif result.status in (Status.FAILED, Status.SKIPPED):
            assert applied == 0, result
        else:
            assert applied in (0, 1), result
        if result.status is not Status.SUCCEEDED and result.error is not None:
            assert isinstance(result.error, ZyntroError), result


@pytest.mark.parametrize("fault", FAULTS.values(), ids=FAULTS.keys())
async def test_a_faulty_run_accounts_for_every_item_and_duplicates_nothing(
    fault: Fault, tmp_path: Path
) -> None:
    emu = Emulator.demo(seed=secrets.token_hex(4))
    owner = emu.add_contact(fields={"firstName": "Owner", "primaryEmail": "owner@acme.com"})
    ops = operations(owner.contact_id, tag="run")
    journal = tmp_path / "import.journal"
    emu.faults.add(fault, probability=0.35)
    async with emu.serve():
        first: list[ItemResult] = []
        async with emu.client(timeout=0.3, retry_policy=fast_policy(3)) as zy:
            report = await zy.bulk.run(
                ops,
                concurrency=16,
                journal=journal,
                breaker_threshold=None,
                on_result=first.append,
            )
        assert emu.faults.fired[fault.name] > 0
        assert report.total == len(ops)
        assert sorted(r.index for r in first) == list(range(len(ops)))
        counts = applied_counts(emu)
        assert max(counts.values()) == 1, "something was created twice"
        check_honest(first, counts)

        # The same import again, with the same journal and the server healthy.
        emu.faults.clear()
        second: list[ItemResult] = []
        async with emu.client(timeout=2.0, retry_policy=fast_policy(3)) as zy:
            again = await zy.bulk.run(ops, concurrency=16, journal=journal, on_result=second.append)
        assert again.total == len(ops)
        counts = applied_counts(emu)
        assert max(counts.values()) == 1, "the resumed run created something twice"
        check_honest(second, counts)
        before = {r.index: r for r in first}
        for result in second:
            if before[result.index].status is Status.SUCCEEDED:
                assert result.from_journal, "a succeeded item was sent again"
        # Only what may already have been applied stays open; everything else got done.
        for result in flatten(second):
            assert result.status in (Status.SUCCEEDED, Status.UNKNOWN, Status.SKIPPED), result
