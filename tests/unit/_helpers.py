"""Shared test helpers: documented values, envelopes, a fake clock, request-body capture.

Fixtures live in ``conftest.py``; these are plain functions and constants the test modules
import, so each test can say exactly what it sends and what the server answers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from aiohttp import payload
from aioresponses import aioresponses
from yarl import URL

BASE_URL = "https://app.zyntrohq.com"

# The placeholders the api-docs examples use, so a captured body can be compared with the
# documented one key for key.
DOC_CREDENTIALS: dict[str, str] = {
    "api_key": "YOUR_API_KEY",
    "developer_secret": "YOUR_DEVELOPER_SECRET",
    "org_id": "YOUR_ORG_ID",
    "member_id": "YOUR_MEMBER_ID",
}

ADD_CONTACTS = "crm/addContactsFull"
FETCH_CONTACT = "crm/fetchContact"
ADD_NOTES = "crm/addNotestoContact"
MANAGE_ATTACHMENTS = "crm/manageAttachments"
ADD_COMMS = "crm/addCommsHistory"

CONTACT_ID = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
NOTE_ID = "c3d4e5f6-a7b8-9012-cdef-345678901234"
# Documented, and not valid hex ("defg"): IDs are opaque strings.
ATT_ID = "d4e5f6a7-b8c9-0123-defg-456789012345"

# The documented success ``data`` of each endpoint.
CONTACT_RESULT_DATA: dict[str, Any] = {
    "action": "created",
    "message": "Contact created successfully",
    "entity_id": "b2c3d4e5-f6a7-8901-bcde-f12345678901",
    "contact_id": CONTACT_ID,
    "entity_action": "created",
}
CONTACT_RECORD_DATA: dict[str, Any] = {
    "contact_id": CONTACT_ID,
    "first_name": "Jane",
    "last_name": "Smith",
    "email": "jane@acme.com",
    "contact_status": "Active",
}
NOTE_DATA: dict[str, Any] = {
    "note_id": NOTE_ID,
    "contact_id": CONTACT_ID,
    "note_content": "Had a great demo call. Interested in the enterprise plan.",
    "note_editable": 0,
    "note_visibility": 1,
}
ATTACHMENT_DATA: dict[str, Any] = {
    "action": "inserted",
    "att_id": ATT_ID,
    "message": "Attachment created successfully",
}
COMMS_DATA: dict[str, Any] = {"ch_id": 891, "message": "Communication history logged successfully"}

SUCCESS_DATA: dict[str, dict[str, Any]] = {
    ADD_CONTACTS: CONTACT_RESULT_DATA,
    FETCH_CONTACT: CONTACT_RECORD_DATA,
    ADD_NOTES: NOTE_DATA,
    MANAGE_ATTACHMENTS: ATTACHMENT_DATA,
    ADD_COMMS: COMMS_DATA,
}


def url(endpoint: str, *, base_url: str = BASE_URL) -> str:
    """The URL every call to ``endpoint`` (``"crm/addContactsFull"``) is POSTed to."""
    return f"{base_url}/apis/v2/public/{endpoint}"


def success(data: Any) -> dict[str, Any]:
    """A success envelope."""
    return {"status": "success", "data": data}


def error(*messages: str) -> dict[str, Any]:
    """An error envelope (sent with HTTP 200, as the API does)."""
    return {"status": "error", "data": list(messages)}


def calls(m: aioresponses, endpoint: str, *, base_url: str = BASE_URL) -> list[Any]:
    """The requests aioresponses recorded for ``endpoint`` (one per attempt)."""
    return list(m.requests.get(("POST", URL(url(endpoint, base_url=base_url))), []))


def attempts(m: aioresponses, endpoint: str) -> int:
    """How many attempts were made at ``endpoint``."""
    return len(calls(m, endpoint))


def no_request_was_made(m: aioresponses) -> bool:
    """True when nothing at all was sent."""
    return not any(m.requests.values())


class _Sink:
    """Stands in for aiohttp's stream writer to collect what a payload writes."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    async def write(self, chunk: bytes) -> None:
        self.chunks.append(bytes(chunk))


async def payload_bytes(body: payload.Payload) -> bytes:
    """Everything a streamed body (an attachment's) writes, as aiohttp would send it."""
    sink = _Sink()
    await body.write(sink)  # type: ignore[arg-type]
    return b"".join(sink.chunks)


async def raw_body(m: aioresponses, endpoint: str, index: int = 0) -> bytes:
    """The bytes sent by attempt ``index`` at ``endpoint``."""
    data = calls(m, endpoint)[index].kwargs["data"]
    if isinstance(data, payload.Payload):
        return await payload_bytes(data)
    assert isinstance(data, bytes), type(data)
    return data


async def sent_json(m: aioresponses, endpoint: str, index: int = 0) -> dict[str, Any]:
    """The JSON body sent by attempt ``index`` at ``endpoint``."""
    body = json.loads(await raw_body(m, endpoint, index))
    assert isinstance(body, dict)
    return body


def walk(value: Any) -> Iterator[Any]:
    """Every value nested in a JSON document, containers included."""
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


class FakeTime:
    """A monotonic clock and an ``async`` sleep that advances it instantly.

    ``sleeps`` lists every delay the SDK asked for, so retry tests can assert the backoff.
    """

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
