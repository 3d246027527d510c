"""Bulk operations: one attrs class per endpoint method, plus :class:`ContactBundle`.

Each operation mirrors its method's arguments, adds ``key`` (a stable identity for the
journal; by default a hash of the content), is validated when built (so a bad row fails
before any I/O), knows whether repeating it is safe (``idempotent``), how to run itself on a
client. The import format (reading lines, writing them back for ``report.export``) is
:mod:`zyntro_async.bulk._format`.

Children of a bundle are built with ``contact_id=None``; the runner fills it in when the
bundle's contact has been upserted.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from zyntro_async._errors import RequestValidationError
from zyntro_async.models._contact import Contact, Entity
from zyntro_async.models._requests import (
    CommsEntry,
    ContactWrite,
    LinkInsert,
    NoteWrite,
    check_contact,
    check_entity,
)
from zyntro_async.models._validators import check_id, check_str
from zyntro_async.resources.attachments import MANAGE_ATTACHMENTS, prepare_file
from zyntro_async.resources.comms import ADD_COMMS
from zyntro_async.resources.contacts import ADD_CONTACTS, write_is_idempotent
from zyntro_async.resources.notes import ADD_NOTES

if TYPE_CHECKING:
    from zyntro_async._client import ZyntroClient

__all__ = [
    "AddFile",
    "AddLink",
    "AddNote",
    "ChildOp",
    "ContactBundle",
    "InvalidItem",
    "LogComms",
    "Operation",
    "UpsertContact",
]

# Stands in for a bundle child's contact id while validating it at construction.
_PENDING_CONTACT = "pending-contact-id"


def _content_key(kind: str, payload: Mapping[str, Any]) -> str:
    text = json.dumps([kind, payload], sort_keys=True, separators=(",", ":"), default=str)
    return f"{kind}:{hashlib.sha256(text.encode()).hexdigest()[:32]}"


def _content(value: Any) -> Any:
    """An attrs instance's constructor fields, recursively, as JSON-able values (for keys)."""
    if attrs.has(type(value)):
        fields = attrs.fields(type(value))
        return {f.name: _content(getattr(value, f.name)) for f in fields if f.init}
    if isinstance(value, Mapping):
        return {str(name): _content(item) for name, item in value.items()}
    if isinstance(value, list | tuple):
        return [_content(item) for item in value]
    if isinstance(value, bytes | bytearray | memoryview):
        return {"sha256": hashlib.sha256(value).hexdigest()}
    if isinstance(value, os.PathLike):
        return _file_identity(value)
    return value


def _file_identity(file: Any) -> Any:
    """A file for its operation's key: its absolute path, or its content's hash (bytes)."""
    if isinstance(file, bytes | bytearray | memoryview):
        return {"sha256": hashlib.sha256(file).hexdigest()}
    path = file if isinstance(file, str | os.PathLike) else getattr(file, "name", None)
    if not isinstance(path, str | os.PathLike):
        # A stream with no path: unique to this object, so two never share a key.
        return f"<stream {id(file):x}>"
    return str(Path(os.fspath(path)).resolve())


class _Op:
    """What every operation shares: checking its ids, and its key for the journal."""

    __slots__ = ()

    kind: ClassVar[str]
    key: str | None

    def stable_key(self) -> str:
        """``key``, or a hash of the content (every constructor field)."""
        return self.key or _content_key(self.kind, _content(self))

    def _check_ids(self) -> None:
        contact_id = getattr(self, "contact_id", None)
        if contact_id is not None:
            check_id("contact_id", contact_id)
        member_id = getattr(self, "member_id", None)
        if member_id is not None:
            check_id("member_id", member_id)
        if self.key is not None:
            # A key is the user's own label (journal rows, exports), not an API ID: text only.
            check_str("key", self.key)


@attrs.frozen
class UpsertContact(_Op):
    """``zy.contacts.upsert`` as a bulk item (idempotent, unless looked up by ``contact_id``)."""

    contact: Contact
    entity: Entity | None = None
    lookup_by: str = "email"
    skip_entity: bool = False
    member_id: str | None = None
    key: str | None = None

    _request: ContactWrite = attrs.field(init=False, eq=False, repr=False, default=None)

    kind: ClassVar[str] = "contact"
    endpoint: ClassVar[str] = ADD_CONTACTS

    @property
    def idempotent(self) -> bool:
        """Safe to repeat, unless it looks the contact up by ``contact_id`` (see upsert)."""
        return write_is_idempotent("upsert", self.lookup_by)

    def __attrs_post_init__(self) -> None:
        request = ContactWrite(
            contact=check_contact(self.contact),
            mode="upsert",
            entity=check_entity(self.entity),
            lookup_by=self.lookup_by,
            skip_entity=self.skip_entity,
        )
        self._check_ids()
        # Validated once, here; execute() sends this very request, not a new copy.
        object.__setattr__(self, "_request", request)

    async def execute(self, client: ZyntroClient) -> Any:
        """Send it; returns a :class:`~zyntro_async.ContactResult`."""
        return await client.contacts._write(self._request, self.member_id)


