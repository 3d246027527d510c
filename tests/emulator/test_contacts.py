"""addContactsFull: modes, lookup, validation, custom fields, entities, debug."""

from __future__ import annotations

from typing import Any

import pytest

from zyntro_async.testing import Emulator
from zyntro_async.testing._rules import MAX_TEXT_LENGTH

from ._docs import CONTACTS_CURL, CONTACTS_EXAMPLE, DOC_EMAIL, doc_body
from ._raw import RawApi

ENDPOINT = "crm/addContactsFull"


def contact_body(api: RawApi, contact: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body = doc_body(CONTACTS_CURL, api.creds)
    body["contact"] = contact
    body.update(fields)
    return {k: v for k, v in body.items() if v is not ...}


JANE = {"firstName": "Jane", "lastName": "Smith", "primaryEmail": "jane@acme.com"}


@pytest.mark.parametrize("contact", [..., None, "Jane", ["Jane"], 3])
async def test_contact_must_be_an_object(api: RawApi, contact: Any) -> None:
    assert await api.error(ENDPOINT, contact_body(api, contact)) == "contact data is required"


async def test_contact_checked_after_member(api: RawApi) -> None:
    body = contact_body(api, ..., member_id=...)
    assert await api.error(ENDPOINT, body) == "Missing member ID"


async def test_unknown_mode_names_allowed_values(api: RawApi) -> None:
    message = await api.error(ENDPOINT, contact_body(api, JANE, mode="merge"))
    assert message == "mode must be one of: insert, update, upsert"


async def test_unknown_lookup_names_allowed_values(api: RawApi) -> None:
    message = await api.error(ENDPOINT, contact_body(api, JANE, lookup_by="name"))
    assert message == "lookup_by must be one of: email, phone, contact_id"


@pytest.mark.parametrize(
    ("contact", "missing"),
    [
        ({}, "firstName, primaryEmail"),
        ({"lastName": "Smith"}, "firstName, primaryEmail"),
        ({"firstName": "Jane"}, "primaryEmail"),
        ({"primaryEmail": "jane@acme.com"}, "firstName"),
        ({"firstName": "  ", "primaryEmail": "jane@acme.com"}, "firstName"),
    ],
)
async def test_creating_requires_first_name_and_email(
    api: RawApi, contact: dict[str, Any], missing: str
) -> None:
    message = await api.error(ENDPOINT, contact_body(api, contact))
    assert message == f"Missing required contact fields: {missing}"


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("primaryEmail", "jane@acme", "primaryEmail"),
        ("primaryEmail", "jane smith@acme.com", "primaryEmail"),
        ("primaryEmail", "[email protected]", "primaryEmail"),
        ("primaryPhone", "call me", "primaryPhone"),
        ("primaryPhone", "+1", "primaryPhone"),
        ("primaryPhone", "1" * 33, "primaryPhone"),
        ("firstName", "J" * (MAX_TEXT_LENGTH + 1), "firstName"),
        ("roleLabel", "R" * (MAX_TEXT_LENGTH + 1), "roleLabel"),
        ("firstName", 42, "firstName"),
        ("tags", "vip", "tags"),
        ("tags", ["vip", 3], "tags"),
        ("customFields", ["industry"], "customFields"),
        ("favouriteColour", "x" * (MAX_TEXT_LENGTH + 1), "favouriteColour"),
    ],
)
async def test_validation_errors_name_the_field(
    api: RawApi, zyntro_emulator: Emulator, field: str, value: Any, fragment: str
) -> None:
    message = await api.error(ENDPOINT, contact_body(api, {**JANE, field: value}))

    assert message.startswith("Contact validation errors: ")
    assert fragment in message
    assert zyntro_emulator.contacts == []


async def test_validation_reports_every_bad_field(api: RawApi) -> None:
    contact = {**JANE, "primaryEmail": "nope", "primaryPhone": "nope"}
    message = await api.error(ENDPOINT, contact_body(api, contact))
    assert "primaryEmail" in message
    assert "primaryPhone" in message


async def test_validation_covers_entity_fields(api: RawApi) -> None:
    message = await api.error(
        ENDPOINT, contact_body(api, JANE, entity={"name": "A" * (MAX_TEXT_LENGTH + 1)})
    )
    assert message.startswith("Contact validation errors: ")
    assert "entity.name" in message


@pytest.mark.parametrize("phone", ["+1-555-0123", "(555) 012-3456", "+44 20 7946 0958"])
async def test_valid_phone_formats(api: RawApi, phone: str) -> None:
    await api.ok(ENDPOINT, contact_body(api, {**JANE, "primaryPhone": phone}))


