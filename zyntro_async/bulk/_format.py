"""The import format: JSONL lines (and CSV rows, as dicts) ⇄ bulk operations ⇄ export lines.

One line of the import format (see DESIGN.md, "Command line") is one operation:

- a **bundle** (no ``"op"`` key): ``contact`` and ``entity`` in the API's camelCase,
  ``notes``, ``attachments`` and ``comms`` lists whose entries use the operations' field
  names, and optional ``key``, ``lookup_by``, ``skip_entity`` and ``member_id``;
- a **single operation**: ``"op": "contact" | "note" | "link" | "file" | "comms"`` with that
  operation's fields (``contact_id`` is required for all but ``contact``). A lone note, link,
  file or comms line may leave ``"op"`` out: its fields say what it is.

An attachment with ``url`` is a link; one with ``path`` (relative to ``base_dir``) or
``data_base64`` is a file. :func:`line_from_op` writes the same format back (what
``report.export`` writes), so an exported line can be fixed and imported again; the
``"error"`` key export adds is ignored when reading.

Reading is two steps. A dedicated cattrs converter checks each object's *shape*: the keys it
may have (``forbid_extra_keys``), the ones it must have, and the camelCase names of the
contact's keys (``override(rename=...)``); its errors become paths with
:func:`cattrs.transform_error`. The operations and models then check the *values*, by
being built: they are the one definition of what is valid. Every problem of a line is
collected, across the contact, the entity and every child, and raised together as one
:class:`~zyntro_async._errors.ImportLineError` whose ``problems`` are ``(path, message)``
pairs, the path as the line names it: ``contact.primaryEmail``, ``attachments[1].path``,
``notes[0].visible``, ``lookup_by``.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from zyntro_async._errors import ImportLineError, RequestValidationError
from zyntro_async._serde import converter as wire_converter
from zyntro_async._serde import unstructure_contact
from zyntro_async.bulk._ops import (
    AddFile,
    AddLink,
    AddNote,
    ChildOp,
    ContactBundle,
    InvalidItem,
    LogComms,
    Operation,
    UpsertContact,
)
from zyntro_async.models._contact import CONTACT_WIRE_NAMES, ENTITY_WIRE_NAMES, Contact, Entity
from zyntro_async.models._validators import check_str, shown

__all__ = [
    "CONTACT_KEYS",
    "ENTITY_KEYS",
    "OP_KINDS",
    "item_from_line",
    "line_from_op",
    "op_from_line",
]

CONTACT_KEYS: Mapping[str, str] = {wire: attr for attr, wire in CONTACT_WIRE_NAMES.items()}
"""Contact keys of the import format (camelCase) -> :class:`Contact` attribute."""

ENTITY_KEYS: Mapping[str, str] = {wire: attr for attr, wire in ENTITY_WIRE_NAMES.items()}
"""Entity keys of the import format -> :class:`Entity` attribute."""

OP_KINDS = ("contact", "note", "link", "file", "comms")
"""Values of ``"op"`` for single-operation lines."""

_CHILD_CLASSES: Mapping[str, type[ChildOp]] = {
    "note": AddNote,
    "link": AddLink,
    "file": AddFile,
    "comms": LogComms,
}
# The key ``report.export`` adds to every line; never part of the operation.
_ERROR_KEY = "error"
# Item outcomes. Export writes the outcome inside "error"; a top-level "status" with one of
# these values is an outcome too, except that a comms line's own status (pending,
# processed) never takes them.
_RESULT_STATUSES = frozenset({"succeeded", "failed", "unknown", "skipped"})

T = TypeVar("T")
Problems = list[tuple[str, str]]


# ------------------------------------------------------------------------ the shapes

# Checks keys only: values are passed through as given, for the models to check.
_shape_converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)


@attrs.frozen
class _Shape:
    """One kind of object in a line: the keys it may and must have, and how to read it."""

    record: type[Any]
    structure: Callable[[Mapping[str, Any], type[Any]], Any]
    names: Mapping[str, str]  # key in the line -> attribute
    expected: str  # the allowed keys, for messages

    def read(self, value: Mapping[str, Any], at: str, problems: Problems) -> dict[str, Any] | None:
        """The object's fields by attribute name (absent keys left out), or None."""
        try:
            self.structure(value, self.record)  # a check: values pass through unchanged
        except cattrs.BaseValidationError as exc:  # holds every key problem of the object
            problems.extend(_shape_problems(exc, at))
            return None
        names = self.names
        return {names[key]: item for key, item in value.items() if key in names}


