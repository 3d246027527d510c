"""addCommsHistory: required fields in order, enumerations, limits, scoping, ch_id."""

from __future__ import annotations

from typing import Any

import pytest

from zyntro_async.testing import Emulator

from ._docs import COMMS_CURL, doc_body
from ._raw import RawApi

ENDPOINT = "crm/addCommsHistory"


def comms_body(api: RawApi, **fields: Any) -> dict[str, Any]:
    body = doc_body(COMMS_CURL, api.creds)
    body.update(fields)
    return {k: v for k, v in body.items() if v is not ...}


ORDER = ["org_id", "member_id", "contact_id", "comms_type", "comms_data"]


@pytest.mark.parametrize("index", range(len(ORDER)))
async def test_required_fields_in_documented_order(
    api: RawApi, doc_contact: str, index: int
) -> None:
    body = comms_body(api, **dict.fromkeys(ORDER[index:], ...))
    assert await api.error(ENDPOINT, body) == f"{ORDER[index]} is required"


@pytest.mark.parametrize("comms_data", ["", "   ", {}, None])
async def test_empty_comms_data_is_missing(api: RawApi, doc_contact: str, comms_data: Any) -> None:
    message = await api.error(ENDPOINT, comms_body(api, comms_data=comms_data))
    assert message == "comms_data is required"


async def test_comms_data_may_be_an_object(
    api: RawApi, doc_contact: str, zyntro_emulator: Emulator
) -> None:
    data = {"subject": "Pricing", "body": "See attached", "recipients": ["jane@acme.com"]}
    await api.ok(ENDPOINT, comms_body(api, comms_type="email", comms_data=data))
    assert zyntro_emulator.comms[0].comms_data == data


@pytest.mark.parametrize("comms_type", ["fax", "Email", 3])
async def test_comms_type_must_be_known(api: RawApi, doc_contact: str, comms_type: Any) -> None:
    message = await api.error(ENDPOINT, comms_body(api, comms_type=comms_type))
    assert message == "comms_type must be one of: email, sms, call, message"


async def test_comms_source_limit(api: RawApi, doc_contact: str) -> None:
    await api.ok(ENDPOINT, comms_body(api, comms_source="x" * 55))
    message = await api.error(ENDPOINT, comms_body(api, comms_source="x" * 56))
    assert message == "comms_source must be at most 55 characters"


async def test_comms_status(api: RawApi, doc_contact: str, zyntro_emulator: Emulator) -> None:
    await api.ok(ENDPOINT, comms_body(api, comms_status="pending"))
    message = await api.error(ENDPOINT, comms_body(api, comms_status="done"))
    assert message == "comms_status must be one of: pending, processed"
    assert zyntro_emulator.comms[0].status == "pending"


async def test_contact_must_be_in_org(api: RawApi, zyntro_emulator: Emulator) -> None:
    assert await api.error(ENDPOINT, comms_body(api)) == "Contact not found in this organization"
    other = zyntro_emulator.add_contact(
        org_id=api.creds.other_org_id,
        owner_id=api.creds.other_org_member_id,
        fields={"firstName": "Olga", "primaryEmail": "olga@b2c.example"},
    )
    message = await api.error(ENDPOINT, comms_body(api, contact_id=other.contact_id))
    assert message == "Contact not found in this organization"


async def test_contact_is_checked_before_member(api: RawApi) -> None:
    body = comms_body(api, member_id="00000000-0000-4000-8000-000000000001")
    assert await api.error(ENDPOINT, body) == "Contact not found in this organization"


async def test_any_member_of_the_org_may_log(api: RawApi, doc_contact: str) -> None:
    await api.ok(ENDPOINT, comms_body(api, member_id=api.creds.other_members[1]))


async def test_ch_id_is_an_incrementing_integer(api: RawApi, doc_contact: str) -> None:
    ids = [(await api.ok(ENDPOINT, comms_body(api)))["ch_id"] for _ in range(3)]
    assert ids == [1, 2, 3]
    assert all(type(i) is int for i in ids)
