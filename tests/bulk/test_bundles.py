"""Bundles: the contact first, then its children; one result carrying theirs."""

from __future__ import annotations

from zyntro_async import (
    AmbiguousOutcomeError,
    AttachmentResult,
    CommsResult,
    Contact,
    ContactResult,
    Note,
    RequestValidationError,
    ZyntroClient,
)
from zyntro_async.bulk import AddNote, ContactBundle, InvalidItem, ItemResult, Status
from zyntro_async.testing import Emulator, ResetAfterApply

from ._helpers import ADD_CONTACTS, ADD_NOTES, ClientFactory, bundle, email, fast_retry


async def test_bundle_result_carries_its_childrens_results_in_order(
    emulator: Emulator, zy: ZyntroClient
) -> None:
    item = bundle(1)  # two notes, a link, a comms entry
    results: list[ItemResult] = []
    report = await zy.bulk.run([item], on_result=results.append)

    (result,) = results
    assert result.ok
    assert isinstance(result.value, ContactResult)
    assert [c.op for c in result.children] == list(item.children)
    key = item.stable_key()
    assert [c.key for c in result.children] == [
        f"{key}/notes/0",
        f"{key}/notes/1",
        f"{key}/attachments/0",
        f"{key}/comms/0",
    ]
    assert [type(c.value) for c in result.children] == [Note, Note, AttachmentResult, CommsResult]
    assert all(c.status is Status.SUCCEEDED and c.index == 0 for c in result.children)
    assert all(c.attempts == 1 for c in result.children)
    # The children went to the contact the upsert returned.
    contact_id = result.value.contact_id
    assert {n.contact_id for n in emulator.notes} == {contact_id}
    assert report.counts[Status.SUCCEEDED] == 1
    assert report.child_counts[Status.SUCCEEDED] == 4
    assert report.results == []


async def test_failed_contact_marks_its_children_skipped(
    emulator: Emulator, zy: ZyntroClient
) -> None:
    item = ContactBundle(
        Contact(first_name="Bad", primary_email=email(0), custom_fields={"undefined": "x"}),
        notes=[AddNote(None, "never sent"), AddNote(None, "nor this")],
    )
    (result,) = (await zy.bulk.run([item])).results

    assert result.status is Status.FAILED
    assert result.code == "CUSTOM_FIELD_ERROR"
    assert [c.status for c in result.children] == [Status.SKIPPED, Status.SKIPPED]
    assert all(c.error is result.error for c in result.children)
    assert emulator.request_counts[ADD_NOTES] == 0
    assert emulator.contacts == []


async def test_contact_of_unknown_outcome_marks_its_children_skipped(
    emulator: Emulator, make_client: ClientFactory
) -> None:
    emulator.faults.add(ResetAfterApply(), endpoint=ADD_CONTACTS)
    async with make_client(retry_policy=fast_retry(max_retries=0)) as zy:
        (result,) = (await zy.bulk.run([bundle(0)])).results

    assert result.status is Status.UNKNOWN
    assert isinstance(result.error, AmbiguousOutcomeError)
    assert {c.status for c in result.children} == {Status.SKIPPED}
    assert emulator.request_counts[ADD_NOTES] == 0
    assert len(emulator.contacts) == 1  # it was applied: that is why it is "unknown"


async def test_invalid_item_fails_with_its_own_error_without_a_request(
    emulator: Emulator, zy: ZyntroClient
) -> None:
    error = RequestValidationError("contact.primary_email", "is not an e-mail address")
    invalid = InvalidItem(error, source="contacts.csv:7", raw={"email": "nope"})
    stray = {"not": "an operation"}
    results: list[ItemResult] = []
    report = await zy.bulk.run([invalid, stray], on_result=results.append)

    by_index = {r.index: r for r in results}
    assert by_index[0].status is Status.FAILED
    assert by_index[0].error is error
    assert by_index[0].code == "REQUEST_VALIDATION"
    assert by_index[0].key == invalid.stable_key()
    assert by_index[1].status is Status.FAILED
    assert isinstance(by_index[1].error, RequestValidationError)
    assert "not a bulk operation" in str(by_index[1].error)
    assert report.failed == 2
    assert sum(emulator.request_counts.values()) == 0
