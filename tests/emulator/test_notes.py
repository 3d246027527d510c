"""addNotestoContact: required fields in order, ownership, org, create vs update."""

from __future__ import annotations

from typing import Any

import pytest

from zyntro_async.testing import Emulator

from ._docs import NOTES_CURL, NOTES_EXAMPLE, doc_body
from ._raw import RawApi

ENDPOINT = "crm/addNotestoContact"
NOT_OWNER = "The API only supports notes being added by the member that owns the contact."
WRONG_ORG = "You are trying to add a note to a contact that does not belong to your organization"


def note_body(api: RawApi, **fields: Any) -> dict[str, Any]:
    body = doc_body(NOTES_CURL, api.creds)
    body.update(fields)
    return {k: v for k, v in body.items() if v is not ...}


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        (("org_id", "member_id", "contact_id", "note"), "Missing org ID"),
        (("member_id", "contact_id", "note"), "Missing member ID"),
        (("contact_id", "note"), "Missing contact ID"),
        (("note",), "Missing note"),
    ],
)
async def test_missing_fields_in_documented_order(
    api: RawApi, doc_contact: str, missing: tuple[str, ...], message: str
) -> None:
    body = note_body(api, **dict.fromkeys(missing, ...))
    assert await api.error(ENDPOINT, body) == message


async def test_empty_note_is_missing(api: RawApi, doc_contact: str) -> None:
    assert await api.error(ENDPOINT, note_body(api, note="   ")) == "Missing note"


async def test_unknown_contact(api: RawApi) -> None:
    assert await api.error(ENDPOINT, note_body(api)) == "Contact does not exist"


async def test_contact_of_another_org(api: RawApi, zyntro_emulator: Emulator) -> None:
    other = zyntro_emulator.add_contact(
        org_id=api.creds.other_org_id,
        owner_id=api.creds.other_org_member_id,
        fields={"firstName": "Olga", "primaryEmail": "olga@b2c.example"},
    )
    message = await api.error(ENDPOINT, note_body(api, contact_id=other.contact_id))
    assert message == WRONG_ORG


async def test_only_the_owner_may_add_notes(api: RawApi, doc_contact: str) -> None:
    body = note_body(api, member_id=api.creds.other_members[0])
    assert await api.error(ENDPOINT, body) == NOT_OWNER


async def test_wrong_org_is_checked_before_owner(api: RawApi, zyntro_emulator: Emulator) -> None:
    other = zyntro_emulator.add_contact(
        org_id=api.creds.other_org_id,
        owner_id=api.creds.other_org_member_id,
        fields={"firstName": "Olga", "primaryEmail": "olga@b2c.example"},
    )
    body = note_body(api, contact_id=other.contact_id, member_id=api.creds.other_members[0])
    assert await api.error(ENDPOINT, body) == WRONG_ORG


async def test_defaults_are_private_and_read_only(api: RawApi, doc_contact: str) -> None:
    data = await api.ok(ENDPOINT, note_body(api, note_visibility=...))
    assert (data["note_visibility"], data["note_editable"]) == (0, 0)


async def test_booleans_are_accepted_as_flags(api: RawApi, doc_contact: str) -> None:
    data = await api.ok(ENDPOINT, note_body(api, note_visibility=True, note_editable=True))
    assert (data["note_visibility"], data["note_editable"]) == (1, 1)


@pytest.mark.parametrize("field", ["note_visibility", "note_editable"])
async def test_flags_must_be_0_or_1(api: RawApi, doc_contact: str, field: str) -> None:
    message = await api.error(ENDPOINT, note_body(api, **{field: 2}))
    assert message == f"{field} must be 0 or 1"


async def test_note_id_updates_the_note(
    api: RawApi, doc_contact: str, zyntro_emulator: Emulator
) -> None:
    created = await api.ok(ENDPOINT, doc_body(NOTES_EXAMPLE, api.creds))
    updated = await api.ok(
        ENDPOINT,
        note_body(api, note="Follow-up done.", note_id=created["note_id"], note_editable=1),
    )
    assert updated == {
        "note_id": created["note_id"],
        "contact_id": doc_contact,
        "note_content": "Follow-up done.",
        "note_editable": 1,
        "note_visibility": 1,
    }
    assert len(zyntro_emulator.notes) == 1
    assert zyntro_emulator.applied_detail == {
        ("crm/addNotestoContact", "created"): 1,
        ("crm/addNotestoContact", "updated"): 1,
    }


async def test_empty_note_id_creates(
    api: RawApi, doc_contact: str, zyntro_emulator: Emulator
) -> None:
    await api.ok(ENDPOINT, note_body(api, note_id=""))
    await api.ok(ENDPOINT, note_body(api, note_id=None))
    assert len(zyntro_emulator.notes) == 2


async def test_unknown_note_id(api: RawApi, doc_contact: str) -> None:
    body = note_body(api, note_id="c3d4e5f6-a7b8-9012-cdef-345678901234")
    assert await api.error(ENDPOINT, body) == "Note not found"


async def test_stored_note_mirrors_the_answer(
    api: RawApi, doc_contact: str, zyntro_emulator: Emulator
) -> None:
    data = await api.ok(ENDPOINT, doc_body(NOTES_EXAMPLE, api.creds))
    (stored,) = zyntro_emulator.notes
    assert (stored.note_id, stored.note_content, stored.note_visibility, stored.note_editable) == (
        data["note_id"],
        data["note_content"],
        1,
        0,
    )
    assert stored.content == stored.note_content
    assert stored.member_id == api.creds.member_id
