"""The documented rules of each endpoint, applied to the emulator's state.

Each endpoint is one method of :class:`CrmRules` that either returns the documented
success ``data`` or raises :class:`Rejected` with the documented message. Checks run in
the order the API applies them (see the module-level ``WORDING`` for the messages that
differ from page to page):

1. ``api_key``: missing, unknown, user inactive.
2. ``developer_secret``: missing, unknown or revoked.
3. The developer key's IP whitelist against the peer address.
4. ``org_id``: missing, then access of the key's user to the org (and ``brand_id`` for
   fetchContact).
5. ``member_id``: missing, then membership (per endpoint: notes rely on the owner check,
   comms checks it after the contact).
6. The endpoint's own rules.

Nothing here does I/O except writing attachment files, and the state only changes
after every check passed, so a rejected request never changes anything.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs

from zyntro_async.testing._bodies import Base64Error, SpilledString, decode_base64_file
from zyntro_async.testing._state import (
    CONTACT_FIELDS,
    ENTITY_FIELDS,
    DeveloperKey,
    Org,
    StoredAttachment,
    StoredComms,
    StoredContact,
    StoredEntity,
    StoredNote,
    User,
)

__all__ = ["ALLOWED_FILE_TYPES", "ENDPOINTS", "CrmRules", "Rejected"]

ADD_CONTACTS = "crm/addContactsFull"
FETCH_CONTACT = "crm/fetchContact"
ADD_NOTES = "crm/addNotestoContact"
MANAGE_ATTACHMENTS = "crm/manageAttachments"
ADD_COMMS = "crm/addCommsHistory"
ENDPOINTS = (ADD_CONTACTS, FETCH_CONTACT, ADD_NOTES, MANAGE_ATTACHMENTS, ADD_COMMS)

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
"""MIME types accepted for file attachments (the documented allow-list)."""

MAX_FIELD_LENGTH = 255
MAX_COMMS_SOURCE = 55
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9 ()\-.]{5,32}$")
_MODES = ("insert", "update", "upsert")
_LOOKUPS = ("email", "phone", "contact_id")
_ATTACHMENT_ACTIONS = ("insert", "update", "delete")
_COMMS_TYPES = ("email", "sms", "call", "message")
_COMMS_STATUSES = ("pending", "processed")

NO_ORG_ACCESS = "API key does not have access to this organization"
MEMBER_NOT_FOUND = "Member not found in this organization"


class Rejected(Exception):
    """A request the API answers with an error envelope.

    Args:
        messages: The messages of the envelope's ``data`` list.
    """

    def __init__(self, *messages: str) -> None:
        super().__init__(*messages)
        self.messages = messages


@attrs.frozen
class _Wording:
    missing_api_key: str
    invalid_api_key: str
    missing_org: str
    missing_member: str


# The pages word the same rule differently; each endpoint answers with its own page's text.
WORDING: Mapping[str, _Wording] = {
    ADD_CONTACTS: _Wording(
        "API key is required", "Invalid API key", "Missing org ID", "Missing member ID"
    ),
    FETCH_CONTACT: _Wording(
        "Missing service instance", "Invalid API Key", "Missing org ID", "Missing member ID"
    ),
    ADD_NOTES: _Wording(
        "Missing service instance", "Invalid API Key", "Missing org ID", "Missing member ID"
    ),
    MANAGE_ATTACHMENTS: _Wording(
        "API key is required", "Invalid API key", "Missing org ID", "Missing member ID"
    ),
    ADD_COMMS: _Wording(
        "API key is required", "Invalid API key", "org_id is required", "member_id is required"
    ),
}


def _ident(value: Any) -> str | None:
    """An identifier from the body, or ``None`` when missing or empty.

    Numbers are accepted as their decimal text (``brand_id`` is "numeric"); any other
    type becomes text that matches nothing, so it is reported as unknown, not missing.
    """
    if value is None or value is False:
        return None
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return json.dumps(value)


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
    raise Rejected(f"{key} must be 0 or 1")


def _phone_key(phone: str) -> str:
    return re.sub(r"\D", "", phone)


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
        raise Rejected(f"{key} must be a string")
    if limit is not None and len(value) > limit:
        raise Rejected(f"{key} must be at most {limit} characters")
    return value


class CrmRules:
    """The state of one emulated Zyntro account and the rules that change it.

    Args:
        blob_dir: Called to get the directory where attachment files are stored.
        id_seed: Seed of the generator of ids (so runs are reproducible).
    """

    def __init__(self, *, blob_dir: Callable[[], Path], id_seed: int | str = 0) -> None:
        self._blob_dir = blob_dir
        self._id_seed = id_seed
        # seed
        self.users: dict[str, User] = {}
        self.developer_keys: dict[str, DeveloperKey] = {}
        self.orgs: dict[str, Org] = {}
        # data
        self.contacts: dict[str, StoredContact] = {}
        self.entities: dict[str, StoredEntity] = {}
        self.notes: dict[str, StoredNote] = {}
        self.attachments: dict[str, StoredAttachment] = {}
        self.comms: dict[int, StoredComms] = {}
        self.applied: Counter[str] = Counter()
        self.applied_detail: Counter[tuple[str, str]] = Counter()
        self._by_email: dict[tuple[str, str], str] = {}
        self._by_phone: dict[tuple[str, str], str] = {}
        self._entity_by_name: dict[tuple[str, str], str] = {}
        self._ids = random.Random(id_seed)
        self._next_ch_id = 1

    # ------------------------------------------------------------------ state

    def reset_data(self) -> None:
        """Forget every contact, entity, note, attachment and comms entry."""
        for attachment in self.attachments.values():
            if attachment.path is not None:
                attachment.path.unlink(missing_ok=True)
        self.contacts.clear()
        self.entities.clear()
        self.notes.clear()
        self.attachments.clear()
        self.comms.clear()
        self.applied.clear()
        self.applied_detail.clear()
        self._by_email.clear()
        self._by_phone.clear()
        self._entity_by_name.clear()
        self._ids = random.Random(self._id_seed)
        self._next_ch_id = 1

    def new_id(self) -> str:
        """Return a fresh opaque id (a uuid4 string, reproducible under the seed)."""
        return str(uuid.UUID(int=self._ids.getrandbits(128), version=4))

    def _applied(self, endpoint: str, action: str) -> None:
        self.applied[endpoint] += 1
        self.applied_detail[endpoint, action] += 1

    def store_contact(
        self,
        *,
        org_id: str,
        owner_id: str,
        fields: Mapping[str, Any],
        entity_id: str | None = None,
        contact_id: str | None = None,
    ) -> StoredContact:
        """Create a contact directly (seeding for tests), bypassing the API rules.

        Args:
            org_id: Organization.
            owner_id: Owning member.
            fields: Wire (camelCase) contact fields; ``tags`` and ``customFields`` too.
            entity_id: Entity to link.
            contact_id: The id to give it; a generated one when ``None``.

        Returns:
            The stored contact.
        """
        if contact_id is not None and contact_id in self.contacts:
            raise ValueError(f"contact {contact_id!r} already exists")
        contact = StoredContact(
            contact_id=contact_id or self.new_id(), org_id=org_id, owner_id=owner_id
        )
        contact.entity_id = entity_id
        self._merge_contact(contact, fields)
        self.contacts[contact.contact_id] = contact
        return contact

    def _merge_contact(self, contact: StoredContact, given: Mapping[str, Any]) -> None:
        self._unindex(contact)
        for key, value in given.items():
            if key == "customFields":
                contact.custom_fields.update(value or {})
            elif key == "tags":
                contact.tags = list(value or [])
            elif key != "contactId":
                contact.fields[key] = value
        self._index(contact)

    def _index(self, contact: StoredContact) -> None:
        if contact.primary_email:
            self._by_email[contact.org_id, contact.primary_email.lower()] = contact.contact_id
        if contact.primary_phone:
            self._by_phone[contact.org_id, _phone_key(contact.primary_phone)] = contact.contact_id

    def _unindex(self, contact: StoredContact) -> None:
        for index, key in (
            (self._by_email, (contact.primary_email or "").lower()),
            (self._by_phone, _phone_key(contact.primary_phone or "")),
        ):
            if key and index.get((contact.org_id, key)) == contact.contact_id:
                del index[contact.org_id, key]

    # ---------------------------------------------------------------- dispatch

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
        org = self._authenticate(endpoint, body, peer)
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

    def _authenticate(self, endpoint: str, body: Mapping[str, Any], peer: str | None) -> Org:
        wording = WORDING[endpoint]
        api_key = _ident(body.get("api_key"))
        if api_key is None:
            raise Rejected(wording.missing_api_key)
        user = self.users.get(api_key)
        if user is None:
            raise Rejected(wording.invalid_api_key)
        if not user.active:
            raise Rejected("User is not active")
        secret = _ident(body.get("developer_secret"))
        if secret is None:
            raise Rejected("Missing developer_secret")
        key = self.developer_keys.get(secret)
        if key is None or key.revoked:
            raise Rejected("Invalid developer_secret")
        if not key.allows(peer):
            raise Rejected("IP address not whitelisted")
        org_id = _ident(body.get("org_id"))
        if org_id is None:
            raise Rejected(wording.missing_org)
        org = self.orgs.get(org_id)
        if org is None or org_id not in user.org_ids:
            raise Rejected(NO_ORG_ACCESS)
        return org

    def _member(self, body: Mapping[str, Any], org: Org, endpoint: str) -> str:
        member_id = _ident(body.get("member_id"))
        if member_id is None:
            raise Rejected(WORDING[endpoint].missing_member)
        if member_id not in org.members:
            raise Rejected(MEMBER_NOT_FOUND)
        return member_id

    # ------------------------------------------------------------ addContacts

    def _add_contacts_full(self, body: Mapping[str, Any], org: Org) -> dict[str, Any]:
        member_id = self._member(body, org, ADD_CONTACTS)
        contact = body.get("contact")
        if not isinstance(contact, dict):
            raise Rejected("contact data is required")
        mode = body.get("mode") or "upsert"
        if mode not in _MODES:
            raise Rejected(f"mode must be one of: {', '.join(_MODES)}")
        lookup_by = body.get("lookup_by") or "email"
        if lookup_by not in _LOOKUPS:
            raise Rejected(f"lookup_by must be one of: {', '.join(_LOOKUPS)}")
        skip_entity = body.get("skip_entity", False)
        if skip_entity is None:
            skip_entity = False
        if not isinstance(skip_entity, bool) and skip_entity not in (0, 1):
            raise Rejected("skip_entity must be a boolean")
        entity = body.get("entity")
        if entity is not None and not isinstance(entity, dict):
            raise Rejected("entity must be an object")

        errors = _contact_errors(contact) + _entity_errors(entity)
        if errors:
            raise Rejected("Contact validation errors: " + "; ".join(errors))
        custom_errors = _custom_field_errors(org, contact.get("customFields") or {})
        if custom_errors:
            raise Rejected("Contact custom field errors: " + "; ".join(custom_errors))

        existing = self._lookup(org, lookup_by, contact, body)
        if mode == "insert" and existing is not None:
            raise Rejected("Contact already exists")
        if mode == "update" and existing is None:
            raise Rejected("Contact not found for update")
        if existing is None:
            missing = [
                name
                for name in ("firstName", "primaryEmail")
                if not (isinstance(contact.get(name), str) and contact[name].strip())
            ]
            if missing:
                raise Rejected("Missing required contact fields: " + ", ".join(missing))

        # Every check passed: from here on the request changes state.
        if existing is None:
            stored = StoredContact(contact_id=self.new_id(), org_id=org.org_id, owner_id=member_id)
            self._merge_contact(stored, contact)
            self.contacts[stored.contact_id] = stored
            action = "created"
        else:
            stored = existing
            self._merge_contact(stored, contact)
            action = "updated"
        entity_id, entity_action = self._link_entity(org, stored, entity, bool(skip_entity))
        self._applied(ADD_CONTACTS, action)

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
        contact_id: str | None
        if lookup_by == "email":
            email = contact.get("primaryEmail")
            if not isinstance(email, str) or not email:
                return None
            contact_id = self._by_email.get((org.org_id, email.lower()))
        elif lookup_by == "phone":
            phone = contact.get("primaryPhone")
            if not isinstance(phone, str) or not _phone_key(phone):
                return None
            contact_id = self._by_phone.get((org.org_id, _phone_key(phone)))
        else:
            contact_id = _ident(body.get("contact_id")) or _ident(contact.get("contactId"))
        found = self.contacts.get(contact_id) if contact_id else None
        return found if found is not None and found.org_id == org.org_id else None

    def _link_entity(
        self,
        org: Org,
        contact: StoredContact,
        given: Mapping[str, Any] | None,
        skip_entity: bool,
    ) -> tuple[str | None, str | None]:
        if org.mode != "B2B" or skip_entity:
            return None, None
        if not given and contact.entity_id in self.entities:
            return contact.entity_id, "linked"
        given = given or {}
        name = given.get("name")
        if not isinstance(name, str) or not name.strip():
            name = _auto_entity_name(contact)
        extra = {k: v for k, v in given.items() if k != "name"}
        entity_id = self._entity_by_name.get((org.org_id, name.lower()))
        if entity_id is None:
            entity = StoredEntity(entity_id=self.new_id(), org_id=org.org_id, name=name)
            entity.fields.update(extra)
            self.entities[entity.entity_id] = entity
            self._entity_by_name[org.org_id, name.lower()] = entity.entity_id
            action = "created"
        else:
            entity = self.entities[entity_id]
            changed = any(entity.fields.get(k) != v for k, v in extra.items())
            entity.fields.update(extra)
            action = "updated" if changed else "linked"
        contact.entity_id = entity.entity_id
        return entity.entity_id, action

    # ------------------------------------------------------------ fetchContact

    def _fetch_contact(self, body: Mapping[str, Any], org: Org) -> dict[str, Any]:
        brand_id = _ident(body.get("brand_id"))
        if brand_id is None:
            raise Rejected("Missing brand ID")
        if brand_id not in org.brands:
            raise Rejected(f"brand_id {brand_id} does not belong to this organization")
        self._member(body, org, FETCH_CONTACT)
        contact_id = _ident(body.get("contact_id"))
        if contact_id is None:
            raise Rejected("Missing contact ID")
        contact = self.contacts.get(contact_id)
        if contact is None or contact.org_id != org.org_id:
            raise Rejected("Contact does not exist")
        return {
            "contact_id": contact.contact_id,
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "email": contact.primary_email,
            "contact_status": contact.status,
        }

    # ------------------------------------------------------------ notes

    def _add_note(self, body: Mapping[str, Any], org: Org) -> dict[str, Any]:
        member_id = _ident(body.get("member_id"))
        if member_id is None:
            raise Rejected("Missing member ID")
        contact_id = _ident(body.get("contact_id"))
        if contact_id is None:
            raise Rejected("Missing contact ID")
        note = body.get("note")
        if note is None or (isinstance(note, str) and not note.strip()):
            raise Rejected("Missing note")
        if not isinstance(note, str):
            raise Rejected("note must be a string")
        visibility = _flag01(body, "note_visibility", None)
        editable = _flag01(body, "note_editable", None)
        note_id_value = body.get("note_id")
        if note_id_value is not None and not isinstance(note_id_value, (str, int)):
            raise Rejected("note_id must be a string")
        note_id = _ident(note_id_value)

        contact = self.contacts.get(contact_id)
        if contact is None:
            raise Rejected("Contact does not exist")
        if contact.org_id != org.org_id:
            raise Rejected(
                "You are trying to add a note to a contact that does not belong to "
                "your organization"
            )
        if contact.owner_id != member_id:
            raise Rejected(
                "The API only supports notes being added by the member that owns the contact."
            )
        if note_id is not None:
            stored = self.notes.get(note_id)
            if stored is None or stored.contact_id != contact.contact_id:
                raise Rejected("Note not found")
            stored.note_content = note
            if visibility is not None:
                stored.note_visibility = visibility
            if editable is not None:
                stored.note_editable = editable
            self._applied(ADD_NOTES, "updated")
        else:
            stored = StoredNote(
                note_id=self.new_id(),
                org_id=org.org_id,
                contact_id=contact.contact_id,
                member_id=member_id,
                note_content=note,
                note_visibility=visibility or 0,
                note_editable=editable or 0,
            )
            self.notes[stored.note_id] = stored
            self._applied(ADD_NOTES, "created")
        return {
            "note_id": stored.note_id,
            "contact_id": stored.contact_id,
            "note_content": stored.note_content,
            "note_editable": stored.note_editable,
            "note_visibility": stored.note_visibility,
        }

    # ------------------------------------------------------------ attachments

    async def _manage_attachments(self, body: Mapping[str, Any], org: Org) -> dict[str, Any]:
        member_id = self._member(body, org, MANAGE_ATTACHMENTS)
        action = body.get("action")
        if action not in _ATTACHMENT_ACTIONS:
            raise Rejected("action must be one of: insert, update, delete")
        if action == "insert":
            return await self._insert_attachment(body, org, member_id)
        att_id = _ident(body.get("att_id"))
        if att_id is None:
            raise Rejected("Missing att_id")
        attachment = self.attachments.get(att_id)
        if attachment is None or attachment.org_id != org.org_id:
            raise Rejected("Attachment not found")
        if action == "delete":
            del self.attachments[att_id]
            if attachment.path is not None:
                attachment.path.unlink(missing_ok=True)
            self._applied(MANAGE_ATTACHMENTS, "deleted")
            return {
                "action": "deleted",
                "att_id": att_id,
                "message": "Attachment deleted successfully",
            }
        name = _optional_text(body, "att_name", limit=MAX_FIELD_LENGTH)
        context = _optional_text(body, "att_context")
        link_url = _link_url(body, required=False)
        if link_url is not None and attachment.att_type != "link":
            raise Rejected("link_url can only be changed on link attachments")
        if name is not None:
            attachment.name = name
        if context is not None:
            attachment.context = context
        if link_url is not None:
            attachment.link_url = link_url
        self._applied(MANAGE_ATTACHMENTS, "updated")
        return {"action": "updated", "att_id": att_id, "message": "Attachment updated successfully"}

    async def _insert_attachment(
        self, body: Mapping[str, Any], org: Org, member_id: str
    ) -> dict[str, Any]:
        contact_id = _ident(body.get("contact_id"))
        if contact_id is None:
            raise Rejected("Missing contact ID")
        contact = self.contacts.get(contact_id)
        if contact is None or contact.org_id != org.org_id:
            raise Rejected("Contact not found in this organization")
        att_type = body.get("att_type")
        if att_type not in ("link", "file"):
            raise Rejected("att_type must be 'link' or 'file'")
        name = _optional_text(body, "att_name", limit=MAX_FIELD_LENGTH)
        context = _optional_text(body, "att_context")
        att_id = self.new_id()
        if att_type == "link":
            if name is None or not name.strip():
                raise Rejected("Missing att_name")
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
        self.attachments[att_id] = attachment
        self._applied(MANAGE_ATTACHMENTS, "inserted")
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
            raise Rejected("Missing file_data")
        if not isinstance(file_data, (str, SpilledString)):
            raise Rejected("Invalid base64 file data")
        path = self._blob_dir() / f"att-{att_id}"
        try:
            # A thread: decoding hundreds of megabytes must not stall the event loop.
            size = await asyncio.to_thread(decode_base64_file, file_data, path)
        except Base64Error:
            raise Rejected("Invalid base64 file data") from None
        try:
            file_type = body.get("file_type")
            if not isinstance(file_type, str) or not file_type.strip():
                raise Rejected("Missing file_type")
            if file_type.split(";", 1)[0].strip().lower() not in ALLOWED_FILE_TYPES:
                raise Rejected(f"Unsupported file type: {file_type}")
            if not org.storage:
                raise Rejected("Storage not configured for this account")
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
        member_id = _ident(body.get("member_id"))
        if member_id is None:
            raise Rejected("member_id is required")
        contact_id = _ident(body.get("contact_id"))
        if contact_id is None:
            raise Rejected("contact_id is required")
        comms_type = body.get("comms_type")
        if comms_type is None or comms_type == "":
            raise Rejected("comms_type is required")
        comms_data = body.get("comms_data")
        if (
            comms_data is None
            or comms_data == {}
            or (isinstance(comms_data, str) and not comms_data.strip())
        ):
            raise Rejected("comms_data is required")
        if not isinstance(comms_data, (str, dict)):
            raise Rejected("comms_data must be a string or a JSON object")
        if comms_type not in _COMMS_TYPES:
            raise Rejected(f"comms_type must be one of: {', '.join(_COMMS_TYPES)}")
        source = _optional_text(body, "comms_source", limit=MAX_COMMS_SOURCE)
        sentiment = _optional_text(body, "comms_sentiment")
        next_step = _optional_text(body, "comms_next")
        status = body.get("comms_status")
        if status is None or status == "":
            status = "processed"
        if status not in _COMMS_STATUSES:
            raise Rejected(f"comms_status must be one of: {', '.join(_COMMS_STATUSES)}")
        contact = self.contacts.get(contact_id)
        if contact is None or contact.org_id != org.org_id:
            raise Rejected("Contact not found in this organization")
        if member_id not in org.members:
            raise Rejected(MEMBER_NOT_FOUND)
        entry = StoredComms(
            ch_id=self._next_ch_id,
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
        self._next_ch_id += 1
        self.comms[entry.ch_id] = entry
        self._applied(ADD_COMMS, "logged")
        return {"ch_id": entry.ch_id, "message": "Communication history logged successfully"}


# ---------------------------------------------------------------- validation


def _link_url(body: Mapping[str, Any], *, required: bool) -> str | None:
    content = body.get("att_content")
    if content is None and not required:
        return None
    if not isinstance(content, dict) or content.get("link_url") in (None, ""):
        if not required and isinstance(content, dict):
            return None
        raise Rejected("Missing att_content.link_url")
    link_url = content["link_url"]
    if not _valid_url(link_url):
        raise Rejected("Invalid URL format in link_url")
    assert isinstance(link_url, str)
    return link_url


def _contact_errors(contact: Mapping[str, Any]) -> list[str]:
    errors: list[str] = []
    for key, value in contact.items():
        if key in ("tags", "customFields", "contactId") or value is None:
            continue
        if key in CONTACT_FIELDS and not isinstance(value, str):
            errors.append(f"{key} must be a string")
        elif isinstance(value, str) and len(value) > MAX_FIELD_LENGTH:
            errors.append(f"{key} exceeds the maximum length of {MAX_FIELD_LENGTH} characters")
    email = contact.get("primaryEmail")
    if isinstance(email, str) and email and not _EMAIL.match(email):
        errors.append(f"primaryEmail is not a valid email address: {email!r}")
    phone = contact.get("primaryPhone")
    if isinstance(phone, str) and phone and not _PHONE.match(phone):
        errors.append(f"primaryPhone is not a valid phone number: {phone!r}")
    tags = contact.get("tags")
    if tags is not None:
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            errors.append("tags must be a list of strings")
        elif any(len(t) > MAX_FIELD_LENGTH for t in tags):
            errors.append(f"tags exceed the maximum length of {MAX_FIELD_LENGTH} characters")
    custom = contact.get("customFields")
    if custom is not None and not isinstance(custom, dict):
        errors.append("customFields must be an object")
    return errors


def _entity_errors(entity: Mapping[str, Any] | None) -> list[str]:
    errors: list[str] = []
    for key, value in (entity or {}).items():
        if value is None:
            continue
        if key in ENTITY_FIELDS and not isinstance(value, str):
            errors.append(f"entity.{key} must be a string")
        elif isinstance(value, str) and len(value) > MAX_FIELD_LENGTH:
            errors.append(
                f"entity.{key} exceeds the maximum length of {MAX_FIELD_LENGTH} characters"
            )
    return errors


def _custom_field_errors(org: Org, custom: Any) -> list[str]:
    if not isinstance(custom, dict):
        return []  # already a validation error
    errors: list[str] = []
    for key, value in custom.items():
        if key not in org.custom_fields:
            defined = ", ".join(sorted(org.custom_fields)) or "none"
            errors.append(f"unknown custom field '{key}' (defined fields: {defined})")
            continue
        options = org.custom_fields[key]
        if value is None:
            continue  # clears the field
        if options is not None:
            if value not in options:
                errors.append(
                    f"{key} must be one of: {', '.join(options)} (got {json.dumps(value)})"
                )
        elif not isinstance(value, (str, int, float, bool)):
            errors.append(f"{key} must be a string, number or boolean")
    return errors


def _auto_entity_name(contact: StoredContact) -> str:
    name = " ".join(part for part in (contact.first_name, contact.last_name) if part).strip()
    return name or contact.primary_email or contact.contact_id
