"""Over real sockets: what the API pages leave to the server leaves the SDK as given.

The SDK checks only what the pages state (issue #16); real-world phone numbers, long names
and MIME types with parameters are sent unchanged, and the server (here the emulator) is
the one to judge them. The emulator is lenient where the pages are silent, as a faithful
stand-in must be, so each of them is stored exactly as sent.
"""

from __future__ import annotations

import pytest

from zyntro_async import Contact, ContactResult, InvalidRequestError, ZyntroClient
from zyntro_async.testing import Emulator

ADD_CONTACTS = "crm/addContactsFull"

# The examples (tests/unit/test_validation.py has more, sent through aioresponses).
REAL_WORLD_PHONES = [
    "+1 (555) 010-0199 ext. 89",
    "+44 20 7946 0958 x12",
    "1-800-FLOWERS",
    "+49 (0)30/1234567",
    "+33 1 23 45 67 89",
]


async def _upsert(
    client: ZyntroClient, contact: Contact
) -> tuple[ContactResult | None, InvalidRequestError | None]:
    """Upsert ``contact``: the result, or the server's refusal (an error envelope)."""
    try:
        return await client.contacts.upsert(contact), None
    except InvalidRequestError as exc:
        return None, exc


async def _upsert_sent_as_given(
    client: ZyntroClient, emulator: Emulator, contact: Contact, wire_key: str, value: str
) -> None:
    """Upsert ``contact``; require that ``value`` reached the server unchanged and was stored
    as sent (the SDK refused nothing, and neither did the lenient emulator)."""
    result, refused = await _upsert(client, contact)
    assert refused is None, refused
    assert result is not None
    assert emulator.contact(result.contact_id).fields.get(wire_key) == value
    record = emulator.requests[-1]
    assert record.endpoint == ADD_CONTACTS
    assert record.outcome == "success"
    sent = record.body["contact"]
    assert isinstance(sent, dict)
    assert sent[wire_key] == value


@pytest.mark.parametrize("phone", REAL_WORLD_PHONES)
async def test_a_real_world_phone_number_reaches_the_server_unchanged(
    zyntro_client: ZyntroClient, zyntro_emulator: Emulator, phone: str
) -> None:
    contact = Contact(first_name="Jane", primary_email="jane@acme.com", primary_phone=phone)
    await _upsert_sent_as_given(zyntro_client, zyntro_emulator, contact, "primaryPhone", phone)


async def test_a_300_character_last_name_reaches_the_server(
    zyntro_client: ZyntroClient, zyntro_emulator: Emulator
) -> None:
    # The emulator's request log cuts long strings: what was sent shows in what was stored,
    # or in the server's refusal naming the field.
    name = "L" * 300
    contact = Contact(first_name="Jane", last_name=name, primary_email="jane@acme.com")
    result, refused = await _upsert(zyntro_client, contact)
    assert refused is None, refused
    assert result is not None
    assert zyntro_emulator.contact(result.contact_id).fields["lastName"] == name


async def test_a_mime_type_with_a_charset_is_stored_as_sent(
    zyntro_client: ZyntroClient, zyntro_emulator: Emulator
) -> None:
    jane = zyntro_emulator.add_contact(fields={"firstName": "Jane", "primaryEmail": "j@a.io"})
    result = await zyntro_client.attachments.add_file(
        jane.contact_id, b"hello\n", name="notes.txt", file_type="text/plain; charset=utf-8"
    )
    (stored,) = [a for a in zyntro_emulator.attachments if a.att_id == result.att_id]
    assert stored.file_type == "text/plain; charset=utf-8"
