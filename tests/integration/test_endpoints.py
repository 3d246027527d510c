"""Every endpoint method of the SDK, against the emulator, checked from both sides.

Each test calls the SDK the way an application would (through the plugin's
``zyntro_client`` fixture, connected over a loopback socket) and checks the typed return
value, then what the emulator stored and what it was sent: the two views must agree.
"""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from zyntro_async import (
    AttachmentResult,
    CommsResult,
    Contact,
    ContactRecord,
    ContactResult,
    Entity,
    Note,
    NotFoundError,
    RequestValidationError,
    ZyntroClient,
)
from zyntro_async.testing import Emulator

ADD_CONTACTS = "crm/addContactsFull"
FETCH_CONTACT = "crm/fetchContact"
ADD_NOTES = "crm/addNotestoContact"
MANAGE_ATTACHMENTS = "crm/manageAttachments"
ADD_COMMS = "crm/addCommsHistory"

JANE = Contact(first_name="Jane", last_name="Smith", primary_email="jane@acme.com")


def last_body(emulator: Emulator, endpoint: str) -> dict[str, object]:
    """The (redacted) body of the last request the emulator received at ``endpoint``."""
    record = next(r for r in reversed(emulator.requests) if r.endpoint == endpoint)
    return dict(record.body)


async def test_the_client_fixture_talks_to_the_emulator_over_loopback(
    zyntro_client: ZyntroClient, zyntro_emulator: Emulator
) -> None:
    assert zyntro_emulator.base_url.startswith("http://127.0.0.1:")
    await zyntro_client.contacts.upsert(JANE)

    (record,) = zyntro_emulator.requests
    assert record.peer == "127.0.0.1"
    assert record.method == "POST"
    assert record.http_status == 200
    # Credentials travel in the body, as documented (the log masks their values).
    assert record.body["api_key"] == record.body["developer_secret"] == "<redacted>"
    assert record.body["org_id"] == zyntro_emulator.credentials.org_id


# ------------------------------------------------------------------------ contacts


async def test_upsert_creates_then_updates_the_same_contact_by_email(
    zyntro_client: ZyntroClient, zyntro_emulator: Emulator
) -> None:
    created = await zyntro_client.contacts.upsert(JANE)
    updated = await zyntro_client.contacts.upsert(
        Contact(primary_email="JANE@acme.com", last_name="Doe")
    )

    assert isinstance(created, ContactResult)
    assert (created.action, updated.action) == ("created", "updated")
    assert created.message == "Contact created successfully"
    assert updated.message == "Contact updated successfully"
    assert updated.contact_id == created.contact_id
    (stored,) = zyntro_emulator.contacts
    assert (stored.first_name, stored.last_name) == ("Jane", "Doe")
    assert stored.owner_id == zyntro_emulator.credentials.member_id
    assert last_body(zyntro_emulator, ADD_CONTACTS)["mode"] == "upsert"
    assert last_body(zyntro_emulator, ADD_CONTACTS)["lookup_by"] == "email"
    assert zyntro_emulator.applied_detail[ADD_CONTACTS, "created"] == 1
    assert zyntro_emulator.applied_detail[ADD_CONTACTS, "updated"] == 1


async def test_every_contact_field_reaches_the_api_in_camel_case(
    zyntro_client: ZyntroClient, zyntro_emulator: Emulator
) -> None:
    contact = Contact(
        first_name="Jane",
        last_name="Smith",
        primary_email="jane@acme.com",
        primary_phone="+1-555-0123",
        source="API Import",
        status="Active",
        role_label="Decision Maker",
        tags=["prospect", "enterprise"],
        custom_fields={"industry": "Technology", "company_size": "50-200"},
        extra={"jobTitle": "CTO"},
    )
    result = await zyntro_client.contacts.upsert(contact, skip_entity=True)

    sent = last_body(zyntro_emulator, ADD_CONTACTS)["contact"]
    assert sent == {
        "firstName": "Jane",
        "lastName": "Smith",
        "primaryEmail": "jane@acme.com",
        "primaryPhone": "+1-555-0123",
        "source": "API Import",
        "status": "Active",
        "roleLabel": "Decision Maker",
        "tags": ["prospect", "enterprise"],
        "customFields": {"industry": "Technology", "company_size": "50-200"},
        "jobTitle": "CTO",
    }
    stored = zyntro_emulator.contact(result.contact_id)
    assert stored.role_label == "Decision Maker"
    assert stored.tags == ["prospect", "enterprise"]
    assert stored.custom_fields == {"industry": "Technology", "company_size": "50-200"}
    assert stored.fields["jobTitle"] == "CTO"


