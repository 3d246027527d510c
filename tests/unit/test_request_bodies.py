"""Every endpoint sends exactly the documented body: same keys, same nesting, nothing else.

Each documented example in api-docs/ is reproduced through the SDK and compared, as parsed
JSON, with the example itself. The examples' ``"[email protected]"`` is the docs site's
e-mail obfuscation, not an address; ``jane.smith@acme.com`` stands in for it.
"""

from __future__ import annotations

from typing import Any

import pytest
from aioresponses import aioresponses
from hypothesis import given, settings
from hypothesis import strategies as st

from zyntro_async import (
    ConfigurationError,
    Contact,
    Entity,
    RequestValidationError,
    ZyntroClient,
)

from ._helpers import (
    ADD_COMMS,
    ADD_CONTACTS,
    ADD_NOTES,
    ATT_ID,
    ATTACHMENT_DATA,
    COMMS_DATA,
    CONTACT_ID,
    CONTACT_RECORD_DATA,
    CONTACT_RESULT_DATA,
    DOC_CREDENTIALS,
    FETCH_CONTACT,
    MANAGE_ATTACHMENTS,
    NOTE_DATA,
    NOTE_ID,
    SUCCESS_DATA,
    calls,
    no_request_was_made,
    sent_json,
    success,
    url,
    walk,
)
from .conftest import ClientFactory

EMAIL = "jane.smith@acme.com"


def answer(m: aioresponses, endpoint: str, data: Any = None) -> None:
    m.post(url(endpoint), payload=success(SUCCESS_DATA[endpoint] if data is None else data))


# ---- addContactsFull ------------------------------------------------------------------


async def test_upsert_sends_the_documented_json_example(
    zy: ZyntroClient, mocked: aioresponses
) -> None:
    answer(mocked, ADD_CONTACTS)
    await zy.contacts.upsert(
        Contact(
            first_name="Jane",
            last_name="Smith",
            primary_email=EMAIL,
            primary_phone="+1-555-0123",
            source="API Import",
            status="Active",
            role_label="Decision Maker",
            tags=["prospect", "enterprise"],
            custom_fields={"industry": "Technology", "company_size": "50-200"},
        ),
        entity=Entity(
            name="Acme Corp", label="Company", status="Active", website="https://acme.com"
        ),
        lookup_by="email",
    )
    assert await sent_json(mocked, ADD_CONTACTS) == {
        "mode": "upsert",
        "entity": {
            "name": "Acme Corp",
            "label": "Company",
            "status": "Active",
            "website": "https://acme.com",
        },
        "org_id": "YOUR_ORG_ID",
        "api_key": "YOUR_API_KEY",
        "contact": {
            "tags": ["prospect", "enterprise"],
            "source": "API Import",
            "status": "Active",
            "lastName": "Smith",
            "firstName": "Jane",
            "roleLabel": "Decision Maker",
            "customFields": {"industry": "Technology", "company_size": "50-200"},
            "primaryEmail": EMAIL,
            "primaryPhone": "+1-555-0123",
        },
        "lookup_by": "email",
        "member_id": "YOUR_MEMBER_ID",
        "developer_secret": "YOUR_DEVELOPER_SECRET",
    }


async def test_upsert_sends_the_curl_sample_stating_the_default_lookup(
    zy: ZyntroClient, mocked: aioresponses
) -> None:
    # The curl sample leaves lookup_by at its documented default ("email"); the SDK always
    # states it, as the JSON example does. That is the only difference.
    answer(mocked, ADD_CONTACTS)
    await zy.contacts.upsert(
        Contact(
            first_name="Jane",
            last_name="Smith",
            primary_email=EMAIL,
            source="API Import",
            status="Active",
        ),
        entity=Entity(name="Acme Corp", status="Active"),
    )
    curl_sample = {
        "api_key": "YOUR_API_KEY",
        "developer_secret": "YOUR_DEVELOPER_SECRET",
        "org_id": "YOUR_ORG_ID",
        "member_id": "YOUR_MEMBER_ID",
        "mode": "upsert",
        "contact": {
            "firstName": "Jane",
            "lastName": "Smith",
            "primaryEmail": EMAIL,
            "source": "API Import",
            "status": "Active",
        },
        "entity": {"name": "Acme Corp", "status": "Active"},
    }
    assert await sent_json(mocked, ADD_CONTACTS) == {**curl_sample, "lookup_by": "email"}


