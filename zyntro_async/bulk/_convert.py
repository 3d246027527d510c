"""JSONL import lines -> bulk operations.

One line of the import format (see DESIGN.md, "Command line") becomes one operation:

- a **bundle** (no ``"op"`` key): ``contact`` and ``entity`` in the API's camelCase,
  ``notes``, ``attachments`` and ``comms`` lists whose entries use the operations' field
  names, and optional ``key``, ``lookup_by``, ``skip_entity`` and ``member_id``;
- a **single operation**: ``"op": "contact" | "note" | "link" | "file" | "comms"`` with that
  operation's fields (``contact_id`` is required for all but ``contact``).

This is exactly what the operations' ``import_dict()`` methods write, so a file written by
``report.export()`` can be fixed and imported again. The ``"error"`` key export adds (and
the top-level ``"status"`` older exports added) is ignored. A line exported for a lone
child operation (which carries no ``"op"``) is recognised by its fields.

Every problem is a :class:`~zyntro_async.RequestValidationError` whose ``field`` is the path
in the line (``attachments[1].path``, ``contact.primaryEmail``), never ``TypeError`` or
``KeyError``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from zyntro_async._errors import RequestValidationError
from zyntro_async.bulk._ops import (
    AddFile,
    AddLink,
    AddNote,
    ContactBundle,
    LogComms,
    Operation,
    UpsertContact,
)
from zyntro_async.models._contact import CONTACT_WIRE_NAMES, ENTITY_WIRE_NAMES, Contact, Entity
from zyntro_async.models._validators import check_str, shown

__all__ = ["CONTACT_KEYS", "ENTITY_KEYS", "OP_KINDS", "op_from_line"]

CONTACT_KEYS: Mapping[str, str] = {wire: attr for attr, wire in CONTACT_WIRE_NAMES.items()}
"""Contact keys of the import format (camelCase) -> :class:`Contact` attribute."""

ENTITY_KEYS: Mapping[str, str] = {wire: attr for attr, wire in ENTITY_WIRE_NAMES.items()}
"""Entity keys of the import format -> :class:`Entity` attribute."""

T = TypeVar("T")

OP_KINDS = ("contact", "note", "link", "file", "comms")
"""Values of ``"op"`` for single-operation lines."""

# Keys ``report.export`` adds to a line (``error``; earlier versions also wrote the item's
# outcome as a top-level ``status``); never part of the operation.
_EXPORT_KEYS = frozenset({"status", "error"})
# Item outcomes. A comms line's own ``status`` (pending, processed) never takes these
# values, so a top-level one on a comms line is an outcome from an older export.
_RESULT_STATUSES = frozenset({"succeeded", "failed", "unknown", "skipped"})

_COMMON_CHILD_KEYS = frozenset({"member_id", "key"})
_NOTE_KEYS = frozenset({"note", "visible", "editable"}) | _COMMON_CHILD_KEYS
_LINK_KEYS = frozenset({"name", "url", "context"}) | _COMMON_CHILD_KEYS
_FILE_KEYS = frozenset({"path", "data_base64", "name", "file_type", "context"}) | _COMMON_CHILD_KEYS
_COMMS_KEYS = (
    frozenset({"comms_type", "data", "source", "sentiment", "next_step", "status"})
    | _COMMON_CHILD_KEYS
)
_BUNDLE_KEYS = frozenset(
    {"key", "contact", "entity", "notes", "attachments", "comms"}
    | {"lookup_by", "skip_entity", "member_id"}
)
_CONTACT_OP_KEYS = frozenset({"op", "key", "contact", "entity", "lookup_by", "skip_entity"}) | {
    "member_id"
}


def op_from_line(line: Mapping[str, Any], *, base_dir: Path | None = None) -> Operation:
    """Build the operation one JSONL import line describes.

    Args:
        line: The parsed JSON object.
        base_dir: Directory that relative attachment ``path`` values are relative to
            (the JSONL file's directory); the current directory when ``None``.

    Returns:
        A :class:`~zyntro_async.bulk.ContactBundle` for bundle lines, otherwise the single
        operation (:class:`~zyntro_async.bulk.UpsertContact`, ``AddNote``, ``AddLink``,
        ``AddFile`` or ``LogComms``).

    Raises:
        RequestValidationError: Anything wrong with the line; ``field`` is its path in the
            line, e.g. ``attachments[1].path`` or ``contact.primaryEmail``.
    """
    if not isinstance(line, Mapping):
        raise RequestValidationError("line", f"must be a JSON object, got {_kind(line)}")
    try:
        return _op_from_mapping(line, base_dir)
    except RequestValidationError:
        raise
    except (TypeError, KeyError, AttributeError, ValueError) as exc:  # pragma: no cover
        # A safety net: the checks above should catch every malformed value first.
        raise RequestValidationError("line", f"cannot be used: {exc}") from exc


def _op_from_mapping(line: Mapping[str, Any], base_dir: Path | None) -> Operation:
    op = line.get("op")
    if op is None:
        if "contact" in line:
            return _bundle(line, base_dir)
        if "raw" in line and "source" in line:
            # What export writes for a line that was not a JSON object at all.
            where = line.get("source")
            raise RequestValidationError(
                "raw",
                f"this line could not be read{f' at {where}' if where else ''}; replace it "
                "with the corrected JSON object",
            )
        inferred = _infer_child_kind(line)
        if inferred is None:
            raise RequestValidationError(
                "contact",
                'is required (a bundle line), or give "op": one of ' + ", ".join(OP_KINDS),
            )
        return _single(inferred, line, base_dir)
    if not isinstance(op, str) or op not in OP_KINDS:
        raise RequestValidationError(
            "op", f"must be one of: {', '.join(OP_KINDS)}; got {shown(op)}"
        )
    return _single(op, line, base_dir)


def _infer_child_kind(line: Mapping[str, Any]) -> str | None:
    # ``import_dict()`` of a lone note/link/file/comms writes its fields without "op".
    if "note" in line:
        return "note"
    if "comms_type" in line:
        return "comms"
    if "url" in line:
        return "link"
    if "path" in line or "data_base64" in line:
        return "file"
    return None


# ---------------------------------------------------------------------------- bundles


def _bundle(line: Mapping[str, Any], base_dir: Path | None) -> ContactBundle:
    _reject_unknown("", line, _BUNDLE_KEYS | _EXPORT_KEYS)
    member_id = line.get("member_id")
    contact = _contact(line.get("contact"))
    _require_lookup_value(line, contact)
    entity = _entity(line.get("entity"))
    notes = [
        _nested("notes", i, _note, child, base_dir=base_dir, bundle_member=member_id)
        for i, child in enumerate(_list(line, "notes"))
    ]
    attachments = [
        _nested("attachments", i, _attachment, child, base_dir=base_dir, bundle_member=member_id)
        for i, child in enumerate(_list(line, "attachments"))
    ]
    comms = [
        _nested("comms", i, _comms, child, base_dir=base_dir, bundle_member=member_id)
        for i, child in enumerate(_list(line, "comms"))
    ]
    return _build(
        "",
        ContactBundle,
        rename=_CONTACT_FIELD_PATHS,
        contact=contact,
        entity=entity,
        notes=notes,
        attachments=attachments,
        comms=comms,
        key=line.get("key"),
        lookup_by=line.get("lookup_by", "email"),
        skip_entity=line.get("skip_entity", False),
        member_id=member_id,
    )


def _nested(
    group: str,
    position: int,
    build: Callable[[Mapping[str, Any], Path | None, str], Any],
    child: object,
    *,
    base_dir: Path | None,
    bundle_member: object,
) -> Any:
    prefix = f"{group}[{position}]"
    if not isinstance(child, Mapping):
        raise RequestValidationError(prefix, f"must be a JSON object, got {_kind(child)}")
    if "contact_id" in child:
        raise RequestValidationError(
            f"{prefix}.contact_id", "is not allowed in a bundle: the bundle's contact provides it"
        )
    if "op" in child:
        raise RequestValidationError(f"{prefix}.op", "is not allowed inside a bundle")
    fields = dict(child)
    # A child acts as the bundle's member unless it names its own.
    if fields.get("member_id") is None and bundle_member is not None:
        fields["member_id"] = bundle_member
    fields["contact_id"] = None
    return build(fields, base_dir, prefix + ".")


def _list(line: Mapping[str, Any], name: str) -> Sequence[Any]:
    value = line.get(name)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise RequestValidationError(name, f"must be a list, got {_kind(value)}")
    return value


# ---------------------------------------------------------------------- single operations


def _single(kind: str, line: Mapping[str, Any], base_dir: Path | None) -> Operation:
    if kind == "contact":
        _reject_unknown("", line, _CONTACT_OP_KEYS | _EXPORT_KEYS)
        contact = _contact(line.get("contact"))
        _require_lookup_value(line, contact)
        return _build(
            "",
            UpsertContact,
            rename=_CONTACT_FIELD_PATHS,
            contact=contact,
            entity=_entity(line.get("entity")),
            lookup_by=line.get("lookup_by", "email"),
            skip_entity=line.get("skip_entity", False),
            member_id=line.get("member_id"),
            key=line.get("key"),
        )
    fields = {
        name: value for name, value in line.items() if name not in ("op", "error", "contact_id")
    }
    if kind == "comms":
        if fields.get("status") in _RESULT_STATUSES:
            del fields["status"]
    else:
        fields.pop("status", None)
    contact_id = line.get("contact_id")
    if contact_id is None:
        raise RequestValidationError(
            "contact_id", f'is required on an "op": "{kind}" line (or put it in a bundle)'
        )
    fields["contact_id"] = contact_id
    builders: dict[str, Callable[[Mapping[str, Any], Path | None, str], Any]] = {
        "note": _note,
        "link": _link,
        "file": _file,
        "comms": _comms,
    }
    result: Operation = builders[kind](fields, base_dir, "")
    return result


# ------------------------------------------------------------------------- children


def _note(fields: Mapping[str, Any], base_dir: Path | None, prefix: str) -> AddNote:
    del base_dir
    _reject_unknown(prefix, fields, _NOTE_KEYS | {"contact_id"})
    _require(prefix, fields, "note")
    return _build(
        prefix,
        AddNote,
        contact_id=fields.get("contact_id"),
        note=fields["note"],
        visible=fields.get("visible"),
        editable=fields.get("editable"),
        member_id=fields.get("member_id"),
        key=fields.get("key"),
    )


def _attachment(fields: Mapping[str, Any], base_dir: Path | None, prefix: str) -> AddLink | AddFile:
    sources = [name for name in ("url", "path", "data_base64") if name in fields]
    if not sources:
        raise RequestValidationError(
            prefix.rstrip(".") or "attachment",
            "needs url (a link), path (a file) or data_base64 (a file's content)",
        )
    if len(sources) > 1:
        raise RequestValidationError(
            f"{prefix}{sources[1]}",
            f"give only one of url, path or data_base64 (also has {sources[0]})",
        )
    if sources[0] == "url":
        return _link(fields, base_dir, prefix)
    return _file(fields, base_dir, prefix)


def _link(fields: Mapping[str, Any], base_dir: Path | None, prefix: str) -> AddLink:
    del base_dir
    _reject_unknown(prefix, fields, _LINK_KEYS | {"contact_id"})
    _require(prefix, fields, "url")
    _require(prefix, fields, "name")
    return _build(
        prefix,
        AddLink,
        contact_id=fields.get("contact_id"),
        name=fields["name"],
        url=fields["url"],
        context=fields.get("context"),
        member_id=fields.get("member_id"),
        key=fields.get("key"),
    )


def _file(fields: Mapping[str, Any], base_dir: Path | None, prefix: str) -> AddFile:
    _reject_unknown(prefix, fields, _FILE_KEYS | {"contact_id"})
    file: Path | bytes
    if "path" in fields and "data_base64" in fields:
        raise RequestValidationError(f"{prefix}data_base64", "give either path or data_base64")
    if "data_base64" in fields:
        source_field = "data_base64"
        file = _decode_base64(f"{prefix}data_base64", fields["data_base64"])
    else:
        source_field = "path"
        _require(prefix, fields, "path")
        file = _resolve_path(f"{prefix}path", fields["path"], base_dir)
    return _build(
        prefix,
        AddFile,
        rename={"file": source_field},
        contact_id=fields.get("contact_id"),
        file=file,
        name=fields.get("name"),
        file_type=fields.get("file_type"),
        context=fields.get("context"),
        member_id=fields.get("member_id"),
        key=fields.get("key"),
    )


def _comms(fields: Mapping[str, Any], base_dir: Path | None, prefix: str) -> LogComms:
    del base_dir
    _reject_unknown(prefix, fields, _COMMS_KEYS | {"contact_id"})
    _require(prefix, fields, "comms_type")
    _require(prefix, fields, "data")
    return _build(
        prefix,
        LogComms,
        contact_id=fields.get("contact_id"),
        comms_type=fields["comms_type"],
        data=fields["data"],
        source=fields.get("source"),
        sentiment=fields.get("sentiment"),
        next_step=fields.get("next_step"),
        status=fields.get("status"),
        member_id=fields.get("member_id"),
        key=fields.get("key"),
    )


def _decode_base64(field: str, value: object) -> bytes:
    if not isinstance(value, str):
        raise RequestValidationError(field, f"must be a base64 string, got {_kind(value)}")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise RequestValidationError(field, f"is not valid base64: {exc}") from exc


def _resolve_path(field: str, value: object, base_dir: Path | None) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise RequestValidationError(field, f"must be a non-empty string, got {_kind(value)}")
    check_str(field, value)  # no lone surrogates: they would reach messages and the terminal
    try:
        path = Path(value).expanduser()
    except (RuntimeError, ValueError):
        # "~name/..." for a user this machine does not know (RuntimeError), or whose name
        # holds a NUL byte (ValueError).
        home = value.replace("\\", "/").split("/", 1)[0]
        raise RequestValidationError(
            field, f"starts with {shown(home)}, a home directory that cannot be found"
        ) from None
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    return path


# ------------------------------------------------------------------ contact, entity


def _contact(value: object) -> Contact:
    if value is None:
        raise RequestValidationError("contact", "is required")
    if not isinstance(value, Mapping):
        raise RequestValidationError("contact", f"must be a JSON object, got {_kind(value)}")
    known: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for name, item in value.items():
        if not isinstance(name, str):  # pragma: no cover - JSON keys are strings
            raise RequestValidationError("contact", "keys must be strings")
        if name in CONTACT_KEYS:
            known[CONTACT_KEYS[name]] = item
        elif name in CONTACT_WIRE_NAMES:
            raise RequestValidationError(
                f"contact.{name}", f"use the API's name {CONTACT_WIRE_NAMES[name]!r}"
            )
        else:
            extra[name] = item
    return _build("", Contact, rename=_CONTACT_FIELD_PATHS, **known, extra=extra or None)


def _require_lookup_value(line: Mapping[str, Any], contact: Contact) -> None:
    # The model's own message names the attribute; this one says what to do in the file.
    lookup_by = line.get("lookup_by", "email")
    if lookup_by == "email" and not contact.primary_email:
        raise RequestValidationError(
            "contact.primaryEmail",
            'is required: contacts are matched by e-mail (or set "lookup_by": "phone")',
        )
    if lookup_by == "phone" and not contact.primary_phone:
        raise RequestValidationError(
            "contact.primaryPhone", 'is required with "lookup_by": "phone"'
        )


def _entity(value: object) -> Entity | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise RequestValidationError("entity", f"must be a JSON object, got {_kind(value)}")
    known = {ENTITY_KEYS[k]: v for k, v in value.items() if k in ENTITY_KEYS}
    extra = {k: v for k, v in value.items() if k not in ENTITY_KEYS}
    return _build("", Entity, **known, extra=extra or None)


# The models name fields by attribute (contact.primary_email); the file uses wire names.
_CONTACT_FIELD_PATHS = {
    f"contact.{attr}": f"contact.{wire}" for attr, wire in CONTACT_WIRE_NAMES.items()
}


# ------------------------------------------------------------------------- helpers


def _build(
    prefix: str, cls: Callable[..., T], *, rename: Mapping[str, str] | None = None, **kwargs: Any
) -> T:
    """Call ``cls(**kwargs)``, naming any validation error's field by its path in the line."""
    try:
        return cls(**kwargs)
    except RequestValidationError as exc:
        raise RequestValidationError(_field_path(prefix, exc.field, rename), exc.message) from exc


def _field_path(prefix: str, field: str, rename: Mapping[str, str] | None) -> str:
    for old, new in (rename or {}).items():
        if field == old or field.startswith((old + ".", old + "[")):
            field = new + field[len(old) :]
            break
    return prefix + field


def _require(prefix: str, fields: Mapping[str, Any], name: str) -> None:
    if fields.get(name) is None:
        raise RequestValidationError(prefix + name, "is required")


def _reject_unknown(prefix: str, fields: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(str(name) for name in fields if name not in allowed)
    if unknown:
        name = unknown[0]
        expected = ", ".join(sorted(allowed - _EXPORT_KEYS - {"contact_id", "op"}))
        if name.strip() and name.isprintable():
            raise RequestValidationError(
                prefix + name, f"is not a known key here (expected: {expected})"
            )
        # An empty key, or one that would not show as itself (line breaks, escape codes,
        # lone surrogates) cannot name the field: the object names it, the key is shown.
        raise RequestValidationError(
            prefix.rstrip(".") or "line",
            f"has an unknown key {shown(name)} (expected: {expected})",
        )


def _kind(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)
