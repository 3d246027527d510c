"""Bulk operations: one attrs class per endpoint method, plus :class:`ContactBundle`.

Each operation mirrors its method's arguments, adds ``key`` (a stable identity for the
journal; by default a hash of the content), and builds its request model once, when it is
built (so a bad row fails before any I/O, and no file is read): the runner sends that very
request with ``client.send(op.request_for(...), observer=...)``. The import format (reading
lines, writing them back for ``report.export``) is :mod:`zyntro_async.bulk._format`.

Children of a bundle are built with ``contact_id=None``; their request then holds a
placeholder, and the runner gives it the contact's id (``attrs.evolve``) once the bundle's
contact has been upserted. The runner sees single operations through the
:class:`RequestOperation` protocol.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Protocol, cast, runtime_checkable

import attrs

from zyntro_async._errors import RequestValidationError
from zyntro_async.models._contact import Contact, Entity
from zyntro_async.models._requests import (
    ADD_COMMS,
    ADD_CONTACTS,
    ADD_NOTES,
    MANAGE_ATTACHMENTS,
    ApiRequest,
    CommsEntry,
    ContactWrite,
    FileInsert,
    LinkInsert,
    NoteWrite,
    to_id,
)
from zyntro_async.models._validators import check_id, check_str

__all__ = [
    "AddFile",
    "AddLink",
    "AddNote",
    "ChildOp",
    "ContactBundle",
    "InvalidItem",
    "LogComms",
    "Operation",
    "RequestOperation",
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


@runtime_checkable
class RequestOperation(Protocol):
    """A bulk item that is one request: what the runner needs of it.

    ``UpsertContact``, ``AddNote``, ``AddLink``, ``AddFile`` and ``LogComms`` are; an
    object of your own that has these members runs too.
    """

    @property
    def kind(self) -> str:
        """A short name of the operation (``"note"``), used in journal keys."""

    @property
    def key(self) -> str | None:
        """The caller's stable identity for the item, if given."""

    @property
    def endpoint(self) -> str:
        """``module/action`` of its request."""

    @property
    def idempotent(self) -> bool:
        """Whether repeating its request cannot change the outcome."""

    @property
    def size(self) -> int:
        """Bytes of attachment content it uploads (the run's byte budget), else 0."""

    def stable_key(self) -> str:
        """``key``, or a key derived from the content (same content, same key)."""

    def request_for(self, contact_id: str | None) -> ApiRequest[Any]:
        """Its validated request; a bundle child's with the bundle contact's id.

        Raises:
            RequestValidationError: a child operation run outside a bundle without
                ``contact_id``.
        """


class _Op:
    """What every operation shares: checking its key, and its key for the journal."""

    __slots__ = ()

    kind: ClassVar[str]
    key: str | None

    def stable_key(self) -> str:
        """``key``, or a hash of the content (every constructor field)."""
        return self.key or _content_key(self.kind, self._identity())

    def fingerprint(self) -> str:
        """A hash of the content, ``key`` left out: what tells a changed item under one key.

        The journal stores it with each outcome; an item whose key an earlier run used for
        other content is then not taken for one already done.
        """
        content = self._identity()
        content.pop("key", None)
        return _content_key(self.kind, content)

    def _identity(self) -> dict[str, Any]:
        """The content that identifies the item (every constructor field)."""
        content: dict[str, Any] = _content(self)
        return content

    def _check_key(self) -> None:
        if self.key is not None:
            # A key is the user's own label (journal rows, exports), not an API ID: text only.
            check_str("key", self.key)


class _ChildOp(_Op):
    """A note, attachment or comms entry: in a bundle, its contact id comes later."""

    __slots__ = ()

    contact_id: str | None
    member_id: str | None
    idempotent: ClassVar[bool] = False  # every child creates something: never sent twice

    @property
    def size(self) -> int:
        """Bytes of attachment content it uploads (only files have any)."""
        return 0

    @property
    def request(self) -> ApiRequest[Any]:  # pragma: no cover - every child defines it
        """The request built (and validated) with the operation."""
        raise NotImplementedError

    def request_for(self, contact_id: str | None) -> ApiRequest[Any]:
        """The request; in a bundle, given the bundle contact's id.

        Raises:
            RequestValidationError: no ``contact_id`` here nor from a bundle.
        """
        if self.contact_id is not None:
            return self.request
        if contact_id is None:
            raise RequestValidationError("contact_id", "is required outside a ContactBundle")
        # Frozen and validated: the child's request gets the id as a new, checked copy.
        request: ApiRequest[Any] = attrs.evolve(cast(Any, self.request), contact_id=contact_id)
        return request