async def test_create_sends_mode_insert_without_lookup_by(
    zy: ZyntroClient, mocked: aioresponses
) -> None:
    answer(mocked, ADD_CONTACTS)
    await zy.contacts.create(Contact(first_name="Jane", primary_email=EMAIL))
    body = await sent_json(mocked, ADD_CONTACTS)
    assert body == {
        "api_key": "YOUR_API_KEY",
        "developer_secret": "YOUR_DEVELOPER_SECRET",
        "org_id": "YOUR_ORG_ID",
        "member_id": "YOUR_MEMBER_ID",
        "mode": "insert",
        "contact": {"firstName": "Jane", "primaryEmail": EMAIL},
    }


async def test_update_sends_mode_update_and_the_lookup(
    zy: ZyntroClient, mocked: aioresponses
) -> None:
    answer(mocked, ADD_CONTACTS)
    await zy.contacts.update(Contact(primary_phone="+1-555-0123", status="Lead"), lookup_by="phone")
    body = await sent_json(mocked, ADD_CONTACTS)
    assert body["mode"] == "update"
    assert body["lookup_by"] == "phone"
    assert body["contact"] == {"primaryPhone": "+1-555-0123", "status": "Lead"}


async def test_upsert_by_contact_id_sends_the_id_at_the_top_level(
    zy: ZyntroClient, mocked: aioresponses
) -> None:
    answer(mocked, ADD_CONTACTS)
    await zy.contacts.upsert(Contact(status="Customer"), lookup_by="contact_id", contact_id="c-7")
    body = await sent_json(mocked, ADD_CONTACTS)
    assert body["lookup_by"] == "contact_id"
    assert body["contact_id"] == "c-7"
    assert body["contact"] == {"status": "Customer"}


async def test_skip_entity_is_sent_only_when_true(zy: ZyntroClient, mocked: aioresponses) -> None:
    answer(mocked, ADD_CONTACTS)
    answer(mocked, ADD_CONTACTS)
    await zy.contacts.upsert(Contact(primary_email=EMAIL), skip_entity=True)
    await zy.contacts.upsert(Contact(primary_email=EMAIL))
    assert (await sent_json(mocked, ADD_CONTACTS, 0))["skip_entity"] is True
    assert "skip_entity" not in await sent_json(mocked, ADD_CONTACTS, 1)


async def test_contact_fields_are_camel_case_on_the_wire(
    zy: ZyntroClient, mocked: aioresponses
) -> None:
    answer(mocked, ADD_CONTACTS)
    await zy.contacts.upsert(
        Contact(
            first_name="Jane",
            last_name="Smith",
            primary_email=EMAIL,
            primary_phone="+1 555 0123",
            source="Fair",
            status="Lead",
            role_label="Buyer",
            tags=("a", "b"),
        )
    )
    assert (await sent_json(mocked, ADD_CONTACTS))["contact"] == {
        "firstName": "Jane",
        "lastName": "Smith",
        "primaryEmail": EMAIL,
        "primaryPhone": "+1 555 0123",
        "source": "Fair",
        "status": "Lead",
        "roleLabel": "Buyer",
        "tags": ["a", "b"],
    }


