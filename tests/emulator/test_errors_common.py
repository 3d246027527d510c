"""Credential, whitelist, org and member checks: every endpoint, its own wording, in order.

Each case starts from the endpoint's documented example (valid) and breaks one or more
identifiers; when several are broken, the message proves which check comes first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from zyntro_async.testing import Emulator, EmulatorCredentials

from ._docs import (
    ATTACHMENT_LINK_CURL,
    COMMS_CURL,
    CONTACTS_CURL,
    NOTES_CURL,
    OVERVIEW_FETCH_CONTACT,
    doc_body,
)
from ._raw import TIMEOUT, RawApi

EXAMPLES = {
    "crm/addContactsFull": CONTACTS_CURL,
    "crm/fetchContact": OVERVIEW_FETCH_CONTACT,
    "crm/addNotestoContact": NOTES_CURL,
    "crm/manageAttachments": ATTACHMENT_LINK_CURL,
    "crm/addCommsHistory": COMMS_CURL,
}
MISSING_API_KEY = {
    "crm/addContactsFull": "API key is required",
    "crm/fetchContact": "Missing service instance",
    "crm/addNotestoContact": "Missing service instance",
    "crm/manageAttachments": "API key is required",
    "crm/addCommsHistory": "API key is required",
}
INVALID_API_KEY = {
    "crm/addContactsFull": "Invalid API key",
    "crm/fetchContact": "Invalid API Key",
    "crm/addNotestoContact": "Invalid API Key",
    "crm/manageAttachments": "Invalid API key",
    "crm/addCommsHistory": "Invalid API key",
}
MISSING_ORG = {
    "crm/addContactsFull": "Missing org ID",
    "crm/fetchContact": "Missing org ID",
    "crm/addNotestoContact": "Missing org ID",
    "crm/manageAttachments": "Missing org ID",
    "crm/addCommsHistory": "org_id is required",
}
# fetchContact is read-only: it needs no member (see test_fetch_needs_no_member).
MISSING_MEMBER = {
    "crm/addContactsFull": "Missing member ID",
    "crm/addNotestoContact": "Missing member ID",
    "crm/manageAttachments": "Missing member ID",
    "crm/addCommsHistory": "member_id is required",
}
UNKNOWN_MEMBER = {
    "crm/addContactsFull": "Member not found in this organization",
    "crm/fetchContact": "Member not found in this organization",
    # Notes have no membership check: the owner check answers.
    "crm/addNotestoContact": (
        "The API only supports notes being added by the member that owns the contact."
    ),
    "crm/manageAttachments": "Member not found in this organization",
    "crm/addCommsHistory": "Member not found in this organization",
}
NO_ACCESS = "API key does not have access to this organization"
ENDPOINTS = list(EXAMPLES)

Mutation = Callable[[dict[str, Any], EmulatorCredentials], None]


def _set(**fields: Any) -> Mutation:
    def mutate(body: dict[str, Any], creds: EmulatorCredentials) -> None:
        for key, value in fields.items():
            if value is ...:
                body.pop(key, None)
            elif callable(value):
                body[key] = value(creds)
            else:
                body[key] = value

    return mutate


# (case id, mutation, expected message: a str, or a per-endpoint dict)
CASES: list[tuple[str, Mutation, str | dict[str, str]]] = [
    ("api_key missing", _set(api_key=...), MISSING_API_KEY),
    ("api_key empty", _set(api_key=""), MISSING_API_KEY),
    ("api_key null", _set(api_key=None), MISSING_API_KEY),
    ("api_key unknown", _set(api_key="UYUJH-XXXXXXXXXXXX-XXXXXXXXXXXX-XXXXX"), INVALID_API_KEY),
    ("user inactive", _set(api_key=lambda c: c.inactive_api_key), "User is not active"),
    ("secret missing", _set(developer_secret=...), "Missing developer_secret"),
    ("secret empty", _set(developer_secret=""), "Missing developer_secret"),
    ("secret unknown", _set(developer_secret="zdk_nope"), "Invalid developer_secret"),
    (
        "secret revoked",
        _set(developer_secret=lambda c: c.revoked_developer_secret),
        "Invalid developer_secret",
    ),
    (
        "ip not whitelisted",
        _set(developer_secret=lambda c: c.restricted_developer_secret),
        "IP address not whitelisted",
    ),
    ("org missing", _set(org_id=...), MISSING_ORG),
    ("org empty", _set(org_id=""), MISSING_ORG),
    ("org without access", _set(org_id=lambda c: c.no_access_org_id), NO_ACCESS),
    ("org unknown", _set(org_id="00000000-0000-4000-8000-000000000000"), NO_ACCESS),
    ("member missing", _set(member_id=...), MISSING_MEMBER),
    ("member empty", _set(member_id=""), MISSING_MEMBER),
    ("member unknown", _set(member_id="00000000-0000-4000-8000-000000000001"), UNKNOWN_MEMBER),
    # Check order: the earlier check answers when several fail.
    (
        "api_key before secret",
        _set(api_key=..., developer_secret=..., org_id=...),
        MISSING_API_KEY,
    ),
    (
        "inactive before secret",
        _set(api_key=lambda c: c.inactive_api_key, developer_secret=...),
        "User is not active",
    ),
    (
        "secret before org",
        _set(developer_secret="zdk_nope", org_id=...),
        "Invalid developer_secret",
    ),
    (
        "whitelist before org",
        _set(developer_secret=lambda c: c.restricted_developer_secret, org_id=...),
        "IP address not whitelisted",
    ),
    ("org before member", _set(org_id=..., member_id=...), MISSING_ORG),
    (
        "org access before member",
        _set(org_id=lambda c: c.no_access_org_id, member_id=...),
        NO_ACCESS,
    ),
]


@pytest.mark.parametrize(("mutate", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
async def test_common_check_on_every_endpoint(
    api: RawApi,
    doc_contact: str,
    zyntro_emulator: Emulator,
    mutate: Mutation,
    expected: str | dict[str, str],
) -> None:
    for endpoint in ENDPOINTS:
        if isinstance(expected, dict) and endpoint not in expected:
            continue  # a check this endpoint does not make
        body = doc_body(EXAMPLES[endpoint], api.creds)
        mutate(body, api.creds)

        message = await api.error(endpoint, body)

        wanted = expected if isinstance(expected, str) else expected[endpoint]
        assert message == wanted, endpoint
    assert sum(zyntro_emulator.applied.values()) == 0


@pytest.mark.parametrize("member_id", [..., "", None])
async def test_fetch_needs_no_member(api: RawApi, doc_contact: str, member_id: Any) -> None:
    body = doc_body(EXAMPLES["crm/fetchContact"], api.creds)
    if member_id is ...:
        del body["member_id"]
    else:
        body["member_id"] = member_id

    data = await api.ok("crm/fetchContact", body)

    assert data["contact_id"] == doc_contact


async def test_fetch_with_a_stranger_member_is_refused(api: RawApi, doc_contact: str) -> None:
    body = doc_body(EXAMPLES["crm/fetchContact"], api.creds)
    body["member_id"] = api.creds.other_org_member_id

    assert await api.error("crm/fetchContact", body) == "Member not found in this organization"


async def test_member_of_other_org_is_not_found(api: RawApi, doc_contact: str) -> None:
    body = doc_body(CONTACTS_CURL, api.creds)
    body["member_id"] = api.creds.other_org_member_id

    assert await api.error("crm/addContactsFull", body) == "Member not found in this organization"


@pytest.mark.parametrize("brand_id", [..., "", None])
async def test_fetch_without_brand(api: RawApi, doc_contact: str, brand_id: Any) -> None:
    body = doc_body(OVERVIEW_FETCH_CONTACT, api.creds)
    if brand_id is ...:
        del body["brand_id"]
    else:
        body["brand_id"] = brand_id

    assert await api.error("crm/fetchContact", body) == "Missing brand ID"


async def test_fetch_with_brand_of_another_org(api: RawApi, doc_contact: str) -> None:
    body = doc_body(OVERVIEW_FETCH_CONTACT, api.creds)
    body["brand_id"] = api.creds.other_org_brand_id

    message = await api.error("crm/fetchContact", body)

    assert "brand_id" in message
    assert api.creds.other_org_brand_id in message


async def test_fetch_checks_brand_after_org_and_before_member(
    api: RawApi, doc_contact: str
) -> None:
    body = doc_body(OVERVIEW_FETCH_CONTACT, api.creds)
    del body["brand_id"], body["member_id"]
    assert await api.error("crm/fetchContact", body) == "Missing brand ID"
    del body["org_id"]
    assert await api.error("crm/fetchContact", body) == "Missing org ID"


async def test_fetch_accepts_numeric_brand_id(api: RawApi, doc_contact: str) -> None:
    body = doc_body(OVERVIEW_FETCH_CONTACT, api.creds)
    body["brand_id"] = 1

    data = await api.ok("crm/fetchContact", body)

    assert data["contact_id"] == doc_contact


async def test_whitelist_accepts_exact_address_and_cidr(
    api: RawApi, doc_contact: str, zyntro_emulator: Emulator
) -> None:
    body = doc_body(COMMS_CURL, api.creds)
    for index, whitelist in enumerate((["127.0.0.1"], ["10.0.0.0/8", "127.0.0.0/30"], None)):
        secret = f"zdk_whitelist_{index}"
        zyntro_emulator.add_developer_key(secret=secret, whitelist=whitelist)
        body["developer_secret"] = secret
        await api.ok("crm/addCommsHistory", body)


async def test_whitelist_rejects_other_addresses_and_empty_list(
    api: RawApi, doc_contact: str, zyntro_emulator: Emulator
) -> None:
    body = doc_body(COMMS_CURL, api.creds)
    for index, whitelist in enumerate((["127.0.0.2"], ["127.0.1.0/24", "::1"], [])):
        secret = f"zdk_whitelist_{index}"
        zyntro_emulator.add_developer_key(secret=secret, whitelist=whitelist)
        body["developer_secret"] = secret
        assert await api.error("crm/addCommsHistory", body) == "IP address not whitelisted"


async def test_whitelist_is_checked_against_the_peer_not_headers(
    api: RawApi, doc_contact: str
) -> None:
    body = doc_body(COMMS_CURL, api.creds)
    body["developer_secret"] = api.creds.restricted_developer_secret
    headers = {"X-Forwarded-For": "203.0.113.7", "X-Real-IP": "203.0.113.7"}
    async with (
        aiohttp.ClientSession(timeout=TIMEOUT) as session,
        session.post(api.url("crm/addCommsHistory"), json=body, headers=headers) as resp,
    ):
        payload = await resp.json()

    assert payload == {"status": "error", "data": ["IP address not whitelisted"]}


async def test_deactivating_a_user_at_runtime(
    api: RawApi, doc_contact: str, zyntro_emulator: Emulator
) -> None:
    body = doc_body(COMMS_CURL, api.creds)
    await api.ok("crm/addCommsHistory", body)
    zyntro_emulator.users[api.creds.api_key].active = False
    assert await api.error("crm/addCommsHistory", body) == "User is not active"
    zyntro_emulator.developer_keys[api.creds.developer_secret].revoked = True
    zyntro_emulator.users[api.creds.api_key].active = True
    assert await api.error("crm/addCommsHistory", body) == "Invalid developer_secret"