async def test_custom_fields_take_allowed_options_and_merge_on_update(
    zyntro_client: ZyntroClient, zyntro_emulator: Emulator
) -> None:
    email = "jane@acme.com"
    first = await zyntro_client.contacts.upsert(
        Contact(
            first_name="Jane",
            primary_email=email,
            custom_fields={"industry": "Technology", "company_size": "11-50"},
        )
    )
    await zyntro_client.contacts.update(
        Contact(primary_email=email, custom_fields={"company_size": "200+", "lead_score": 87})
    )

    # New keys added, existing keys overwritten, untouched keys kept.
    assert zyntro_emulator.contact(first.contact_id).custom_fields == {
        "industry": "Technology",
        "company_size": "200+",
        "lead_score": 87,
    }


async def test_b2b_upsert_creates_an_entity_named_after_the_contact(
    zyntro_client: ZyntroClient, zyntro_emulator: Emulator
) -> None:
    result = await zyntro_client.contacts.upsert(JANE)

    assert result.entity_action == "created"
    (entity,) = zyntro_emulator.entities
    assert result.entity_id == entity.entity_id
    assert entity.name == "Jane Smith"
    assert zyntro_emulator.contact(result.contact_id).entity_id == entity.entity_id


async def test_a_given_entity_is_created_once_then_linked(
    zyntro_client: ZyntroClient, zyntro_emulator: Emulator
) -> None:
    acme = Entity(name="Acme Corp", label="Company", status="Active", website="https://acme.com")
    jane = await zyntro_client.contacts.upsert(JANE, entity=acme)
    bob = await zyntro_client.contacts.upsert(
        Contact(first_name="Bob", primary_email="bob@acme.com"), entity=Entity(name="acme corp")
    )

    assert (jane.entity_action, bob.entity_action) == ("created", "linked")
    assert jane.entity_id == bob.entity_id
    (entity,) = zyntro_emulator.entities
    assert entity.name == "Acme Corp"
    assert entity.fields == {"label": "Company", "status": "Active", "website": "https://acme.com"}


async def test_skip_entity_creates_no_entity_even_in_b2b_mode(
    zyntro_client: ZyntroClient, zyntro_emulator: Emulator
) -> None:
    result = await zyntro_client.contacts.upsert(JANE, entity=Entity(name="Acme"), skip_entity=True)

    assert result.entity_id is None
    assert result.entity_action is None
    assert zyntro_emulator.entities == []
    assert last_body(zyntro_emulator, ADD_CONTACTS)["skip_entity"] is True


async def test_b2c_organization_links_no_entity(zyntro_emulator: Emulator) -> None:
    creds = zyntro_emulator.credentials
    async with zyntro_emulator.client(
        org_id=creds.other_org_id,
        member_id=creds.other_org_member_id,
        brand_id=creds.other_org_brand_id,
    ) as zy:
        result = await zy.contacts.upsert(JANE, entity=Entity(name="Acme Corp"))
        record = await zy.contacts.fetch(result.contact_id)

    assert (result.action, result.entity_id, result.entity_action) == ("created", None, None)
    assert zyntro_emulator.entities == []
    assert zyntro_emulator.contact(result.contact_id).org_id == creds.other_org_id
    assert record.email == "jane@acme.com"


async def test_create_inserts_and_refuses_an_existing_contact(
    zyntro_client: ZyntroClient, zyntro_emulator: Emulator
) -> None:
    result = await zyntro_client.contacts.create(JANE, entity=Entity(name="Acme Corp"))

    assert result.action == "created"
    assert result.entity_action == "created"
    assert last_body(zyntro_emulator, ADD_CONTACTS)["mode"] == "insert"
    assert "lookup_by" not in last_body(zyntro_emulator, ADD_CONTACTS)
    assert zyntro_emulator.find_contact(email="jane@acme.com") is not None


