"""Request models: one per endpoint action, validated when built, sent as they are.

An endpoint method (``zy.notes.add``), a bulk operation (``AddNote``) and a caller of
``ZyntroClient.send`` all build one of these; building it is where a bad argument becomes
a :class:`~zyntro_async.RequestValidationError` naming the field, before any I/O. The
model then knows everything sending needs (httpx's ``build_request`` → ``send``):

- ``endpoint``: ``module/action``;
- ``idempotent``: whether repeating it cannot change the outcome (what retrying may do);
- :meth:`ApiRequest.body`: its own keys of the JSON body (the transport adds the
  credentials and base identifiers; the wire format of contacts and entities is
  :mod:`zyntro_async._serde`'s);
- :meth:`ApiRequest.structure`: the typed result from the envelope's ``data``;
- :meth:`ApiRequest.absorb`: an error of a retry that means an earlier attempt succeeded.

Identifiers (``contact_id``, ``note_id``, ``att_id``, ``member_id``) are opaque: an ``int``
is accepted and sent as its decimal string.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Generic, TypeVar

import attrs

from zyntro_async._errors import NotFoundError, RequestValidationError, ZyntroError
from zyntro_async._files import FileSource, file_source, guess_file_type
from zyntro_async._serde import converter, structure_result, unstructure_contact
from zyntro_async.models._contact import Contact, Entity
from zyntro_async.models._results import (
    AttachmentResult,
    CommsResult,
    ContactRecord,
    ContactResult,
    Note,
)
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
    "ADD_COMMS",
    "ADD_CONTACTS",
    "ADD_NOTES",
    "FETCH_CONTACT",
    "MANAGE_ATTACHMENTS",
    "ApiRequest",
    "AttachmentDelete",
    "AttachmentUpdate",
    "CommsEntry",
    "ContactFetch",
    "ContactWrite",
    "FileInsert",
    "LinkInsert",
    "NoteWrite",
    "check_bool",
    "check_contact",
    "check_entity",
    "to_id",
]

R = TypeVar("R")

ADD_CONTACTS = "crm/addContactsFull"
FETCH_CONTACT = "crm/fetchContact"
ADD_NOTES = "crm/addNotestoContact"
MANAGE_ATTACHMENTS = "crm/manageAttachments"
ADD_COMMS = "crm/addCommsHistory"


def to_id(value: object) -> object:
    """An ``int`` identifier as its decimal string; anything else as it is (checked later)."""
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return str(value)
        except ValueError:  # more digits than Python converts: refused as not a string
            return value
    return value


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


def _check_member(member_id: object) -> None:
    if member_id is not None:
        check_id("member_id", member_id)


class ApiRequest(Generic[R]):
    """What every request model offers the one send path (``ZyntroClient.send``).

    Subclasses are frozen attrs classes with a ``member_id`` field (act as this member
    instead of the client's; ``None``: the client's).

    Attributes:
        endpoint: ``module/action``.
        result_type: the model :meth:`structure` builds.
        needs_member: refuse to send without a member (every CRM write needs one).
        sends_brand: the endpoint takes ``brand_id``, which must then be configured.
    """

    __slots__ = ()

    endpoint: ClassVar[str]
    result_type: ClassVar[type[Any]]
    needs_member: ClassVar[bool] = True
    sends_brand: ClassVar[bool] = False
    member_id: str | None

    @property
    def idempotent(self) -> bool:
        """Whether repeating the request cannot change the outcome (creating calls: no)."""
        return False

    @property
    def upload(self) -> FileSource | None:
        """A file streamed as the body's last key, ``file_data`` (uploads only)."""
        return None

    def body(self) -> dict[str, Any]:  # pragma: no cover - every request defines it
        """The endpoint's own keys of the JSON body (no credentials)."""
        raise NotImplementedError

    def structure(self, data: object) -> R:
        """The typed result from the envelope's ``data``.

        Raises:
            MalformedResponseError: ``data`` does not fit the result model.
        """
        # result_type is R's class: no cast() call, it would cost a call on every request.
        result: R = structure_result(data, self.result_type, endpoint=self.endpoint)
        return result

    def absorb(self, error: ZyntroError) -> Mapping[str, Any] | None:
        """Data to return instead of ``error``, raised by a retry after an attempt that
        may have been applied; ``None`` (the default) raises it."""
        return None


