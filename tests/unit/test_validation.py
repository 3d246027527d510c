"""Bad input is refused before any I/O, as a RequestValidationError naming the field.

``RequestValidationError`` is also a ``ValueError``; nothing the caller passes may surface
as a ``TypeError``, ``KeyError`` or ``AttributeError`` from inside the SDK. Each test
asserts that no request was sent.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aioresponses import aioresponses

from zyntro_async import Contact, Entity, RequestValidationError, ZyntroClient

from ._helpers import (
    ADD_COMMS,
    ATT_ID,
    ATTACHMENT_DATA,
    COMMS_DATA,
    CONTACT_ID,
    MANAGE_ATTACHMENTS,
    NOTE_ID,
    no_request_was_made,
    sent_json,
    success,
    url,
)
from .conftest import ClientFactory

EMAIL = "jane@acme.com"
Invoke = Callable[[ZyntroClient], Awaitable[Any]]


async def refused(zy: ZyntroClient, m: aioresponses, invoke: Invoke) -> RequestValidationError:
    """Run ``invoke``, require a RequestValidationError, and that nothing was sent."""
    with pytest.raises(RequestValidationError) as excinfo:
        await invoke(zy)
    assert isinstance(excinfo.value, ValueError)
    assert no_request_was_made(m)
    return excinfo.value


# ---- enums -----------------------------------------------------------------------------


@pytest.mark.parametrize("lookup_by", ["name", "EMAIL", "", None, 1])
async def test_upsert_lookup_by_must_be_a_documented_value(
    zy: ZyntroClient, mocked: aioresponses, lookup_by: Any
) -> None:
    error = await refused(
        zy, mocked, lambda zy: zy.contacts.upsert(Contact(primary_email=EMAIL), lookup_by=lookup_by)
    )
    assert error.field == "lookup_by"
    assert "email, phone, contact_id" in str(error)


async def test_update_lookup_by_must_be_a_documented_value(
    zy: ZyntroClient, mocked: aioresponses
) -> None:
    error = await refused(
        zy, mocked, lambda zy: zy.contacts.update(Contact(primary_email=EMAIL), lookup_by="id")
    )
    assert error.field == "lookup_by"


@pytest.mark.parametrize(
    ("lookup_by", "contact", "field"),
    [
        ("email", Contact(first_name="Jane"), "contact.primary_email"),
        ("phone", Contact(primary_email=EMAIL), "contact.primary_phone"),
        ("contact_id", Contact(primary_email=EMAIL), "contact_id"),
    ],
)
async def test_upsert_needs_the_field_it_looks_up_by(
    zy: ZyntroClient, mocked: aioresponses, lookup_by: str, contact: Contact, field: str
) -> None:
    error = await refused(zy, mocked, lambda zy: zy.contacts.upsert(contact, lookup_by=lookup_by))
    assert error.field == field


@pytest.mark.parametrize("comms_type", ["fax", "Email", "", None, 3])
async def test_comms_type_must_be_a_documented_value(
    zy: ZyntroClient, mocked: aioresponses, comms_type: Any
) -> None:
    error = await refused(zy, mocked, lambda zy: zy.comms.log(CONTACT_ID, comms_type, "Hi"))
    assert error.field == "comms_type"
    assert "email, sms, call, message" in str(error)


@pytest.mark.parametrize("status", ["done", "Processed", "", 1])
async def test_comms_status_must_be_pending_or_processed(
    zy: ZyntroClient, mocked: aioresponses, status: Any
) -> None:
    error = await refused(
        zy, mocked, lambda zy: zy.comms.log(CONTACT_ID, "call", "Hi", status=status)
    )
    assert error.field == "status"


@pytest.mark.parametrize("status", ["pending", "processed"])
async def test_both_comms_statuses_are_accepted(
    zy: ZyntroClient, mocked: aioresponses, status: str
) -> None:
    mocked.post(url(ADD_COMMS), payload=success(COMMS_DATA))
    await zy.comms.log(CONTACT_ID, "call", "Hi", status=status)
    assert (await sent_json(mocked, ADD_COMMS))["comms_status"] == status


async def test_an_attachment_type_outside_the_allow_list_is_refused(
    zy: ZyntroClient, mocked: aioresponses
) -> None:
    error = await refused(
        zy,
        mocked,
        lambda zy: zy.attachments.add_file(
            CONTACT_ID, b"MZ", name="tool.exe", file_type="application/x-msdownload"
        ),
    )
    assert error.field == "file_type"
    assert "png" in str(error)


# ---- comms source length ---------------------------------------------------------------


async def test_a_comms_source_of_55_characters_is_accepted(
    zy: ZyntroClient, mocked: aioresponses
) -> None:
    mocked.post(url(ADD_COMMS), payload=success(COMMS_DATA))
    await zy.comms.log(CONTACT_ID, "email", "Hi", source="s" * 55)
    assert (await sent_json(mocked, ADD_COMMS))["comms_source"] == "s" * 55


async def test_a_comms_source_of_56_characters_is_refused(
    zy: ZyntroClient, mocked: aioresponses
) -> None:
    error = await refused(
        zy, mocked, lambda zy: zy.comms.log(CONTACT_ID, "email", "Hi", source="s" * 56)
    )
    assert error.field == "source"
    assert "55" in str(error)


# ---- link URLs -------------------------------------------------------------------------

BAD_URLS = [
    "docs.google.com/d/abc123",  # no scheme
    "ftp://files.acme.com/deck.pdf",
    "https://",  # no host
    "https:///path/only",
    "https://acme.com/my deck",  # spaces
    " https://acme.com/deck",
    "https://acme.com:99999/",  # port out of range
    "javascript:alert(1)",
    "",
]


@pytest.mark.parametrize("bad_url", BAD_URLS)
async def test_add_link_refuses_a_malformed_url(
    zy: ZyntroClient, mocked: aioresponses, bad_url: str
) -> None:
    error = await refused(
        zy, mocked, lambda zy: zy.attachments.add_link(CONTACT_ID, name="Deck", url=bad_url)
    )
    assert error.field == "url"


@pytest.mark.parametrize("bad_url", BAD_URLS[:5])
async def test_attachment_update_refuses_a_malformed_url(
    zy: ZyntroClient, mocked: aioresponses, bad_url: str
) -> None:
    error = await refused(zy, mocked, lambda zy: zy.attachments.update(ATT_ID, url=bad_url))
    assert error.field == "url"


@pytest.mark.parametrize(
    "good_url",
    [
        "http://acme.com",
        "https://docs.google.com/d/abc123?usp=sharing#h.1",
        "https://10.0.0.1:8443/x",
    ],
)
async def test_add_link_accepts_well_formed_http_urls(
    zy: ZyntroClient, mocked: aioresponses, good_url: str
) -> None:
    mocked.post(url(MANAGE_ATTACHMENTS), payload=success(ATTACHMENT_DATA))
    await zy.attachments.add_link(CONTACT_ID, name="Deck", url=good_url)
    body = await sent_json(mocked, MANAGE_ATTACHMENTS)
    assert body["att_content"] == {"link_url": good_url}


async def test_attachment_update_needs_something_to_change(
    zy: ZyntroClient, mocked: aioresponses
) -> None:
    error = await refused(zy, mocked, lambda zy: zy.attachments.update(ATT_ID))
    assert error.field == "name"


# ---- contacts.create -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("contact", "field"),
    [
        (Contact(primary_email=EMAIL), "contact.first_name"),
        (Contact(first_name="Jane"), "contact.primary_email"),
        (Contact(first_name="", primary_email=EMAIL), "contact.first_name"),
        (Contact(), "contact.first_name"),
    ],
)
async def test_create_needs_first_name_and_primary_email(
    zy: ZyntroClient, mocked: aioresponses, contact: Contact, field: str
) -> None:
    error = await refused(zy, mocked, lambda zy: zy.contacts.create(contact))
    assert error.field == field


# ---- wrong types -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"first_name": 123}, "contact.first_name"),
        ({"last_name": ["Smith"]}, "contact.last_name"),
        ({"primary_email": 5}, "contact.primary_email"),
        ({"primary_email": "not-an-address"}, "contact.primary_email"),
        ({"primary_phone": 5550123}, "contact.primary_phone"),
        ({"primary_phone": "call me"}, "contact.primary_phone"),
        ({"role_label": b"Buyer"}, "contact.role_label"),
        ({"tags": "vip"}, "contact.tags"),
        ({"tags": ["vip", 7]}, "contact.tags[1]"),
        ({"tags": ["vip", None]}, "contact.tags[1]"),
        ({"tags": {"vip"}}, "contact.tags"),
        ({"custom_fields": ["industry"]}, "contact.custom_fields"),
        ({"custom_fields": {1: "x"}}, "contact.custom_fields"),
        ({"custom_fields": {"when": object()}}, "contact.custom_fields.when"),
        ({"custom_fields": {"score": float("nan")}}, "contact.custom_fields.score"),
        ({"extra": "linkedin"}, "contact.extra"),
        ({"extra": {"firstName": "clash"}}, "contact.extra"),
        ({"first_name": "x" * 256}, "contact.first_name"),
    ],
)
def test_a_contact_with_a_wrong_type_is_refused_when_built(
    kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(RequestValidationError) as excinfo:
        Contact(**kwargs)
    assert excinfo.value.field == field


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": 7}, "entity.name"),
        ({"website": ["https://acme.com"]}, "entity.website"),
        ({"extra": {"name": "clash"}}, "entity.extra"),
    ],
)
def test_an_entity_with_a_wrong_type_is_refused_when_built(
    kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(RequestValidationError) as excinfo:
        Entity(**kwargs)
    assert excinfo.value.field == field


WRONG_TYPES: list[tuple[str, Invoke, str]] = [
    (
        "contact as a dict",
        lambda zy: zy.contacts.upsert({"firstName": "Jane", "primaryEmail": EMAIL}),
        "contact",
    ),
    ("contact as None", lambda zy: zy.contacts.create(None), "contact"),
    (
        "entity as a str",
        lambda zy: zy.contacts.upsert(Contact(primary_email=EMAIL), entity="Acme"),
        "entity",
    ),
    (
        "skip_entity as a str",
        lambda zy: zy.contacts.upsert(Contact(primary_email=EMAIL), skip_entity="no"),
        "skip_entity",
    ),
    (
        "contact_id as a bool",
        lambda zy: zy.contacts.upsert(
            Contact(primary_email=EMAIL), lookup_by="contact_id", contact_id=True
        ),
        "contact_id",
    ),
    ("fetch contact_id as a float", lambda zy: zy.contacts.fetch(4.2), "contact_id"),
    ("fetch contact_id empty", lambda zy: zy.contacts.fetch(""), "contact_id"),
    ("notes.add contact_id as a bool", lambda zy: zy.notes.add(False, "Hi"), "contact_id"),
    ("notes.add note as None", lambda zy: zy.notes.add(CONTACT_ID, None), "note"),
    ("notes.add note blank", lambda zy: zy.notes.add(CONTACT_ID, "   "), "note"),
    (
        "notes.add visible as a str",
        lambda zy: zy.notes.add(CONTACT_ID, "Hi", visible="yes"),
        "visible",
    ),
    ("notes.add editable as 2", lambda zy: zy.notes.add(CONTACT_ID, "Hi", editable=2), "editable"),
    (
        "notes.update note_id as a list",
        lambda zy: zy.notes.update([5], CONTACT_ID, "Hi"),
        "note_id",
    ),
    (
        "add_link name as an int",
        lambda zy: zy.attachments.add_link(CONTACT_ID, name=5, url="https://acme.com"),
        "name",
    ),
    (
        "add_link url as bytes",
        lambda zy: zy.attachments.add_link(CONTACT_ID, name="Deck", url=b"https://acme.com"),
        "url",
    ),
    (
        "add_link context as a dict",
        lambda zy: zy.attachments.add_link(
            CONTACT_ID, name="Deck", url="https://acme.com", context={"a": 1}
        ),
        "context",
    ),
    (
        "add_file file_type as an int",
        lambda zy: zy.attachments.add_file(CONTACT_ID, b"x", name="a.pdf", file_type=1),
        "file_type",
    ),
    (
        "attachments.update att_id as None",
        lambda zy: zy.attachments.update(None, name="x"),
        "att_id",
    ),
    ("attachments.delete att_id as a bool", lambda zy: zy.attachments.delete(True), "att_id"),
    ("comms data as an int", lambda zy: zy.comms.log(CONTACT_ID, "call", 123), "data"),
    ("comms data as a list", lambda zy: zy.comms.log(CONTACT_ID, "call", ["a"]), "data"),
    ("comms data empty mapping", lambda zy: zy.comms.log(CONTACT_ID, "call", {}), "data"),
    ("comms data blank", lambda zy: zy.comms.log(CONTACT_ID, "call", ""), "data"),
    (
        "comms data not JSON",
        lambda zy: zy.comms.log(CONTACT_ID, "call", {"at": object()}),
        "data.at",
    ),
    (
        "comms source as an int",
        lambda zy: zy.comms.log(CONTACT_ID, "call", "Hi", source=5),
        "source",
    ),
    (
        "comms sentiment as a list",
        lambda zy: zy.comms.log(CONTACT_ID, "call", "Hi", sentiment=["good"]),
        "sentiment",
    ),
    (
        "comms next_step as an int",
        lambda zy: zy.comms.log(CONTACT_ID, "call", "Hi", next_step=1),
        "next_step",
    ),
    ("call body with a non-string key", lambda zy: zy.call("crm", "x", {1: "a"}), "body"),
    ("call body as a list", lambda zy: zy.call("crm", "x", ["contact_id"]), "body"),
    ("call body as a str", lambda zy: zy.call("crm", "x", "contact_id=1"), "body"),
    ("call body value not JSON", lambda zy: zy.call("crm", "x", {"at": object()}), "body.at"),
    ("call member_id as a bool", lambda zy: zy.call("crm", "x", {}, member_id=True), "member_id"),
]


@pytest.mark.parametrize(
    ("invoke", "field"), [(c[1], c[2]) for c in WRONG_TYPES], ids=[c[0] for c in WRONG_TYPES]
)
async def test_a_wrong_type_is_a_validation_error_naming_the_field(
    zy: ZyntroClient, mocked: aioresponses, invoke: Invoke, field: str
) -> None:
    error = await refused(zy, mocked, invoke)
    assert error.field == field


MEMBER_CALLS: list[tuple[str, Invoke]] = [
    ("contacts.upsert", lambda zy, **kw: zy.contacts.upsert(Contact(primary_email=EMAIL), **kw)),
    (
        "contacts.create",
        lambda zy, **kw: zy.contacts.create(Contact(first_name="J", primary_email=EMAIL), **kw),
    ),
    ("contacts.update", lambda zy, **kw: zy.contacts.update(Contact(primary_email=EMAIL), **kw)),
    ("contacts.fetch", lambda zy, **kw: zy.contacts.fetch(CONTACT_ID, **kw)),
    ("notes.add", lambda zy, **kw: zy.notes.add(CONTACT_ID, "Hi", **kw)),
    ("notes.update", lambda zy, **kw: zy.notes.update(NOTE_ID, CONTACT_ID, "Hi", **kw)),
    (
        "attachments.add_link",
        lambda zy, **kw: zy.attachments.add_link(
            CONTACT_ID, name="D", url="https://acme.com", **kw
        ),
    ),
    (
        "attachments.add_file",
        lambda zy, **kw: zy.attachments.add_file(CONTACT_ID, b"x", name="a.txt", **kw),
    ),
    ("attachments.update", lambda zy, **kw: zy.attachments.update(ATT_ID, name="N", **kw)),
    ("attachments.delete", lambda zy, **kw: zy.attachments.delete(ATT_ID, **kw)),
    ("comms.log", lambda zy, **kw: zy.comms.log(CONTACT_ID, "sms", "Hi", **kw)),
]


@pytest.mark.parametrize(
    ("invoke", "member_id"),
    [
        pytest.param(invoke, bad, id=f"{name}-{bad!r}")
        for n, (name, invoke) in enumerate(MEMBER_CALLS)
        for bad in [(True, "", ["m"])[n % 3]]
    ],
)
async def test_a_bad_member_id_override_is_refused_on_every_method(
    make_client: ClientFactory, mocked: aioresponses, invoke: Any, member_id: Any
) -> None:
    async with make_client(brand_id="1") as zy:
        error = await refused(zy, mocked, lambda zy: invoke(zy, member_id=member_id))
    assert error.field == "member_id"


# ---- IDs are opaque --------------------------------------------------------------------


async def test_the_documented_non_hex_att_id_is_accepted(
    zy: ZyntroClient, mocked: aioresponses
) -> None:
    mocked.post(url(MANAGE_ATTACHMENTS), payload=success(ATTACHMENT_DATA), repeat=True)
    await zy.attachments.update(ATT_ID, context="renamed")
    await zy.attachments.delete(ATT_ID)
    assert (await sent_json(mocked, MANAGE_ATTACHMENTS, 0))["att_id"] == ATT_ID
    assert (await sent_json(mocked, MANAGE_ATTACHMENTS, 1))["att_id"] == ATT_ID


@pytest.mark.parametrize("contact_id", ["12345", "crm:contact/7", "zz-not-a-uuid", "ÄÖÜ"])
async def test_contact_ids_of_any_shape_are_accepted(
    zy: ZyntroClient, mocked: aioresponses, contact_id: str
) -> None:
    mocked.post(url(ADD_COMMS), payload=success(COMMS_DATA))
    await zy.comms.log(contact_id, "call", "Hi")
    assert (await sent_json(mocked, ADD_COMMS))["contact_id"] == contact_id


# ---- the exception itself --------------------------------------------------------------


def test_a_validation_error_names_its_field_in_the_message() -> None:
    error = RequestValidationError("comms_type", "must be one of: email, sms, call, message")
    assert str(error) == "comms_type: must be one of: email, sms, call, message"
    assert (error.field, error.message) == (
        "comms_type",
        "must be one of: email, sms, call, message",
    )
    assert isinstance(error, ValueError)


# ---- nothing escapes as a builtin error ------------------------------------------------

ODD_VALUES: list[Any] = [5, 1.5, b"x", object(), ["a"], {"a": object()}, ""]
BASE = Contact(first_name="Jane", primary_email=EMAIL)

# method -> (call taking keyword overrides, the arguments to try odd values in)
SIGNATURES: dict[str, tuple[Callable[..., Awaitable[Any]], list[str]]] = {
    "contacts.upsert": (
        lambda zy, **kw: zy.contacts.upsert(**{"contact": BASE, **kw}),
        ["contact", "entity", "lookup_by", "skip_entity", "member_id", "contact_id", "debug"],
    ),
    "contacts.create": (
        lambda zy, **kw: zy.contacts.create(**{"contact": BASE, **kw}),
        ["contact", "entity", "skip_entity", "member_id", "debug"],
    ),
    "contacts.update": (
        lambda zy, **kw: zy.contacts.update(**{"contact": BASE, **kw}),
        ["contact", "entity", "lookup_by", "skip_entity", "member_id", "contact_id", "debug"],
    ),
    "contacts.fetch": (
        lambda zy, **kw: zy.contacts.fetch(**{"contact_id": CONTACT_ID, **kw}),
        ["contact_id", "member_id"],
    ),
    "notes.add": (
        lambda zy, **kw: zy.notes.add(**{"contact_id": CONTACT_ID, "note": "Hi", **kw}),
        ["contact_id", "note", "visible", "editable", "member_id"],
    ),
    "notes.update": (
        lambda zy, **kw: zy.notes.update(
            **{"note_id": NOTE_ID, "contact_id": CONTACT_ID, "note": "Hi", **kw}
        ),
        ["note_id", "contact_id", "note", "visible", "editable", "member_id"],
    ),
    "attachments.add_link": (
        lambda zy, **kw: zy.attachments.add_link(
            **{"contact_id": CONTACT_ID, "name": "Deck", "url": "https://acme.com", **kw}
        ),
        ["contact_id", "name", "url", "context", "member_id"],
    ),
    "attachments.add_file": (
        lambda zy, **kw: zy.attachments.add_file(
            **{"contact_id": CONTACT_ID, "file": b"%PDF", "name": "a.pdf", **kw}
        ),
        ["contact_id", "file", "name", "file_type", "context", "member_id"],
    ),
    "attachments.update": (
        lambda zy, **kw: zy.attachments.update(**{"att_id": ATT_ID, "name": "N", **kw}),
        ["att_id", "name", "url", "context", "member_id"],
    ),
    "attachments.delete": (
        lambda zy, **kw: zy.attachments.delete(**{"att_id": ATT_ID, **kw}),
        ["att_id", "member_id"],
    ),
    "comms.log": (
        lambda zy, **kw: zy.comms.log(
            **{"contact_id": CONTACT_ID, "comms_type": "call", "data": "Hi", **kw}
        ),
        [
            "contact_id",
            "comms_type",
            "data",
            "source",
            "sentiment",
            "next_step",
            "status",
            "member_id",
        ],
    ),
    "call": (
        lambda zy, **kw: zy.call(**{"module": "crm", "action": "scoreContact", **kw}),
        ["module", "action", "body", "member_id"],
    ),
}


@pytest.mark.parametrize(("invoke", "arguments"), SIGNATURES.values(), ids=list(SIGNATURES))
async def test_an_odd_argument_is_accepted_or_refused_never_a_builtin_error(
    make_client: ClientFactory,
    mocked: aioresponses,
    invoke: Callable[..., Awaitable[Any]],
    arguments: list[str],
) -> None:
    ok = {"contact_id": CONTACT_ID, "note_id": NOTE_ID, "att_id": ATT_ID, "ch_id": 1}
    mocked.post(re.compile(".*"), payload=success(ok), repeat=True)
    escaped = []
    async with make_client(brand_id="1") as zy:
        for argument in arguments:
            for value in ODD_VALUES:
                try:
                    await invoke(zy, **{argument: value})
                except RequestValidationError:
                    pass
                except Exception as exc:  # collect what escaped, to report all at once
                    escaped.append(f"{argument}={value!r:.20}: {type(exc).__name__}: {exc}")
    assert escaped == []