async def test_update_by_phone_and_by_contact_id(
    zyntro_client: ZyntroClient, zyntro_emulator: Emulator
) -> None:
    created = await zyntro_client.contacts.create(
        Contact(first_name="Jane", primary_email="jane@acme.com", primary_phone="+1 555 0123")
    )
    by_phone = await zyntro_client.contacts.update(
        Contact(primary_phone="+1-555-0123", last_name="ByPhone"), lookup_by="phone"
    )
    by_id = await zyntro_client.contacts.update(
        Contact(status="Inactive"), lookup_by="contact_id", contact_id=created.contact_id
    )
    upserted = await zyntro_client.contacts.upsert(
        Contact(role_label="Champion"), lookup_by="contact_id", contact_id=created.contact_id
    )

    assert by_phone.contact_id == by_id.contact_id == upserted.contact_id == created.contact_id
    assert (by_phone.action, by_id.action, upserted.action) == ("updated",) * 3
    assert last_body(zyntro_emulator, ADD_CONTACTS)["contact_id"] == created.contact_id
    (stored,) = zyntro_emulator.contacts
    assert (stored.last_name, stored.status, stored.role_label) == (
        "ByPhone",
        "Inactive",
        "Champion",
    )


async def test_upsert_by_phone_creates_when_no_contact_has_that_phone(
    zyntro_client: ZyntroClient, zyntro_emulator: Emulator
) -> None:
    result = await zyntro_client.contacts.upsert(
        Contact(first_name="Ann", primary_email="ann@acme.com", primary_phone="+44 20 7946 0000"),
        lookup_by="phone",
    )

    assert result.action == "created"
    assert zyntro_emulator.contact(result.contact_id).primary_phone == "+44 20 7946 0000"


async def test_debug_asks_for_debug_data_and_the_result_keeps_it(
    zyntro_client: ZyntroClient, zyntro_emulator: Emulator
) -> None:
    result = await zyntro_client.contacts.upsert(JANE, debug=True)

    assert last_body(zyntro_emulator, ADD_CONTACTS)["debug"] is True
    # The answer's "debug" object is kept on the result, as the server sent it.
    assert isinstance(result.debug, dict)
    assert result.debug["mode"] == "upsert"
    assert result == ContactResult(
        contact_id=result.contact_id,
        action="created",
        entity_id=result.entity_id,
        entity_action="created",
        message="Contact created successfully",
        debug=result.debug,
    )
    assert result.extra == {}


async def test_without_debug_the_result_has_none(
    zyntro_client: ZyntroClient, zyntro_emulator: Emulator
) -> None:
    result = await zyntro_client.contacts.upsert(JANE)

    assert "debug" not in last_body(zyntro_emulator, ADD_CONTACTS)
    assert result.debug is None


async def test_member_id_per_call_makes_that_member_the_owner(
    zyntro_client: ZyntroClient, zyntro_emulator: Emulator
) -> None:
    colleague = zyntro_emulator.credentials.other_members[0]
    result = await zyntro_client.contacts.upsert(JANE, member_id=colleague)

    assert zyntro_emulator.contact(result.contact_id).owner_id == colleague
    assert last_body(zyntro_emulator, ADD_CONTACTS)["member_id"] == colleague


async def test_fetch_returns_the_stored_contact_and_sends_the_brand(
    zyntro_client: ZyntroClient, zyntro_emulator: Emulator
) -> None:
    stored = zyntro_emulator.add_contact(
        fields={"firstName": "Jane", "lastName": "Smith", "primaryEmail": "jane@acme.com"}
    )

    record = await zyntro_client.contacts.fetch(stored.contact_id)

    assert record == ContactRecord(
        contact_id=stored.contact_id,
        first_name="Jane",
        last_name="Smith",
        email="jane@acme.com",
        contact_status="Active",
    )
    assert last_body(zyntro_emulator, FETCH_CONTACT)["brand_id"] == "1"
    assert zyntro_emulator.applied[FETCH_CONTACT] == 0  # a read changes nothing