async def test_unknown_custom_field_is_rejected(api: RawApi) -> None:
    contact = {**JANE, "customFields": {"shoe_size": "42"}}
    message = await api.error(ENDPOINT, contact_body(api, contact))
    assert message.startswith("Contact custom field errors: ")
    assert "shoe_size" in message
    assert "company_size" in message  # lists what is defined


async def test_custom_field_value_outside_options(api: RawApi) -> None:
    contact = {**JANE, "customFields": {"company_size": "5000"}}
    message = await api.error(ENDPOINT, contact_body(api, contact))
    assert message.startswith("Contact custom field errors: ")
    assert "company_size" in message
    assert "1-10, 11-50, 50-200, 200+" in message


async def test_custom_fields_checked_after_validation(api: RawApi) -> None:
    contact = {**JANE, "primaryEmail": "nope", "customFields": {"shoe_size": "42"}}
    message = await api.error(ENDPOINT, contact_body(api, contact))
    assert message.startswith("Contact validation errors: ")


async def test_free_custom_fields_accept_any_scalar(api: RawApi, zyntro_emulator: Emulator) -> None:
    contact = {**JANE, "customFields": {"industry": "Retail", "lead_score": 87}}
    data = await api.ok(ENDPOINT, contact_body(api, contact))
    assert zyntro_emulator.contact(data["contact_id"]).custom_fields == {
        "industry": "Retail",
        "lead_score": 87,
    }


async def test_demo_custom_fields_are_extensible() -> None:
    emulator = Emulator.demo(custom_fields={"tier": ["gold", "silver"], "industry": ["SaaS"]})
    org = emulator.orgs[emulator.credentials.org_id]
    assert org.custom_fields["tier"] == ("gold", "silver")
    assert org.custom_fields["industry"] == ("SaaS",)
    assert org.custom_fields["company_size"] == ("1-10", "11-50", "50-200", "200+")


async def test_insert_fails_when_contact_exists(api: RawApi) -> None:
    await api.ok(ENDPOINT, contact_body(api, JANE, mode="insert"))
    shouting = {**JANE, "primaryEmail": "JANE@ACME.COM"}
    message = await api.error(ENDPOINT, contact_body(api, shouting, mode="insert"))
    assert message == "Contact already exists"


async def test_update_fails_without_a_match(api: RawApi) -> None:
    message = await api.error(ENDPOINT, contact_body(api, JANE, mode="update"))
    assert message == "Contact not found for update"


async def test_update_needs_no_required_fields(api: RawApi, zyntro_emulator: Emulator) -> None:
    created = await api.ok(ENDPOINT, contact_body(api, JANE))
    body = contact_body(api, {"primaryEmail": "jane@acme.com", "status": "Lead"}, mode="update")
    updated = await api.ok(ENDPOINT, body)
    assert updated["contact_id"] == created["contact_id"]
    assert zyntro_emulator.contact(created["contact_id"]).status == "Lead"
    assert zyntro_emulator.contact(created["contact_id"]).first_name == "Jane"


async def test_upsert_by_email_is_case_insensitive_and_merges(
    api: RawApi, zyntro_emulator: Emulator
) -> None:
    first = {**JANE, "tags": ["a"], "customFields": {"industry": "Tech", "lead_score": 1}}
    created = await api.ok(ENDPOINT, contact_body(api, first))
    second = {
        "primaryEmail": "Jane@Acme.com",
        "lastName": "Smith-Jones",
        "customFields": {"lead_score": 2, "company_size": "11-50"},
    }
    updated = await api.ok(ENDPOINT, contact_body(api, second))

    assert updated["action"] == "updated"
    assert updated["contact_id"] == created["contact_id"]
    stored = zyntro_emulator.contact(created["contact_id"])
    assert (stored.first_name, stored.last_name) == ("Jane", "Smith-Jones")
    assert stored.tags == ["a"]
    assert stored.custom_fields == {"industry": "Tech", "lead_score": 2, "company_size": "11-50"}


async def test_upsert_by_phone(api: RawApi, zyntro_emulator: Emulator) -> None:
    created = await api.ok(ENDPOINT, contact_body(api, {**JANE, "primaryPhone": "+1-555-0123"}))
    other = {"firstName": "Janet", "primaryEmail": "janet@acme.com", "primaryPhone": "+1-555-0123"}
    updated = await api.ok(ENDPOINT, contact_body(api, other, lookup_by="phone"))
    assert updated["contact_id"] == created["contact_id"]
    assert zyntro_emulator.contact(created["contact_id"]).first_name == "Janet"


