"""Every documented error, provoked for real, surfaces as the documented class and code.

One table, :data:`CASES`, drives the test: each row makes the emulator answer with one
error message, by calling the SDK as an application would (with wrong credentials, a
contact of another organization, a bad custom field...), and names the exception class and
``code`` the SDK must raise. Where the SDK cannot be made to send a request that bad (it
always sends its credentials, it checks enums before sending), a loopback gateway drops a
field on the way, or ``zy.call`` sends the raw fields.

The state each row needs (users, developer keys with IP whitelists, organizations,
members, custom fields, contacts) is seeded through the emulator's seeding API in
:func:`world`. :data:`DOCUMENTED` transcribes the error tables of the five API pages, and
:func:`test_every_documented_error_has_a_case` proves the table covers them all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import pytest

from zyntro_async import (
    APIError,
    AuthenticationError,
    Contact,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    StorageError,
    ZyntroClient,
)
from zyntro_async.testing import Emulator

from .conftest import ClientFactory, Gateway

ADD_CONTACTS = "crm/addContactsFull"
FETCH_CONTACT = "crm/fetchContact"
ADD_NOTES = "crm/addNotestoContact"
MANAGE_ATTACHMENTS = "crm/manageAttachments"
ADD_COMMS = "crm/addCommsHistory"

# Seeded by `world` through the emulator's seeding API.
INACTIVE_KEY = "UYUJH-INACTIVE-0000-0000"
REVOKED_SECRET = "zdk_revoked_0000"
OFFICE_ONLY_SECRET = "zdk_office_only_0000"  # whitelisted for 10.20.0.0/16 only
NO_STORAGE_ORG = "0b1c2d3e-0000-4000-8000-00000000b2c0"
NO_STORAGE_MEMBER = "0b1c2d3e-0000-4000-8000-00000000b2c1"
ELSEWHERE_ORG = "0e1e2e3e-0000-4000-8000-0000000e15e0"  # the key's user has no access
ELSEWHERE_MEMBER = "0e1e2e3e-0000-4000-8000-0000000e15e1"
COLLEAGUE = "0c011ea9-0000-4000-8000-00000000c011"  # a member who owns nothing
STRANGER = "05712a9e-0000-4000-8000-000000005712"  # in no organization
MISSING = "00000000-0000-4000-8000-000000000000"  # no contact, note or attachment


@attrs.define
class World:
    """The seeded emulator, and how to reach it with good or bad settings."""

    emulator: Emulator
    make_client: ClientFactory
    gateway: Gateway
    contact_id: str  # owned by the demo member, in the demo organization
    foreign_contact_id: str  # in ELSEWHERE_ORG
    no_storage_contact_id: str  # in NO_STORAGE_ORG

    @property
    def zy(self) -> ZyntroClient:
        """A client with the demo credentials."""
        return self.make_client()

    def client(self, **overrides: Any) -> ZyntroClient:
        """A client with some settings replaced (``api_key=...``, ``org_id=...``)."""
        return self.make_client(**overrides)

    def without(self, *fields: str) -> ZyntroClient:
        """A client whose requests lose ``fields`` on the way to the emulator."""
        return self.make_client(base_url=self.gateway.dropping(fields))


@pytest.fixture
def world(zyntro_emulator: Emulator, make_client: ClientFactory, gateway: Gateway) -> World:
    emu = zyntro_emulator
    creds = emu.credentials
    emu.add_user(api_key=INACTIVE_KEY, active=False, org_ids=[creds.org_id])
    emu.add_developer_key(secret=REVOKED_SECRET, revoked=True)
    emu.add_developer_key(secret=OFFICE_ONLY_SECRET, whitelist=["10.20.0.0/16"])
    emu.add_org(org_id=NO_STORAGE_ORG, mode="B2C", storage=False, members=[NO_STORAGE_MEMBER])
    emu.grant_access(api_key=creds.api_key, org_id=NO_STORAGE_ORG)
    emu.add_org(org_id=ELSEWHERE_ORG, members=[ELSEWHERE_MEMBER])
    emu.add_member(org_id=creds.org_id, member_id=COLLEAGUE)
    emu.add_custom_field(org_id=creds.org_id, tag="tier", options=["gold", "silver"])
    return World(
        emulator=emu,
        make_client=make_client,
        gateway=gateway,
        contact_id=emu.add_contact(
            fields={"firstName": "Jane", "primaryEmail": "jane@acme.com"}
        ).contact_id,
        foreign_contact_id=emu.add_contact(
            org_id=ELSEWHERE_ORG, owner_id=ELSEWHERE_MEMBER, fields={"firstName": "Eve"}
        ).contact_id,
        no_storage_contact_id=emu.add_contact(
            org_id=NO_STORAGE_ORG, owner_id=NO_STORAGE_MEMBER, fields={"firstName": "Bo"}
        ).contact_id,
    )


Run = Callable[[World], Awaitable[object]]


@attrs.frozen
class ErrorCase:
    """One row: what to do, and what the emulator answers and the SDK raises.

    ``message`` ending in ``"..."`` is a prefix, as the API pages write it.
    """

    id: str
    endpoint: str
    run: Run
    message: str
    cls: type[APIError]
    code: str

    def matches(self, message: str) -> bool:
        if self.message.endswith("..."):
            return message.startswith(self.message[:-3])
        return message == self.message


# ------------------------------------------------------------ the credential checks

# A valid call of each endpoint, to be made with bad settings.
PROBES: dict[str, Callable[[ZyntroClient, World], Awaitable[object]]] = {
    ADD_CONTACTS: lambda zy, w: zy.contacts.upsert(
        Contact(first_name="Jane", primary_email="jane@acme.com")
    ),
    FETCH_CONTACT: lambda zy, w: zy.contacts.fetch(w.contact_id),
    ADD_NOTES: lambda zy, w: zy.notes.add(w.contact_id, "Met at the fair"),
    MANAGE_ATTACHMENTS: lambda zy, w: zy.attachments.add_link(
        w.contact_id, name="Deck", url="https://acme.com/deck"
    ),
    ADD_COMMS: lambda zy, w: zy.comms.log(w.contact_id, "call", "Intro call"),
}

# The pages word the same rule differently; each endpoint answers with its own page's text.
MISSING_API_KEY = {
    ADD_CONTACTS: "API key is required",
    FETCH_CONTACT: "Missing service instance",
    ADD_NOTES: "Missing service instance",
    MANAGE_ATTACHMENTS: "API key is required",
    ADD_COMMS: "API key is required",
}
INVALID_API_KEY = {
    ADD_CONTACTS: "Invalid API key",
    FETCH_CONTACT: "Invalid API Key",
    ADD_NOTES: "Invalid API Key",
    MANAGE_ATTACHMENTS: "Invalid API key",
    ADD_COMMS: "Invalid API key",
}
MISSING_ORG = {
    ADD_CONTACTS: "Missing org ID",
    FETCH_CONTACT: "Missing org ID",
    ADD_NOTES: "Missing org ID",
    MANAGE_ATTACHMENTS: "Missing org ID",
    ADD_COMMS: "org_id is required",
}
# fetchContact is read-only and needs no member (the overview's rule for such endpoints).
MISSING_MEMBER = {
    ADD_CONTACTS: "Missing member ID",
    ADD_NOTES: "Missing member ID",
    MANAGE_ATTACHMENTS: "Missing member ID",
    ADD_COMMS: "member_id is required",
}
NO_ORG_ACCESS = "API key does not have access to this organization"
MEMBER_NOT_FOUND = "Member not found in this organization"
NOT_OWNER = "The API only supports notes being added by the member that owns the contact."

ClientFor = Callable[[World], ZyntroClient]
# (id, the client to probe with, message (or per endpoint), class, code)
CREDENTIAL_CHECKS: list[tuple[str, ClientFor, str | dict[str, str], type[APIError], str]] = [
    (
        "api_key missing",
        lambda w: w.without("api_key"),
        MISSING_API_KEY,
        AuthenticationError,
        "MISSING_API_KEY",
    ),
    (
        "api_key invalid",
        lambda w: w.client(api_key="UYUJH-XXXXXXXXXXXX-XXXXXXXXXXXX-XXXXX"),
        INVALID_API_KEY,
        AuthenticationError,
        "INVALID_API_KEY",
    ),
    (
        "user inactive",
        lambda w: w.client(api_key=INACTIVE_KEY),
        "User is not active",
        AuthenticationError,
        "USER_INACTIVE",
    ),
    (
        "developer_secret missing",
        lambda w: w.without("developer_secret"),
        "Missing developer_secret",
        AuthenticationError,
        "MISSING_DEVELOPER_SECRET",
    ),
    (
        "developer_secret invalid",
        lambda w: w.client(developer_secret="zdk_not_a_key"),
        "Invalid developer_secret",
        AuthenticationError,
        "INVALID_DEVELOPER_SECRET",
    ),
    (
        "developer_secret revoked",
        lambda w: w.client(developer_secret=REVOKED_SECRET),
        "Invalid developer_secret",
        AuthenticationError,
        "INVALID_DEVELOPER_SECRET",
    ),
    (
        "ip not whitelisted",
        lambda w: w.client(developer_secret=OFFICE_ONLY_SECRET),
        "IP address not whitelisted",
        PermissionDeniedError,
        "IP_NOT_WHITELISTED",
    ),
    (
        "org_id missing",
        lambda w: w.without("org_id"),
        MISSING_ORG,
        InvalidRequestError,
        "MISSING_FIELDS",
    ),
    (
        "org without access",
        lambda w: w.client(org_id=ELSEWHERE_ORG),
        NO_ORG_ACCESS,
        PermissionDeniedError,
        "WRONG_ORG",
    ),
    (
        "member_id missing",
        lambda w: w.without("member_id"),
        MISSING_MEMBER,
        InvalidRequestError,
        "MISSING_FIELDS",
    ),
]


def _probe(endpoint: str, client_for: ClientFor) -> Run:
    return lambda w: PROBES[endpoint](client_for(w), w)


def _credential_cases() -> list[ErrorCase]:
    cases = []
    for endpoint in PROBES:
        for name, client_for, message, cls, code in CREDENTIAL_CHECKS:
            if not isinstance(message, str) and endpoint not in message:
                continue  # a check this endpoint does not make
            text = message if isinstance(message, str) else message[endpoint]
            cases.append(
                ErrorCase(
                    f"{endpoint} {name}", endpoint, _probe(endpoint, client_for), text, cls, code
                )
            )
        # A member outside the organization: notes have no membership check of their own,
        # so the owner check answers there.
        stranger = _probe(endpoint, lambda w: w.client(member_id=STRANGER))
        if endpoint == ADD_NOTES:
            cases.append(
                ErrorCase(
                    f"{endpoint} member unknown",
                    endpoint,
                    stranger,
                    NOT_OWNER,
                    PermissionDeniedError,
                    "NOT_OWNER",
                )
            )
        else:
            cases.append(
                ErrorCase(
                    f"{endpoint} member unknown",
                    endpoint,
                    stranger,
                    MEMBER_NOT_FOUND,
                    NotFoundError,
                    "MEMBER_NOT_FOUND",
                )
            )
    return cases


# ------------------------------------------------------------- each endpoint's rules


async def _note_then_update_by_colleague(w: World) -> object:
    note = await w.zy.notes.add(w.contact_id, "Mine")
    return await w.zy.notes.update(note.note_id, w.contact_id, "Theirs", member_id=COLLEAGUE)


async def _create_twice(w: World) -> object:
    jane = Contact(first_name="Jane", primary_email="jane@acme.com")  # seeded already
    return await w.zy.contacts.create(jane)


def _call(endpoint: str, body: dict[str, Any]) -> Run:
    module, action = endpoint.split("/")
    return lambda w: w.zy.call(module, action, body)


def _attachment_insert(**fields: Any) -> Run:
    def run(w: World) -> Awaitable[object]:
        body = {"action": "insert", "contact_id": w.contact_id, **fields}
        return w.zy.call("crm", "manageAttachments", body)

    return run


def _comms_call(**fields: Any) -> Run:
    def run(w: World) -> Awaitable[object]:
        body = {"contact_id": w.contact_id, "comms_type": "call", "comms_data": "x", **fields}
        return w.zy.call("crm", "addCommsHistory", {k: v for k, v in body.items() if v != ...})

    return run


def _notes_call(**fields: Any) -> Run:
    def run(w: World) -> Awaitable[object]:
        body = {"contact_id": w.contact_id, "note": "x", **fields}
        return w.zy.call("crm", "addNotestoContact", {k: v for k, v in body.items() if v != ...})

    return run


ENDPOINT_CASES: list[ErrorCase] = [
    # --- crm/addContactsFull
    ErrorCase(
        "contact missing",
        ADD_CONTACTS,
        _call(ADD_CONTACTS, {"mode": "upsert"}),
        "contact data is required",
        InvalidRequestError,
        "MISSING_CONTACT",
    ),
    ErrorCase(
        "required contact fields missing",
        ADD_CONTACTS,
        _call(ADD_CONTACTS, {"mode": "insert", "contact": {"lastName": "Smith"}}),
        "Missing required contact fields: firstName, primaryEmail",
        InvalidRequestError,
        "MISSING_FIELDS",
    ),
    ErrorCase(
        "upsert by phone creating without an email",
        ADD_CONTACTS,
        lambda w: w.zy.contacts.upsert(
            Contact(first_name="Ann", primary_phone="+1 555 0100"), lookup_by="phone"
        ),
        "Missing required contact fields: primaryEmail",
        InvalidRequestError,
        "MISSING_FIELDS",
    ),
    ErrorCase(
        "contact field too long",
        ADD_CONTACTS,
        lambda w: w.zy.contacts.upsert(
            Contact(first_name="Ann", primary_email="ann@acme.com", extra={"jobTitle": "x" * 2000})
        ),
        "Contact validation errors: ...",
        InvalidRequestError,
        "VALIDATION_ERROR",
    ),
    ErrorCase(
        "custom field unknown",
        ADD_CONTACTS,
        lambda w: w.zy.contacts.upsert(
            Contact(first_name="Ann", primary_email="ann@acme.com", custom_fields={"shoe": 42})
        ),
        "Contact custom field errors: unknown custom field 'shoe' ...",
        InvalidRequestError,
        "CUSTOM_FIELD_ERROR",
    ),
    ErrorCase(
        "custom field option not allowed",
        ADD_CONTACTS,
        lambda w: w.zy.contacts.upsert(
            Contact(first_name="Ann", primary_email="ann@acme.com", custom_fields={"tier": "tin"})
        ),
        'Contact custom field errors: tier must be one of: gold, silver (got "tin")',
        InvalidRequestError,
        "CUSTOM_FIELD_ERROR",
    ),
    ErrorCase(
        "update finds no contact",
        ADD_CONTACTS,
        lambda w: w.zy.contacts.update(Contact(primary_email="nobody@acme.com", last_name="X")),
        "Contact not found for update",
        NotFoundError,
        "NOT_FOUND_UPDATE",
    ),
    ErrorCase(
        "update by contact_id finds no contact",
        ADD_CONTACTS,
        lambda w: w.zy.contacts.update(
            Contact(last_name="X"), lookup_by="contact_id", contact_id=MISSING
        ),
        "Contact not found for update",
        NotFoundError,
        "NOT_FOUND_UPDATE",
    ),
    ErrorCase(
        "create an existing contact",
        ADD_CONTACTS,
        _create_twice,
        "Contact already exists",
        InvalidRequestError,
        "ALREADY_EXISTS",
    ),
    ErrorCase(
        "mode unknown",
        ADD_CONTACTS,
        _call(ADD_CONTACTS, {"mode": "merge", "contact": {"firstName": "A"}}),
        "mode must be one of: insert, update, upsert",
        InvalidRequestError,
        "VALIDATION_ERROR",
    ),
    ErrorCase(
        "lookup_by unknown",
        ADD_CONTACTS,
        _call(ADD_CONTACTS, {"lookup_by": "name", "contact": {"firstName": "A"}}),
        "lookup_by must be one of: email, phone, contact_id",
        InvalidRequestError,
        "VALIDATION_ERROR",
    ),
    # --- crm/fetchContact (the overview page's example endpoint)
    ErrorCase(
        "contact does not exist",
        FETCH_CONTACT,
        lambda w: w.zy.contacts.fetch(MISSING),
        "Contact does not exist",
        NotFoundError,
        "NOT_FOUND",
    ),
    ErrorCase(
        "contact of another organization",
        FETCH_CONTACT,
        lambda w: w.zy.contacts.fetch(w.foreign_contact_id),
        "Contact does not exist",
        NotFoundError,
        "NOT_FOUND",
    ),
    ErrorCase(
        "brand_id missing",
        FETCH_CONTACT,
        lambda w: w.without("brand_id").contacts.fetch(w.contact_id),
        "Missing brand ID",
        InvalidRequestError,
        "MISSING_FIELDS",
    ),
    ErrorCase(
        "contact_id missing",
        FETCH_CONTACT,
        _call(FETCH_CONTACT, {}),
        "Missing contact ID",
        InvalidRequestError,
        "MISSING_FIELDS",
    ),
    ErrorCase(  # not in any table: "does not belong to" this organization, like WRONG_ORG's
        "brand of another organization",
        FETCH_CONTACT,
        lambda w: w.client(brand_id="99").contacts.fetch(w.contact_id),
        "brand_id 99 does not belong to this organization",
        PermissionDeniedError,
        "WRONG_ORG",
    ),
    # --- crm/addNotestoContact
    ErrorCase(
        "contact_id missing",
        ADD_NOTES,
        _notes_call(contact_id=...),
        "Missing contact ID",
        InvalidRequestError,
        "MISSING_FIELDS",
    ),
    ErrorCase(
        "note missing",
        ADD_NOTES,
        _notes_call(note=...),
        "Missing note",
        InvalidRequestError,
        "MISSING_FIELDS",
    ),
    ErrorCase(
        "contact does not exist",
        ADD_NOTES,
        lambda w: w.zy.notes.add(MISSING, "Hello"),
        "Contact does not exist",
        NotFoundError,
        "NOT_FOUND",
    ),
    ErrorCase(
        "contact of another organization",
        ADD_NOTES,
        lambda w: w.zy.notes.add(w.foreign_contact_id, "Hello"),
        "You are trying to add a note to a contact that does not belong to your organization",
        PermissionDeniedError,
        "WRONG_ORG",
    ),
    ErrorCase(
        "not the contact's owner",
        ADD_NOTES,
        lambda w: w.zy.notes.add(w.contact_id, "Hello", member_id=COLLEAGUE),
        NOT_OWNER,
        PermissionDeniedError,
        "NOT_OWNER",
    ),
    ErrorCase(
        "update by someone not the owner",
        ADD_NOTES,
        _note_then_update_by_colleague,
        NOT_OWNER,
        PermissionDeniedError,
        "NOT_OWNER",
    ),
    ErrorCase(
        "note does not exist",
        ADD_NOTES,
        lambda w: w.zy.notes.update(MISSING, w.contact_id, "Edited"),
        "Note not found",
        NotFoundError,
        "NOT_FOUND",
    ),
    # --- crm/manageAttachments
    ErrorCase(
        "action unknown",
        MANAGE_ATTACHMENTS,
        _call(MANAGE_ATTACHMENTS, {"action": "archive"}),
        "action must be one of: insert, update, delete",
        InvalidRequestError,
        "INVALID_ACTION",
    ),
    ErrorCase(
        "att_type unknown",
        MANAGE_ATTACHMENTS,
        _attachment_insert(att_type="video", att_name="Demo"),
        "att_type must be 'link' or 'file'",
        InvalidRequestError,
        "INVALID_TYPE",
    ),
    ErrorCase(
        "link_url not a URL",
        MANAGE_ATTACHMENTS,
        _attachment_insert(att_type="link", att_name="Deck", att_content={"link_url": "ftp:x"}),
        "Invalid URL format in link_url",
        InvalidRequestError,
        "INVALID_URL",
    ),
    ErrorCase(
        "file_data not base64",
        MANAGE_ATTACHMENTS,
        _attachment_insert(
            att_type="file", att_name="a.txt", file_type="text/plain", file_data="not base64!"
        ),
        "Invalid base64 file data",
        InvalidRequestError,
        "INVALID_BASE64",
    ),
    ErrorCase(
        "file type not allowed",
        MANAGE_ATTACHMENTS,
        _attachment_insert(
            att_type="file",
            att_name="setup.exe",
            file_type="application/x-msdownload",
            file_data="TVqQAAMAAAAEAAAA",
        ),
        "Unsupported file type: ...",
        InvalidRequestError,
        "UNSUPPORTED_FILE",
    ),
    ErrorCase(
        "empty file",
        MANAGE_ATTACHMENTS,
        lambda w: w.zy.attachments.add_file(w.contact_id, b"", name="empty.txt"),
        "Missing file_data",
        InvalidRequestError,
        "MISSING_FIELDS",
    ),
    ErrorCase(
        "no storage configured",
        MANAGE_ATTACHMENTS,
        lambda w: w.client(org_id=NO_STORAGE_ORG, member_id=NO_STORAGE_MEMBER).attachments.add_file(
            w.no_storage_contact_id, b"%PDF-1.4", name="contract.pdf"
        ),
        "Storage not configured for this account",
        StorageError,
        "STORAGE_ERROR",
    ),
    ErrorCase(
        "contact does not exist",
        MANAGE_ATTACHMENTS,
        lambda w: w.zy.attachments.add_link(MISSING, name="Deck", url="https://acme.com/d"),
        "Contact not found in this organization",
        NotFoundError,
        "NOT_FOUND",
    ),
    ErrorCase(
        "file for a contact of another organization",
        MANAGE_ATTACHMENTS,
        lambda w: w.zy.attachments.add_file(w.foreign_contact_id, b"hi", name="hi.txt"),
        "Contact not found in this organization",
        NotFoundError,
        "NOT_FOUND",
    ),
    ErrorCase(
        "update of a missing attachment",
        MANAGE_ATTACHMENTS,
        lambda w: w.zy.attachments.update(MISSING, name="Renamed"),
        "Attachment not found",
        NotFoundError,
        "NOT_FOUND",
    ),
    ErrorCase(
        "delete of a missing attachment",
        MANAGE_ATTACHMENTS,
        lambda w: w.zy.attachments.delete(MISSING),
        "Attachment not found",
        NotFoundError,
        "NOT_FOUND",
    ),
    ErrorCase(
        "att_id missing",
        MANAGE_ATTACHMENTS,
        _call(MANAGE_ATTACHMENTS, {"action": "delete"}),
        "Missing att_id",
        InvalidRequestError,
        "MISSING_FIELDS",
    ),
    # --- crm/addCommsHistory
    ErrorCase(
        "contact_id missing",
        ADD_COMMS,
        _comms_call(contact_id=...),
        "contact_id is required",
        InvalidRequestError,
        "MISSING_FIELDS",
    ),
    ErrorCase(
        "comms_type missing",
        ADD_COMMS,
        _comms_call(comms_type=...),
        "comms_type is required",
        InvalidRequestError,
        "MISSING_FIELDS",
    ),
    ErrorCase(
        "comms_data missing",
        ADD_COMMS,
        _comms_call(comms_data=...),
        "comms_data is required",
        InvalidRequestError,
        "MISSING_FIELDS",
    ),
    ErrorCase(
        "comms_type unknown",
        ADD_COMMS,
        _comms_call(comms_type="fax"),
        "comms_type must be one of: email, sms, call, message",
        InvalidRequestError,
        "INVALID_TYPE",
    ),
    ErrorCase(
        "comms_source too long",
        ADD_COMMS,
        _comms_call(comms_source="x" * 56),
        "comms_source must be at most 55 characters",
        InvalidRequestError,
        "VALIDATION_ERROR",
    ),
    ErrorCase(
        "comms_status unknown",
        ADD_COMMS,
        _comms_call(comms_status="done"),
        "comms_status must be one of: pending, processed",
        InvalidRequestError,
        "VALIDATION_ERROR",
    ),
    ErrorCase(
        "contact does not exist",
        ADD_COMMS,
        lambda w: w.zy.comms.log(MISSING, "call", "Hello"),
        "Contact not found in this organization",
        NotFoundError,
        "NOT_FOUND",
    ),
    ErrorCase(
        "contact of another organization",
        ADD_COMMS,
        lambda w: w.zy.comms.log(w.foreign_contact_id, "call", "Hello"),
        "Contact not found in this organization",
        NotFoundError,
        "NOT_FOUND",
    ),
]

CASES: list[ErrorCase] = _credential_cases() + ENDPOINT_CASES


@pytest.mark.parametrize("case", CASES, ids=[f"{c.endpoint} {c.id}" for c in CASES])
async def test_error_surfaces_as_its_class_and_code(world: World, case: ErrorCase) -> None:
    with pytest.raises(APIError) as excinfo:
        await case.run(world)

    error = excinfo.value
    assert type(error) is case.cls, repr(error)
    assert error.code == case.code
    assert error.endpoint == case.endpoint
    assert error.status == 200  # the API reports errors with HTTP 200 and an envelope
    (message,) = error.messages
    assert case.matches(message), message
    # What the emulator answered, word for word, to one request that changed nothing.
    record = world.emulator.requests[-1]
    assert (record.endpoint, record.outcome, record.applied) == (case.endpoint, "error", False)
    assert record.messages == error.messages
    # Never retried: an error envelope is an answer, repeating the call cannot change it.
    assert [r.seq for r in world.emulator.requests if r.outcome == "error"] == [record.seq]
    # No exception text carries a credential.
    for secret in (world.emulator.credentials.api_key, world.emulator.credentials.developer_secret):
        assert secret not in str(error)
        assert secret not in repr(error)


# ------------------------------------------------------ the tables of the API pages

# (endpoint, code, message) from the "Errors" table of each page; the overview's "Common
# Error Messages" (which name no code) are listed under its example endpoint, fetchContact,
# with the codes DESIGN.md gives them. "..." ends a message the pages leave open.
DOCUMENTED: list[tuple[str, str, str]] = [
    # 00-overview.txt
    (FETCH_CONTACT, "MISSING_DEVELOPER_SECRET", "Missing developer_secret"),
    (FETCH_CONTACT, "INVALID_DEVELOPER_SECRET", "Invalid developer_secret"),
    (FETCH_CONTACT, "IP_NOT_WHITELISTED", "IP address not whitelisted"),
    (FETCH_CONTACT, "INVALID_API_KEY", "Invalid API Key"),
    (FETCH_CONTACT, "USER_INACTIVE", "User is not active"),
    (FETCH_CONTACT, "MISSING_API_KEY", "Missing service instance"),
    (FETCH_CONTACT, "MISSING_FIELDS", "Missing org ID"),
    (FETCH_CONTACT, "MISSING_FIELDS", "Missing brand ID"),
    # crm-addCommsHistory.txt
    (ADD_COMMS, "MISSING_API_KEY", "API key is required"),
    (ADD_COMMS, "INVALID_API_KEY", "Invalid API key"),
    (ADD_COMMS, "IP_NOT_WHITELISTED", "IP address not whitelisted"),
    (ADD_COMMS, "INVALID_DEVELOPER_SECRET", "Invalid developer_secret"),
    (ADD_COMMS, "MISSING_DEVELOPER_SECRET", "Missing developer_secret"),
    (ADD_COMMS, "MISSING_FIELDS", "org_id is required"),
    (ADD_COMMS, "MISSING_FIELDS", "member_id is required"),
    (ADD_COMMS, "MISSING_FIELDS", "contact_id is required"),
    (ADD_COMMS, "MISSING_FIELDS", "comms_type is required"),
    (ADD_COMMS, "MISSING_FIELDS", "comms_data is required"),
    (ADD_COMMS, "INVALID_TYPE", "comms_type must be one of: email, sms, call, message"),
    (ADD_COMMS, "NOT_FOUND", "Contact not found in this organization"),
    (ADD_COMMS, "MEMBER_NOT_FOUND", "Member not found in this organization"),
    # crm-addContactsFull.txt (and its "Validation errors" response example)
    (ADD_CONTACTS, "MISSING_API_KEY", "API key is required"),
    (ADD_CONTACTS, "INVALID_API_KEY", "Invalid API key"),
    (ADD_CONTACTS, "IP_NOT_WHITELISTED", "IP address not whitelisted"),
    (ADD_CONTACTS, "INVALID_DEVELOPER_SECRET", "Invalid developer_secret"),
    (ADD_CONTACTS, "MISSING_DEVELOPER_SECRET", "Missing developer_secret"),
    (ADD_CONTACTS, "MISSING_CONTACT", "contact data is required"),
    (ADD_CONTACTS, "MEMBER_NOT_FOUND", "Member not found in this organization"),
    (ADD_CONTACTS, "VALIDATION_ERROR", "Contact validation errors: ..."),
    (ADD_CONTACTS, "CUSTOM_FIELD_ERROR", "Contact custom field errors: ..."),
    (ADD_CONTACTS, "NOT_FOUND_UPDATE", "Contact not found for update"),
    (ADD_CONTACTS, "MISSING_FIELDS", "Missing required contact fields: firstName, primaryEmail"),
    # crm-addNotestoContact.txt
    (ADD_NOTES, "MISSING_API_KEY", "Missing service instance"),
    (ADD_NOTES, "INVALID_API_KEY", "Invalid API Key"),
    (ADD_NOTES, "IP_NOT_WHITELISTED", "IP address not whitelisted"),
    (ADD_NOTES, "INVALID_DEVELOPER_SECRET", "Invalid developer_secret"),
    (ADD_NOTES, "MISSING_DEVELOPER_SECRET", "Missing developer_secret"),
    (ADD_NOTES, "MISSING_FIELDS", "Missing org ID"),
    (ADD_NOTES, "MISSING_FIELDS", "Missing member ID"),
    (ADD_NOTES, "MISSING_FIELDS", "Missing contact ID"),
    (ADD_NOTES, "MISSING_FIELDS", "Missing note"),
    (ADD_NOTES, "NOT_FOUND", "Contact does not exist"),
    (
        ADD_NOTES,
        "WRONG_ORG",
        "You are trying to add a note to a contact that does not belong to your organization",
    ),
    (ADD_NOTES, "NOT_OWNER", NOT_OWNER),
    # crm-manageAttachments.txt
    (MANAGE_ATTACHMENTS, "MISSING_API_KEY", "API key is required"),
    (MANAGE_ATTACHMENTS, "INVALID_API_KEY", "Invalid API key"),
    (MANAGE_ATTACHMENTS, "IP_NOT_WHITELISTED", "IP address not whitelisted"),
    (MANAGE_ATTACHMENTS, "INVALID_DEVELOPER_SECRET", "Invalid developer_secret"),
    (MANAGE_ATTACHMENTS, "MISSING_DEVELOPER_SECRET", "Missing developer_secret"),
    (MANAGE_ATTACHMENTS, "INVALID_ACTION", "action must be one of: insert, update, delete"),
    (MANAGE_ATTACHMENTS, "INVALID_TYPE", "att_type must be 'link' or 'file'"),
    (MANAGE_ATTACHMENTS, "INVALID_URL", "Invalid URL format in link_url"),
    (MANAGE_ATTACHMENTS, "INVALID_BASE64", "Invalid base64 file data"),
    (MANAGE_ATTACHMENTS, "UNSUPPORTED_FILE", "Unsupported file type: ..."),
    (MANAGE_ATTACHMENTS, "STORAGE_ERROR", "Storage not configured for this account"),
    (MANAGE_ATTACHMENTS, "NOT_FOUND", "Contact not found in this organization"),
    (MANAGE_ATTACHMENTS, "NOT_FOUND", "Attachment not found"),
]


@pytest.mark.parametrize(
    ("endpoint", "code", "message"), DOCUMENTED, ids=[f"{e} {m}" for e, _, m in DOCUMENTED]
)
def test_every_documented_error_has_a_case(endpoint: str, code: str, message: str) -> None:
    prefix = message.removesuffix("...")
    covering = [
        case
        for case in CASES
        if case.endpoint == endpoint
        and case.code == code
        and (case.message == message or case.message.startswith(prefix))
        and (message.endswith("...") or case.message == message)
    ]
    assert covering, f"no case makes {endpoint} answer {message!r} ({code})"