async def test_custom_fields_keys_and_values_pass_through_untouched(
    zy: ZyntroClient, mocked: aioresponses
) -> None:
    custom = {
        "company_size": "50-200",
        "Lead Score": 42,
        "firstName": "not renamed, not a contact field",
        "nested": {"snake_key": [1, 2.5, True, None, "x"]},
    }
    answer(mocked, ADD_CONTACTS)
    await zy.contacts.upsert(Contact(primary_email=EMAIL, custom_fields=custom))
    assert (await sent_json(mocked, ADD_CONTACTS))["contact"]["customFields"] == custom


async def test_contact_extra_entries_are_merged_into_the_contact_as_given(
    zy: ZyntroClient, mocked: aioresponses
) -> None:
    answer(mocked, ADD_CONTACTS)
    await zy.contacts.upsert(
        Contact(
            first_name="Jane",
            primary_email=EMAIL,
            extra={"linkedinUrl": "https://linkedin.com/in/jane", "lead_owner": "sam"},
        )
    )
    assert (await sent_json(mocked, ADD_CONTACTS))["contact"] == {
        "firstName": "Jane",
        "primaryEmail": EMAIL,
        "linkedinUrl": "https://linkedin.com/in/jane",
        "lead_owner": "sam",
    }


async def test_entity_extra_entries_are_merged_into_the_entity_as_given(
    zy: ZyntroClient, mocked: aioresponses
) -> None:
    answer(mocked, ADD_CONTACTS)
    await zy.contacts.upsert(
        Contact(primary_email=EMAIL), entity=Entity(name="Acme", extra={"taxId": "DE123"})
    )
    assert (await sent_json(mocked, ADD_CONTACTS))["entity"] == {"name": "Acme", "taxId": "DE123"}


async def test_unset_fields_are_omitted_never_sent_as_null(
    zy: ZyntroClient, mocked: aioresponses
) -> None:
    answer(mocked, ADD_CONTACTS)
    await zy.contacts.upsert(Contact(primary_email=EMAIL), entity=Entity(name="Acme"))
    body = await sent_json(mocked, ADD_CONTACTS)
    assert body["contact"] == {"primaryEmail": EMAIL}
    assert body["entity"] == {"name": "Acme"}
    assert None not in list(walk(body))


# ---- fetchContact ----------------------------------------------------------------------


async def test_fetch_sends_the_overview_example_with_brand_id(
    make_client: ClientFactory, mocked: aioresponses
) -> None:
    answer(mocked, FETCH_CONTACT)
    async with make_client(
        api_key="UYUJH-XXXXXXXXXXXX-XXXXXXXXXXXX-XXXXX",
        developer_secret="zdk_your_developer_secret",
        org_id="42cc1aca-3aa5-4339-98d2-480b5b89937b",
        brand_id="1",
        member_id="f2470c7f-60b1-4491-b117-8ba0e3e2a53b",
    ) as zy:
        await zy.contacts.fetch(CONTACT_ID)
    assert await sent_json(mocked, FETCH_CONTACT) == {
        "api_key": "UYUJH-XXXXXXXXXXXX-XXXXXXXXXXXX-XXXXX",
        "developer_secret": "zdk_your_developer_secret",
        "org_id": "42cc1aca-3aa5-4339-98d2-480b5b89937b",
        "brand_id": "1",
        "member_id": "f2470c7f-60b1-4491-b117-8ba0e3e2a53b",
        "contact_id": CONTACT_ID,
    }


# ---- addNotestoContact -----------------------------------------------------------------


async def test_notes_add_sends_the_documented_json_example(
    zy: ZyntroClient, mocked: aioresponses
) -> None:
    text = "Had a great demo call. Interested in the enterprise plan. Follow up next week."
    answer(mocked, ADD_NOTES)
    await zy.notes.add(CONTACT_ID, text, visible=True, editable=False)
    assert await sent_json(mocked, ADD_NOTES) == {
        "note": text,
        "org_id": "YOUR_ORG_ID",
        "api_key": "YOUR_API_KEY",
        "member_id": "YOUR_MEMBER_ID",
        "contact_id": CONTACT_ID,
        "note_editable": 0,
        "note_visibility": 1,
        "developer_secret": "YOUR_DEVELOPER_SECRET",
    }


