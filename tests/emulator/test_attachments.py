"""manageAttachments: actions, link and file rules, MIME allow-list, storage."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from zyntro_async.testing import ALLOWED_FILE_TYPES, Emulator

from ._docs import (
    ATTACHMENT_DELETE_CURL,
    ATTACHMENT_FILE_CURL,
    ATTACHMENT_LINK_CURL,
    DOC_ATT_ID,
    doc_body,
)
from ._raw import RawApi

ENDPOINT = "crm/manageAttachments"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))


def link_body(api: RawApi, **fields: Any) -> dict[str, Any]:
    body = doc_body(ATTACHMENT_LINK_CURL, api.creds)
    body.update(fields)
    return {k: v for k, v in body.items() if v is not ...}


def file_body(api: RawApi, data: bytes = PNG, **fields: Any) -> dict[str, Any]:
    body = doc_body(ATTACHMENT_FILE_CURL, api.creds)
    body.update(file_data=base64.b64encode(data).decode(), file_type="image/png")
    body.update(fields)
    return {k: v for k, v in body.items() if v is not ...}


@pytest.mark.parametrize("action", [..., "", "upsert", "INSERT", 1])
async def test_action_must_be_known(api: RawApi, doc_contact: str, action: Any) -> None:
    message = await api.error(ENDPOINT, link_body(api, action=action))
    assert message == "action must be one of: insert, update, delete"


async def test_insert_requires_contact(api: RawApi) -> None:
    assert await api.error(ENDPOINT, link_body(api, contact_id=...)) == "Missing contact ID"
    message = await api.error(ENDPOINT, link_body(api))
    assert message == "Contact not found in this organization"


async def test_insert_rejects_contact_of_another_org(
    api: RawApi, zyntro_emulator: Emulator
) -> None:
    other = zyntro_emulator.add_contact(
        org_id=api.creds.other_org_id,
        owner_id=api.creds.other_org_member_id,
        fields={"firstName": "Olga", "primaryEmail": "olga@b2c.example"},
    )
    message = await api.error(ENDPOINT, link_body(api, contact_id=other.contact_id))
    assert message == "Contact not found in this organization"


@pytest.mark.parametrize("att_type", [..., "url", "File", None])
async def test_att_type_must_be_link_or_file(api: RawApi, doc_contact: str, att_type: Any) -> None:
    message = await api.error(ENDPOINT, link_body(api, att_type=att_type))
    assert message == "att_type must be 'link' or 'file'"


@pytest.mark.parametrize(
    "url",
    [
        "docs.google.com/d/abc",
        "ftp://example.com/file",
        "https://",
        "http:///path",
        "https://exa mple.com",
        "javascript:alert(1)",
        "https://example.com:99999/",
        "",
        42,
    ],
)
async def test_link_url_must_be_http_url_with_host(api: RawApi, doc_contact: str, url: Any) -> None:
    message = await api.error(ENDPOINT, link_body(api, att_content={"link_url": url}))
    assert message in ("Invalid URL format in link_url", "Missing att_content.link_url")
    if url:
        assert message == "Invalid URL format in link_url"


async def test_link_needs_a_name(api: RawApi, doc_contact: str) -> None:
    assert await api.error(ENDPOINT, link_body(api, att_name=...)) == "Missing att_name"


async def test_documented_elided_file_data_is_invalid_base64(api: RawApi, doc_contact: str) -> None:
    body = doc_body(ATTACHMENT_FILE_CURL, api.creds)  # "JVBERi0xLjQKMSAwIG9iago8PC..."
    assert await api.error(ENDPOINT, body) == "Invalid base64 file data"


@pytest.mark.parametrize(
    "file_data",
    [
        "aGVsbG8",  # missing padding
        "aGVs bG8=",  # whitespace
        "aGVs\nbG8=",
        "aGVsbG8-",  # URL-safe alphabet
        "aG=sbG8=",  # padding in the middle
        "a===",
        "éééé",
        123,
    ],
)
async def test_file_data_is_decoded_strictly(
    api: RawApi, doc_contact: str, zyntro_emulator: Emulator, file_data: Any
) -> None:
    message = await api.error(ENDPOINT, file_body(api, file_data=file_data))
    assert message == "Invalid base64 file data"
    assert zyntro_emulator.attachments == []


@pytest.mark.parametrize("file_type", ["application/x-msdownload", "image/bmp", "text/html"])
async def test_unsupported_file_type_is_named(
    api: RawApi, doc_contact: str, file_type: str
) -> None:
    message = await api.error(ENDPOINT, file_body(api, file_type=file_type))
    assert message == f"Unsupported file type: {file_type}"


async def test_base64_is_checked_before_file_type(api: RawApi, doc_contact: str) -> None:
    body = file_body(api, file_data="!!!!", file_type="image/bmp")
    assert await api.error(ENDPOINT, body) == "Invalid base64 file data"


async def test_every_allowed_file_type(
    api: RawApi, doc_contact: str, zyntro_emulator: Emulator
) -> None:
    for file_type in sorted(ALLOWED_FILE_TYPES):
        data = await api.ok(ENDPOINT, file_body(api, file_type=file_type))
        assert zyntro_emulator.attachment(data["att_id"]).file_type == file_type
    assert len(ALLOWED_FILE_TYPES) == 23
    assert zyntro_emulator.applied[ENDPOINT] == 23


async def test_file_needs_storage(api: RawApi, zyntro_emulator: Emulator) -> None:
    other = zyntro_emulator.add_contact(
        org_id=api.creds.other_org_id,
        owner_id=api.creds.other_org_member_id,
        fields={"firstName": "Olga", "primaryEmail": "olga@b2c.example"},
    )
    body = file_body(
        api,
        org_id=api.creds.other_org_id,
        member_id=api.creds.other_org_member_id,
        contact_id=other.contact_id,
    )
    assert await api.error(ENDPOINT, body) == "Storage not configured for this account"
    # Links need no storage.
    link = link_body(
        api,
        org_id=api.creds.other_org_id,
        member_id=api.creds.other_org_member_id,
        contact_id=other.contact_id,
    )
    await api.ok(ENDPOINT, link)


async def test_context_is_optional(
    api: RawApi, doc_contact: str, zyntro_emulator: Emulator
) -> None:
    data = await api.ok(ENDPOINT, link_body(api, att_context=...))
    assert zyntro_emulator.attachment(data["att_id"]).context is None


async def test_update_and_delete_need_att_id(api: RawApi) -> None:
    for action in ("update", "delete"):
        body = doc_body(ATTACHMENT_DELETE_CURL, api.creds)
        body.update(action=action)
        del body["att_id"]
        assert await api.error(ENDPOINT, body) == "Missing att_id"


async def test_unknown_att_id(api: RawApi) -> None:
    # The documented att_id is not even hex: ids are opaque, it is simply unknown here.
    delete = doc_body(ATTACHMENT_DELETE_CURL, api.creds)
    assert delete["att_id"] == DOC_ATT_ID
    assert await api.error(ENDPOINT, delete) == "Attachment not found"
    delete["action"] = "update"
    assert await api.error(ENDPOINT, delete) == "Attachment not found"


async def test_delete_twice(api: RawApi, doc_contact: str, zyntro_emulator: Emulator) -> None:
    inserted = await api.ok(ENDPOINT, file_body(api))
    path = zyntro_emulator.attachment(inserted["att_id"]).path
    assert path is not None
    assert path.exists()
    delete = doc_body(ATTACHMENT_DELETE_CURL, api.creds)
    delete["att_id"] = inserted["att_id"]

    await api.ok(ENDPOINT, delete)
    assert await api.error(ENDPOINT, delete) == "Attachment not found"
    assert not path.exists()
    assert zyntro_emulator.applied_detail[ENDPOINT, "deleted"] == 1


async def test_update_validates_link_url(api: RawApi, doc_contact: str) -> None:
    inserted = await api.ok(ENDPOINT, link_body(api))
    body = link_body(
        api, action="update", att_id=inserted["att_id"], att_content={"link_url": "nope"}
    )
    assert await api.error(ENDPOINT, body) == "Invalid URL format in link_url"


async def test_update_context_only(
    api: RawApi, doc_contact: str, zyntro_emulator: Emulator
) -> None:
    inserted = await api.ok(ENDPOINT, link_body(api))
    body = api.body(action="update", att_id=inserted["att_id"], att_context="signed")
    await api.ok(ENDPOINT, body)
    stored = zyntro_emulator.attachment(inserted["att_id"])
    assert (stored.context, stored.name) == ("signed", "Proposal Document")


async def test_attachments_of_another_org_are_not_found(api: RawApi, doc_contact: str) -> None:
    inserted = await api.ok(ENDPOINT, link_body(api))
    body = api.body(
        action="delete",
        att_id=inserted["att_id"],
        org_id=api.creds.other_org_id,
        member_id=api.creds.other_org_member_id,
    )
    assert await api.error(ENDPOINT, body) == "Attachment not found"