async def test_fetch_with_another_brand_and_member(zyntro_emulator: Emulator) -> None:
    stored = zyntro_emulator.add_contact(fields={"firstName": "Jane"})
    colleague = zyntro_emulator.credentials.other_members[1]
    async with zyntro_emulator.client(brand_id="2") as zy:
        record = await zy.contacts.fetch(stored.contact_id, member_id=colleague)

    assert record.first_name == "Jane"
    assert last_body(zyntro_emulator, FETCH_CONTACT)["brand_id"] == "2"
    assert last_body(zyntro_emulator, FETCH_CONTACT)["member_id"] == colleague


# --------------------------------------------------------------------------- notes


async def test_notes_add_then_update_in_place(
    zyntro_client: ZyntroClient, zyntro_emulator: Emulator
) -> None:
    contact = await zyntro_client.contacts.upsert(JANE)

    added = await zyntro_client.notes.add(contact.contact_id, "Met at the fair", visible=True)
    updated = await zyntro_client.notes.update(
        added.note_id, contact.contact_id, "Met at the fair; call back", editable=True
    )

    assert added == Note(
        note_id=added.note_id,
        contact_id=contact.contact_id,
        note_content="Met at the fair",
        note_editable=False,
        note_visibility=True,
    )
    assert updated.note_id == added.note_id
    # ``visible`` was left None, so it was not sent: the note keeps its visibility.
    assert (updated.note_content, updated.note_editable, updated.note_visibility) == (
        "Met at the fair; call back",
        True,
        True,
    )
    (stored,) = zyntro_emulator.notes
    assert (stored.note_content, stored.note_editable, stored.note_visibility) == (
        "Met at the fair; call back",
        1,
        1,
    )
    assert last_body(zyntro_emulator, ADD_NOTES)["note_id"] == added.note_id
    assert "note_visibility" not in last_body(zyntro_emulator, ADD_NOTES)
    assert zyntro_emulator.applied_detail[ADD_NOTES, "created"] == 1
    assert zyntro_emulator.applied_detail[ADD_NOTES, "updated"] == 1


async def test_notes_go_through_as_the_owner_given_per_call(
    zyntro_client: ZyntroClient, zyntro_emulator: Emulator
) -> None:
    owner = zyntro_emulator.credentials.other_members[2]
    contact = zyntro_emulator.add_contact(owner_id=owner, fields={"firstName": "Jane"})

    note = await zyntro_client.notes.add(contact.contact_id, "Owner's note", member_id=owner)
    await zyntro_client.notes.update(note.note_id, contact.contact_id, "Edited", member_id=owner)

    (stored,) = zyntro_emulator.notes
    assert stored.member_id == owner
    assert stored.note_content == "Edited"


# --------------------------------------------------------------------- attachments


@pytest.fixture
def contact_id(zyntro_emulator: Emulator) -> str:
    return zyntro_emulator.add_contact(fields={"firstName": "Jane"}).contact_id


async def test_link_attachment_insert_update_delete(
    zyntro_client: ZyntroClient, zyntro_emulator: Emulator, contact_id: str
) -> None:
    inserted = await zyntro_client.attachments.add_link(
        contact_id,
        name="Proposal Document",
        url="https://docs.google.com/d/abc123",
        context="Enterprise pricing proposal sent 2026-04-01",
    )
    assert inserted == AttachmentResult(
        att_id=inserted.att_id, action="inserted", message="Attachment created successfully"
    )
    stored = zyntro_emulator.attachment(inserted.att_id)
    assert (stored.att_type, stored.name, stored.link_url, stored.context) == (
        "link",
        "Proposal Document",
        "https://docs.google.com/d/abc123",
        "Enterprise pricing proposal sent 2026-04-01",
    )
    assert stored.contact_id == contact_id

    updated = await zyntro_client.attachments.update(
        inserted.att_id, name="Proposal v2", url="https://docs.google.com/d/v2", context="Revised"
    )
    assert (updated.action, updated.att_id) == ("updated", inserted.att_id)
    assert updated.message == "Attachment updated successfully"
    stored = zyntro_emulator.attachment(inserted.att_id)
    assert (stored.name, stored.link_url, stored.context) == (
        "Proposal v2",
        "https://docs.google.com/d/v2",
        "Revised",
    )

    deleted = await zyntro_client.attachments.delete(inserted.att_id)
    assert (deleted.action, deleted.att_id) == ("deleted", inserted.att_id)
    assert deleted.message == "Attachment deleted successfully"
    assert zyntro_emulator.attachments == []
    assert [action for (_, action) in zyntro_emulator.applied_detail] == [
        "inserted",
        "updated",
        "deleted",
    ]