async def test_notes_add_sends_the_curl_sample_exactly(
    zy: ZyntroClient, mocked: aioresponses
) -> None:
    # The curl sample leaves note_editable out (its documented default, 0, stands): so does
    # the SDK when ``editable`` is left None.
    text = "Had a great demo call. Interested in the enterprise plan."
    answer(mocked, ADD_NOTES)
    await zy.notes.add(CONTACT_ID, text, visible=True)
    curl_sample = {
        "api_key": "YOUR_API_KEY",
        "developer_secret": "YOUR_DEVELOPER_SECRET",
        "org_id": "YOUR_ORG_ID",
        "member_id": "YOUR_MEMBER_ID",
        "contact_id": CONTACT_ID,
        "note": text,
        "note_visibility": 1,
    }
    assert await sent_json(mocked, ADD_NOTES) == curl_sample


async def test_notes_add_sends_a_flag_given_as_false(
    zy: ZyntroClient, mocked: aioresponses
) -> None:
    answer(mocked, ADD_NOTES)
    await zy.notes.add(CONTACT_ID, "Private", visible=False, editable=False)
    body = await sent_json(mocked, ADD_NOTES)
    assert (body["note_visibility"], body["note_editable"]) == (0, 0)


async def test_notes_update_without_flags_keeps_the_notes_flags(
    zy: ZyntroClient, mocked: aioresponses
) -> None:
    # Flags left None are omitted, so the server keeps the note's current ones.
    answer(mocked, ADD_NOTES)
    await zy.notes.update(NOTE_ID, CONTACT_ID, "Revised")
    body = await sent_json(mocked, ADD_NOTES)
    assert "note_visibility" not in body
    assert "note_editable" not in body


async def test_integer_identifiers_are_sent_as_strings(
    zy: ZyntroClient, mocked: aioresponses
) -> None:
    answer(mocked, ADD_NOTES)
    await zy.notes.update(7, 42, "Revised", member_id=9)
    body = await sent_json(mocked, ADD_NOTES)
    assert (body["note_id"], body["contact_id"], body["member_id"]) == ("7", "42", "9")


async def test_notes_update_sends_the_note_id(zy: ZyntroClient, mocked: aioresponses) -> None:
    answer(mocked, ADD_NOTES)
    await zy.notes.update(NOTE_ID, CONTACT_ID, "Revised", editable=True)
    assert await sent_json(mocked, ADD_NOTES) == {
        "api_key": "YOUR_API_KEY",
        "developer_secret": "YOUR_DEVELOPER_SECRET",
        "org_id": "YOUR_ORG_ID",
        "member_id": "YOUR_MEMBER_ID",
        "contact_id": CONTACT_ID,
        "note": "Revised",
        "note_id": NOTE_ID,
        "note_editable": 1,
    }


# ---- manageAttachments -----------------------------------------------------------------


async def test_add_link_sends_the_documented_curl_sample(
    zy: ZyntroClient, mocked: aioresponses
) -> None:
    answer(mocked, MANAGE_ATTACHMENTS)
    await zy.attachments.add_link(
        CONTACT_ID,
        name="Proposal Document",
        url="https://docs.google.com/d/abc123",
        context="Enterprise pricing proposal sent 2026-04-01",
    )
    assert await sent_json(mocked, MANAGE_ATTACHMENTS) == {
        "api_key": "YOUR_API_KEY",
        "developer_secret": "YOUR_DEVELOPER_SECRET",
        "org_id": "YOUR_ORG_ID",
        "member_id": "YOUR_MEMBER_ID",
        "action": "insert",
        "contact_id": CONTACT_ID,
        "att_type": "link",
        "att_name": "Proposal Document",
        "att_content": {"link_url": "https://docs.google.com/d/abc123"},
        "att_context": "Enterprise pricing proposal sent 2026-04-01",
    }