def _shape(
    name: str,
    fields_of: type[Any],
    *,
    drop: Collection[str] = (),
    add: Collection[str] = (),
    rename: Mapping[str, str] | None = None,
    forbid_extra_keys: bool = True,
) -> _Shape:
    """The shape of an object whose keys are ``fields_of``'s constructor arguments.

    Derived from the operation or model class, so a field is defined once: in that class.
    Required arguments are required keys; the others (and ``add``) are optional.
    """
    required = [
        a.name
        for a in attrs.fields(fields_of)
        if a.init and a.default is attrs.NOTHING and a.name not in drop
    ]
    optional = [
        a.name
        for a in attrs.fields(fields_of)
        if a.init and a.default is not attrs.NOTHING and a.name not in drop
    ]
    # Typed Any: cattrs passes the values through as given, for the models to check.
    spec = {n: attrs.field(type=Any, kw_only=True) for n in required}
    spec.update({n: attrs.field(type=Any, kw_only=True, default=None) for n in [*optional, *add]})
    record = attrs.make_class(name, spec, frozen=True, slots=True)
    renames = {attr: override(rename=key) for attr, key in (rename or {}).items()}
    structure: Callable[[Mapping[str, Any], type[Any]], Any] = make_dict_structure_fn(
        record,
        _shape_converter,
        _cattrs_forbid_extra_keys=forbid_extra_keys,
        **renames,  # type: ignore[arg-type]  # cattrs types **overrides loosely
    )
    keys = sorted((rename or {}).get(n, n) for n in spec if n not in ("contact_id", "op"))
    names = {(rename or {}).get(attr, attr): attr for attr in spec}
    return _Shape(record, structure, names, ", ".join(keys))


_BUNDLE = _shape("BundleLine", ContactBundle)
_CONTACT_OP = _shape("ContactLine", UpsertContact, add=["op"])
# contact_id is required on a single-operation line, and refused in a bundle: both checked
# by the reader, with messages that say so.
_CHILD_SHAPES: Mapping[str, _Shape] = {
    "note": _shape("NoteLine", AddNote, drop=["contact_id"], add=["op", "contact_id"]),
    "link": _shape("LinkLine", AddLink, drop=["contact_id"], add=["op", "contact_id"]),
    "file": _shape(
        "FileLine",
        AddFile,
        drop=["contact_id", "file"],
        add=["op", "contact_id", "path", "data_base64"],
    ),
    "comms": _shape("CommsLine", LogComms, drop=["contact_id"], add=["op", "contact_id"]),
}
_CONTACT = _shape(
    "ContactFields",
    Contact,
    drop=["extra"],
    rename=CONTACT_WIRE_NAMES,
    forbid_extra_keys=False,  # other keys are sent as given (Contact.extra)
)
_ENTITY = _shape("EntityFields", Entity, drop=["extra"], forbid_extra_keys=False)
_EXPECTED = {
    shape.record: shape.expected for shape in (_BUNDLE, _CONTACT_OP, *_CHILD_SHAPES.values())
}


def _shape_problems(error: BaseException, at: str) -> Problems:
    """Every key problem in a cattrs error, with its path in the line."""
    seen: list[BaseException] = []

    def remember(exc: BaseException, _type: object) -> str:
        seen.append(exc)
        return str(len(seen) - 1)

    problems: Problems = []
    for entry in cattrs.transform_error(error, path=at, format_exception=remember):
        index, _, where = entry.partition(" @ ")
        where = where.lstrip(".")
        exc = seen[int(index)]
        if isinstance(exc, cattrs.ForbiddenExtraKeysError):
            expected = _EXPECTED.get(exc.cl, "")
            problems.extend(_unknown_key(where, key, expected) for key in sorted(exc.extra_fields))
        elif isinstance(exc, KeyError):
            problems.append((where, "is required"))
        else:  # pragma: no cover - records take any value; kept so nothing is lost
            problems.append((where or "line", f"cannot be used: {exc}"))
    return problems


def _unknown_key(at: str, key: str, expected: str) -> tuple[str, str]:
    if key.strip() and key.isprintable():
        return _join(at, key), f"is not a known key here (expected: {expected})"
    # An empty key, or one that would not show as itself (line breaks, escape codes, lone
    # surrogates) cannot name the field: the object names it, and the key is shown quoted.
    return at or "line", f"has an unknown key {shown(key)} (expected: {expected})"


# -------------------------------------------------------------------------- reading


