"""Every documented example succeeds and answers with exactly the documented shape."""

from __future__ import annotations

import base64

from zyntro_async.testing import Emulator

from ._docs import (
    ATTACHMENT_DELETE_CURL,
    ATTACHMENT_FILE_CURL,
    ATTACHMENT_LINK_CURL,
    COMMS_CURL,
    COMMS_EXAMPLE,
    CONTACTS_CURL,
    CONTACTS_EXAMPLE,
    DOC_CONTACT_ID,
    DOC_EMAIL,
    NOTES_CURL,
    NOTES_EXAMPLE,
    OVERVIEW_FETCH_CONTACT,
    doc_body,
)
from ._raw import RawApi

CONTACT_KEYS = {"action", "message", "entity_id", "contact_id", "entity_action"}
FETCH_KEYS = {"contact_id", "first_name", "last_name", "email", "contact_status"}
NOTE_KEYS = {"note_id", "contact_id", "note_content", "note_editable", "note_visibility"}
ATTACHMENT_KEYS = {"action", "att_id", "message"}
COMMS_KEYS = {"ch_id", "message"}
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n"


async def test_contact_example_creates_contact_and_entity(
    api: RawApi, zyntro_emulator: Emulator
) -> None:
    data = await api.ok("crm/addContactsFull", doc_body(CONTACTS_EXAMPLE, api.creds))

    assert set(data) == CONTACT_KEYS
    assert data["action"] == "created"
    assert data["message"] == "Contact created successfully"
    assert data["entity_action"] == "created"
    contact = zyntro_emulator.contact(data["contact_id"])
    assert contact.primary_email == DOC_EMAIL
    assert contact.tags == ["prospect", "enterprise"]
    assert contact.custom_fields == {"industry": "Technology", "company_size": "50-200"}
    assert contact.role_label == "Decision Maker"
    assert contact.owner_id == api.creds.member_id
    (entity,) = zyntro_emulator.entities
    assert (entity.entity_id, entity.name) == (data["entity_id"], "Acme Corp")
    assert entity.fields == {"label": "Company", "status": "Active", "website": "https://acme.com"}


async def test_contact_curl_sample_upserts_the_same_contact(
    api: RawApi, zyntro_emulator: Emulator
) -> None:
    first = await api.ok("crm/addContactsFull", doc_body(CONTACTS_EXAMPLE, api.creds))
    second = await api.ok("crm/addContactsFull", doc_body(CONTACTS_CURL, api.creds))

    assert set(second) == CONTACT_KEYS
    assert second["action"] == "updated"
    assert second["message"] == "Contact updated successfully"
    assert second["contact_id"] == first["contact_id"]
    assert second["entity_id"] == first["entity_id"]
    assert second["entity_action"] == "linked"
    assert len(zyntro_emulator.contacts) == 1
    assert zyntro_emulator.applied_detail == {
        ("crm/addContactsFull", "created"): 1,
        ("crm/addContactsFull", "updated"): 1,
    }


async def test_overview_fetch_example(api: RawApi, doc_contact: str) -> None:
    data = await api.ok("crm/fetchContact", doc_body(OVERVIEW_FETCH_CONTACT, api.creds))

    assert data == {
        "contact_id": DOC_CONTACT_ID,
        "first_name": "Jane",
        "last_name": "Smith",
        "email": DOC_EMAIL,
        "contact_status": "Active",
    }
    assert set(data) == FETCH_KEYS


