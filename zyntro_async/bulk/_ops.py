"""Bulk operations: one attrs class per endpoint method, plus :class:`ContactBundle`.

Each operation mirrors its method's arguments, adds ``key`` (a stable identity for the
journal; by default a hash of the content), is validated when built (so a bad row fails
before any I/O), knows whether repeating it is safe (``idempotent``), how to run itself on a
client, and how to write itself back in the JSONL import format (for ``report.export``).

Children of a bundle are built with ``contact_id=None``; the runner fills it in when the
bundle's contact has been upserted.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from zyntro_async._errors import RequestValidationError
from zyntro_async._serde import converter, unstructure_contact
from zyntro_async.models._contact import Contact, Entity
from zyntro_async.models._requests import (
    CommsEntry,
    ContactWrite,
    LinkInsert,
    NoteWrite,
    check_contact,
    check_entity,
)
from zyntro_async.models._validators import check_id, check_optional_str, check_str
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
    "op_from_import_dict",
]

# Stands in for a bundle child's contact id while validating it at construction.
_PENDING_CONTACT = "pending-contact-id"


def _content_key(kind: str, payload: Mapping[str, Any]) -> str:
    text = json.dumps([kind, payload], sort_keys=True, separators=(",", ":"), default=str)
    return f"{kind}:{hashlib.sha256(text.encode()).hexdigest()[:32]}"


class _Op:
    """What every operation shares: checking its ids, and its key for the journal."""

    __slots__ = ()

    kind: ClassVar[str]
    key: str | None

    def import_dict(self) -> dict[str, Any]:  # pragma: no cover - every operation has one
        raise NotImplementedError

    def stable_key(self) -> str:
        """``key``, or a hash of the content (in the import format)."""
        return self.key or _content_key(self.kind, self.import_dict())

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


def _contact_line(op: UpsertContact | ContactBundle, line: dict[str, Any]) -> dict[str, Any]:
    """Add the contact upsert's own keys to an import line."""
    line["contact"] = unstructure_contact(op.contact)
    if op.entity is not None:
        line["entity"] = converter.unstructure(op.entity, Entity)
    if op.lookup_by != "email":
        line["lookup_by"] = op.lookup_by
    if op.skip_entity:
        line["skip_entity"] = True
    if op.member_id is not None:
        line["member_id"] = op.member_id
    return line


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

    def import_dict(self) -> dict[str, Any]:
        """This operation in the JSONL import format."""
        line = _contact_line(self, {"op": "contact"})
        if self.key is not None:
            line["key"] = self.key
        return line


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

    def import_dict(self) -> dict[str, Any]:
        """This operation in the JSONL import format (child form when in a bundle)."""
        line: dict[str, Any] = {"note": self.note}
        if self.visible:
            line["visible"] = True
        if self.editable:
            line["editable"] = True
        return _with_common(line, self)


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

    def import_dict(self) -> dict[str, Any]:
        """This operation in the JSONL import format."""
        line: dict[str, Any] = {"name": self.name, "url": self.url}
        if self.context is not None:
            line["context"] = self.context
        return _with_common(line, self)


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

    def import_dict(self) -> dict[str, Any]:
        """This operation in the JSONL import format: ``path`` absolute, or inline base64."""
        line: dict[str, Any] = {}
        if isinstance(self.file, str | os.PathLike):
            line["path"] = str(Path(os.fspath(self.file)).resolve())
        elif isinstance(self.file, bytes | bytearray | memoryview):
            line["data_base64"] = base64.b64encode(bytes(self.file)).decode()
        else:
            handle_name = getattr(self.file, "name", None)
            line["path"] = str(Path(handle_name).resolve()) if isinstance(handle_name, str) else ""
        if self.name is not None:
            line["name"] = self.name
        if self.file_type is not None:
            line["file_type"] = self.file_type
        if self.context is not None:
            line["context"] = self.context
        return _with_common(line, self)

    def stable_key(self) -> str:
        """``key``, or a hash of the metadata (for bytes, of the content)."""
        if self.key:
            return self.key
        line = self.import_dict()
        if "data_base64" in line:
            line["data_base64"] = hashlib.sha256(line["data_base64"].encode()).hexdigest()
        return _content_key(self.kind, line)


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

    def import_dict(self) -> dict[str, Any]:
        """This operation in the JSONL import format."""
        line: dict[str, Any] = {
            "comms_type": self.comms_type,
            "data": self.data if isinstance(self.data, str) else dict(self.data),
        }
        for name in ("source", "sentiment", "next_step", "status"):
            value = getattr(self, name)
            if value is not None:
                line[name] = value
        return _with_common(line, self)


ChildOp = AddNote | AddLink | AddFile | LogComms


def _target(own: str | None, given: str | None) -> str:
    contact_id = own if own is not None else given
    if contact_id is None:
        raise RequestValidationError("contact_id", "is required outside a ContactBundle")
    return contact_id


def _with_common(line: dict[str, Any], op: ChildOp) -> dict[str, Any]:
    if op.contact_id is not None:
        line["contact_id"] = op.contact_id
    if op.member_id is not None:
        line["member_id"] = op.member_id
    if op.key is not None:
        line["key"] = op.key
    return line


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

    def import_dict(self, *, only_children: Sequence[int] | None = None) -> dict[str, Any]:
        """This bundle in the JSONL import format.

        Args:
            only_children: positions (in :attr:`children` order) to keep; all when None.
        """
        line = _contact_line(self, {} if self.key is None else {"key": self.key})
        keep = set(range(len(self.children)) if only_children is None else only_children)
        groups: dict[str, list[dict[str, Any]]] = {"notes": [], "attachments": [], "comms": []}
        for position, child in enumerate(self.children):
            if position in keep:
                groups[self.child_label(position).split("/")[0]].append(child.import_dict())
        line.update({name: items for name, items in groups.items() if items})
        return line


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

    def import_dict(self) -> dict[str, Any]:
        """The raw row, when it was a JSON object; otherwise a wrapper holding it."""
        if isinstance(self.raw, Mapping):
            return dict(self.raw)
        return {"raw": self.raw, "source": self.source}

    def stable_key(self) -> str:
        """``key``, or a hash of where it came from and what it was."""
        return self.key or _content_key(self.kind, {"source": self.source, "raw": self.raw})


Operation = UpsertContact | AddNote | AddLink | AddFile | LogComms | ContactBundle | InvalidItem

OPERATION_TYPES = (UpsertContact, AddNote, AddLink, AddFile, LogComms, ContactBundle, InvalidItem)


def _opt_str(line: Mapping[str, Any], name: str, field: str) -> str | None:
    value = line.get(name)
    check_optional_str(field, value)
    return value


def op_from_import_dict(line: Mapping[str, Any], *, base_dir: Path | None = None) -> Operation:
    """Build an operation from one JSONL import line (what ``export`` writes).

    Lines without ``"op"`` are bundles (``contact``, ``entity``, ``notes``, ``attachments``,
    ``comms``); ``"op": "contact" | "note" | "link" | "file" | "comms"`` are single
    operations. Attachment ``path`` is relative to ``base_dir``.

    Raises:
        RequestValidationError: naming the field that is wrong.
    """
    from zyntro_async.bulk._convert import op_from_line

    return op_from_line(line, base_dir=base_dir)