def op_from_line(line: Mapping[str, Any], *, base_dir: Path | None = None) -> Operation:
    """Build the operation one import line describes.

    Args:
        line: The parsed JSON object (or a CSV row already put in this format).
        base_dir: Directory that relative attachment ``path`` values are relative to
            (the input file's directory); the current directory when ``None``.

    Returns:
        A :class:`~zyntro_async.bulk.ContactBundle` for bundle lines, otherwise the single
        operation (:class:`~zyntro_async.bulk.UpsertContact`, ``AddNote``, ``AddLink``,
        ``AddFile`` or ``LogComms``).

    Raises:
        ImportLineError: Anything wrong with the line (a ``RequestValidationError``): its
            ``problems`` list every ``(path, message)`` found, e.g.
            ``("attachments[1].path", "cannot read ...")``; ``field`` is the first path.
    """
    if not isinstance(line, Mapping):
        raise ImportLineError([("line", f"must be a JSON object, got {_kind(line)}")])
    reader = _LineReader(base_dir)
    op = reader.line(line)
    if reader.problems or op is None:
        raise ImportLineError(reader.problems or [("line", "cannot be used")])
    return op


def item_from_line(line: Any, *, base_dir: Path | None, source: str | None) -> Operation:
    """What a reader yields for one line: its operation, or an ``InvalidItem`` saying why not.

    Args:
        line: The parsed line (a CSV row already in the import format).
        base_dir: The input file's directory (see :func:`op_from_line`).
        source: Where the line came from, e.g. ``"contacts.jsonl:17"``.

    Returns:
        The operation; or an :class:`~zyntro_async.bulk.InvalidItem` carrying the
        :class:`~zyntro_async._errors.ImportLineError` and the line, whose relative file
        paths are made absolute (so the export, written anywhere, still finds them).
    """
    try:
        return op_from_line(line, base_dir=base_dir)
    except RequestValidationError as exc:
        raw = line
        if isinstance(line, Mapping) and base_dir is not None:
            raw = _with_paths(line, lambda path: _absolute(path, base_dir))
        return InvalidItem(exc, source=source, raw=raw)