@attrs.frozen
class UpsertContact(_Op):
    """``zy.contacts.upsert`` as a bulk item (idempotent, unless looked up by ``contact_id``)."""

    contact: Contact
    entity: Entity | None = None
    lookup_by: str = "email"
    skip_entity: bool = False
    member_id: str | None = attrs.field(default=None, converter=to_id)
    key: str | None = None

    _request: ContactWrite = attrs.field(init=False, eq=False, repr=False, default=None)

    kind: ClassVar[str] = "contact"
    endpoint: ClassVar[str] = ADD_CONTACTS
    size: ClassVar[int] = 0

    def __attrs_post_init__(self) -> None:
        request = ContactWrite(  # which checks the contact and the entity
            contact=self.contact,
            mode="upsert",
            entity=self.entity,
            lookup_by=self.lookup_by,
            skip_entity=self.skip_entity,
            member_id=self.member_id,
        )
        self._check_key()
        # Validated once, here; the run sends this very request, not a new copy.
        object.__setattr__(self, "_request", request)

    @property
    def request(self) -> ContactWrite:
        """The ``addContactsFull`` upsert, validated when the operation was built."""
        return self._request

    @property
    def idempotent(self) -> bool:
        """Safe to repeat, unless it looks the contact up by ``contact_id`` (see upsert)."""
        return self._request.idempotent

    def request_for(self, contact_id: str | None) -> ContactWrite:
        """The request (a contact upsert needs no contact id from elsewhere)."""
        return self._request


@attrs.frozen
class AddNote(_ChildOp):
    """``zy.notes.add`` as a bulk item (creates: never sent twice).

    ``visible``/``editable`` left ``None`` are not sent (the server's default stands).
    """

    contact_id: str | None = attrs.field(converter=to_id)
    note: str
    visible: bool | None = None
    editable: bool | None = None
    member_id: str | None = attrs.field(default=None, converter=to_id)
    key: str | None = None

    _request: NoteWrite = attrs.field(init=False, eq=False, repr=False, default=None)

    kind: ClassVar[str] = "note"
    endpoint: ClassVar[str] = ADD_NOTES

    def __attrs_post_init__(self) -> None:
        request = NoteWrite(
            contact_id=_contact_or_pending(self.contact_id),
            note=self.note,
            visible=self.visible,
            editable=self.editable,
            member_id=self.member_id,
        )
        self._check_key()
        object.__setattr__(self, "_request", request)

    @property
    def request(self) -> NoteWrite:
        """The note, validated when the operation was built."""
        return self._request


@attrs.frozen
class AddLink(_ChildOp):
    """``zy.attachments.add_link`` as a bulk item (creates: never sent twice)."""

    contact_id: str | None = attrs.field(converter=to_id)
    name: str
    url: str
    context: str | None = None
    member_id: str | None = attrs.field(default=None, converter=to_id)
    key: str | None = None

    _request: LinkInsert = attrs.field(init=False, eq=False, repr=False, default=None)

    kind: ClassVar[str] = "link"
    endpoint: ClassVar[str] = MANAGE_ATTACHMENTS

    def __attrs_post_init__(self) -> None:
        request = LinkInsert(
            contact_id=_contact_or_pending(self.contact_id),
            name=self.name,
            url=self.url,
            context=self.context,
            member_id=self.member_id,
        )
        self._check_key()
        object.__setattr__(self, "_request", request)

    @property
    def request(self) -> LinkInsert:
        """The link, validated when the operation was built."""
        return self._request