async def test_add_file_sends_the_documented_curl_sample(
    zy: ZyntroClient, mocked: aioresponses
) -> None:
    pdf = b"%PDF-1.4\n1 0 obj\n<</Type /Catalog>>\nendobj\n"
    answer(mocked, MANAGE_ATTACHMENTS)
    await zy.attachments.add_file(CONTACT_ID, pdf, name="signed-contract.pdf")
    body = await sent_json(mocked, MANAGE_ATTACHMENTS)
    # The docs' file_data is a truncated PDF: "%PDF-1.4\n1 0 obj\n<<...".
    assert body["file_data"].startswith("JVBERi0xLjQKMSAwIG9iago8PC")
    assert body == {
        "api_key": "YOUR_API_KEY",
        "developer_secret": "YOUR_DEVELOPER_SECRET",
        "org_id": "YOUR_ORG_ID",
        "member_id": "YOUR_MEMBER_ID",
        "action": "insert",
        "contact_id": CONTACT_ID,
        "att_type": "file",
        "att_name": "signed-contract.pdf",
        "file_data": body["file_data"],
        "file_type": "application/pdf",
    }


async def test_delete_sends_the_documented_curl_sample(
    zy: ZyntroClient, mocked: aioresponses
) -> None:
    answer(mocked, MANAGE_ATTACHMENTS, {**ATTACHMENT_DATA, "action": "deleted"})
    await zy.attachments.delete(ATT_ID)
    assert await sent_json(mocked, MANAGE_ATTACHMENTS) == {
        "api_key": "YOUR_API_KEY",
        "developer_secret": "YOUR_DEVELOPER_SECRET",
        "org_id": "YOUR_ORG_ID",
        "member_id": "YOUR_MEMBER_ID",
        "action": "delete",
        "att_id": ATT_ID,
    }


async def test_attachment_update_sends_only_the_given_fields(
    zy: ZyntroClient, mocked: aioresponses
) -> None:
    answer(mocked, MANAGE_ATTACHMENTS, {**ATTACHMENT_DATA, "action": "updated"})
    await zy.attachments.update(ATT_ID, name="Proposal v2", url="https://acme.com/v2")
    assert await sent_json(mocked, MANAGE_ATTACHMENTS) == {
        "api_key": "YOUR_API_KEY",
        "developer_secret": "YOUR_DEVELOPER_SECRET",
        "org_id": "YOUR_ORG_ID",
        "member_id": "YOUR_MEMBER_ID",
        "action": "update",
        "att_id": ATT_ID,
        "att_name": "Proposal v2",
        "att_content": {"link_url": "https://acme.com/v2"},
    }


# ---- addCommsHistory -------------------------------------------------------------------


async def test_comms_log_sends_the_documented_json_example(
    zy: ZyntroClient, mocked: aioresponses
) -> None:
    text = (
        "Sent a follow-up email about the enterprise pricing proposal. "
        "Contact requested a revised quote by Friday."
    )
    answer(mocked, ADD_COMMS)
    await zy.comms.log(
        CONTACT_ID,
        "email",
        text,
        source="Gmail",
        sentiment="positive",
        next_step="Send revised quote by 2026-04-04",
    )
    assert await sent_json(mocked, ADD_COMMS) == {
        "org_id": "YOUR_ORG_ID",
        "api_key": "YOUR_API_KEY",
        "member_id": "YOUR_MEMBER_ID",
        "comms_data": text,
        "comms_next": "Send revised quote by 2026-04-04",
        "comms_type": "email",
        "contact_id": CONTACT_ID,
        "comms_source": "Gmail",
        "comms_sentiment": "positive",
        "developer_secret": "YOUR_DEVELOPER_SECRET",
    }