@attrs.frozen
class ContactWrite(ApiRequest[ContactResult]):
    """``crm/addContactsFull``: create, update or upsert one contact.

    ``contact_id`` is only for ``lookup_by="contact_id"``; it is sent as the top-level
    ``contact_id`` key, as every other endpoint names it.
    """

    contact: Contact
    mode: str = "upsert"
    lookup_by: str | None = "email"
    entity: Entity | None = None
    skip_entity: bool = False
    contact_id: str | None = attrs.field(default=None, converter=to_id)
    debug: bool = False
    member_id: str | None = attrs.field(default=None, converter=to_id, kw_only=True)

    endpoint: ClassVar[str] = ADD_CONTACTS
    result_type: ClassVar[type[Any]] = ContactResult

    def __attrs_post_init__(self) -> None:
        # Each check is called only when the quick test of the usual value fails (a call
        # per field is a real share of a request's own cost); the calls raise the errors.
        # (Typed as object: the annotations are what these checks make true.)
        contact: object = self.contact
        skip_entity: object = self.skip_entity
        debug: object = self.debug
        if not isinstance(contact, Contact):
            check_contact(contact)
        if self.entity is not None:
            check_entity(self.entity)
        if type(self.mode) is not str or self.mode not in MODES:
            check_choice("mode", self.mode, MODES)
        if type(skip_entity) is not bool:
            check_bool("skip_entity", skip_entity)
        if type(debug) is not bool:
            check_bool("debug", debug)
        if self.member_id is not None:
            _check_member(self.member_id)
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
        if type(self.lookup_by) is not str or self.lookup_by not in LOOKUP_BY:
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

    @property
    def idempotent(self) -> bool:
        """Whether repeating this write converges on the same state.

        ``update`` does. ``upsert`` does when it looks the contact up by e-mail or phone: a
        repeat finds what the first attempt created. Looked up by ``contact_id``, an unknown
        id creates a contact with a new id each time, so it is a creating call, like
        ``insert``.
        """
        if self.mode == "update":
            return True
        return self.mode == "upsert" and self.lookup_by != "contact_id"

    def body(self) -> dict[str, Any]:
        """``mode``, ``lookup_by``, the contact (camelCase) and the entity."""
        body: dict[str, Any] = {"mode": self.mode}
        if self.mode != "insert":
            body["lookup_by"] = self.lookup_by
        if self.contact_id is not None:
            body["contact_id"] = self.contact_id
        if self.skip_entity:
            body["skip_entity"] = True
        body["contact"] = unstructure_contact(self.contact)
        if self.entity is not None:
            body["entity"] = converter.unstructure(self.entity, Entity)
        if self.debug:
            body["debug"] = True
        return body


@attrs.frozen
class ContactFetch(ApiRequest[ContactRecord]):
    """``crm/fetchContact``: one contact (read-only, so no member is required)."""

    contact_id: str = attrs.field(converter=to_id)
    member_id: str | None = attrs.field(default=None, converter=to_id, kw_only=True)

    endpoint: ClassVar[str] = FETCH_CONTACT
    result_type: ClassVar[type[Any]] = ContactRecord
    needs_member: ClassVar[bool] = False
    sends_brand: ClassVar[bool] = True

    def __attrs_post_init__(self) -> None:
        check_id("contact_id", self.contact_id)
        # Read-only, so no member is required; an override must still be a real ID.
        _check_member(self.member_id)

    @property
    def idempotent(self) -> bool:
        """A read: always safe to repeat."""
        return True

    def body(self) -> dict[str, Any]:
        """``contact_id``."""
        return {"contact_id": self.contact_id}