@pytest.mark.parametrize("where", ["top-level contact_id", "contact.contactId"])
async def test_upsert_by_contact_id(api: RawApi, zyntro_emulator: Emulator, where: str) -> None:
    created = await api.ok(ENDPOINT, contact_body(api, JANE))
    contact: dict[str, Any] = {"primaryEmail": "jane.new@acme.com"}
    extra: dict[str, Any] = {"lookup_by": "contact_id", "mode": "update"}
    if where == "contact.contactId":
        contact["contactId"] = created["contact_id"]
    else:
        extra["contact_id"] = created["contact_id"]

    updated = await api.ok(ENDPOINT, contact_body(api, contact, **extra))

    assert updated["contact_id"] == created["contact_id"]
    assert zyntro_emulator.contact(created["contact_id"]).primary_email == "jane.new@acme.com"
    assert "contactId" not in zyntro_emulator.contact(created["contact_id"]).fields


async def test_lookup_is_scoped_to_the_org(api: RawApi, zyntro_emulator: Emulator) -> None:
    await api.ok(ENDPOINT, contact_body(api, JANE))
    other = contact_body(
        api, JANE, org_id=api.creds.other_org_id, member_id=api.creds.other_org_member_id
    )
    created = await api.ok(ENDPOINT, other)
    assert created["action"] == "created"
    assert len(zyntro_emulator.contacts) == 2


async def test_owner_is_the_creating_member(api: RawApi, zyntro_emulator: Emulator) -> None:
    other_member = api.creds.other_members[0]
    created = await api.ok(ENDPOINT, contact_body(api, JANE, member_id=other_member))
    # An update by someone else does not change the owner.
    await api.ok(ENDPOINT, contact_body(api, JANE))
    assert zyntro_emulator.contact(created["contact_id"]).owner_id == other_member


async def test_unknown_contact_keys_pass_through(api: RawApi, zyntro_emulator: Emulator) -> None:
    contact = {**JANE, "linkedinUrl": "https://linkedin.com/in/jane", "score": 3}
    data = await api.ok(ENDPOINT, contact_body(api, contact))
    fields = zyntro_emulator.contact(data["contact_id"]).fields
    assert fields["linkedinUrl"] == "https://linkedin.com/in/jane"
    assert fields["score"] == 3


async def test_b2b_auto_names_the_entity(api: RawApi, zyntro_emulator: Emulator) -> None:
    data = await api.ok(ENDPOINT, contact_body(api, JANE, entity=...))
    assert data["entity_action"] == "created"
    (entity,) = zyntro_emulator.entities
    assert entity.name == "Jane Smith"
    assert entity.entity_id == data["entity_id"]


async def test_b2b_links_existing_entity_by_name(api: RawApi, zyntro_emulator: Emulator) -> None:
    first = await api.ok(ENDPOINT, contact_body(api, JANE, entity={"name": "Acme Corp"}))
    bob = {"firstName": "Bob", "primaryEmail": "bob@acme.com"}
    linked = await api.ok(ENDPOINT, contact_body(api, bob, entity={"name": "ACME corp"}))
    updated = await api.ok(
        ENDPOINT, contact_body(api, bob, entity={"name": "Acme Corp", "website": "https://a.co"})
    )
    assert first["entity_action"] == "created"
    assert (linked["entity_action"], linked["entity_id"]) == ("linked", first["entity_id"])
    assert (updated["entity_action"], updated["entity_id"]) == ("updated", first["entity_id"])
    assert len(zyntro_emulator.entities) == 1


async def test_skip_entity_means_no_entity(api: RawApi, zyntro_emulator: Emulator) -> None:
    data = await api.ok(ENDPOINT, contact_body(api, JANE, skip_entity=True))
    assert (data["entity_id"], data["entity_action"]) == (None, None)
    assert zyntro_emulator.entities == []


async def test_b2c_org_has_no_entities(api: RawApi, zyntro_emulator: Emulator) -> None:
    body = contact_body(
        api, JANE, org_id=api.creds.other_org_id, member_id=api.creds.other_org_member_id
    )
    data = await api.ok(ENDPOINT, body)
    assert (data["entity_id"], data["entity_action"]) == (None, None)
    assert zyntro_emulator.entities == []


async def test_debug_adds_debug_key_only_when_true(api: RawApi) -> None:
    plain = await api.ok(ENDPOINT, contact_body(api, JANE))
    debug = await api.ok(ENDPOINT, contact_body(api, JANE, debug=True))
    assert "debug" not in plain
    assert set(debug) == {"action", "message", "entity_id", "contact_id", "entity_action", "debug"}
    assert debug["debug"]["matched"] is True


async def test_rejected_requests_change_nothing(api: RawApi, zyntro_emulator: Emulator) -> None:
    body = doc_body(CONTACTS_EXAMPLE, api.creds)
    body["contact"]["customFields"]["company_size"] = "huge"
    await api.error(ENDPOINT, body)
    assert zyntro_emulator.contacts == []
    assert zyntro_emulator.entities == []
    assert zyntro_emulator.applied == {}
    assert zyntro_emulator.find_contact(email=DOC_EMAIL) is None