@attrs.frozen
class AddFile(_ChildOp):
    """``zy.attachments.add_file`` as a bulk item (creates: never sent twice).

    ``file`` is a path, bytes, or a binary file object; it is checked when the operation
    is built but read only while its request is sent. A non-seekable stream is sent once;
    if a retry would need to send it again, the item fails with that reason.
    """

    contact_id: str | None = attrs.field(converter=to_id)
    file: Any
    name: str | None = None
    file_type: str | None = None
    context: str | None = None
    member_id: str | None = attrs.field(default=None, converter=to_id)
    key: str | None = None

    _request: FileInsert = attrs.field(init=False, eq=False, repr=False, default=None)

    kind: ClassVar[str] = "file"
    endpoint: ClassVar[str] = MANAGE_ATTACHMENTS

    def __attrs_post_init__(self) -> None:
        request = FileInsert(
            contact_id=_contact_or_pending(self.contact_id),
            file=self.file,
            name=self.name,
            file_type=self.file_type,
            context=self.context,
            member_id=self.member_id,
        )
        self._check_key()
        object.__setattr__(self, "_request", request)

    @property
    def request(self) -> FileInsert:
        """The upload, validated (not read) when the operation was built."""
        return self._request

    @property
    def size(self) -> int:
        """Bytes of file content (what the run's byte budget counts; 0 for a stream,
        whose length is unknown until it ends)."""
        return self._request.size or 0

    def stable_key(self) -> str:
        """``key``, or a hash of the metadata and the file's path (for bytes, content)."""
        if self.key:
            return self.key
        return _content_key(self.kind, self._identity())

    def fingerprint(self) -> str:
        """A hash of the metadata, the file's path and size (for bytes, content), no key.

        The file is not read for it: a file replaced by one of the same size at the same
        path is taken for the same content.
        """
        content = self._identity()
        content.pop("key", None)
        content["size"] = self._request.size
        return _content_key(self.kind, content)

    def _identity(self) -> dict[str, Any]:
        content: dict[str, Any] = _content(self)
        content["file"] = _file_identity(self.file)
        return content


@attrs.frozen
class LogComms(_ChildOp):
    """``zy.comms.log`` as a bulk item (creates: never sent twice)."""

    contact_id: str | None = attrs.field(converter=to_id)
    comms_type: str
    data: str | Mapping[str, Any]
    source: str | None = None
    sentiment: str | None = None
    next_step: str | None = None
    status: str | None = None
    member_id: str | None = attrs.field(default=None, converter=to_id)
    key: str | None = None

    _request: CommsEntry = attrs.field(init=False, eq=False, repr=False, default=None)

    kind: ClassVar[str] = "comms"
    endpoint: ClassVar[str] = ADD_COMMS

    def __attrs_post_init__(self) -> None:
        request = CommsEntry(
            contact_id=_contact_or_pending(self.contact_id),
            comms_type=self.comms_type,
            data=self.data,
            source=self.source,
            sentiment=self.sentiment,
            next_step=self.next_step,
            status=self.status,
            member_id=self.member_id,
        )
        self._check_key()
        object.__setattr__(self, "_request", request)

    @property
    def request(self) -> CommsEntry:
        """The entry, validated when the operation was built."""
        return self._request


ChildOp = AddNote | AddLink | AddFile | LogComms


def _contact_or_pending(contact_id: str | None) -> str:
    """The contact id to validate a child's request with (a placeholder in a bundle)."""
    if contact_id is None:
        return _PENDING_CONTACT
    return check_id("contact_id", contact_id)


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
    member_id: str | None = attrs.field(default=None, converter=to_id)
    _parent: UpsertContact = attrs.field(init=False, eq=False, repr=False, default=None)

    kind: ClassVar[str] = "bundle"
    endpoint: ClassVar[str] = ADD_CONTACTS

    @property
    def idempotent(self) -> bool:
        """Whether the parent upsert is safe to repeat; children decide for themselves."""
        return self._parent.idempotent

    def __attrs_post_init__(self) -> None:
        # Building the parent checks the contact's fields; it is kept for the run.
        parent = UpsertContact(
            contact=self.contact,
            entity=self.entity,
            lookup_by=self.lookup_by,
            skip_entity=self.skip_entity,
            member_id=self.member_id,
        )
        self._check_key()
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