class _LineReader:
    """Reads one line, collecting every problem instead of stopping at the first."""

    def __init__(self, base_dir: Path | None) -> None:
        self.base_dir = base_dir
        self.problems: Problems = []

    def line(self, line: Mapping[str, Any]) -> Operation | None:
        fields = {name: value for name, value in line.items() if name != _ERROR_KEY}
        op = fields.get("op")
        if op is None:
            if "contact" in fields:
                return self.bundle(_without_outcome(fields))
            if "raw" in fields and "source" in fields:
                # What export writes for a line that was not a JSON object at all.
                where = fields.get("source")
                self.problems.append(
                    (
                        "raw",
                        f"this line could not be read{f' at {where}' if where else ''}; "
                        "replace it with the corrected JSON object",
                    )
                )
                return None
            kind = _child_kind(fields)
            if kind is None:
                self.problems.append(
                    ("contact", 'is required (a bundle line), or give "op": ' + _kinds())
                )
                return None
            return self.single(kind, fields)
        if not isinstance(op, str) or op not in OP_KINDS:
            self.problems.append(("op", f"must be one of: {', '.join(OP_KINDS)}; got {shown(op)}"))
            return None
        return self.single(op, fields)

    # ------------------------------------------------------------------ whole lines

    def bundle(self, line: Mapping[str, Any]) -> ContactBundle | None:
        top = _BUNDLE.read(line, "", self.problems)
        contact = self.contact(line.get("contact"), line.get("lookup_by", "email"))
        entity = self.entity(line.get("entity"))
        member_id = line.get("member_id")
        notes = self.children("notes", line, member_id, lambda _at, _fields: "note")
        attachments = self.children("attachments", line, member_id, self.attachment_kind)
        comms = self.children("comms", line, member_id, lambda _at, _fields: "comms")
        if top is None or contact is None or self.problems:
            return None
        top.update(contact=contact, entity=entity, notes=notes, attachments=attachments)
        return self.build("", ContactBundle, top | {"comms": comms})

    def single(self, kind: str, line: Mapping[str, Any]) -> Operation | None:
        if kind == "contact":
            fields = _CONTACT_OP.read(_without_outcome(line), "", self.problems)
            contact = self.contact(line.get("contact"), line.get("lookup_by", "email"))
            entity = self.entity(line.get("entity"))
            if fields is None or contact is None or self.problems:
                return None
            fields.pop("op", None)
            return self.build("", UpsertContact, fields | {"contact": contact, "entity": entity})
        status = line.get("status")
        if kind != "comms" or (isinstance(status, str) and status in _RESULT_STATUSES):
            line = _without_outcome(line)
        if line.get("contact_id") is None:
            self.problems.append(
                ("contact_id", f'is required on an "op": "{kind}" line (or put it in a bundle)')
            )
        op: Operation | None = self.child(kind, line, "")
        return op

    # ----------------------------------------------------------- contact and entity

    def contact(self, value: object, lookup_by: object) -> Contact | None:
        if value is None:
            self.problems.append(("contact", "is required"))
            return None
        if not isinstance(value, Mapping):
            self.problems.append(("contact", f"must be a JSON object, got {_kind(value)}"))
            return None
        misnamed = [
            (f"contact.{name}", f"use the API's name {CONTACT_WIRE_NAMES[name]!r}")
            for name in value
            if name in CONTACT_WIRE_NAMES and name not in CONTACT_KEYS
        ]
        self.problems.extend(misnamed)
        fields = _CONTACT.read(value, "contact", self.problems)
        if fields is None or misnamed:
            return None
        extra = {name: item for name, item in value.items() if name not in CONTACT_KEYS}
        contact = self.build("", Contact, fields | {"extra": extra or None})
        if contact is None:
            return None
        # The model's own message names the attribute; this one says what to do in the file.
        if lookup_by == "email" and not contact.primary_email:
            self.problems.append(
                (
                    "contact.primaryEmail",
                    'is required: contacts are matched by e-mail (or set "lookup_by": "phone")',
                )
            )
        elif lookup_by == "phone" and not contact.primary_phone:
            self.problems.append(("contact.primaryPhone", 'is required with "lookup_by": "phone"'))
        return contact

    def entity(self, value: object) -> Entity | None:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            self.problems.append(("entity", f"must be a JSON object, got {_kind(value)}"))
            return None
        fields = _ENTITY.read(value, "entity", self.problems)
        if fields is None:
            return None
        extra = {name: item for name, item in value.items() if name not in ENTITY_KEYS}
        return self.build("", Entity, fields | {"extra": extra or None})

    # --------------------------------------------------------------------- children

    def children(
        self,
        group: str,
        line: Mapping[str, Any],
        member_id: object,
        kind_of: Callable[[str, Mapping[str, Any]], str | None],
    ) -> list[Any]:
        value = line.get(group)
        if value is None:
            return []
        if not isinstance(value, list):
            self.problems.append((group, f"must be a list, got {_kind(value)}"))
            return []
        built = []
        for position, child in enumerate(value):
            at = f"{group}[{position}]"
            if not isinstance(child, Mapping):
                self.problems.append((at, f"must be a JSON object, got {_kind(child)}"))
                continue
            fields = dict(child)
            for name, why in (
                ("contact_id", "is not allowed in a bundle: the bundle's contact provides it"),
                ("op", "is not allowed inside a bundle"),
            ):
                if name in fields:
                    self.problems.append((f"{at}.{name}", why))
                    del fields[name]
            kind = kind_of(at, fields)
            if kind is None:
                continue
            # A child acts as the bundle's member unless it says otherwise ("member_id":
            # null is the API key's owner, as for a child built with member_id=None).
            if "member_id" not in fields and member_id is not None:
                fields["member_id"] = member_id
            built.append(self.child(kind, fields, at))
        return built

    def attachment_kind(self, at: str, fields: Mapping[str, Any]) -> str | None:
        sources = [name for name in ("url", "path", "data_base64") if name in fields]
        if not sources:
            self.problems.append(
                (at, "needs url (a link), path (a file) or data_base64 (a file's content)")
            )
            return None
        if len(sources) > 1:
            self.problems.append(
                (
                    f"{at}.{sources[1]}",
                    f"give only one of url, path or data_base64 (also has {sources[0]})",
                )
            )
            return None
        return "link" if sources[0] == "url" else "file"

    def child(self, kind: str, line: Mapping[str, Any], at: str) -> Any:
        fields = _CHILD_SHAPES[kind].read(line, at, self.problems)
        if fields is None:
            return None
        fields.pop("op", None)
        fields.setdefault("contact_id", None)
        renames: dict[str, str] = {}
        if kind == "file":
            source = "data_base64" if "data_base64" in fields else "path"
            renames["file"] = source
            file = self.file_source(fields, _join(at, source))
            if file is None:
                return None
            fields["file"] = file
        return self.build(at, _CHILD_CLASSES[kind], fields, renames)

    def file_source(self, fields: dict[str, Any], at: str) -> Path | bytes | None:
        if "path" in fields and "data_base64" in fields:
            self.problems.append((at, "give either path or data_base64"))
            return None
        if "data_base64" in fields:
            return self.catch(_decode_base64, at, fields.pop("data_base64"))
        if "path" not in fields:
            self.problems.append((at, "is required"))
            return None
        return self.catch(_resolve_path, at, fields.pop("path"), self.base_dir)

    # --------------------------------------------------------------------- helpers

    def build(
        self,
        at: str,
        cls: Callable[..., T],
        fields: Mapping[str, Any],
        renames: Mapping[str, str] | None = None,
    ) -> T | None:
        """``cls(**fields)``; a validation error becomes a problem at its path in the line."""
        try:
            return cls(**fields)
        except RequestValidationError as exc:
            self.problems.append((_join(at, _line_path(exc.field, renames)), exc.message))
            return None

    def catch(self, read: Callable[..., T], at: str, *args: Any) -> T | None:
        """``read(*args)``; a :class:`_Invalid` becomes a problem at ``at``."""
        try:
            return read(*args)
        except _Invalid as exc:
            self.problems.append((at, str(exc)))
            return None