@attrs.frozen
class NoteWrite(ApiRequest[Note]):
    """``crm/addNotestoContact``: a new note, or an update when ``note_id`` is set.

    ``visible``/``editable`` left ``None`` are not sent: the server's default stands for a
    new note, and an update keeps the note's current flags.
    """

    contact_id: str = attrs.field(converter=to_id)
    note: str
    visible: bool | None = None
    editable: bool | None = None
    note_id: str | None = attrs.field(default=None, converter=to_id)
    member_id: str | None = attrs.field(default=None, converter=to_id, kw_only=True)

    endpoint: ClassVar[str] = ADD_NOTES
    result_type: ClassVar[type[Any]] = Note

    def __attrs_post_init__(self) -> None:
        check_id("contact_id", self.contact_id)
        check_str("note", self.note)
        if self.visible is not None:
            check_bool("visible", self.visible)
        if self.editable is not None:
            check_bool("editable", self.editable)
        if self.note_id is not None:
            check_id("note_id", self.note_id)
        _check_member(self.member_id)

    @property
    def idempotent(self) -> bool:
        """An update (``note_id`` set) is safe to repeat; adding a note is not."""
        return self.note_id is not None

    def body(self) -> dict[str, Any]:
        """``contact_id``, ``note``, ``note_id``, and the flags given, as 0/1."""
        body: dict[str, Any] = {"contact_id": self.contact_id, "note": self.note}
        if self.note_id is not None:
            body["note_id"] = self.note_id
        if self.visible is not None:
            body["note_visibility"] = int(self.visible)
        if self.editable is not None:
            body["note_editable"] = int(self.editable)
        return body


@attrs.frozen
class LinkInsert(ApiRequest[AttachmentResult]):
    """``crm/manageAttachments`` ``insert`` of a link."""

    contact_id: str = attrs.field(converter=to_id)
    name: str
    url: str
    context: str | None = None
    member_id: str | None = attrs.field(default=None, converter=to_id, kw_only=True)

    endpoint: ClassVar[str] = MANAGE_ATTACHMENTS
    result_type: ClassVar[type[Any]] = AttachmentResult

    def __attrs_post_init__(self) -> None:
        check_id("contact_id", self.contact_id)
        check_str("name", self.name)
        check_http_url("url", self.url)
        check_optional_str("context", self.context)
        _check_member(self.member_id)

    def body(self) -> dict[str, Any]:
        """``action=insert``, ``att_type=link`` and the link."""
        body: dict[str, Any] = {
            "action": "insert",
            "contact_id": self.contact_id,
            "att_type": "link",
            "att_name": self.name,
            "att_content": {"link_url": self.url},
        }
        if self.context is not None:
            body["att_context"] = self.context
        return body


@attrs.frozen
class FileInsert(ApiRequest[AttachmentResult]):
    """``crm/manageAttachments`` ``insert`` of a file, streamed as base64 ``file_data``.

    ``file`` is a path, bytes, or a binary file object. Building the request checks it
    without reading it (a path must be a regular file; a file object must be binary and
    open): the content is read only while the request is being sent. ``name`` defaults to
    the file's own; ``file_type`` is guessed from the name and must be in the documented
    allow-list. A non-seekable stream (a pipe, a socket) is sent once, as it comes; if a
    retry would have to send it again, the call fails with that reason instead.
    """

    contact_id: str = attrs.field(converter=to_id)
    file: Any = attrs.field(repr=False)
    name: str | None = None
    file_type: str | None = None
    context: str | None = None
    member_id: str | None = attrs.field(default=None, converter=to_id, kw_only=True)
    _source: FileSource = attrs.field(init=False, eq=False, repr=False, default=None)

    endpoint: ClassVar[str] = MANAGE_ATTACHMENTS
    result_type: ClassVar[type[Any]] = AttachmentResult

    def __attrs_post_init__(self) -> None:
        check_id("contact_id", self.contact_id)
        if self.name is not None:
            # Checked before it is used to guess the type, which needs a string.
            check_str("name", self.name)
        source = file_source(self.file, name=self.name)
        name = self.name if self.name is not None else source.name
        if name is None:
            raise RequestValidationError("name", "give a name for an attachment made from bytes")
        file_type = self.file_type
        if file_type is None:
            file_type = guess_file_type(name)
            if file_type is None:
                raise RequestValidationError(
                    "file_type", f"cannot guess the type of {name!r:.80}; pass file_type="
                )
        file_type = check_file_type("file_type", file_type)
        check_optional_str("context", self.context)
        _check_member(self.member_id)
        # Frozen: the derived values are filled in once, here.
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "file_type", file_type)
        object.__setattr__(self, "_source", source)

    @property
    def upload(self) -> FileSource:
        """The file's content, opened and read only while the request is sent."""
        return self._source

    @property
    def size(self) -> int | None:
        """Bytes of file content, ``None`` for a stream whose length is unknown."""
        return self._source.size

    def body(self) -> dict[str, Any]:
        """``action=insert``, ``att_type=file`` and the metadata (``file_data`` is streamed
        after these keys by the transport)."""
        body: dict[str, Any] = {
            "action": "insert",
            "contact_id": self.contact_id,
            "att_type": "file",
            "att_name": self.name,
            "file_type": self.file_type,
        }
        if self.context is not None:
            body["att_context"] = self.context
        return body


