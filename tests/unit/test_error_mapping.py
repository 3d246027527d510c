"""Every documented error message becomes its documented code and exception class.

The API answers failures with HTTP 200 and ``{"status": "error", "data": [message]}``. The
table below holds every message of the five error tables in api-docs/, spelled as each page
spells it ("Invalid API Key" on some pages, "Invalid API key" on others), and each is sent
through the endpoint whose page documents it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aioresponses import aioresponses

from zyntro_async import (
    APIError,
    AuthenticationError,
    Contact,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    StorageError,
    ZyntroClient,
    ZyntroError,
)
from zyntro_async._errors import _EXACT_MESSAGES, api_error_for, code_for_message

from ._helpers import (
    ADD_COMMS,
    ADD_CONTACTS,
    ADD_NOTES,
    CONTACT_ID,
    FETCH_CONTACT,
    MANAGE_ATTACHMENTS,
    attempts,
    error,
    url,
)
from .conftest import ClientFactory

Invoke = Callable[[ZyntroClient], Awaitable[Any]]

# page -> (endpoint, a call that reaches it)
PAGES: dict[str, tuple[str, Invoke]] = {
    "00-overview": (FETCH_CONTACT, lambda zy: zy.contacts.fetch(CONTACT_ID)),
    "crm-addContactsFull": (
        ADD_CONTACTS,
        lambda zy: zy.contacts.upsert(Contact(first_name="Jane", primary_email="jane@acme.com")),
    ),
    "crm-addNotestoContact": (ADD_NOTES, lambda zy: zy.notes.add(CONTACT_ID, "Met at the fair")),
    "crm-manageAttachments": (
        MANAGE_ATTACHMENTS,
        lambda zy: zy.attachments.add_link(CONTACT_ID, name="Deck", url="https://acme.com/d"),
    ),
    "crm-addCommsHistory": (ADD_COMMS, lambda zy: zy.comms.log(CONTACT_ID, "call", "Intro")),
}

NOT_OWNER_MESSAGE = "The API only supports notes being added by the member that owns the contact."
WRONG_ORG_MESSAGE = (
    "You are trying to add a note to a contact that does not belong to your organization"
)

# (page, message as the page spells it, code, exception class)
DOCUMENTED_ERRORS: list[tuple[str, str, str, type[APIError]]] = [
    # 00-overview.txt, "Common Error Messages"
    ("00-overview", "Missing developer_secret", "MISSING_DEVELOPER_SECRET", AuthenticationError),
    ("00-overview", "Invalid developer_secret", "INVALID_DEVELOPER_SECRET", AuthenticationError),
    ("00-overview", "IP address not whitelisted", "IP_NOT_WHITELISTED", PermissionDeniedError),
    ("00-overview", "Invalid API Key", "INVALID_API_KEY", AuthenticationError),
    ("00-overview", "User is not active", "USER_INACTIVE", AuthenticationError),
    ("00-overview", "Missing service instance", "MISSING_API_KEY", AuthenticationError),
    ("00-overview", "Missing org ID", "MISSING_FIELDS", InvalidRequestError),
    ("00-overview", "Missing brand ID", "MISSING_FIELDS", InvalidRequestError),
    # crm-addContactsFull.txt
    ("crm-addContactsFull", "API key is required", "MISSING_API_KEY", AuthenticationError),
    ("crm-addContactsFull", "Invalid API key", "INVALID_API_KEY", AuthenticationError),
    (
        "crm-addContactsFull",
        "IP address not whitelisted",
        "IP_NOT_WHITELISTED",
        PermissionDeniedError,
    ),
    (
        "crm-addContactsFull",
        "Invalid developer_secret",
        "INVALID_DEVELOPER_SECRET",
        AuthenticationError,
    ),
    (
        "crm-addContactsFull",
        "Missing developer_secret",
        "MISSING_DEVELOPER_SECRET",
        AuthenticationError,
    ),
    ("crm-addContactsFull", "contact data is required", "MISSING_CONTACT", InvalidRequestError),
    (
        "crm-addContactsFull",
        "Member not found in this organization",
        "MEMBER_NOT_FOUND",
        NotFoundError,
    ),
    (
        "crm-addContactsFull",
        "Contact validation errors: primaryEmail must be a valid email",
        "VALIDATION_ERROR",
        InvalidRequestError,
    ),
    (
        "crm-addContactsFull",
        "Contact validation errors: primaryPhone exceeds max length",
        "VALIDATION_ERROR",
        InvalidRequestError,
    ),
    (
        "crm-addContactsFull",
        "Contact custom field errors: unknown field 'industry'",
        "CUSTOM_FIELD_ERROR",
        InvalidRequestError,
    ),
    (
        "crm-addContactsFull",
        "Contact custom field errors: company_size must be one of 1-10, 11-50",
        "CUSTOM_FIELD_ERROR",
        InvalidRequestError,
    ),
    ("crm-addContactsFull", "Contact not found for update", "NOT_FOUND_UPDATE", NotFoundError),
    (
        "crm-addContactsFull",
        "Missing required contact fields: firstName, primaryEmail",
        "MISSING_FIELDS",
        InvalidRequestError,
    ),
    # crm-addNotestoContact.txt
    ("crm-addNotestoContact", "Missing service instance", "MISSING_API_KEY", AuthenticationError),
    ("crm-addNotestoContact", "Invalid API Key", "INVALID_API_KEY", AuthenticationError),
    (
        "crm-addNotestoContact",
        "IP address not whitelisted",
        "IP_NOT_WHITELISTED",
        PermissionDeniedError,
    ),
    (
        "crm-addNotestoContact",
        "Invalid developer_secret",
        "INVALID_DEVELOPER_SECRET",
        AuthenticationError,
    ),
    (
        "crm-addNotestoContact",
        "Missing developer_secret",
        "MISSING_DEVELOPER_SECRET",
        AuthenticationError,
    ),
    ("crm-addNotestoContact", "Missing org ID", "MISSING_FIELDS", InvalidRequestError),
    ("crm-addNotestoContact", "Missing member ID", "MISSING_FIELDS", InvalidRequestError),
    ("crm-addNotestoContact", "Missing contact ID", "MISSING_FIELDS", InvalidRequestError),
    ("crm-addNotestoContact", "Missing note", "MISSING_FIELDS", InvalidRequestError),
    ("crm-addNotestoContact", "Contact does not exist", "NOT_FOUND", NotFoundError),
    ("crm-addNotestoContact", WRONG_ORG_MESSAGE, "WRONG_ORG", PermissionDeniedError),
    ("crm-addNotestoContact", NOT_OWNER_MESSAGE, "NOT_OWNER", PermissionDeniedError),
    # crm-manageAttachments.txt
    ("crm-manageAttachments", "API key is required", "MISSING_API_KEY", AuthenticationError),
    ("crm-manageAttachments", "Invalid API key", "INVALID_API_KEY", AuthenticationError),
    (
        "crm-manageAttachments",
        "IP address not whitelisted",
        "IP_NOT_WHITELISTED",
        PermissionDeniedError,
    ),
    (
        "crm-manageAttachments",
        "Invalid developer_secret",
        "INVALID_DEVELOPER_SECRET",
        AuthenticationError,
    ),
    (
        "crm-manageAttachments",
        "Missing developer_secret",
        "MISSING_DEVELOPER_SECRET",
        AuthenticationError,
    ),
    (
        "crm-manageAttachments",
        "action must be one of: insert, update, delete",
        "INVALID_ACTION",
        InvalidRequestError,
    ),
    (
        "crm-manageAttachments",
        "att_type must be 'link' or 'file'",
        "INVALID_TYPE",
        InvalidRequestError,
    ),
    (
        "crm-manageAttachments",
        "Invalid URL format in link_url",
        "INVALID_URL",
        InvalidRequestError,
    ),
    ("crm-manageAttachments", "Invalid base64 file data", "INVALID_BASE64", InvalidRequestError),
    (
        "crm-manageAttachments",
        "Unsupported file type: application/x-msdownload",
        "UNSUPPORTED_FILE",
        InvalidRequestError,
    ),
    (
        "crm-manageAttachments",
        "Storage not configured for this account",
        "STORAGE_ERROR",
        StorageError,
    ),
    (
        "crm-manageAttachments",
        "Contact not found in this organization",
        "NOT_FOUND",
        NotFoundError,
    ),
    ("crm-manageAttachments", "Attachment not found", "NOT_FOUND", NotFoundError),
    # crm-addCommsHistory.txt
    ("crm-addCommsHistory", "API key is required", "MISSING_API_KEY", AuthenticationError),
    ("crm-addCommsHistory", "Invalid API key", "INVALID_API_KEY", AuthenticationError),
    (
        "crm-addCommsHistory",
        "IP address not whitelisted",
        "IP_NOT_WHITELISTED",
        PermissionDeniedError,
    ),
    (
        "crm-addCommsHistory",
        "Invalid developer_secret",
        "INVALID_DEVELOPER_SECRET",
        AuthenticationError,
    ),
    (
        "crm-addCommsHistory",
        "Missing developer_secret",
        "MISSING_DEVELOPER_SECRET",
        AuthenticationError,
    ),
    ("crm-addCommsHistory", "org_id is required", "MISSING_FIELDS", InvalidRequestError),
    ("crm-addCommsHistory", "member_id is required", "MISSING_FIELDS", InvalidRequestError),
    ("crm-addCommsHistory", "contact_id is required", "MISSING_FIELDS", InvalidRequestError),
    ("crm-addCommsHistory", "comms_type is required", "MISSING_FIELDS", InvalidRequestError),
    ("crm-addCommsHistory", "comms_data is required", "MISSING_FIELDS", InvalidRequestError),
    (
        "crm-addCommsHistory",
        "comms_type must be one of: email, sms, call, message",
        "INVALID_TYPE",
        InvalidRequestError,
    ),
    (
        "crm-addCommsHistory",
        "Contact not found in this organization",
        "NOT_FOUND",
        NotFoundError,
    ),
    (
        "crm-addCommsHistory",
        "Member not found in this organization",
        "MEMBER_NOT_FOUND",
        NotFoundError,
    ),
]


@pytest.fixture
async def client(make_client: ClientFactory) -> ZyntroClient:
    return make_client(brand_id="1")  # fetchContact needs a brand; make_client closes it


@pytest.mark.parametrize(
    ("page", "message", "code", "cls"),
    DOCUMENTED_ERRORS,
    ids=[f"{page}:{message[:40]}" for page, message, _, _ in DOCUMENTED_ERRORS],
)
async def test_a_documented_error_message_raises_its_code_and_class(
    client: ZyntroClient,
    mocked: aioresponses,
    page: str,
    message: str,
    code: str,
    cls: type[APIError],
) -> None:
    endpoint, invoke = PAGES[page]
    mocked.post(url(endpoint), payload=error(message))
    with pytest.raises(APIError) as excinfo:
        await invoke(client)
    err = excinfo.value
    assert type(err) is cls
    assert err.code == code
    assert err.messages == (message,)
    assert err.message == message
    assert (err.endpoint, err.status) == (endpoint, 200)
    assert message in str(err)
    assert code in str(err)


@pytest.mark.parametrize(
    "message",
    [
        "Something nobody documented happened",
        "Pipeline stage is locked",
        "Quota reached for today",
    ],
)
async def test_an_unknown_message_is_code_unknown_and_keeps_its_text(
    zy: ZyntroClient, mocked: aioresponses, message: str
) -> None:
    mocked.post(url(ADD_NOTES), payload=error(message))
    with pytest.raises(APIError) as excinfo:
        await zy.notes.add(CONTACT_ID, "Hi")
    assert type(excinfo.value) is APIError
    assert excinfo.value.code == "UNKNOWN"
    assert excinfo.value.messages == (message,)
    assert message in str(excinfo.value)


async def test_messages_match_whatever_their_case_and_spacing(
    zy: ZyntroClient, mocked: aioresponses
) -> None:
    mocked.post(url(ADD_NOTES), payload=error("  invalid   API   KEY "))
    with pytest.raises(AuthenticationError) as excinfo:
        await zy.notes.add(CONTACT_ID, "Hi")
    assert excinfo.value.code == "INVALID_API_KEY"
    assert excinfo.value.messages == ("  invalid   API   KEY ",)


async def test_the_first_known_message_decides_the_code_and_all_are_kept(
    zy: ZyntroClient, mocked: aioresponses
) -> None:
    messages = ("Something new", "Contact does not exist", "Missing note")
    mocked.post(url(ADD_NOTES), payload=error(*messages))
    with pytest.raises(NotFoundError) as excinfo:
        await zy.notes.add(CONTACT_ID, "Hi")
    assert excinfo.value.code == "NOT_FOUND"
    assert excinfo.value.messages == messages


async def test_an_error_envelope_whose_data_is_one_string_is_that_message(
    zy: ZyntroClient, mocked: aioresponses
) -> None:
    mocked.post(url(ADD_NOTES), payload={"status": "error", "data": "Contact does not exist"})
    with pytest.raises(NotFoundError) as excinfo:
        await zy.notes.add(CONTACT_ID, "Hi")
    assert excinfo.value.messages == ("Contact does not exist",)


async def test_every_api_error_is_a_zyntro_error(zy: ZyntroClient, mocked: aioresponses) -> None:
    mocked.post(url(ADD_NOTES), payload=error(NOT_OWNER_MESSAGE))
    with pytest.raises(ZyntroError):
        await zy.notes.add(CONTACT_ID, "Hi")
    assert attempts(mocked, ADD_NOTES) == 1


def test_api_errors_survive_pickling() -> None:
    import pickle

    original = NotFoundError("NOT_FOUND", ["Attachment not found"], MANAGE_ATTACHMENTS)
    copy = pickle.loads(pickle.dumps(original))
    assert type(copy) is NotFoundError
    assert (copy.code, copy.messages, copy.endpoint, copy.status) == (
        "NOT_FOUND",
        ("Attachment not found",),
        MANAGE_ATTACHMENTS,
        200,
    )


# ---- drift: wording the pages do not have ------------------------------------------------

# (message as a server might word it, code, class): case, spacing and final punctuation
# never matter; otherwise the words decide, the most specific code first.
DRIFTED: list[tuple[str, str, type[APIError]]] = [
    ("Invalid API key.", "INVALID_API_KEY", AuthenticationError),
    ("Invalid API Key!!", "INVALID_API_KEY", AuthenticationError),
    ("invalid api key", "INVALID_API_KEY", AuthenticationError),
    ("The API key provided is not valid", "INVALID_API_KEY", AuthenticationError),
    ("Unknown api_key", "INVALID_API_KEY", AuthenticationError),
    ("Missing API key", "MISSING_API_KEY", AuthenticationError),
    ("api_key is required.", "MISSING_API_KEY", AuthenticationError),
    ("API key is empty", "MISSING_API_KEY", AuthenticationError),
    ("Missing service instance.", "MISSING_API_KEY", AuthenticationError),
    ("Developer secret is required", "MISSING_DEVELOPER_SECRET", AuthenticationError),
    ("developer_secret missing!", "MISSING_DEVELOPER_SECRET", AuthenticationError),
    ("Invalid developer_secret.", "INVALID_DEVELOPER_SECRET", AuthenticationError),
    ("Developer secret has been revoked", "INVALID_DEVELOPER_SECRET", AuthenticationError),
    ("User account is deactivated", "USER_INACTIVE", AuthenticationError),
    ("User is not active.", "USER_INACTIVE", AuthenticationError),
    ("Your IP is not on the whitelist", "IP_NOT_WHITELISTED", PermissionDeniedError),
    (
        "The API only supports notes being added by the member that owns the contact",
        "NOT_OWNER",
        PermissionDeniedError,
    ),
    (
        "the api only supports notes being added by the member that owns the contact!",
        "NOT_OWNER",
        PermissionDeniedError,
    ),
    ("Only the contact owner can add notes", "NOT_OWNER", PermissionDeniedError),
    ("Member does not exist", "MEMBER_NOT_FOUND", NotFoundError),
    ("member 0c011ea9 not found", "MEMBER_NOT_FOUND", NotFoundError),
    ("Member not found in this organisation.", "MEMBER_NOT_FOUND", NotFoundError),
    ("Contact belongs to another organization", "WRONG_ORG", PermissionDeniedError),
    ("Contact not found.", "NOT_FOUND", NotFoundError),
    ("No contact found to update", "NOT_FOUND_UPDATE", NotFoundError),
    ("A contact with this email already exists.", "ALREADY_EXISTS", InvalidRequestError),
    ("att_name exceeds the maximum length", "VALIDATION_ERROR", InvalidRequestError),
    ("comms_type is invalid", "INVALID_TYPE", InvalidRequestError),
    ("Invalid action", "INVALID_ACTION", InvalidRequestError),
    ("link_url is not a valid URL", "INVALID_URL", InvalidRequestError),
    ("file_data is not valid base64", "INVALID_BASE64", InvalidRequestError),
    ("MIME type not allowed: application/x-msdownload", "UNSUPPORTED_FILE", InvalidRequestError),
    ("Unsupported file type: text/html.", "UNSUPPORTED_FILE", InvalidRequestError),
    ("File storage is not configured", "STORAGE_ERROR", StorageError),
    ("Unknown custom field 'shoe'", "CUSTOM_FIELD_ERROR", InvalidRequestError),
    ("contact data is missing", "MISSING_CONTACT", InvalidRequestError),
    ("member_id is required.", "MISSING_FIELDS", InvalidRequestError),
    ("Missing Org ID.", "MISSING_FIELDS", InvalidRequestError),
]


@pytest.mark.parametrize(
    ("message", "code", "cls"), DRIFTED, ids=[message[:50] for message, _, _ in DRIFTED]
)
async def test_a_drifted_message_maps_to_the_most_specific_code(
    zy: ZyntroClient, mocked: aioresponses, message: str, code: str, cls: type[APIError]
) -> None:
    mocked.post(url(ADD_NOTES), payload=error(message))
    with pytest.raises(APIError) as excinfo:
        await zy.notes.add(CONTACT_ID, "Hi")
    assert (type(excinfo.value), excinfo.value.code) == (cls, code)
    assert excinfo.value.messages == (message,)  # the text stays as the server sent it


@pytest.mark.parametrize("message", sorted(_EXACT_MESSAGES))
def test_a_documented_message_maps_with_or_without_a_final_period(message: str) -> None:
    code = _EXACT_MESSAGES[message]
    for variant in (message, message + ".", f"  {message.upper()}!  ", message + "…"):
        assert code_for_message(variant) == code, variant


def test_missing_api_key_is_an_authentication_error_not_missing_fields() -> None:
    error = api_error_for(["Missing API key"], ADD_NOTES)
    assert type(error) is AuthenticationError
    assert error.code == "MISSING_API_KEY"


def test_a_documented_message_decides_before_a_guess_by_keywords() -> None:
    # "must be a string" alone would be VALIDATION_ERROR; the documented message wins,
    # wherever it is in the list.
    error = api_error_for(["note must be a string", "Contact does not exist"], ADD_NOTES)
    assert (type(error), error.code) == (NotFoundError, "NOT_FOUND")


def test_a_keyword_match_still_yields_to_the_http_status_for_429_and_5xx() -> None:
    assert type(api_error_for(["Invalid API key"], ADD_NOTES, status=429)) is RateLimitError
    server = api_error_for(["Invalid API key"], ADD_NOTES, status=502)
    assert (type(server), server.code) == (ServerError, "HTTP_502")


# ---- the emulator's own messages (README, "Error codes") --------------------------------

EMULATOR_MESSAGES: list[tuple[str, str, type[APIError]]] = [
    ("API key does not have access to this organization", "WRONG_ORG", PermissionDeniedError),
    ("brand_id 99 does not belong to this organization", "WRONG_ORG", PermissionDeniedError),
    ("Contact already exists", "ALREADY_EXISTS", InvalidRequestError),
    ("Note not found", "NOT_FOUND", NotFoundError),
    ("Missing att_id", "MISSING_FIELDS", InvalidRequestError),
    ("Missing att_name", "MISSING_FIELDS", InvalidRequestError),
    ("Missing att_content.link_url", "MISSING_FIELDS", InvalidRequestError),
    ("Missing file_data", "MISSING_FIELDS", InvalidRequestError),
    ("Missing file_type", "MISSING_FIELDS", InvalidRequestError),
    ("link_url can only be changed on link attachments", "INVALID_TYPE", InvalidRequestError),
    ("att_name must be at most 255 characters", "VALIDATION_ERROR", InvalidRequestError),
    ("att_name must be at most 1000 characters", "VALIDATION_ERROR", InvalidRequestError),
    ("att_context must be a string", "VALIDATION_ERROR", InvalidRequestError),
    ("comms_source must be at most 55 characters", "VALIDATION_ERROR", InvalidRequestError),
    ("comms_status must be one of: pending, processed", "VALIDATION_ERROR", InvalidRequestError),
    ("mode must be one of: insert, update, upsert", "VALIDATION_ERROR", InvalidRequestError),
    (
        "lookup_by must be one of: email, phone, contact_id",
        "VALIDATION_ERROR",
        InvalidRequestError,
    ),
    ("skip_entity must be a boolean", "VALIDATION_ERROR", InvalidRequestError),
    ("entity must be an object", "VALIDATION_ERROR", InvalidRequestError),
    ("note must be a string", "VALIDATION_ERROR", InvalidRequestError),
    ("note_id must be a string", "VALIDATION_ERROR", InvalidRequestError),
    ("note_visibility must be 0 or 1", "VALIDATION_ERROR", InvalidRequestError),
    ("comms_data must be a string or a JSON object", "VALIDATION_ERROR", InvalidRequestError),
    (
        "Contact validation errors: primaryPhone is not a valid phone number: 'x'",
        "VALIDATION_ERROR",
        InvalidRequestError,
    ),
]


@pytest.mark.parametrize(
    ("message", "code", "cls"),
    EMULATOR_MESSAGES,
    ids=[message[:50] for message, _, _ in EMULATOR_MESSAGES],
)
def test_an_emulator_message_gets_its_code_and_class(
    message: str, code: str, cls: type[APIError]
) -> None:
    error = api_error_for([message], ADD_NOTES)
    assert (type(error), error.code) == (cls, code)


@pytest.mark.parametrize(
    ("status", "message", "code", "cls"),
    [
        (400, "Request body must be a JSON object", "VALIDATION_ERROR", InvalidRequestError),
        (404, "Unknown endpoint: crm/x", "HTTP_404", NotFoundError),
        (405, "Method GET not allowed: use POST", "HTTP_405", InvalidRequestError),
    ],
)
def test_the_emulator_s_http_errors_get_their_code_and_class(
    status: int, message: str, code: str, cls: type[APIError]
) -> None:
    error = api_error_for([message], "crm/x", status=status)
    assert (type(error), error.code, error.status) == (cls, code, status)
