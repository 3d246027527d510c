"""Request models: one per endpoint action, validated when built.

The resources and the bulk operations build these; :mod:`zyntro_async._serde` turns them
into the documented request bodies. Building one is where a bad argument becomes a
:class:`~zyntro_async.RequestValidationError` naming the field, before any I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from zyntro_async._errors import RequestValidationError
from zyntro_async.models._contact import Contact, Entity
from zyntro_async.models._validators import (
    COMMS_STATUSES,
    COMMS_TYPES,
    LOOKUP_BY,
    MAX_COMMS_SOURCE,
    MODES,
    check_choice,
    check_file_type,
    check_http_url,
    check_id,
    check_json_value,
    check_optional_str,
    check_str,
    shown,
)

__all__ = [
    "AttachmentDelete",
    "AttachmentUpdate",
    "CommsEntry",
    "ContactWrite",
    "FileInsert",
    "LinkInsert",
    "NoteWrite",
    "check_bool",
    "check_contact",
    "check_entity",
]


def check_bool(field: str, value: object) -> bool:
    """Require a real ``bool`` (``0``/``1`` are accepted too, as the API sends them)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise RequestValidationError(field, f"must be a bool, got {type(value).__name__}")


def check_contact(value: object) -> Contact:
    """Require a :class:`Contact` instance."""
    if not isinstance(value, Contact):
        raise RequestValidationError(
            "contact", f"must be a zyntro_async.Contact, got {type(value).__name__}"
        )
    return value


def check_entity(value: object) -> Entity | None:
    """Allow ``None``; otherwise require an :class:`Entity` instance."""
    if value is not None and not isinstance(value, Entity):
        raise RequestValidationError(
            "entity", f"must be a zyntro_async.Entity or None, got {type(value).__name__}"
        )
    return value


@attrs.frozen
class ContactWrite:
    """``crm/addContactsFull``: create, update or upsert one contact.

    ``contact_id`` is only for ``lookup_by="contact_id"``; it is sent as the top-level
    ``contact_id`` key, as every other endpoint names it.
    """

    contact: Contact
    mode: str = "upsert"
    lookup_by: str | None = "email"
    entity: Entity | None = None
    skip_entity: bool = False
    contact_id: str | None = None
    debug: bool = False

    def __attrs_post_init__(self) -> None:
        check_contact(self.contact)
        check_entity(self.entity)
        check_choice("mode", self.mode, MODES)
        check_bool("skip_entity", self.skip_entity)
        check_bool("debug", self.debug)
        if self.mode == "insert":
            missing = [
                name for name in ("first_name", "primary_email") if not getattr(self.contact, name)
            ]
            if missing:
                raise RequestValidationError(
                    f"contact.{missing[0]}",
                    f"creating a contact needs first_name and primary_email; missing "
                    f"{', '.join(missing)}",
                )
            return
        check_choice("lookup_by", self.lookup_by, LOOKUP_BY)
        if self.lookup_by == "contact_id":
            check_id("contact_id", self.contact_id)
        elif self.lookup_by == "email" and not self.contact.primary_email:
            raise RequestValidationError(
                "contact.primary_email", 'lookup_by="email" needs contact.primary_email'
            )
        elif self.lookup_by == "phone" and not self.contact.primary_phone:
            raise RequestValidationError(
                "contact.primary_phone", 'lookup_by="phone" needs contact.primary_phone'
            )
        if self.contact_id is not None and self.lookup_by != "contact_id":
            check_id("contact_id", self.contact_id)


@attrs.frozen
class NoteWrite:
    """``crm/addNotestoContact``: a new note, or an update when ``note_id`` is set."""

    contact_id: str
    note: str
    visible: bool = False
    editable: bool = False
    note_id: str | None = None

    def __attrs_post_init__(self) -> None:
        check_id("contact_id", self.contact_id)
        check_str("note", self.note)
        check_bool("visible", self.visible)
        check_bool("editable", self.editable)
        if self.note_id is not None:
            check_id("note_id", self.note_id)


@attrs.frozen
class LinkInsert:
    """``crm/manageAttachments`` ``insert`` of a link."""

    contact_id: str
    name: str
    url: str
    context: str | None = None

    def __attrs_post_init__(self) -> None:
        check_id("contact_id", self.contact_id)
        check_str("name", self.name)
        check_http_url("url", self.url)
        check_optional_str("context", self.context)


@attrs.frozen
class FileInsert:
    """``crm/manageAttachments`` ``insert`` of a file: the metadata around ``file_data``."""

    contact_id: str
    name: str
    file_type: str
    context: str | None = None

    def __attrs_post_init__(self) -> None:
        check_id("contact_id", self.contact_id)
        check_str("name", self.name)
        check_file_type("file_type", self.file_type)
        check_optional_str("context", self.context)


@attrs.frozen
class AttachmentUpdate:
    """``crm/manageAttachments`` ``update``: at least one of name, url, context."""

    att_id: str
    name: str | None = None
    url: str | None = None
    context: str | None = None

    def __attrs_post_init__(self) -> None:
        check_id("att_id", self.att_id)
        if self.name is None and self.url is None and self.context is None:
            raise RequestValidationError("name", "give at least one of name, url or context")
        if self.name is not None:
            check_str("name", self.name)
        if self.url is not None:
            check_http_url("url", self.url)
        check_optional_str("context", self.context)


@attrs.frozen
class AttachmentDelete:
    """``crm/manageAttachments`` ``delete``."""

    att_id: str

    def __attrs_post_init__(self) -> None:
        check_id("att_id", self.att_id)


@attrs.frozen
class CommsEntry:
    """``crm/addCommsHistory``: one communication event on a contact's timeline."""

    contact_id: str
    comms_type: str
    data: str | Mapping[str, Any]
    source: str | None = None
    sentiment: str | None = None
    next_step: str | None = None
    status: str | None = None

    def __attrs_post_init__(self) -> None:
        check_id("contact_id", self.contact_id)
        check_choice("comms_type", self.comms_type, COMMS_TYPES)
        if isinstance(self.data, str):
            check_str("data", self.data)
        elif isinstance(self.data, Mapping):
            if not self.data:
                raise RequestValidationError("data", "must not be empty")
            check_json_value("data", self.data)
        else:
            raise RequestValidationError(
                "data", f"must be a string or a mapping, got {type(self.data).__name__}"
            )
        check_optional_str("source", self.source)
        if self.source is not None and len(self.source) > MAX_COMMS_SOURCE:
            raise RequestValidationError(
                "source",
                f"comms_source must be at most {MAX_COMMS_SOURCE} characters, "
                f"got {len(self.source)}",
            )
        check_optional_str("sentiment", self.sentiment)
        check_optional_str("next_step", self.next_step)
        if self.status is not None and self.status not in COMMS_STATUSES:
            raise RequestValidationError(
                "status",
                f"comms_status must be one of: {', '.join(COMMS_STATUSES)}; "
                f"got {shown(self.status)}",
            )