class _Invalid(ValueError):
    """A value of the line that cannot be used (its message says why)."""


def _without_outcome(line: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in line.items() if name != "status"}


def _child_kind(line: Mapping[str, Any]) -> str | None:
    # A lone note/link/file/comms line without "op": its fields say what it is.
    if "note" in line:
        return "note"
    if "comms_type" in line:
        return "comms"
    if "url" in line:
        return "link"
    if "path" in line or "data_base64" in line:
        return "file"
    return None


def _kinds() -> str:
    return "one of " + ", ".join(OP_KINDS)


# The models name fields by attribute (contact.primary_email, contact.extra.x); the line
# uses the API's names (contact.primaryEmail, contact.x).
_MODEL_PATHS: Mapping[str, str] = {
    **{f"contact.{attr}": f"contact.{wire}" for attr, wire in CONTACT_WIRE_NAMES.items()},
    "contact.extra": "contact",
    "entity.extra": "entity",
}


def _line_path(field: str, renames: Mapping[str, str] | None) -> str:
    for old, new in (*(renames or {}).items(), *_MODEL_PATHS.items()):
        if field == old or field.startswith((old + ".", old + "[")):
            return new + field[len(old) :]
    return field


def _join(at: str, name: str) -> str:
    return f"{at}.{name}" if at else name


def _decode_base64(value: object) -> bytes:
    if not isinstance(value, str):
        raise _Invalid(f"must be a base64 string, got {_kind(value)}")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _Invalid(f"is not valid base64: {exc}") from exc


def _resolve_path(value: object, base_dir: Path | None) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise _Invalid(f"must be a non-empty string, got {_kind(value)}")
    try:
        check_str("path", value)  # no lone surrogates: they would reach messages, the terminal
    except RequestValidationError as exc:
        raise _Invalid(exc.message) from None
    path = _expanded(value)
    if path is None:
        home = value.replace("\\", "/").split("/", 1)[0]
        raise _Invalid(f"starts with {shown(home)}, a home directory that cannot be found")
    return base_dir / path if base_dir is not None and not path.is_absolute() else path


def _expanded(value: str) -> Path | None:
    """``value`` with ``~`` expanded; ``None`` for a home directory that cannot be found."""
    try:
        return Path(value).expanduser()
    except (RuntimeError, ValueError):
        # "~name/..." for a user this machine does not know (RuntimeError), or whose name
        # holds a NUL byte (ValueError).
        return None


def _kind(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)


# --------------------------------------------------------------------------- writing

_WRITERS = {
    cls: make_dict_unstructure_fn(
        cls,
        _shape_converter,
        _cattrs_omit_if_default=True,  # defaults (False, None, "email") are left out
        contact_id=override(omit=True),
        **({"file": override(omit=True)} if cls is AddFile else {}),  # type: ignore[arg-type]
    )
    for cls in _CHILD_CLASSES.values()
}