async def test_comms_log_sends_the_documented_curl_sample(
    zy: ZyntroClient, mocked: aioresponses
) -> None:
    text = "15-minute discovery call. Discussed pain points with current CRM."
    answer(mocked, ADD_COMMS)
    await zy.comms.log(CONTACT_ID, "call", text, source="Phone", sentiment="positive")
    assert await sent_json(mocked, ADD_COMMS) == {
        "api_key": "YOUR_API_KEY",
        "developer_secret": "YOUR_DEVELOPER_SECRET",
        "org_id": "YOUR_ORG_ID",
        "member_id": "YOUR_MEMBER_ID",
        "contact_id": CONTACT_ID,
        "comms_type": "call",
        "comms_data": text,
        "comms_source": "Phone",
        "comms_sentiment": "positive",
    }


async def test_comms_log_sends_structured_data_as_a_json_object(
    zy: ZyntroClient, mocked: aioresponses
) -> None:
    data = {"subject": "Quote", "body": "Attached.", "recipients": ["jane@acme.com"]}
    answer(mocked, ADD_COMMS)
    await zy.comms.log(CONTACT_ID, "email", data, status="pending")
    body = await sent_json(mocked, ADD_COMMS)
    assert body["comms_data"] == data
    assert body["comms_status"] == "pending"
    assert "comms_source" not in body


# ---- identifiers on every endpoint -----------------------------------------------------

# One call per SDK method, as (name, endpoint, coroutine factory taking client and member).
METHODS: list[tuple[str, str, Any]] = [
    (
        "contacts.upsert",
        ADD_CONTACTS,
        lambda zy, **kw: zy.contacts.upsert(Contact(primary_email=EMAIL), **kw),
    ),
    (
        "contacts.create",
        ADD_CONTACTS,
        lambda zy, **kw: zy.contacts.create(Contact(first_name="J", primary_email=EMAIL), **kw),
    ),
    (
        "contacts.update",
        ADD_CONTACTS,
        lambda zy, **kw: zy.contacts.update(Contact(primary_email=EMAIL), **kw),
    ),
    ("contacts.fetch", FETCH_CONTACT, lambda zy, **kw: zy.contacts.fetch(CONTACT_ID, **kw)),
    ("notes.add", ADD_NOTES, lambda zy, **kw: zy.notes.add(CONTACT_ID, "Hi", **kw)),
    (
        "notes.update",
        ADD_NOTES,
        lambda zy, **kw: zy.notes.update(NOTE_ID, CONTACT_ID, "Hi", **kw),
    ),
    (
        "attachments.add_link",
        MANAGE_ATTACHMENTS,
        lambda zy, **kw: zy.attachments.add_link(
            CONTACT_ID, name="Deck", url="https://acme.com/deck", **kw
        ),
    ),
    (
        "attachments.add_file",
        MANAGE_ATTACHMENTS,
        lambda zy, **kw: zy.attachments.add_file(CONTACT_ID, b"hello", name="a.txt", **kw),
    ),
    (
        "attachments.update",
        MANAGE_ATTACHMENTS,
        lambda zy, **kw: zy.attachments.update(ATT_ID, name="New", **kw),
    ),
    (
        "attachments.delete",
        MANAGE_ATTACHMENTS,
        lambda zy, **kw: zy.attachments.delete(ATT_ID, **kw),
    ),
    ("comms.log", ADD_COMMS, lambda zy, **kw: zy.comms.log(CONTACT_ID, "sms", "Hi", **kw)),
]
WRITE_METHODS = [method for method in METHODS if method[1] != FETCH_CONTACT]


@pytest.mark.parametrize(("name", "endpoint", "invoke"), METHODS, ids=[m[0] for m in METHODS])
async def test_member_id_can_be_overridden_per_call(
    make_client: ClientFactory, mocked: aioresponses, name: str, endpoint: str, invoke: Any
) -> None:
    answer(mocked, endpoint)
    async with make_client(brand_id="1") as zy:
        await invoke(zy, member_id="owner-of-the-contact")
    assert (await sent_json(mocked, endpoint))["member_id"] == "owner-of-the-contact"