@attrs.frozen
class AddNote(_Op):
    """``zy.notes.add`` as a bulk item (creates: never sent twice)."""

    contact_id: str | None
    note: str
    visible: bool = False
    editable: bool = False
    member_id: str | None = None
    key: str | None = None

    kind: ClassVar[str] = "note"
    endpoint: ClassVar[str] = ADD_NOTES
    idempotent: ClassVar[bool] = False

    def __attrs_post_init__(self) -> None:
        NoteWrite(
            contact_id=self.contact_id or _PENDING_CONTACT,
            note=self.note,
            visible=self.visible,
            editable=self.editable,
        )
        self._check_ids()

    async def execute(self, client: ZyntroClient, contact_id: str | None = None) -> Any:
        """Send it; returns a :class:`~zyntro_async.Note`."""
        return await client.notes.add(
            _target(self.contact_id, contact_id),
            self.note,
            visible=self.visible,
            editable=self.editable,
            member_id=self.member_id,
        )


@attrs.frozen
class AddLink(_Op):
    """``zy.attachments.add_link`` as a bulk item (creates: never sent twice)."""

    contact_id: str | None
    name: str
    url: str
    context: str | None = None
    member_id: str | None = None
    key: str | None = None

    kind: ClassVar[str] = "link"
    endpoint: ClassVar[str] = MANAGE_ATTACHMENTS
    idempotent: ClassVar[bool] = False

    def __attrs_post_init__(self) -> None:
        LinkInsert(
            contact_id=self.contact_id or _PENDING_CONTACT,
            name=self.name,
            url=self.url,
            context=self.context,
        )
        self._check_ids()

    async def execute(self, client: ZyntroClient, contact_id: str | None = None) -> Any:
        """Send it; returns an :class:`~zyntro_async.AttachmentResult`."""
        return await client.attachments.add_link(
            _target(self.contact_id, contact_id),
            name=self.name,
            url=self.url,
            context=self.context,
            member_id=self.member_id,
        )


@attrs.frozen
class AddFile(_Op):
    """``zy.attachments.add_file`` as a bulk item (creates: never sent twice).

    ``file`` is a path (read only while sending), bytes, or a binary file object.
    """

    contact_id: str | None
    file: Any
    name: str | None = None
    file_type: str | None = None
    context: str | None = None
    member_id: str | None = None
    key: str | None = None
    _size: int = attrs.field(init=False, default=0, eq=False, repr=False)

    kind: ClassVar[str] = "file"
    endpoint: ClassVar[str] = MANAGE_ATTACHMENTS
    idempotent: ClassVar[bool] = False

    def __attrs_post_init__(self) -> None:
        _, source = prepare_file(
            self.contact_id or _PENDING_CONTACT,
            self.file,
            name=self.name,
            file_type=self.file_type,
            context=self.context,
        )
        object.__setattr__(self, "_size", source.size)
        self._check_ids()

    @property
    def size(self) -> int:
        """Bytes of file content (what the run's byte budget counts)."""
        return self._size

    async def execute(self, client: ZyntroClient, contact_id: str | None = None) -> Any:
        """Send it; returns an :class:`~zyntro_async.AttachmentResult`."""
        return await client.attachments.add_file(
            _target(self.contact_id, contact_id),
            self.file,
            name=self.name,
            file_type=self.file_type,
            context=self.context,
            member_id=self.member_id,
        )

    def stable_key(self) -> str:
        """``key``, or a hash of the metadata and the file's path (for bytes, content)."""
        if self.key:
            return self.key
        content = _content(self)
        content["file"] = _file_identity(self.file)
        return _content_key(self.kind, content)


@attrs.frozen
class LogComms(_Op):
    """``zy.comms.log`` as a bulk item (creates: never sent twice)."""

    contact_id: str | None
    comms_type: str
    data: str | Mapping[str, Any]
    source: str | None = None
    sentiment: str | None = None
    next_step: str | None = None
    status: str | None = None
    member_id: str | None = None
    key: str | None = None

    kind: ClassVar[str] = "comms"
    endpoint: ClassVar[str] = ADD_COMMS
    idempotent: ClassVar[bool] = False

    def __attrs_post_init__(self) -> None:
        CommsEntry(
            contact_id=self.contact_id or _PENDING_CONTACT,
            comms_type=self.comms_type,
            data=self.data,
            source=self.source,
            sentiment=self.sentiment,
            next_step=self.next_step,
            status=self.status,
        )
        self._check_ids()

    async def execute(self, client: ZyntroClient, contact_id: str | None = None) -> Any:
        """Send it; returns a :class:`~zyntro_async.CommsResult`."""
        return await client.comms.log(
            _target(self.contact_id, contact_id),
            self.comms_type,
            self.data,
            source=self.source,
            sentiment=self.sentiment,
            next_step=self.next_step,
            status=self.status,
            member_id=self.member_id,
        )


