"""Whatever comes back, the caller gets a typed ZyntroError, never a parsing accident.

HTTP error statuses become :class:`APIError` subclasses; bodies that are not the documented
envelope become :class:`MalformedResponseError`; a ``data`` that does not fit the result
model is malformed too. Never ``KeyError``, ``JSONDecodeError`` or ``TypeError``.
These tests use idempotent calls with retries off, so each failure is seen once, as is.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from aioresponses import aioresponses

from zyntro_async import (
    AmbiguousOutcomeError,
    APIError,
    AuthenticationError,
    Contact,
    InvalidRequestError,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    ZyntroClient,
)

from ._helpers import (
    ADD_COMMS,
    ADD_CONTACTS,
    ADD_NOTES,
    ATT_ID,
    COMMS_DATA,
    CONTACT_ID,
    CONTACT_RESULT_DATA,
    MANAGE_ATTACHMENTS,
    NOTE_DATA,
    NOTE_ID,
    error,
    success,
    url,
)
from .conftest import ClientFactory

HTML = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
CONTACT = Contact(first_name="Jane", primary_email="jane@acme.com")


async def upsert(zy: ZyntroClient) -> Any:
    return await zy.contacts.upsert(CONTACT)


# ---- HTTP error statuses ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, InvalidRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (405, InvalidRequestError),
        (418, InvalidRequestError),
        (429, RateLimitError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (504, ServerError),
    ],
)
async def test_an_http_error_status_with_an_html_page_is_a_typed_api_error(
    zy: ZyntroClient, mocked: aioresponses, status: int, cls: type[APIError]
) -> None:
    mocked.post(url(ADD_CONTACTS), status=status, body=HTML, content_type="text/html")
    with pytest.raises(APIError) as excinfo:
        await upsert(zy)
    assert type(excinfo.value) is cls
    assert excinfo.value.status == status
    assert f"HTTP {status}" in str(excinfo.value)
    assert "502 Bad Gateway" in str(excinfo.value)  # a snippet of the page, for diagnosis


@pytest.mark.parametrize(("status", "code"), [(400, "HTTP_400"), (500, "HTTP_500")])
async def test_a_bare_http_status_gets_an_http_code(
    zy: ZyntroClient, mocked: aioresponses, status: int, code: str
) -> None:
    mocked.post(url(ADD_CONTACTS), status=status, body="", content_type="text/plain")
    with pytest.raises(APIError) as excinfo:
        await upsert(zy)
    assert excinfo.value.code == code
    assert excinfo.value.messages == ()


@pytest.mark.parametrize(
    ("status", "message", "cls", "code"),
    [
        (
            400,
            "Missing required contact fields: firstName, primaryEmail",
            InvalidRequestError,
            "MISSING_FIELDS",
        ),
        (401, "Invalid API key", AuthenticationError, "INVALID_API_KEY"),
        (403, "IP address not whitelisted", PermissionDeniedError, "IP_NOT_WHITELISTED"),
        (404, "Contact not found for update", NotFoundError, "NOT_FOUND_UPDATE"),
        (401, "Gateway says no", AuthenticationError, "HTTP_401"),
        (500, "Contact validation errors: boom", ServerError, "HTTP_500"),
        (502, "Upstream failed", ServerError, "HTTP_502"),
        (503, "Maintenance", ServerError, "HTTP_503"),
        (504, "Upstream timed out", ServerError, "HTTP_504"),
    ],
)
async def test_an_http_error_status_with_an_error_envelope_keeps_its_messages(
    zy: ZyntroClient,
    mocked: aioresponses,
    status: int,
    message: str,
    cls: type[APIError],
    code: str,
) -> None:
    mocked.post(url(ADD_CONTACTS), status=status, payload=error(message))
    with pytest.raises(APIError) as excinfo:
        await upsert(zy)
    assert type(excinfo.value) is cls
    assert (excinfo.value.code, excinfo.value.messages) == (code, (message,))
    assert excinfo.value.status == status


async def test_a_429_carries_its_retry_after(zy: ZyntroClient, mocked: aioresponses) -> None:
    mocked.post(url(ADD_CONTACTS), status=429, headers={"Retry-After": "12"})
    with pytest.raises(RateLimitError) as excinfo:
        await upsert(zy)
    assert excinfo.value.retry_after == 12.0
    assert excinfo.value.code == "RATE_LIMITED"


async def test_a_redirect_is_not_followed_and_is_an_error(
    zy: ZyntroClient, mocked: aioresponses
) -> None:
    # Credentials travel in the body: a redirect must never carry them elsewhere.
    mocked.post(
        url(ADD_CONTACTS), status=307, headers={"Location": "https://evil.example/steal"}, body=""
    )
    with pytest.raises(APIError) as excinfo:
        await upsert(zy)
    assert excinfo.value.status == 307
    assert len(mocked.requests) == 1  # nothing was sent to the Location


# ---- 200 with a body that is not the envelope -----------------------------------------

MALFORMED_BODIES: list[tuple[str, bytes, str]] = [
    ("html error page", HTML.encode(), "text/html"),
    ("truncated json", b'{"status": "success", "data": {"contact_id": "a1', "application/json"),
    ("not json at all", b"OK", "application/json"),
    ("plain text", b"Internal error, try later", "text/plain"),
    ("empty body", b"", "application/json"),
    ("empty body without a type", b"", ""),
    (
        "envelope under the wrong content type",
        json.dumps(success(CONTACT_RESULT_DATA)).encode(),
        "text/html",
    ),
    ("not utf-8", b'{"status": "success", "data": {"contact_id": "\xff\xfe"}}', "application/json"),
    ("a json array", b'["success"]', "application/json"),
    ("a json string", b'"success"', "application/json"),
    ("json null", b"null", "application/json"),
    ("missing status", json.dumps({"data": CONTACT_RESULT_DATA}).encode(), "application/json"),
    (
        "unknown status",
        json.dumps({"status": "ok", "data": CONTACT_RESULT_DATA}).encode(),
        "application/json",
    ),
    (
        "status not a string",
        json.dumps({"status": 1, "data": CONTACT_RESULT_DATA}).encode(),
        "application/json",
    ),
    ("success without data", json.dumps({"status": "success"}).encode(), "application/json"),
    (
        "error with a list of non-strings",
        json.dumps({"status": "error", "data": [1, {"m": 2}]}).encode(),
        "application/json",
    ),
    ("error with an empty list", json.dumps(error()).encode(), "application/json"),
    (
        "error with an object",
        json.dumps({"status": "error", "data": {"msg": "x"}}).encode(),
        "application/json",
    ),
    ("error without data", json.dumps({"status": "error"}).encode(), "application/json"),
    ("deeply nested json", b"[" * 100_000 + b"]" * 100_000, "application/json"),
]
each_malformed_body = pytest.mark.parametrize(
    ("body", "content_type"),
    [(b, t) for _, b, t in MALFORMED_BODIES],
    ids=[name for name, _, _ in MALFORMED_BODIES],
)


@each_malformed_body
async def test_a_200_that_is_not_the_envelope_is_malformed(
    zy: ZyntroClient, mocked: aioresponses, body: bytes, content_type: str
) -> None:
    mocked.post(url(ADD_CONTACTS), body=body, content_type=content_type)
    with pytest.raises(MalformedResponseError) as excinfo:
        await upsert(zy)
    assert excinfo.value.endpoint == ADD_CONTACTS
    assert excinfo.value.status == 200


@each_malformed_body
async def test_a_creating_call_whose_answer_is_unreadable_is_ambiguous(
    zy: ZyntroClient, mocked: aioresponses, body: bytes, content_type: str
) -> None:
    # The note reached the server, which may have stored it: the caller must not be told
    # "malformed" (which reads as "not applied") and must not retry blindly.
    mocked.post(url(ADD_NOTES), body=body, content_type=content_type)
    with pytest.raises(AmbiguousOutcomeError) as excinfo:
        await zy.notes.add(CONTACT_ID, "hello")
    assert excinfo.value.endpoint == ADD_NOTES
    assert isinstance(excinfo.value.__cause__, MalformedResponseError)


async def test_a_creating_call_over_max_response_bytes_is_ambiguous(
    make_client: ClientFactory, mocked: aioresponses
) -> None:
    mocked.post(url(ADD_NOTES), payload=success({**NOTE_DATA, "padding": "x" * 5000}))
    async with make_client(max_response_bytes=4096) as zy:
        with pytest.raises(AmbiguousOutcomeError, match="max_response_bytes"):
            await zy.notes.add(CONTACT_ID, "hello")


async def test_json_with_a_charset_parameter_is_fine(
    zy: ZyntroClient, mocked: aioresponses
) -> None:
    mocked.post(
        url(ADD_CONTACTS),
        body=json.dumps(success(CONTACT_RESULT_DATA)),
        content_type="application/json; charset=utf-8",
    )
    assert (await upsert(zy)).contact_id == CONTACT_ID


@pytest.mark.parametrize("content_type", ["Application/JSON", "application/problem+json"])
async def test_a_json_content_type_in_any_case_is_reported_as_bad_json(
    zy: ZyntroClient, mocked: aioresponses, content_type: str
) -> None:
    mocked.post(url(ADD_CONTACTS), body=b"{truncated", content_type=content_type)
    with pytest.raises(MalformedResponseError, match="got not JSON") as excinfo:
        await upsert(zy)
    assert "Content-Type" not in str(excinfo.value)


# ---- data that does not fit the result model -------------------------------------------

WRONG_DATA: list[tuple[str, str, Any]] = [
    ("contact data a string", ADD_CONTACTS, "created"),
    ("contact data a list", ADD_CONTACTS, [CONTACT_RESULT_DATA]),
    ("contact data null", ADD_CONTACTS, None),
    ("contact result without contact_id", ADD_CONTACTS, {"action": "created"}),
    ("contact_id an object", ADD_CONTACTS, {**CONTACT_RESULT_DATA, "contact_id": {"id": 1}}),
    ("contact_id a bool", ADD_CONTACTS, {**CONTACT_RESULT_DATA, "contact_id": True}),
    ("action a list", ADD_CONTACTS, {**CONTACT_RESULT_DATA, "action": ["created"]}),
    ("note without note_id", ADD_NOTES, {"contact_id": CONTACT_ID}),
    ("note flag not 0 or 1", ADD_NOTES, {**NOTE_DATA, "note_visibility": 7}),
    ("note flag a word", ADD_NOTES, {**NOTE_DATA, "note_editable": "yes"}),
    ("attachment without att_id", MANAGE_ATTACHMENTS, {"action": "deleted"}),
    ("ch_id not a number", ADD_COMMS, {**COMMS_DATA, "ch_id": "abc"}),
    ("ch_id a float", ADD_COMMS, {**COMMS_DATA, "ch_id": 891.5}),
    ("ch_id a bool", ADD_COMMS, {**COMMS_DATA, "ch_id": True}),
    ("ch_id null", ADD_COMMS, {**COMMS_DATA, "ch_id": None}),
    ("comms without ch_id", ADD_COMMS, {"message": "logged"}),
]


async def _call(zy: ZyntroClient, endpoint: str) -> Any:
    if endpoint == ADD_CONTACTS:
        return await upsert(zy)
    if endpoint == ADD_NOTES:
        return await zy.notes.update(NOTE_ID, CONTACT_ID, "Hi")
    if endpoint == MANAGE_ATTACHMENTS:
        return await zy.attachments.delete(ATT_ID)
    return await zy.comms.log(CONTACT_ID, "call", "Hi")


@pytest.mark.parametrize(
    ("endpoint", "data"),
    [(e, d) for _, e, d in WRONG_DATA],
    ids=[name for name, _, _ in WRONG_DATA],
)
async def test_data_that_does_not_fit_the_result_is_malformed(
    zy: ZyntroClient, mocked: aioresponses, endpoint: str, data: Any
) -> None:
    mocked.post(url(endpoint), payload=success(data))
    with pytest.raises(MalformedResponseError) as excinfo:
        await _call(zy, endpoint)
    assert excinfo.value.endpoint == endpoint


async def test_a_numeric_string_ch_id_is_read_as_the_integer(
    zy: ZyntroClient, mocked: aioresponses
) -> None:
    mocked.post(url(ADD_COMMS), payload=success({**COMMS_DATA, "ch_id": "891"}))
    assert (await zy.comms.log(CONTACT_ID, "call", "Hi")).ch_id == 891


async def test_a_numeric_contact_id_is_read_as_a_string(
    zy: ZyntroClient, mocked: aioresponses
) -> None:
    mocked.post(url(ADD_CONTACTS), payload=success({"contact_id": 12345}))
    assert (await upsert(zy)).contact_id == "12345"


# ---- size limit ------------------------------------------------------------------------


async def test_a_response_over_max_response_bytes_is_refused(
    make_client: ClientFactory, mocked: aioresponses
) -> None:
    big = success({**CONTACT_RESULT_DATA, "padding": "x" * 5000})
    mocked.post(url(ADD_CONTACTS), payload=big)
    async with make_client(max_response_bytes=4096) as zy:
        with pytest.raises(MalformedResponseError, match="max_response_bytes"):
            await upsert(zy)


async def test_a_declared_length_over_the_limit_is_refused_before_reading(
    make_client: ClientFactory, mocked: aioresponses
) -> None:
    mocked.post(
        url(ADD_CONTACTS),
        payload=success(CONTACT_RESULT_DATA),
        headers={"Content-Length": str(10 * 2**20)},
    )
    async with make_client(max_response_bytes=4096) as zy:
        with pytest.raises(MalformedResponseError, match="max_response_bytes"):
            await upsert(zy)


async def test_a_response_just_under_the_limit_is_read(
    make_client: ClientFactory, mocked: aioresponses
) -> None:
    body = json.dumps(success({**CONTACT_RESULT_DATA, "padding": ""}))
    padded = body.replace('"padding": ""', '"padding": "' + "x" * (4096 - len(body)) + '"')
    assert len(padded) == 4096
    mocked.post(url(ADD_CONTACTS), body=padded)
    async with make_client(max_response_bytes=4096) as zy:
        assert (await upsert(zy)).contact_id == CONTACT_ID


@pytest.mark.parametrize("header", ["soon", "Wed, 99 Foo 2026", "1.5.2", "NaN-ish"])
async def test_an_unparseable_retry_after_header_is_ignored(
    zy: ZyntroClient, mocked: aioresponses, header: str
) -> None:
    mocked.post(url(ADD_CONTACTS), status=429, headers={"Retry-After": header})
    with pytest.raises(RateLimitError) as excinfo:
        await upsert(zy)
    assert excinfo.value.retry_after is None
