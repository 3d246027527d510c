"""The report: counts, throughput, progress, and an export that can be imported again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import pytest

from zyntro_async import Contact, RequestValidationError, ZyntroClient
from zyntro_async.bulk import (
    AddLink,
    AddNote,
    ContactBundle,
    InvalidItem,
    LogComms,
    Progress,
    Status,
    op_from_line,
)
from zyntro_async.testing import Emulator, ResetAfterApply

from ._helpers import ADD_COMMS, MANAGE_ATTACHMENTS, upsert


@pytest.fixture
def contact_id(emulator: Emulator) -> str:
    return emulator.add_contact(fields={"primaryEmail": "r@x.example"}).contact_id


def label(line: dict[str, Any]) -> str:
    """What an exported line is about: its key, contact e-mail, link name or note text."""
    contact = line.get("contact") or {}
    return str(
        line.get("key") or contact.get("primaryEmail") or line.get("name") or line.get("note")
    )


async def test_report_counts_keeps_what_needs_attention_and_exports_it_for_reimport(
    emulator: Emulator, zy: ZyntroClient, contact_id: str, tmp_path: Path
) -> None:
    stranger = emulator.credentials.other_members[0]
    refused = ContactBundle(
        Contact(first_name="A", primary_email="a@x.example", custom_fields={"undefined": 1}),
        notes=[AddNote(None, "a note")],
    )
    partly = ContactBundle(
        Contact(first_name="B", primary_email="b@x.example"),
        notes=[AddNote(None, "fine"), AddNote(None, "by a stranger", member_id=stranger)],
        comms=[LogComms(None, "email", "hello", source="Email")],
        key="account-b",
    )
    invalid = InvalidItem(
        RequestValidationError("contact.primary_email", "is required"),
        source="rows.jsonl:6",
        raw={"contact": {"firstName": "NoEmail"}},
    )
    lost = AddNote("no-such-contact", "lost")
    maybe = AddLink(contact_id, name="maybe", url="https://maybe.example/x")
    # The only comms request and the only attachment request are applied, then reset.
    emulator.faults.add(ResetAfterApply(), endpoint=ADD_COMMS)
    emulator.faults.add(ResetAfterApply(), endpoint=MANAGE_ATTACHMENTS)
    items = [upsert(0), upsert(1), upsert(2), refused, partly, invalid, lost, maybe]

    report = await zy.bulk.run(items, concurrency=4)

    assert report.total == 8
    assert (report.succeeded, report.failed, report.unknown, report.skipped) == (4, 3, 1, 0)
    assert report.child_counts == {
        Status.SUCCEEDED: 1,
        Status.FAILED: 1,
        Status.UNKNOWN: 1,
        Status.SKIPPED: 1,
    }
    assert not report.all_succeeded
    assert sorted(r.index for r in report.results) == [3, 4, 5, 6, 7]
    assert report.elapsed > 0
    assert report.items_per_second == pytest.approx(8 / report.elapsed)
    assert report.summary().startswith("8 items: 4 succeeded, 3 failed, 1 unknown, 0 skipped")

    exported = tmp_path / "needs-attention.jsonl"
    assert report.export(exported) == 5
    lines = [json.loads(text) for text in exported.read_text().splitlines()]
    by_what = {label(line): line for line in lines}
    assert by_what["a@x.example"]["error"]["code"] == "CUSTOM_FIELD_ERROR"
    assert by_what["a@x.example"]["error"]["status"] == "failed"
    assert by_what["a@x.example"]["notes"] == [{"note": "a note"}]
    # A bundle whose contact succeeded exports only the children that did not.
    partial = by_what["account-b"]
    assert partial["notes"] == [{"note": "by a stranger", "member_id": stranger}]
    assert partial["comms"] == [{"comms_type": "email", "data": "hello", "source": "Email"}]
    assert partial["error"]["code"] == "NOT_OWNER"
    assert partial["error"]["message"]
    assert by_what["lost"]["error"]["code"] == "NOT_FOUND"
    assert by_what["maybe"]["error"]["status"] == "unknown"
    invalid_line = next(line for line in lines if line["error"]["code"] == "REQUEST_VALIDATION")
    assert invalid_line["contact"] == {"firstName": "NoEmail"}

    # Fed back: each line is the operation again (the part that still needs doing).
    assert op_from_line(by_what["a@x.example"]) == refused
    assert op_from_line(partial) == attrs.evolve(
        partly, notes=[partly.notes[1]], comms=list(partly.comms)
    )
    assert op_from_line(by_what["lost"]) == lost
    assert op_from_line(by_what["maybe"]) == maybe
    with pytest.raises(RequestValidationError):  # still needs fixing by a person
        op_from_line(invalid_line)


async def test_on_progress_reports_counts_and_rate(zy: ZyntroClient) -> None:
    seen: list[Progress] = []
    report = await zy.bulk.run(
        [upsert(i) for i in range(20)], on_progress=seen.append, progress_interval=0
    )

    assert report.all_succeeded
    last = seen[-1]
    assert (last.done, last.pulled, last.total) == (20, 20, 20)
    assert last.counts[Status.SUCCEEDED] == 20
    assert last.rate > 0
    assert last.elapsed > 0
    assert [p.done for p in seen] == sorted(p.done for p in seen)
    for progress in seen:
        assert sum(progress.counts.values()) == progress.done <= progress.pulled

    lazy: list[Progress] = []
    await zy.bulk.run((upsert(i) for i in range(3)), on_progress=lazy.append)
    assert lazy[-1].total is None
    assert lazy[-1].done == 3