@attrs.frozen
class AttachmentUpdate(ApiRequest[AttachmentResult]):
    """``crm/manageAttachments`` ``update``: at least one of name, url, context."""

    att_id: str = attrs.field(converter=to_id)
    name: str | None = None
    url: str | None = None
    context: str | None = None
    member_id: str | None = attrs.field(default=None, converter=to_id, kw_only=True)

    endpoint: ClassVar[str] = MANAGE_ATTACHMENTS
    result_type: ClassVar[type[Any]] = AttachmentResult

    def __attrs_post_init__(self) -> None:
        check_id("att_id", self.att_id)
        if self.name is None and self.url is None and self.context is None:
            raise RequestValidationError("name", "give at least one of name, url or context")
        if self.name is not None:
            check_str("name", self.name)
        if self.url is not None:
            check_http_url("url", self.url)
        check_optional_str("context", self.context)
        _check_member(self.member_id)

    @property
    def idempotent(self) -> bool:
        """Setting the same values again changes nothing."""
        return True

    def body(self) -> dict[str, Any]:
        """``action=update``, ``att_id`` and the values to change."""
        body: dict[str, Any] = {"action": "update", "att_id": self.att_id}
        if self.name is not None:
            body["att_name"] = self.name
        if self.url is not None:
            body["att_content"] = {"link_url": self.url}
        if self.context is not None:
            body["att_context"] = self.context
        return body


@attrs.frozen
class AttachmentDelete(ApiRequest[AttachmentResult]):
    """``crm/manageAttachments`` ``delete``.

    Idempotent in effect: if an attempt went unanswered and a retry finds the attachment
    gone, that attempt did the delete (see :meth:`absorb`).
    """

    att_id: str = attrs.field(converter=to_id)
    member_id: str | None = attrs.field(default=None, converter=to_id, kw_only=True)

    endpoint: ClassVar[str] = MANAGE_ATTACHMENTS
    result_type: ClassVar[type[Any]] = AttachmentResult

    def __attrs_post_init__(self) -> None:
        check_id("att_id", self.att_id)
        _check_member(self.member_id)

    @property
    def idempotent(self) -> bool:
        """Deleting twice leaves the same state (see :meth:`absorb`)."""
        return True

    def body(self) -> dict[str, Any]:
        """``action=delete`` and ``att_id``."""
        return {"action": "delete", "att_id": self.att_id}

    def absorb(self, error: ZyntroError) -> Mapping[str, Any] | None:
        """A "not found" after an unanswered attempt: that attempt deleted it."""
        if isinstance(error, NotFoundError) and error.code == "NOT_FOUND":
            return {
                "action": "deleted",
                "att_id": self.att_id,
                "message": "Attachment deleted (confirmed on retry)",
            }
        return None


@attrs.frozen
class CommsEntry(ApiRequest[CommsResult]):
    """``crm/addCommsHistory``: one communication event on a contact's timeline."""

    contact_id: str = attrs.field(converter=to_id)
    comms_type: str
    data: str | Mapping[str, Any]
    source: str | None = None
    sentiment: str | None = None
    next_step: str | None = None
    status: str | None = None
    member_id: str | None = attrs.field(default=None, converter=to_id, kw_only=True)

    endpoint: ClassVar[str] = ADD_COMMS
    result_type: ClassVar[type[Any]] = CommsResult

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
        _check_member(self.member_id)

    def body(self) -> dict[str, Any]:
        """``contact_id``, ``comms_type``, ``comms_data`` and the optional ``comms_*``."""
        body: dict[str, Any] = {
            "contact_id": self.contact_id,
            "comms_type": self.comms_type,
            "comms_data": self.data if isinstance(self.data, str) else dict(self.data),
        }
        optional = {
            "comms_source": self.source,
            "comms_sentiment": self.sentiment,
            "comms_next": self.next_step,
            "comms_status": self.status,
        }
        body.update({key: value for key, value in optional.items() if value is not None})
        return body