def line_from_op(
    op: Operation,
    *,
    relative_to: str | os.PathLike[str] | None = None,
    only_children: Collection[int] | None = None,
) -> dict[str, Any]:
    """Write an operation as a line of the import format (what :func:`op_from_line` reads).

    Args:
        op: The operation. An :class:`~zyntro_async.bulk.InvalidItem` is written as the
            line it was read from, or ``{"raw": ..., "source": ...}`` when that was not
            a JSON object.
        relative_to: The directory of the file the line is written to. File paths under it
            are written relative to it, the others absolute, so they resolve from the
            written file wherever it is read. ``None``: every path absolute.
        only_children: For a bundle, the positions (in ``ContactBundle.children`` order)
            to write; all when ``None``.

    Returns:
        The line, ready for ``json.dumps``. Files given as bytes are written inline as
        ``data_base64``; a file object as the path it was opened from (its ``name``).
    """
    folder = Path(relative_to).resolve() if relative_to is not None else None
    if isinstance(op, InvalidItem):
        if not isinstance(op.raw, Mapping):
            return {"raw": op.raw, "source": op.source}
        if folder is None:
            return dict(op.raw)
        # Readers made its paths absolute; others are left as they are (their base unknown).
        return _with_paths(
            op.raw, lambda path: _written_path(path, folder) if Path(path).is_absolute() else path
        )
    if isinstance(op, ContactBundle):
        line = _contact_fields(op)
        keep = set(range(len(op.children)) if only_children is None else only_children)
        for position, child in enumerate(op.children):
            if position in keep:
                fields = _child_fields(child, folder)
                if child.member_id is None and op.member_id is not None:
                    fields["member_id"] = None  # not the bundle's member: the key's owner
                group = op.child_label(position).split("/")[0]
                line.setdefault(group, []).append(fields)
        return line
    if isinstance(op, UpsertContact):
        return {"op": "contact", **_contact_fields(op)}
    line = {"op": op.kind}
    if op.contact_id is not None:
        line["contact_id"] = op.contact_id
    return line | _child_fields(op, folder)


def _contact_fields(op: UpsertContact | ContactBundle) -> dict[str, Any]:
    line: dict[str, Any] = {} if op.key is None else {"key": op.key}
    line["contact"] = unstructure_contact(op.contact)
    if op.entity is not None:
        line["entity"] = wire_converter.unstructure(op.entity, Entity)
    if op.lookup_by != "email":
        line["lookup_by"] = op.lookup_by
    if op.skip_entity:
        line["skip_entity"] = True
    if op.member_id is not None:
        line["member_id"] = op.member_id
    return line


def _child_fields(op: ChildOp, folder: Path | None) -> dict[str, Any]:
    fields: dict[str, Any] = _WRITERS[type(op)](op)
    if isinstance(op, LogComms) and isinstance(op.data, Mapping):
        fields["data"] = dict(op.data)
    if not isinstance(op, AddFile):
        return fields
    file = op.file
    if isinstance(file, bytes | bytearray | memoryview):
        return {"data_base64": base64.b64encode(bytes(file)).decode(), **fields}
    if not isinstance(file, str | os.PathLike):
        file = getattr(file, "name", None)  # a file object: the path it was opened from
    path = os.fspath(file) if isinstance(file, str | os.PathLike) else ""
    return {"path": _written_path(path, folder) if path else "", **fields}


def _written_path(value: str, folder: Path | None) -> str:
    """A file path as an exported line holds it: under ``folder`` relative, else absolute."""
    path = _expanded(value)
    if path is None:
        return value  # "~nosuchuser/...": left as given, reading it names the problem
    try:
        path = path.resolve()
    except (OSError, ValueError):
        return value  # a NUL byte, a symlink loop: left as given, for the same reason
    if folder is not None and path.is_relative_to(folder):
        return str(path.relative_to(folder))
    return str(path)


def _absolute(value: str, base_dir: Path) -> str:
    path = _expanded(value)
    if path is None or path.is_absolute():
        return value
    return str(base_dir / path)


def _with_paths(line: Mapping[str, Any], change: Callable[[str], str]) -> dict[str, Any]:
    """A copy of ``line`` whose file paths (its own, or its attachments') went through ``change``.

    Used on lines that could not be read, so only well-formed paths are touched.
    """

    def changed(item: Mapping[str, Any]) -> dict[str, Any]:
        path = item.get("path")
        return {**item, "path": change(path)} if isinstance(path, str) and path else dict(item)

    if "contact" not in line:
        return changed(line)  # a single operation's line
    copy = dict(line)
    if isinstance(copy.get("attachments"), list):
        copy["attachments"] = [
            changed(item) if isinstance(item, Mapping) else item for item in copy["attachments"]
        ]
    return copy