ChildOp = AddNote | AddLink | AddFile | LogComms


def _target(own: str | None, given: str | None) -> str:
    contact_id = own if own is not None else given
    if contact_id is None:
        raise RequestValidationError("contact_id", "is required outside a ContactBundle")
    return contact_id


def _children(field: str, kinds: tuple[type[Any], ...]) -> Any:
    def convert(value: object) -> tuple[Any, ...]:
        if value is None:
            return ()
        if isinstance(value, str | bytes) or not isinstance(value, Sequence):
            raise RequestValidationError(field, "must be a list of operations")
        for position, child in enumerate(value):
            if not isinstance(child, kinds):
                names = " or ".join(k.__name__ for k in kinds)
                raise RequestValidationError(
                    f"{field}[{position}]", f"must be {names}, got {type(child).__name__}"
                )
            if child.contact_id is not None:
                raise RequestValidationError(
                    f"{field}[{position}].contact_id",
                    "must be None in a bundle: the bundle's contact provides it",
                )
        return tuple(value)

    return convert


def _notes(value: object) -> tuple[AddNote, ...]:
    result: tuple[AddNote, ...] = _children("notes", (AddNote,))(value)
    return result


def _attachments(value: object) -> tuple[AddLink | AddFile, ...]:
    result: tuple[AddLink | AddFile, ...] = _children("attachments", (AddLink, AddFile))(value)
    return result


def _comms(value: object) -> tuple[LogComms, ...]:
    result: tuple[LogComms, ...] = _children("comms", (LogComms,))(value)
    return result


@attrs.frozen
class ContactBundle(_Op):
    """A contact with its notes, attachments and communications.

    The contact is upserted first; as soon as its id is known, the children start, in
    parallel, under the run's limits. If the contact fails, the children are ``skipped``.
    """

    contact: Contact
    entity: Entity | None = None
    notes: Sequence[AddNote] = attrs.field(default=(), converter=_notes)
    attachments: Sequence[AddLink | AddFile] = attrs.field(default=(), converter=_attachments)
    comms: Sequence[LogComms] = attrs.field(default=(), converter=_comms)
    key: str | None = None
    lookup_by: str = "email"
    skip_entity: bool = False
    member_id: str | None = None
    _parent: UpsertContact = attrs.field(init=False, eq=False, repr=False, default=None)

    kind: ClassVar[str] = "bundle"
    endpoint: ClassVar[str] = ADD_CONTACTS

    @property
    def idempotent(self) -> bool:
        """Whether the parent upsert is safe to repeat; children decide for themselves."""
        return write_is_idempotent("upsert", self.lookup_by)

    def __attrs_post_init__(self) -> None:
        # Building the parent checks the contact's fields; it is kept for the run.
        parent = UpsertContact(
            contact=self.contact,
            entity=self.entity,
            lookup_by=self.lookup_by,
            skip_entity=self.skip_entity,
            member_id=self.member_id,
        )
        self._check_ids()
        object.__setattr__(self, "_parent", parent)

    @property
    def parent(self) -> UpsertContact:
        """The contact upsert that opens the bundle."""
        return self._parent

    @property
    def children(self) -> tuple[ChildOp, ...]:
        """Notes, then attachments, then comms, in the order given."""
        return (*self.notes, *self.attachments, *self.comms)

    def child_label(self, position: int) -> str:
        """``notes/0``, ``attachments/1``, ...: a child's place in the bundle."""
        n_notes, n_att = len(self.notes), len(self.attachments)
        if position < n_notes:
            return f"notes/{position}"
        if position < n_notes + n_att:
            return f"attachments/{position - n_notes}"
        return f"comms/{position - n_notes - n_att}"


@attrs.frozen
class InvalidItem(_Op):
    """An input row that could not be turned into an operation.

    Readers (the CLI's CSV and JSONL readers) yield these instead of raising, so one bad
    row is reported as ``failed``, with where it came from, and never stops the import.

    Attributes:
        error: why it could not be used.
        source: where it came from, e.g. ``"contacts.csv:17"``.
        raw: the row as read (written back by ``report.export`` for fixing).
    """

    error: RequestValidationError
    source: str | None = None
    raw: Any = None
    key: str | None = None

    kind: ClassVar[str] = "invalid"
    endpoint: ClassVar[str] = ""
    idempotent: ClassVar[bool] = True

    def stable_key(self) -> str:
        """``key``, or a hash of where it came from and what it was."""
        return self.key or _content_key(self.kind, {"source": self.source, "raw": self.raw})


Operation = UpsertContact | AddNote | AddLink | AddFile | LogComms | ContactBundle | InvalidItem

OPERATION_TYPES = (UpsertContact, AddNote, AddLink, AddFile, LogComms, ContactBundle, InvalidItem)