# Every byte value, a length that is not a multiple of 3 (base64 padding), and a size
# above the emulator's spill threshold (256 KiB) so the streamed path is used both ways.
FILE_BYTES = bytes(range(256)) * 1200 + b"\x00\xff"


async def test_file_from_a_path_has_its_type_guessed_and_arrives_intact(
    zyntro_client: ZyntroClient, zyntro_emulator: Emulator, contact_id: str, tmp_path: Path
) -> None:
    path = tmp_path / "signed-contract.pdf"
    path.write_bytes(FILE_BYTES)

    result = await zyntro_client.attachments.add_file(contact_id, path, context="signed")

    stored = zyntro_emulator.attachment(result.att_id)
    assert result.action == "inserted"
    assert (stored.att_type, stored.name, stored.file_type, stored.context) == (
        "file",
        "signed-contract.pdf",
        "application/pdf",
        "signed",
    )
    assert stored.size == len(FILE_BYTES)
    assert stored.read_bytes() == FILE_BYTES


async def test_file_from_a_str_path(
    zyntro_client: ZyntroClient, zyntro_emulator: Emulator, contact_id: str, tmp_path: Path
) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"plain text\n")

    result = await zyntro_client.attachments.add_file(contact_id, str(path), name="call-notes.txt")

    stored = zyntro_emulator.attachment(result.att_id)
    assert (stored.name, stored.file_type) == ("call-notes.txt", "text/plain")
    assert stored.read_bytes() == b"plain text\n"


async def test_file_from_bytes_needs_a_name_and_arrives_intact(
    zyntro_client: ZyntroClient, zyntro_emulator: Emulator, contact_id: str
) -> None:
    result = await zyntro_client.attachments.add_file(contact_id, FILE_BYTES, name="logo.png")

    stored = zyntro_emulator.attachment(result.att_id)
    assert (stored.name, stored.file_type) == ("logo.png", "image/png")
    assert stored.read_bytes() == FILE_BYTES


async def test_file_from_an_open_file_object_takes_its_name(
    zyntro_client: ZyntroClient, zyntro_emulator: Emulator, contact_id: str, tmp_path: Path
) -> None:
    path = tmp_path / "budget.xlsx"
    path.write_bytes(FILE_BYTES[:1000])

    with path.open("rb") as handle:
        result = await zyntro_client.attachments.add_file(contact_id, handle)

    stored = zyntro_emulator.attachment(result.att_id)
    assert stored.name == "budget.xlsx"
    assert stored.file_type == ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert stored.read_bytes() == FILE_BYTES[:1000]


async def test_file_from_an_in_memory_stream_with_an_explicit_type(
    zyntro_client: ZyntroClient, zyntro_emulator: Emulator, contact_id: str
) -> None:
    stream = io.BytesIO(b"a,b\n1,2\n")

    result = await zyntro_client.attachments.add_file(
        contact_id, stream, name="export", file_type="text/csv"
    )

    stored = zyntro_emulator.attachment(result.att_id)
    assert (stored.name, stored.file_type) == ("export", "text/csv")
    assert stored.read_bytes() == b"a,b\n1,2\n"
    assert last_body(zyntro_emulator, MANAGE_ATTACHMENTS)["file_data"] == "<12 chars>"


# --------------------------------------------------------------------------- comms


async def test_comms_log_text_with_every_optional_field(
    zyntro_client: ZyntroClient, zyntro_emulator: Emulator, contact_id: str
) -> None:
    result = await zyntro_client.comms.log(
        contact_id,
        "email",
        "Sent a follow-up email about the enterprise pricing proposal.",
        source="Gmail",
        sentiment="positive",
        next_step="Send revised quote by 2026-04-04",
        status="pending",
    )

    assert result == CommsResult(ch_id=1, message="Communication history logged successfully")
    (entry,) = zyntro_emulator.comms
    assert (entry.ch_id, entry.contact_id, entry.comms_type) == (1, contact_id, "email")
    assert entry.comms_data == "Sent a follow-up email about the enterprise pricing proposal."
    assert (entry.source, entry.sentiment, entry.next_step, entry.status) == (
        "Gmail",
        "positive",
        "Send revised quote by 2026-04-04",
        "pending",
    )
    assert entry.member_id == zyntro_emulator.credentials.member_id


