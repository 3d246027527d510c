"""Where the docs are silent the emulator is lenient, and it can be seeded with chosen ids."""

from __future__ import annotations

import ast
import base64
import inspect
from typing import Any

import pytest

from zyntro_async.testing import EMULATOR_MESSAGES, Emulator, _auth, _rules

from ._docs import ATTACHMENT_DELETE_CURL, DOC_ATT_ID, NOTES_EXAMPLE, doc_body
from ._raw import RawApi

CONTACTS = "crm/addContactsFull"
ATTACHMENTS = "crm/manageAttachments"
NOTES = "crm/addNotestoContact"


def contact_body(api: RawApi, contact: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return api.body(contact=contact, **fields)


JANE = {"firstName": "Jane", "primaryEmail": "jane@acme.com"}


@pytest.mark.parametrize(
    "phone",
    [
        "+1 (555) 010-0199 ext. 89",
        "+44 20 7946 0958 x12",
        "1-800-FLOWERS",
        "+49 (0)30/1234567",
        "555.010.0199",
        "+1-555-0123",
    ],
)
async def test_real_world_phones_are_accepted(api: RawApi, phone: str) -> None:
    await api.ok(CONTACTS, contact_body(api, {**JANE, "primaryPhone": phone}))


@pytest.mark.parametrize("phone", ["call me", "FLOWERS", "n/a", "12", "+", "phone: 555 0100"])
async def test_what_is_clearly_not_a_phone_is_refused(api: RawApi, phone: str) -> None:
    message = await api.error(CONTACTS, contact_body(api, {**JANE, "primaryPhone": phone}))
    assert (
        message == f"Contact validation errors: primaryPhone is not a valid phone number: {phone!r}"
    )


@pytest.mark.parametrize("email", ["jane", "jane@@acme.com", "ja@ne@acme.com", "jane @acme.com"])
async def test_emails_need_one_at_and_no_whitespace(api: RawApi, email: str) -> None:
    message = await api.error(CONTACTS, contact_body(api, {**JANE, "primaryEmail": email}))
    assert message.startswith("Contact validation errors: primaryEmail is not a valid email")


async def test_plus_addressing_and_long_names_are_accepted(
    api: RawApi, zyntro_emulator: Emulator
) -> None:
    contact = {**JANE, "primaryEmail": "jane.o'neil+crm@mail.acme.co.uk", "lastName": "L" * 300}
    data = await api.ok(CONTACTS, contact_body(api, contact, entity={"name": "N" * 300}))
    assert zyntro_emulator.contact(data["contact_id"]).last_name == "L" * 300


async def test_phone_upsert_matches_on_digits(api: RawApi) -> None:
    created = await api.ok(
        CONTACTS, contact_body(api, {**JANE, "primaryPhone": "+1 (555) 010-0199"})
    )
    updated = await api.ok(
        CONTACTS,
        contact_body(api, {"primaryPhone": "+1-555-010-0199", "lastName": "S"}, lookup_by="phone"),
    )
    assert updated["contact_id"] == created["contact_id"]


async def test_mime_type_parameters_are_ignored(api: RawApi, doc_contact: str) -> None:
    body = api.body(
        action="insert",
        contact_id=doc_contact,
        att_type="file",
        att_name="notes.txt",
        file_data=base64.b64encode(b"hello").decode(),
        file_type="Text/Plain; charset=utf-8",
    )
    await api.ok(ATTACHMENTS, body)
    body["file_type"] = "text/html; charset=utf-8"
    assert await api.error(ATTACHMENTS, body) == "Unsupported file type: text/html; charset=utf-8"


# ------------------------------------------------------------------ B2B companies


async def test_same_name_contacts_get_a_company_each(
    api: RawApi, zyntro_emulator: Emulator
) -> None:
    one = await api.ok(CONTACTS, contact_body(api, {**JANE, "lastName": "Smith"}))
    two = await api.ok(
        CONTACTS, contact_body(api, {**JANE, "lastName": "Smith", "primaryEmail": "j2@other.io"})
    )
    assert one["entity_id"] != two["entity_id"]
    assert (one["entity_action"], two["entity_action"]) == ("created", "created")
    again = await api.ok(CONTACTS, contact_body(api, {**JANE, "roleLabel": "CEO"}))
    assert (again["entity_id"], again["entity_action"]) == (one["entity_id"], "linked")


async def test_a_named_company_is_shared(api: RawApi, zyntro_emulator: Emulator) -> None:
    one = await api.ok(CONTACTS, contact_body(api, JANE, entity={"name": "Acme"}))
    two = await api.ok(
        CONTACTS,
        contact_body(api, {**JANE, "primaryEmail": "bob@acme.com"}, entity={"name": "ACME"}),
    )
    assert one["entity_id"] == two["entity_id"]
    assert two["entity_action"] == "linked"
    assert len(zyntro_emulator.entities) == 1


# ------------------------------------------------------------------ seeding with chosen ids


async def test_the_docs_attachment_id_can_be_seeded_updated_and_deleted(
    api: RawApi, zyntro_emulator: Emulator, doc_contact: str
) -> None:
    zyntro_emulator.add_attachment(
        contact_id=doc_contact, att_id=DOC_ATT_ID, name="Proposal", link_url="https://a.io/p"
    )
    update = doc_body(ATTACHMENT_DELETE_CURL, api.creds)
    update.update(
        action="update", att_name="Proposal v2", att_content={"link_url": "https://a.io/2"}
    )

    assert (await api.ok(ATTACHMENTS, update))["att_id"] == DOC_ATT_ID
    stored = zyntro_emulator.attachment(DOC_ATT_ID)
    assert (stored.name, stored.link_url) == ("Proposal v2", "https://a.io/2")

    delete = doc_body(ATTACHMENT_DELETE_CURL, api.creds)
    assert (await api.ok(ATTACHMENTS, delete))["action"] == "deleted"
    assert zyntro_emulator.attachments == []


def test_seeded_file_attachment_keeps_its_bytes(
    zyntro_emulator: Emulator, doc_contact: str
) -> None:
    stored = zyntro_emulator.add_attachment(
        contact_id=doc_contact,
        att_id="any/odd id",
        att_type="file",
        data=b"%PDF",
        file_type="application/pdf",
    )
    assert stored.read_bytes() == b"%PDF"
    assert stored.size == 4
    with pytest.raises(ValueError, match="already exists"):
        zyntro_emulator.add_attachment(contact_id=doc_contact, att_id="any/odd id")


async def test_a_seeded_note_can_be_updated(
    api: RawApi, zyntro_emulator: Emulator, doc_contact: str
) -> None:
    zyntro_emulator.add_note(contact_id=doc_contact, content="old", note_id="note-1", visible=True)
    body = doc_body(NOTES_EXAMPLE, api.creds)
    body.update(note_id="note-1", note="new")
    del body["note_visibility"]

    data = await api.ok(NOTES, body)

    assert (data["note_id"], data["note_content"], data["note_visibility"]) == ("note-1", "new", 1)
    assert zyntro_emulator.applied_detail == {(NOTES, "updated"): 1}
    with pytest.raises(ValueError, match="already exists"):
        zyntro_emulator.add_note(contact_id=doc_contact, content="x", note_id="note-1")


# ------------------------------------------------------------------ messages in one place


@pytest.mark.parametrize("module", [_rules, _auth])
def test_every_rejection_uses_a_message_from_the_messages_module(module: Any) -> None:
    tree = ast.parse(inspect.getsource(module))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Rejected":
            for arg in node.args:
                assert not isinstance(arg, (ast.Constant, ast.JoinedStr)), ast.unparse(node)


def test_emulator_messages_are_distinct() -> None:
    assert len(set(EMULATOR_MESSAGES)) == len(EMULATOR_MESSAGES)
    assert "Contact already exists" in EMULATOR_MESSAGES
    assert "link_url can only be changed on link attachments" in EMULATOR_MESSAGES
