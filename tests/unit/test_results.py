"""Results keep everything the API returns: named keys as attributes, the rest in ``extra``.

``ContactResult.debug`` holds the ``debug`` object a ``debug=True`` request asked for. A key
the SDK does not know yet is never an error and never lost (forward compatibility, like
stripe's objects); only echoed credentials are dropped, and reprs show ``extra`` and
``debug`` by their keys.
"""

from __future__ import annotations

import pickle
from typing import Any

import pytest
from aioresponses import aioresponses

from zyntro_async import Contact, ZyntroClient
from zyntro_async._serde import RESULT_TYPES, converter, structure_result
from zyntro_async.models import (
    AttachmentResult,
    CommsResult,
    ContactRecord,
    ContactResult,
    Note,
)

from ._helpers import (
    ADD_CONTACTS,
    CONTACT_RESULT_DATA,
    FETCH_CONTACT,
    SUCCESS_DATA,
    sent_json,
    success,
    url,
)

DEBUG = {"mode": "upsert", "lookup_by": "email", "matched": False, "timings_ms": [3, 5]}
NEW_KEYS: dict[str, Any] = {"score": 87, "owner": {"member_id": "m-1"}, "tags": ["vip"]}
RESULT_FOR = {
    ContactResult: "crm/addContactsFull",
    ContactRecord: "crm/fetchContact",
    Note: "crm/addNotestoContact",
    AttachmentResult: "crm/manageAttachments",
    CommsResult: "crm/addCommsHistory",
}


async def test_debug_true_is_sent_and_the_answer_s_debug_object_is_kept(
    zy: ZyntroClient, mocked: aioresponses
) -> None:
    mocked.post(url(ADD_CONTACTS), payload=success({**CONTACT_RESULT_DATA, "debug": DEBUG}))
    result = await zy.contacts.upsert(
        Contact(first_name="Jane", primary_email="jane@acme.com"), debug=True
    )
    assert (await sent_json(mocked, ADD_CONTACTS))["debug"] is True
    assert result.debug == DEBUG
    assert result.extra == {}  # debug is a named field, not an unknown key
    assert result.contact_id == CONTACT_RESULT_DATA["contact_id"]


async def test_without_debug_the_result_s_debug_is_none(
    zy: ZyntroClient, mocked: aioresponses
) -> None:
    mocked.post(url(ADD_CONTACTS), payload=success(CONTACT_RESULT_DATA))
    result = await zy.contacts.upsert(Contact(first_name="Jane", primary_email="jane@acme.com"))
    assert "debug" not in await sent_json(mocked, ADD_CONTACTS)
    assert result.debug is None


@pytest.mark.parametrize("debug", ["trace-id 7f3a", ["step 1", "step 2"], 0, None])
def test_a_debug_value_of_any_json_type_is_kept(debug: Any) -> None:
    data = {**CONTACT_RESULT_DATA, "debug": debug}
    assert structure_result(data, ContactResult, endpoint=ADD_CONTACTS).debug == debug


@pytest.mark.parametrize("cls", RESULT_TYPES, ids=lambda cls: cls.__name__)
def test_every_result_keeps_the_keys_it_does_not_name(cls: type[Any]) -> None:
    data = {**SUCCESS_DATA[RESULT_FOR[cls]], **NEW_KEYS}
    result = structure_result(data, cls, endpoint=RESULT_FOR[cls])
    assert result.extra == NEW_KEYS


async def test_a_fetched_contact_keeps_fields_the_overview_example_omits(
    make_client: Any, mocked: aioresponses
) -> None:
    record = {**SUCCESS_DATA[FETCH_CONTACT], "primary_phone": "+1 555 0100", "tags": ["vip"]}
    mocked.post(url(FETCH_CONTACT), payload=success(record))
    async with make_client(brand_id="1") as zy:
        result = await zy.contacts.fetch(record["contact_id"])
    assert result.extra == {"primary_phone": "+1 555 0100", "tags": ["vip"]}


def test_a_result_never_keeps_echoed_credentials() -> None:
    data = {**CONTACT_RESULT_DATA, "api_key": "UYUJH-ECHOED", "developer_secret": "zdk_echoed"}
    result = structure_result(data, ContactResult, endpoint=ADD_CONTACTS)
    assert result.extra == {}


def test_the_repr_shows_extra_and_debug_by_their_keys_only() -> None:
    data = {**CONTACT_RESULT_DATA, "debug": {"token": "s3cr3t-value"}, "note": "private text"}
    text = repr(structure_result(data, ContactResult, endpoint=ADD_CONTACTS))
    assert "extra={'note': ...}" in text
    assert "debug={'token': ...}" in text
    assert "s3cr3t-value" not in text
    assert "private text" not in text


def test_a_result_with_extras_is_equal_hashable_and_survives_pickling_and_the_journal() -> None:
    data = {**CONTACT_RESULT_DATA, "debug": DEBUG, **NEW_KEYS}
    result = structure_result(data, ContactResult, endpoint=ADD_CONTACTS)
    assert result == structure_result(dict(data), ContactResult, endpoint=ADD_CONTACTS)
    hash(result)  # extras are dicts: they take no part in the hash
    assert pickle.loads(pickle.dumps(result)) == result
    # The journal writes results with the converter and reads them back.
    assert converter.structure(converter.unstructure(result), ContactResult) == result


def test_a_result_differing_only_in_extra_is_not_equal() -> None:
    base = structure_result(CONTACT_RESULT_DATA, ContactResult, endpoint=ADD_CONTACTS)
    other = structure_result(
        {**CONTACT_RESULT_DATA, "score": 1}, ContactResult, endpoint=ADD_CONTACTS
    )
    assert base != other