async def test_comms_log_structured_data_and_every_type(
    zyntro_client: ZyntroClient, zyntro_emulator: Emulator, contact_id: str
) -> None:
    data = {"subject": "Quote", "body": "See attached", "recipients": ["jane@acme.com"]}
    results = [
        await zyntro_client.comms.log(contact_id, comms_type, data)
        for comms_type in ("email", "sms", "call", "message")
    ]

    assert [r.ch_id for r in results] == [1, 2, 3, 4]
    assert all(isinstance(r.ch_id, int) for r in results)
    assert [e.comms_type for e in zyntro_emulator.comms] == ["email", "sms", "call", "message"]
    assert all(e.comms_data == data for e in zyntro_emulator.comms)
    assert {e.status for e in zyntro_emulator.comms} == {"processed"}  # the API's default


async def test_comms_log_as_another_member(
    zyntro_client: ZyntroClient, zyntro_emulator: Emulator, contact_id: str
) -> None:
    colleague = zyntro_emulator.credentials.other_members[0]
    await zyntro_client.comms.log(contact_id, "call", "Discovery call", member_id=colleague)

    (entry,) = zyntro_emulator.comms
    assert entry.member_id == colleague


# ---------------------------------------------------------------------------- call


async def test_call_reaches_a_documented_endpoint_and_unwraps_data(
    zyntro_client: ZyntroClient, zyntro_emulator: Emulator, contact_id: str
) -> None:
    data = await zyntro_client.call("crm", "fetchContact", {"contact_id": contact_id})

    assert data == {
        "contact_id": contact_id,
        "first_name": "Jane",
        "last_name": None,
        "email": None,
        "contact_status": "Active",
    }
    assert last_body(zyntro_emulator, FETCH_CONTACT)["brand_id"] == "1"


async def test_call_to_an_undocumented_endpoint_raises_not_found(
    zyntro_client: ZyntroClient, zyntro_emulator: Emulator
) -> None:
    with pytest.raises(NotFoundError) as excinfo:
        await zyntro_client.call("crm", "scoreContact", {"contact_id": "x"}, idempotent=True)

    error = excinfo.value
    assert (error.code, error.status, error.endpoint) == ("HTTP_404", 404, "crm/scoreContact")
    assert error.messages == ("Unknown endpoint: crm/scoreContact",)
    (record,) = zyntro_emulator.requests
    assert (record.endpoint, record.http_status) == ("crm/scoreContact", 404)


# ------------------------------------------------------- refused before any I/O


@pytest.mark.parametrize(
    ("field", "attempt"),
    [
        ("comms_type", lambda zy, cid: zy.comms.log(cid, "fax", "hello")),
        ("source", lambda zy, cid: zy.comms.log(cid, "call", "hello", source="x" * 56)),
        ("status", lambda zy, cid: zy.comms.log(cid, "call", "hello", status="done")),
        ("file_type", lambda zy, cid: zy.attachments.add_file(cid, b"MZ", name="setup.exe")),
        ("url", lambda zy, cid: zy.attachments.add_link(cid, name="x", url="not a url")),
        ("contact.primary_email", lambda zy, cid: zy.contacts.create(Contact(first_name="J"))),
    ],
)
async def test_invalid_input_is_refused_before_anything_is_sent(
    zyntro_client: ZyntroClient,
    zyntro_emulator: Emulator,
    contact_id: str,
    field: str,
    attempt: Callable[[ZyntroClient, str], Awaitable[object]],
) -> None:
    with pytest.raises(RequestValidationError) as excinfo:
        await attempt(zyntro_client, contact_id)

    assert isinstance(excinfo.value, ValueError)
    assert excinfo.value.field == field
    assert zyntro_emulator.requests == []