async def test_notes_example_and_curl_sample(
    api: RawApi, doc_contact: str, zyntro_emulator: Emulator
) -> None:
    example = await api.ok("crm/addNotestoContact", doc_body(NOTES_EXAMPLE, api.creds))
    curl = await api.ok("crm/addNotestoContact", doc_body(NOTES_CURL, api.creds))

    assert set(example) == NOTE_KEYS
    assert example["note_editable"] == 0
    assert example["note_visibility"] == 1
    assert example["contact_id"] == DOC_CONTACT_ID
    assert curl == {
        "note_id": curl["note_id"],
        "contact_id": DOC_CONTACT_ID,
        "note_content": "Had a great demo call. Interested in the enterprise plan.",
        "note_editable": 0,
        "note_visibility": 1,
    }
    assert isinstance(curl["note_id"], str)
    assert curl["note_id"] != example["note_id"]
    assert len(zyntro_emulator.notes) == 2


async def test_attachment_link_sample(
    api: RawApi, doc_contact: str, zyntro_emulator: Emulator
) -> None:
    data = await api.ok("crm/manageAttachments", doc_body(ATTACHMENT_LINK_CURL, api.creds))

    assert set(data) == ATTACHMENT_KEYS
    assert data["action"] == "inserted"
    assert data["message"] == "Attachment created successfully"
    stored = zyntro_emulator.attachment(data["att_id"])
    assert stored.att_type == "link"
    assert stored.link_url == "https://docs.google.com/d/abc123"
    assert stored.name == "Proposal Document"
    assert stored.context == "Enterprise pricing proposal sent 2026-04-01"


async def test_attachment_file_sample_with_real_base64(
    api: RawApi, doc_contact: str, zyntro_emulator: Emulator
) -> None:
    body = doc_body(ATTACHMENT_FILE_CURL, api.creds)
    body["file_data"] = base64.b64encode(PDF).decode()

    data = await api.ok("crm/manageAttachments", body)

    assert set(data) == ATTACHMENT_KEYS
    assert data["action"] == "inserted"
    stored = zyntro_emulator.attachment(data["att_id"])
    assert stored.data == PDF
    assert stored.read_bytes() == PDF
    assert stored.size == len(PDF)
    assert stored.file_type == "application/pdf"
    assert stored.name == "signed-contract.pdf"


async def test_attachment_update_then_delete_sample(
    api: RawApi, doc_contact: str, zyntro_emulator: Emulator
) -> None:
    inserted = await api.ok("crm/manageAttachments", doc_body(ATTACHMENT_LINK_CURL, api.creds))
    update = api.body(
        action="update",
        att_id=inserted["att_id"],
        att_name="Proposal v2",
        att_content={"link_url": "https://docs.google.com/d/v2"},
    )
    updated = await api.ok("crm/manageAttachments", update)
    assert updated == {
        "action": "updated",
        "att_id": inserted["att_id"],
        "message": "Attachment updated successfully",
    }
    stored = zyntro_emulator.attachment(inserted["att_id"])
    assert (stored.name, stored.link_url) == ("Proposal v2", "https://docs.google.com/d/v2")

    delete = doc_body(ATTACHMENT_DELETE_CURL, api.creds)
    delete["att_id"] = inserted["att_id"]
    deleted = await api.ok("crm/manageAttachments", delete)

    assert deleted == {
        "action": "deleted",
        "att_id": inserted["att_id"],
        "message": "Attachment deleted successfully",
    }
    assert zyntro_emulator.attachments == []


async def test_comms_example_and_curl_sample(
    api: RawApi, doc_contact: str, zyntro_emulator: Emulator
) -> None:
    example = await api.ok("crm/addCommsHistory", doc_body(COMMS_EXAMPLE, api.creds))
    curl = await api.ok("crm/addCommsHistory", doc_body(COMMS_CURL, api.creds))

    assert example == {"ch_id": 1, "message": "Communication history logged successfully"}
    assert curl == {"ch_id": 2, "message": "Communication history logged successfully"}
    assert set(curl) == COMMS_KEYS
    first, second = zyntro_emulator.comms
    assert first.comms_type == "email"
    assert first.source == "Gmail"
    assert first.next_step == "Send revised quote by 2026-04-04"
    assert first.status == "processed"
    assert (second.comms_type, second.sentiment) == ("call", "positive")