@pytest.mark.parametrize(
    ("name", "endpoint", "invoke"), WRITE_METHODS, ids=[m[0] for m in WRITE_METHODS]
)
async def test_crm_writes_never_send_brand_id(
    make_client: ClientFactory, mocked: aioresponses, name: str, endpoint: str, invoke: Any
) -> None:
    answer(mocked, endpoint)
    async with make_client(brand_id="7") as zy:
        await invoke(zy)
    body = await sent_json(mocked, endpoint)
    assert "brand_id" not in body
    assert None not in list(walk(body))


@pytest.mark.parametrize(
    ("name", "endpoint", "invoke"), WRITE_METHODS, ids=[m[0] for m in WRITE_METHODS]
)
async def test_writes_without_any_member_id_are_refused_before_sending(
    mocked: aioresponses, name: str, endpoint: str, invoke: Any
) -> None:
    async with ZyntroClient(api_key="k", developer_secret="s", org_id="o") as zy:
        with pytest.raises(ConfigurationError, match="ZYNTRO_MEMBER_ID"):
            await invoke(zy)
    assert no_request_was_made(mocked)


async def test_fetch_without_a_brand_id_is_refused_before_sending(
    zy: ZyntroClient, mocked: aioresponses
) -> None:
    with pytest.raises(ConfigurationError, match="ZYNTRO_BRAND_ID"):
        await zy.contacts.fetch(CONTACT_ID)
    assert no_request_was_made(mocked)


async def test_every_call_posts_json_to_the_documented_url(
    zy: ZyntroClient, mocked: aioresponses
) -> None:
    answer(mocked, ADD_NOTES)
    await zy.notes.add(CONTACT_ID, "Hi")
    (call,) = calls(mocked, ADD_NOTES)
    assert call.kwargs["headers"]["Content-Type"] == "application/json"
    assert call.kwargs["allow_redirects"] is False


# ---- zy.call ---------------------------------------------------------------------------


async def test_call_adds_credentials_and_identifiers_and_returns_data(
    make_client: ClientFactory, mocked: aioresponses
) -> None:
    mocked.post(url("crm/scoreContact"), payload=success({"score": 87, "tier": "A"}))
    async with make_client(brand_id="1") as zy:
        data = await zy.call("crm", "scoreContact", {"contact_id": CONTACT_ID})
    assert data == {"score": 87, "tier": "A"}
    assert await sent_json(mocked, "crm/scoreContact") == {
        "api_key": "YOUR_API_KEY",
        "developer_secret": "YOUR_DEVELOPER_SECRET",
        "org_id": "YOUR_ORG_ID",
        "member_id": "YOUR_MEMBER_ID",
        "brand_id": "1",
        "contact_id": CONTACT_ID,
    }


async def test_call_returns_data_of_any_json_shape(zy: ZyntroClient, mocked: aioresponses) -> None:
    mocked.post(url("brand/facts"), payload=success(["fact one", "fact two"]))
    assert await zy.call("brand", "facts") == ["fact one", "fact two"]


async def test_call_body_may_override_org_and_member(
    zy: ZyntroClient, mocked: aioresponses
) -> None:
    mocked.post(url("crm/scoreContact"), payload=success({}))
    await zy.call("crm", "scoreContact", {"org_id": "other-org", "member_id": "other-member"})
    body = await sent_json(mocked, "crm/scoreContact")
    assert (body["org_id"], body["member_id"]) == ("other-org", "other-member")


