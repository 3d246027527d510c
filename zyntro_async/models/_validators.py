"""Field checks shared by the models and the bulk operations.

Every check raises :class:`~zyntro_async.RequestValidationError` naming the field, so a bad
row fails before any I/O with a message a person can act on. Nothing here raises
``TypeError``: wrong types are validation errors too.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from zyntro_async._errors import RequestValidationError

__all__ = [
    "ALLOWED_MIME_TYPES",
    "COMMS_STATUSES",
    "COMMS_TYPES",
    "LOOKUP_BY",
    "MAX_COMMS_SOURCE",
    "MODES",
    "check_choice",
    "check_email",
    "check_http_url",
    "check_id",
    "check_json_value",
    "check_optional_str",
    "check_phone",
    "check_str",
    "shown",
]

MODES = ("insert", "update", "upsert")
LOOKUP_BY = ("email", "phone", "contact_id")
COMMS_TYPES = ("email", "sms", "call", "message")
COMMS_STATUSES = ("pending", "processed")
MAX_COMMS_SOURCE = 55
MAX_FIELD_LENGTH = 255
_MAX_JSON_DEPTH = 32

# The documented allow-list (manageAttachments, UNSUPPORTED_FILE): extension -> MIME type.
# Kept here rather than trusting ``mimetypes``, whose table differs between platforms.
EXTENSION_MIME_TYPES: dict[str, str] = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "svg": "image/svg+xml",
    "webp": "image/webp",
    "pdf": "application/pdf",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt": "application/vnd.ms-powerpoint",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "txt": "text/plain",
    "csv": "text/csv",
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "mp4": "video/mp4",
    "webm": "video/webm",
    "mov": "video/quicktime",
    "zip": "application/zip",
}
ALLOWED_MIME_TYPES = frozenset(
    {*EXTENSION_MIME_TYPES.values(), "audio/x-wav", "audio/wave", "application/x-zip-compressed"}
)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9 ()\-.]{5,32}$")


def _describe(value: object) -> str:
    return type(value).__name__


def shown(value: object, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters, for messages; never raises.

    Some values cannot be shown: the repr of an integer over the interpreter's digit limit
    raises ``ValueError``, and an object's own ``__repr__`` may raise anything.
    """
    try:
        text = repr(value)
    except Exception:
        return f"<{_describe(value)}>"
    return text[:limit]


def _check_unicode(field: str, value: str) -> None:
    # A lone surrogate ("\ud800", from a bad decode or a JSON escape) is not text: it cannot
    # be written as UTF-8, so it would fail later, far from here (the journal, the export,
    # a file upload's body). Rejected where the value comes in.
    if value.isascii():
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise RequestValidationError(
            field, f"is not valid Unicode text (a lone surrogate at position {exc.start})"
        ) from None


def check_str(field: str, value: object, *, max_length: int | None = None) -> str:
    """Require a non-empty string (whitespace alone counts as empty)."""
    if not isinstance(value, str):
        raise RequestValidationError(field, f"must be a string, got {_describe(value)}")
    if not value.strip():
        raise RequestValidationError(field, "must not be empty")
    _check_unicode(field, value)
    if max_length is not None and len(value) > max_length:
        raise RequestValidationError(
            field, f"must be at most {max_length} characters, got {len(value)}"
        )
    return value


def check_optional_str(field: str, value: object, *, max_length: int | None = None) -> None:
    """Allow ``None``; otherwise require a string no longer than ``max_length``."""
    if value is None:
        return
    if not isinstance(value, str):
        raise RequestValidationError(field, f"must be a string, got {_describe(value)}")
    if max_length is not None and len(value) > max_length:
        raise RequestValidationError(
            field, f"must be at most {max_length} characters, got {len(value)}"
        )
    _check_unicode(field, value)


def check_id(field: str, value: object) -> str:
    """IDs are opaque strings: non-empty, no validation of their shape (not UUIDs)."""
    return check_str(field, value)


def check_choice(field: str, value: object, allowed: tuple[str, ...]) -> str:
    """Require one of the documented enum values."""
    if not isinstance(value, str) or value not in allowed:
        raise RequestValidationError(
            field, f"must be one of: {', '.join(allowed)}; got {shown(value)}"
        )
    return value


def check_email(field: str, value: object) -> None:
    """Allow ``None``; otherwise require something shaped like an e-mail address."""
    check_optional_str(field, value, max_length=MAX_FIELD_LENGTH)
    if isinstance(value, str) and not _EMAIL.match(value):
        raise RequestValidationError(field, f"is not a valid e-mail address: {shown(value)}")


def check_phone(field: str, value: object) -> None:
    """Allow ``None``; otherwise require digits with the usual separators."""
    check_optional_str(field, value, max_length=MAX_FIELD_LENGTH)
    if isinstance(value, str) and not _PHONE.match(value):
        raise RequestValidationError(field, f"is not a valid phone number: {shown(value)}")


def check_http_url(field: str, value: object) -> str:
    """Require a well-formed ``http``/``https`` URL with a host."""
    check_str(field, value)
    assert isinstance(value, str)
    try:
        parts = urlsplit(value)
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        parts, port_ok = None, False
    if (
        parts is None
        or not port_ok
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or any(ch.isspace() for ch in value)
    ):
        raise RequestValidationError(
            field, f"must be an http(s) URL with a host, got {shown(value)}"
        )
    return value


def check_json_value(field: str, value: object, *, depth: int = 0) -> None:
    """Require a value JSON can carry: str, int, finite float, bool, None, lists, str-keyed maps."""
    if depth > _MAX_JSON_DEPTH:
        raise RequestValidationError(field, f"is nested deeper than {_MAX_JSON_DEPTH} levels")
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, str):
        _check_unicode(field, value)
        return
    if isinstance(value, int):
        try:
            int.__repr__(value)  # what json.dumps writes
        except ValueError:
            # Over the interpreter's int-to-text limit: JSON could not carry it anyway.
            raise RequestValidationError(
                field, f"is an integer too large to send ({value.bit_length()} bits)"
            ) from None
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise RequestValidationError(field, f"must be a finite number, got {value!r}")
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise RequestValidationError(field, f"keys must be strings, got {_describe(key)}")
            _check_unicode(f"{field} key", key)
            check_json_value(f"{field}.{key}", item, depth=depth + 1)
        return
    if isinstance(value, list | tuple):
        for position, item in enumerate(value):
            check_json_value(f"{field}[{position}]", item, depth=depth + 1)
        return
    raise RequestValidationError(field, f"cannot be sent as JSON: {_describe(value)}")


def check_tags(field: str, value: Any) -> tuple[str, ...] | None:
    """Allow ``None``; otherwise require a list or tuple of strings (not one bare string)."""
    if value is None:
        return None
    if isinstance(value, str | bytes) or not isinstance(value, list | tuple):
        raise RequestValidationError(field, f"must be a list of strings, got {_describe(value)}")
    for position, tag in enumerate(value):
        check_optional_str(f"{field}[{position}]", tag, max_length=MAX_FIELD_LENGTH)
        if tag is None:
            raise RequestValidationError(f"{field}[{position}]", "must be a string, got NoneType")
    return tuple(value)


def check_mapping(field: str, value: object) -> dict[str, Any] | None:
    """Allow ``None``; otherwise require a str-keyed mapping of JSON values (copied)."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise RequestValidationError(field, f"must be a mapping, got {_describe(value)}")
    check_json_value(field, value)
    return dict(value)
