"""The documented rules of each endpoint, applied to the emulator's store.

Each endpoint is one method of :class:`CrmRules` that either returns the documented
success ``data`` or raises :class:`~._messages.Rejected` with the documented message
(or, where the pages word nothing, the emulator's own from :mod:`._messages`). Checks
run in the order the API applies them: the credential and scope checks of
:mod:`._auth` first, then the endpoint's own.

Where the pages leave a rule to the server (phone format, finer e-mail rules, length
limits), the checks are lenient enough to accept common real-world data: phones with
extensions, vanity numbers, national prefixes; long names. They still refuse what is
clearly wrong: a "phone" without digits, an e-mail without exactly one ``@``.

Nothing here does I/O except writing attachment files, and the store only changes
after every check passed, so a rejected request never changes anything.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import zyntro_async.testing._messages as msg
from zyntro_async.testing._auth import authenticate, ident, require_member
from zyntro_async.testing._bodies import Base64Error, SpilledString, decode_base64_file
from zyntro_async.testing._messages import (
    ADD_COMMS,
    ADD_CONTACTS,
    ADD_NOTES,
    ENDPOINTS,
    FETCH_CONTACT,
    MANAGE_ATTACHMENTS,
    Rejected,
)
from zyntro_async.testing._state import (
    CONTACT_FIELDS,
    ENTITY_FIELDS,
    Org,
    StoredAttachment,
    StoredComms,
    StoredContact,
    StoredEntity,
    StoredNote,
)
from zyntro_async.testing._store import Store, phone_key

__all__ = ["ALLOWED_FILE_TYPES", "ENDPOINTS", "MAX_TEXT_LENGTH", "CrmRules", "valid_phone"]

ALLOWED_FILE_TYPES = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/svg+xml",
        "image/webp",
        "application/pdf",
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "text/plain",
        "text/csv",
        "audio/mpeg",
        "audio/wav",
        "audio/x-wav",
        "audio/wave",
        "video/mp4",
        "video/webm",
        "video/quicktime",
        "application/zip",
        "application/x-zip-compressed",
    }
)
"""MIME types accepted for file attachments (the documented allow-list), by media type:
parameters such as ``; charset=utf-8`` are ignored."""

MAX_TEXT_LENGTH = 1024
"""Longest text field accepted. The pages state no limit (only "exceeds max length" as a
possible validation error), so this only stops runaway values, e.g. a CSV whose broken
quote swallowed the rows after it; real names and titles of any usual length pass."""

MAX_COMMS_SOURCE = 55  # documented
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Digits, letters (vanity numbers, "ext."/"x" extensions) and the punctuation people
# write numbers with: "+1 (555) 010-0199 ext. 89", "+49 (0)30/1234567", "1-800-FLOWERS".
_PHONE_CHARS = re.compile(r"^[0-9A-Za-z +()\-./#*,;:]+$")
_PHONE_DIGITS = (3, 24)
_MODES = ("insert", "update", "upsert")
_LOOKUPS = ("email", "phone", "contact_id")
_ATTACHMENT_ACTIONS = ("insert", "update", "delete")
_COMMS_TYPES = ("email", "sms", "call", "message")
_COMMS_STATUSES = ("pending", "processed")


def valid_phone(phone: str) -> bool:
    """Whether the emulator accepts ``phone`` as a phone number.

    Lenient, as the docs leave the format to the server: the usual punctuation,
    extensions and vanity letters pass; a value must start with a digit (after ``+``
    or ``(``) and hold 3 to 24 digits, so words and letter soup do not.

    Args:
        phone: The ``primaryPhone`` value.

    Returns:
        ``True`` when accepted.
    """
    if not _PHONE_CHARS.match(phone):
        return False
    first = next((ch for ch in phone if ch.isalnum()), "")
    low, high = _PHONE_DIGITS
    return first.isdigit() and low <= len(phone_key(phone)) <= high


def _flag01(body: Mapping[str, Any], key: str, default: int | None) -> int | None:
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int) and value in (0, 1):
        return value
    if isinstance(value, str) and value in ("0", "1"):
        return int(value)
    raise Rejected(msg.NOT_0_OR_1.format(field=key))


def _valid_url(value: Any) -> bool:
    if not isinstance(value, str) or not value or len(value) > 2048:
        return False
    if any(ch.isspace() for ch in value):
        return False
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def _optional_text(body: Mapping[str, Any], key: str, *, limit: int | None = None) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise Rejected(msg.NOT_A_STRING.format(field=key))
    if limit is not None and len(value) > limit:
        raise Rejected(msg.TOO_LONG.format(field=key, limit=limit))
    return value


def media_type(file_type: str) -> str:
    """The media type of a MIME type, parameters dropped: ``"text/plain"``.

    Args:
        file_type: E.g. ``"Text/Plain; charset=utf-8"``.

    Returns:
        The lower-cased media type.
    """
    return file_type.split(";", 1)[0].strip().lower()


class CrmRules:
    """The CRM endpoints' rules over one :class:`~._store.Store`.

    Args:
        store: The account's state.
        blob_dir: Called to get the directory where attachment files are stored.
    """

    def __init__(self, store: Store, *, blob_dir: Callable[[], Path]) -> None:
        self.store = store
        self._blob_dir = blob_dir

    async def handle(
        self, endpoint: str, body: Mapping[str, Any], peer: str | None
    ) -> dict[str, Any]:
        """Apply one request.

        Args:
            endpoint: ``"crm/addContactsFull"`` style name (one of :data:`ENDPOINTS`).
            body: The decoded JSON body (``file_data`` may be a :class:`SpilledString`).
            peer: The peer address, for the IP whitelist.

        Returns:
            The success envelope's ``data``.

        Raises:
            Rejected: The API's answer is an error envelope.
        """
        org = authenticate(self.store, endpoint, body, peer)
        if endpoint == ADD_CONTACTS:
            return self._add_contacts_full(body, org)
        if endpoint == FETCH_CONTACT:
            return self._fetch_contact(body, org)
        if endpoint == ADD_NOTES:
            return self._add_note(body, org)
        if endpoint == MANAGE_ATTACHMENTS:
            return await self._manage_attachments(body, org)
        if endpoint == ADD_COMMS:
            return self._add_comms(body, org)
        raise AssertionError(f"no rules for {endpoint}")  # pragma: no cover

    # ------------------------------------------------------------ addContacts

    def _add_contacts_full(self, body: Mapping[str, Any], org: Org) -> dict[str, Any]:
        member_id = require_member(body, org, ADD_CONTACTS)
        contact = body.get("contact")
        if not isinstance(contact, dict):
            raise Rejected(msg.CONTACT_DATA_REQUIRED)
        mode = body.get("mode") or "upsert"
        if mode not in _MODES:
            raise Rejected(msg.INVALID_MODE)
        lookup_by = body.get("lookup_by") or "email"
        if lookup_by not in _LOOKUPS:
            raise Rejected(msg.INVALID_LOOKUP)
        skip_entity = body.get("skip_entity", False)
        if skip_entity is None:
            skip_entity = False
        if not isinstance(skip_entity, bool) and skip_entity not in (0, 1):
            raise Rejected(msg.SKIP_ENTITY_NOT_BOOLEAN)
        entity = body.get("entity")
        if entity is not None and not isinstance(entity, dict):
            raise Rejected(msg.ENTITY_NOT_OBJECT)

        errors = _contact_errors(contact) + _entity_errors(entity)
        if errors:
            raise Rejected(msg.VALIDATION_ERRORS + "; ".join(errors))
        custom_errors = _custom_field_errors(org, contact.get("customFields") or {})
        if custom_errors:
            raise Rejected(msg.CUSTOM_FIELD_ERRORS + "; ".join(custom_errors))

        existing = self._lookup(org, lookup_by, contact, body)
        if mode == "insert" and existing is not None:
            raise Rejected(msg.CONTACT_EXISTS)
        if mode == "update" and existing is None:
            raise Rejected(msg.NOT_FOUND_FOR_UPDATE)
        if existing is None:
            missing = [
                name
                for name in ("firstName", "primaryEmail")
                if not (isinstance(contact.get(name), str) and contact[name].strip())
            ]
            if missing:
                raise Rejected(msg.MISSING_REQUIRED_FIELDS.format(fields=", ".join(missing)))

        # Every check passed: from here on the request changes state.
        if existing is None:
            stored = self.store.store_contact(org_id=org.org_id, owner_id=member_id, fields=contact)
            action = "created"
        else:
            stored = existing
            self.store.merge_contact(stored, contact)
            action = "updated"
        entity_id, entity_action = self._link_entity(org, stored, entity, bool(skip_entity))
        self.store.count_applied(ADD_CONTACTS, action)

        data: dict[str, Any] = {
            "action": action,
            "message": f"Contact {action} successfully",
            "entity_id": entity_id,
            "contact_id": stored.contact_id,
            "entity_action": entity_action,
        }
        if body.get("debug") is True:
            data["debug"] = {
                "mode": mode,
                "lookup_by": lookup_by,
                "matched": existing is not None,
                "crm_mode": org.mode,
                "skip_entity": bool(skip_entity),
                "custom_fields": sorted(stored.custom_fields),
                "owner_id": stored.owner_id,
            }
        return data

    def _lookup(
        self, org: Org, lookup_by: str, contact: Mapping[str, Any], body: Mapping[str, Any]
    ) -> StoredContact | None:
        if lookup_by == "email":
            email = contact.get("primaryEmail")
            if not isinstance(email, str) or not email:
                return None
            return self.store.find_by_email(org.org_id, email)
        if lookup_by == "phone":
            phone = contact.get("primaryPhone")
            if not isinstance(phone, str) or not phone_key(phone):
                return None
            return self.store.find_by_phone(org.org_id, phone)
        contact_id = ident(body.get("contact_id")) or ident(contact.get("contactId"))
        return self.store.find_by_id(org.org_id, contact_id)

    def _link_entity(
        self,
        org: Org,
        contact: StoredContact,
        given: Mapping[str, Any] | None,
        skip_entity: bool,
    ) -> tuple[str | None, str | None]:
        """Link a B2B contact to its company.

        A company named explicitly (``entity.name``) is shared by every contact naming
        it. Without a name, a contact keeps the company it has, or gets one of its own
        named after it: two unrelated "Jane Smith"s never share a company.
        """
        if org.mode != "B2B" or skip_entity:
            return None, None
        given = given or {}
        extra = {k: v for k, v in given.items() if k != "name"}
        given_name = given.get("name")
        explicit = isinstance(given_name, str) and bool(given_name.strip())
        name = given_name if isinstance(given_name, str) and explicit else ""
        entities = self.store.entities
        if explicit:
            entity_id = self.store.entity_by_name.get((org.org_id, name.lower()))
            entity = entities.get(entity_id) if entity_id else None
        elif contact.entity_id in entities:
            entity = entities[contact.entity_id]
        else:
            entity = None
            name = _auto_entity_name(contact)
        if entity is None:
            entity = StoredEntity(entity_id=self.store.new_id(), org_id=org.org_id, name=name)
            entity.fields.update(extra)
            entities[entity.entity_id] = entity
            if explicit:
                self.store.entity_by_name[org.org_id, name.lower()] = entity.entity_id
            action = "created"
        else:
            changed = any(entity.fields.get(k) != v for k, v in extra.items())
            entity.fields.update(extra)
            action = "updated" if changed else "linked"
        contact.entity_id = entity.entity_id
        return entity.entity_id, action

    # ------------------------------------------------------------ fetchContact

    def _fetch_contact(self, body: Mapping[str, Any], org: Org) -> dict[str, Any]:
        brand_id = ident(body.get("brand_id"))
        if brand_id is None:
            raise Rejected(msg.MISSING_BRAND)
        if brand_id not in org.brands:
            raise Rejected(msg.BRAND_NOT_IN_ORG.format(brand_id=brand_id))
        # Read-only: the overview says such endpoints may not need a member, and the
        # SDK's contacts.fetch sends one only when configured. One given must be real.
        member_id = ident(body.get("member_id"))
        if member_id is not None and member_id not in org.members:
            raise Rejected(msg.MEMBER_NOT_FOUND)
        contact_id = ident(body.get("contact_id"))
        if contact_id is None:
            raise Rejected(msg.MISSING_CONTACT_ID)
        contact = self.store.find_by_id(org.org_id, contact_id)
        if contact is None:
            raise Rejected(msg.CONTACT_DOES_NOT_EXIST)
        return {
            "contact_id": contact.contact_id,
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "email": contact.primary_email,
            "contact_status": contact.status,
        }

    # ------------------------------------------------------------ notes

    def _add_note(self, body: Mapping[str, Any], org: Org) -> dict[str, Any]:
        member_id = ident(body.get("member_id"))
        if member_id is None:
            raise Rejected(msg.WORDING[ADD_NOTES].missing_member)
        contact_id = ident(body.get("contact_id"))
        if contact_id is None:
            raise Rejected(msg.MISSING_CONTACT_ID)
        note = body.get("note")
        if note is None or (isinstance(note, str) and not note.strip()):
            raise Rejected(msg.MISSING_NOTE)
        if not isinstance(note, str):
            raise Rejected(msg.NOT_A_STRING.format(field="note"))
        visibility = _flag01(body, "note_visibility", None)
        editable = _flag01(body, "note_editable", None)
        note_id_value = body.get("note_id")
        if note_id_value is not None and not isinstance(note_id_value, (str, int)):
            raise Rejected(msg.NOT_A_STRING.format(field="note_id"))
        note_id = ident(note_id_value)

        contact = self.store.contacts.get(contact_id)
        if contact is None:
            raise Rejected(msg.CONTACT_DOES_NOT_EXIST)
        if contact.org_id != org.org_id:
            raise Rejected(msg.NOTE_WRONG_ORG)
        if contact.owner_id != member_id:
            raise Rejected(msg.NOT_OWNER)
        stored: StoredNote
        if note_id is not None:
            found = self.store.notes.get(note_id)
            if found is None or found.contact_id != contact.contact_id:
                raise Rejected(msg.NOTE_NOT_FOUND)
            stored = found
            stored.note_content = note
            if visibility is not None:
                stored.note_visibility = visibility
            if editable is not None:
                stored.note_editable = editable
            self.store.count_applied(ADD_NOTES, "updated")
        else:
            stored = self.store.store_note(
                contact_id=contact.contact_id,
                content=note,
                visibility=visibility or 0,
                editable=editable or 0,
            )
            self.store.count_applied(ADD_NOTES, "created")
        return {
            "note_id": stored.note_id,
            "contact_id": stored.contact_id,
            "note_content": stored.note_content,
            "note_editable": stored.note_editable,
            "note_visibility": stored.note_visibility,
        }

    # ------------------------------------------------------------ attachments

    async def _manage_attachments(self, body: Mapping[str, Any], org: Org) -> dict[str, Any]:
        member_id = require_member(body, org, MANAGE_ATTACHMENTS)
        action = body.get("action")
        if action not in _ATTACHMENT_ACTIONS:
            raise Rejected(msg.INVALID_ACTION)
        if action == "insert":
            return await self._insert_attachment(body, org, member_id)
        att_id = ident(body.get("att_id"))
        if att_id is None:
            raise Rejected(msg.MISSING_ATT_ID)
        attachment = self.store.attachments.get(att_id)
        if attachment is None or attachment.org_id != org.org_id:
            raise Rejected(msg.ATTACHMENT_NOT_FOUND)
        if action == "delete":
            del self.store.attachments[att_id]
            if attachment.path is not None:
                attachment.path.unlink(missing_ok=True)
            self.store.count_applied(MANAGE_ATTACHMENTS, "deleted")
            return {
                "action": "deleted",
                "att_id": att_id,
                "message": "Attachment deleted successfully",
            }
        name = _optional_text(body, "att_name", limit=MAX_TEXT_LENGTH)
        context = _optional_text(body, "att_context")
        link_url = _link_url(body, required=False)
        if link_url is not None and attachment.att_type != "link":
            raise Rejected(msg.LINK_URL_ON_FILE)
        if name is not None:
            attachment.name = name
        if context is not None:
            attachment.context = context
        if link_url is not None:
            attachment.link_url = link_url
        self.store.count_applied(MANAGE_ATTACHMENTS, "updated")
        return {"action": "updated", "att_id": att_id, "message": "Attachment updated successfully"}

    async def _insert_attachment(
        self, body: Mapping[str, Any], org: Org, member_id: str
    ) -> dict[str, Any]:
        contact_id = ident(body.get("contact_id"))
        if contact_id is None:
            raise Rejected(msg.MISSING_CONTACT_ID)
        if self.store.find_by_id(org.org_id, contact_id) is None:
            raise Rejected(msg.CONTACT_NOT_IN_ORG)
        att_type = body.get("att_type")
        if att_type not in ("link", "file"):
            raise Rejected(msg.INVALID_ATT_TYPE)
        name = _optional_text(body, "att_name", limit=MAX_TEXT_LENGTH)
        context = _optional_text(body, "att_context")
        att_id = self.store.new_id()
        if att_type == "link":
            if name is None or not name.strip():
                raise Rejected(msg.MISSING_ATT_NAME)
            link_url = _link_url(body, required=True)
            attachment = StoredAttachment(
                att_id=att_id,
                org_id=org.org_id,
                contact_id=contact_id,
                member_id=member_id,
                att_type="link",
                name=name,
                link_url=link_url,
                context=context,
            )
        else:
            attachment = await self._decode_file(
                body, org, att_id=att_id, contact_id=contact_id, member_id=member_id
            )
            attachment.name = name
            attachment.context = context
        self.store.store_attachment(attachment)
        self.store.count_applied(MANAGE_ATTACHMENTS, "inserted")
        return {
            "action": "inserted",
            "att_id": att_id,
            "message": "Attachment created successfully",
        }

    async def _decode_file(
        self, body: Mapping[str, Any], org: Org, *, att_id: str, contact_id: str, member_id: str
    ) -> StoredAttachment:
        file_data = body.get("file_data")
        if file_data is None or file_data == "":
            raise Rejected(msg.MISSING_FILE_DATA)
        if not isinstance(file_data, (str, SpilledString)):
            raise Rejected(msg.INVALID_BASE64)
        path = self.store.blob_path(self._blob_dir(), att_id)
        try:
            # A thread: decoding hundreds of megabytes must not stall the event loop.
            size = await asyncio.to_thread(decode_base64_file, file_data, path)
        except Base64Error:
            raise Rejected(msg.INVALID_BASE64) from None
        try:
            file_type = body.get("file_type")
            if not isinstance(file_type, str) or not file_type.strip():
                raise Rejected(msg.MISSING_FILE_TYPE)
            if media_type(file_type) not in ALLOWED_FILE_TYPES:
                raise Rejected(msg.UNSUPPORTED_FILE.format(file_type=file_type))
            if not org.storage:
                raise Rejected(msg.STORAGE_NOT_CONFIGURED)
        except Rejected:
            path.unlink(missing_ok=True)
            raise
        return StoredAttachment(
            att_id=att_id,
            org_id=org.org_id,
            contact_id=contact_id,
            member_id=member_id,
            att_type="file",
            file_type=file_type,
            path=path,
            size=size,
        )

    # ------------------------------------------------------------ comms

    def _add_comms(self, body: Mapping[str, Any], org: Org) -> dict[str, Any]:
        member_id = ident(body.get("member_id"))
        if member_id is None:
            raise Rejected(msg.WORDING[ADD_COMMS].missing_member)
        contact_id = ident(body.get("contact_id"))
        if contact_id is None:
            raise Rejected(msg.COMMS_REQUIRED.format(field="contact_id"))
        comms_type = body.get("comms_type")
        if comms_type is None or comms_type == "":
            raise Rejected(msg.COMMS_REQUIRED.format(field="comms_type"))
        comms_data = body.get("comms_data")
        if (
            comms_data is None
            or comms_data == {}
            or (isinstance(comms_data, str) and not comms_data.strip())
        ):
            raise Rejected(msg.COMMS_REQUIRED.format(field="comms_data"))
        if not isinstance(comms_data, (str, dict)):
            raise Rejected(msg.INVALID_COMMS_DATA)
        if comms_type not in _COMMS_TYPES:
            raise Rejected(msg.INVALID_COMMS_TYPE)
        source = _optional_text(body, "comms_source", limit=MAX_COMMS_SOURCE)
        sentiment = _optional_text(body, "comms_sentiment")
        next_step = _optional_text(body, "comms_next")
        status = body.get("comms_status")
        if status is None or status == "":
            status = "processed"
        if status not in _COMMS_STATUSES:
            raise Rejected(msg.INVALID_COMMS_STATUS)
        if self.store.find_by_id(org.org_id, contact_id) is None:
            raise Rejected(msg.CONTACT_NOT_IN_ORG)
        if member_id not in org.members:
            raise Rejected(msg.MEMBER_NOT_FOUND)
        entry = StoredComms(
            ch_id=self.store.next_ch_id,
            org_id=org.org_id,
            contact_id=contact_id,
            member_id=member_id,
            comms_type=comms_type,
            comms_data=comms_data,
            source=source,
            sentiment=sentiment,
            next_step=next_step,
            status=status,
        )
        self.store.next_ch_id += 1
        self.store.comms[entry.ch_id] = entry
        self.store.count_applied(ADD_COMMS, "logged")
        return {"ch_id": entry.ch_id, "message": "Communication history logged successfully"}


# ---------------------------------------------------------------- validation


def _link_url(body: Mapping[str, Any], *, required: bool) -> str | None:
    content = body.get("att_content")
    if content is None and not required:
        return None
    if not isinstance(content, dict) or content.get("link_url") in (None, ""):
        if not required and isinstance(content, dict):
            return None
        raise Rejected(msg.MISSING_LINK_URL)
    link_url = content["link_url"]
    if not _valid_url(link_url):
        raise Rejected(msg.INVALID_URL)
    assert isinstance(link_url, str)
    return link_url


def _contact_errors(contact: Mapping[str, Any]) -> list[str]:
    errors: list[str] = []
    for key, value in contact.items():
        if key in ("tags", "customFields", "contactId") or value is None:
            continue
        if key in CONTACT_FIELDS and not isinstance(value, str):
            errors.append(msg.FIELD_NOT_A_STRING.format(field=key))
        elif isinstance(value, str) and len(value) > MAX_TEXT_LENGTH:
            errors.append(msg.FIELD_TOO_LONG.format(field=key, limit=MAX_TEXT_LENGTH))
    email = contact.get("primaryEmail")
    if isinstance(email, str) and email and not _EMAIL.match(email):
        errors.append(msg.INVALID_EMAIL.format(value=email))
    phone = contact.get("primaryPhone")
    if isinstance(phone, str) and phone and not valid_phone(phone):
        errors.append(msg.INVALID_PHONE.format(value=phone))
    tags = contact.get("tags")
    if tags is not None:
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            errors.append(msg.TAGS_NOT_STRINGS)
        elif any(len(t) > MAX_TEXT_LENGTH for t in tags):
            errors.append(msg.TAGS_TOO_LONG.format(limit=MAX_TEXT_LENGTH))
    custom = contact.get("customFields")
    if custom is not None and not isinstance(custom, dict):
        errors.append(msg.CUSTOM_FIELDS_NOT_OBJECT)
    return errors


def _entity_errors(entity: Mapping[str, Any] | None) -> list[str]:
    errors: list[str] = []
    for key, value in (entity or {}).items():
        if value is None:
            continue
        if key in ENTITY_FIELDS and not isinstance(value, str):
            errors.append(msg.FIELD_NOT_A_STRING.format(field=f"entity.{key}"))
        elif isinstance(value, str) and len(value) > MAX_TEXT_LENGTH:
            errors.append(msg.FIELD_TOO_LONG.format(field=f"entity.{key}", limit=MAX_TEXT_LENGTH))
    return errors


def _custom_field_errors(org: Org, custom: Any) -> list[str]:
    if not isinstance(custom, dict):
        return []  # already a validation error
    errors: list[str] = []
    for key, value in custom.items():
        if key not in org.custom_fields:
            defined = ", ".join(sorted(org.custom_fields)) or "none"
            errors.append(msg.UNKNOWN_CUSTOM_FIELD.format(field=key, defined=defined))
            continue
        options = org.custom_fields[key]
        if value is None:
            continue  # clears the field
        if options is not None:
            if value not in options:
                errors.append(
                    msg.NOT_AN_OPTION.format(
                        field=key, options=", ".join(options), value=json.dumps(value)
                    )
                )
        elif not isinstance(value, (str, int, float, bool)):
            errors.append(msg.CUSTOM_VALUE_TYPE.format(field=key))
    return errors


def _auto_entity_name(contact: StoredContact) -> str:
    name = " ".join(part for part in (contact.first_name, contact.last_name) if part).strip()
    return name or contact.primary_email or contact.contact_id