@pytest.mark.parametrize("credential", ["api_key", "developer_secret"])
async def test_call_refuses_credentials_in_the_body(
    zy: ZyntroClient, mocked: aioresponses, credential: str
) -> None:
    with pytest.raises(RequestValidationError) as excinfo:
        await zy.call("crm", "scoreContact", {credential: "smuggled"})
    assert excinfo.value.field == f"body.{credential}"
    assert no_request_was_made(mocked)


@pytest.mark.parametrize(
    ("module", "action", "field"),
    [("crm/../admin", "x", "module"), ("crm", "score?x=1", "action"), ("crm", "", "action")],
)
async def test_call_refuses_module_and_action_that_are_not_plain_names(
    zy: ZyntroClient, mocked: aioresponses, module: str, action: str, field: str
) -> None:
    with pytest.raises(RequestValidationError) as excinfo:
        await zy.call(module, action, {})
    assert excinfo.value.field == field
    assert no_request_was_made(mocked)


@pytest.mark.parametrize("flag", ["idempotent", "brand"])
@pytest.mark.parametrize("value", ["yes", 1, None])
async def test_call_refuses_flags_that_are_not_booleans(
    zy: ZyntroClient, mocked: aioresponses, flag: str, value: object
) -> None:
    # "idempotent='no'" would be truthy: retrying a creating call by accident duplicates it.
    with pytest.raises(RequestValidationError) as excinfo:
        await zy.call("crm", "scoreContact", {}, **{flag: value})  # type: ignore[arg-type]
    assert excinfo.value.field == flag
    assert no_request_was_made(mocked)


# ---- results ---------------------------------------------------------------------------


async def test_results_are_structured_from_the_documented_responses(
    make_client: ClientFactory, mocked: aioresponses
) -> None:
    for endpoint in SUCCESS_DATA:
        answer(mocked, endpoint)
    async with make_client(brand_id="1") as zy:
        contact = await zy.contacts.upsert(Contact(primary_email=EMAIL))
        record = await zy.contacts.fetch(CONTACT_ID)
        note = await zy.notes.add(CONTACT_ID, "Hi")
        attachment = await zy.attachments.delete(ATT_ID)
        comms = await zy.comms.log(CONTACT_ID, "call", "Hi")
    assert (contact.action, contact.contact_id, contact.entity_id, contact.entity_action) == (
        "created",
        CONTACT_ID,
        CONTACT_RESULT_DATA["entity_id"],
        "created",
    )
    assert (record.contact_id, record.first_name, record.email, record.contact_status) == (
        CONTACT_ID,
        "Jane",
        CONTACT_RECORD_DATA["email"],
        "Active",
    )
    assert (note.note_id, note.note_visibility, note.note_editable) == (NOTE_ID, True, False)
    assert note.note_content == NOTE_DATA["note_content"]
    assert (attachment.att_id, attachment.action) == (ATT_ID, "inserted")
    assert (comms.ch_id, comms.message) == (891, COMMS_DATA["message"])


async def test_unknown_response_keys_are_ignored(zy: ZyntroClient, mocked: aioresponses) -> None:
    answer(mocked, ADD_COMMS, {**COMMS_DATA, "debug": {"ms": 3}, "new_field": [1]})
    result = await zy.comms.log(CONTACT_ID, "call", "Hi")
    assert result.ch_id == 891


# ---- any custom fields -----------------------------------------------------------------

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=25, deadline=None)
@given(custom=st.dictionaries(st.text(min_size=1, max_size=20), JSON_VALUES, max_size=6))
async def test_custom_fields_of_any_json_shape_arrive_untouched(custom: dict[str, Any]) -> None:
    with aioresponses() as m:
        answer(m, ADD_CONTACTS)
        async with ZyntroClient(**DOC_CREDENTIALS) as zy:
            await zy.contacts.upsert(Contact(primary_email=EMAIL, custom_fields=custom))
        body = await sent_json(m, ADD_CONTACTS)
    if custom:
        assert body["contact"]["customFields"] == custom
    else:
        assert body["contact"].get("customFields", {}) == {}
