"""Field checks shared by the models and the bulk operations.

Every check raises :class:`~zyntro_async.RequestValidationError` naming the field, so a bad
row fails before any I/O with a message a person can act on. Nothing here raises
``TypeError``: wrong types are validation errors too.

Only what the API pages state is checked here (required fields, the enums, ``comms_source``
at most 55 characters, http(s) link URLs, the MIME allow-list), plus what cannot be sent at
all (a wrong type, text that is not Unicode) and an e-mail address's unambiguous shape. A row
refused here is a row lost to the user, so what the pages leave to the server (phone format,
finer e-mail rules, length limits) is sent as given and judged there; docs/api-gaps.md lists
those places.
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
    "check_file_type",
    "check_http_url",
    "check_id",
    "check_json_value",
    "check_optional_str",
    "check_str",
    "media_type",
    "shown",
]

MODES = ("insert", "update", "upsert")
LOOKUP_BY = ("email", "phone", "contact_id")
COMMS_TYPES = ("email", "sms", "call", "message")
COMMS_STATUSES = ("pending", "processed")
MAX_COMMS_SOURCE = 55
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

# One "@" with something on each side and no whitespace: the shape of any address, with no
# opinion on what the server accepts beyond it (dotless domains, quoted parts, IDN...).
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


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
    """Check an identifier and return it as the text the API is sent.

    IDs are opaque: a non-empty string of any shape (never checked as a UUID: one documented
    ``att_id`` is not hex), or an integer (the overview calls ``brand_id`` numeric). The
    documented examples send every ID as a JSON string (``"brand_id": "1"``), so an integer
    comes back as its decimal text, for the caller to send.

    Args:
        field: the argument's name, for the error.
        value: what the caller passed.

    Returns:
        The ID as a string (``1`` -> ``"1"``; a string is returned unchanged).

    Raises:
        RequestValidationError: a bool, a float or any other type, an empty string, an
            integer too long to write as text.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return int.__repr__(value)
        except ValueError:  # over the interpreter's int-to-text limit
            raise RequestValidationError(
                field, f"is an integer too large to send ({value.bit_length()} bits)"
            ) from None
    if not isinstance(value, str):
        raise RequestValidationError(
            field, f"must be a string or an integer, got {_describe(value)}"
        )
    return check_str(field, value)


def check_choice(field: str, value: object, allowed: tuple[str, ...]) -> str:
    """Require one of the documented enum values."""
    if not isinstance(value, str) or value not in allowed:
        raise RequestValidationError(
            field, f"must be one of: {', '.join(allowed)}; got {shown(value)}"
        )
    return value


def check_email(field: str, value: object) -> None:
    """Allow ``None``; otherwise require the unambiguous shape of an e-mail address.

    Exactly one ``@`` with text on both sides and no whitespace anywhere: anything else
    could not be an address, whatever the server's rules. Finer rules (a dot in the domain,
    allowed characters, length) are the server's: ``jane@localhost`` is sent.

    Raises:
        RequestValidationError: not a string, or not shaped like an address.
    """
    if type(value) is not str or not value.isascii():  # plain ASCII text needs no more
        check_optional_str(field, value)
    if isinstance(value, str) and not _EMAIL.fullmatch(value):
        raise RequestValidationError(
            field,
            "is not a valid e-mail address (one '@' with text on both sides, no whitespace): "
            f"{shown(value)}",
        )


def media_type(file_type: str) -> str:
    """The media type of a MIME type, without parameters, lower-cased.

    ``"Text/Plain; charset=utf-8"`` -> ``"text/plain"``: the allow-list is a list of media
    types, and parameters (a charset) do not change what the file is.
    """
    return file_type.split(";", 1)[0].strip().lower()


def check_file_type(field: str, value: object) -> str:
    """Require a MIME type whose media type is in the documented allow-list.

    Parameters are ignored for the check and kept: the value is sent as given
    (``text/plain; charset=utf-8`` is accepted and sent with its charset).

    Returns:
        The value, unchanged.

    Raises:
        RequestValidationError: not a non-empty string, or a media type outside the list
            (``UNSUPPORTED_FILE`` on the manageAttachments page).
    """
    text = check_str(field, value)
    if media_type(text) not in ALLOWED_MIME_TYPES:
        raise RequestValidationError(
            field,
            f"unsupported file type {shown(text)}; the API accepts png, jpg, gif, svg, webp, "
            "pdf, doc, docx, xls, xlsx, ppt, pptx, txt, csv, mp3, wav, mp4, webm, mov and zip",
        )
    return text


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
        check_optional_str(f"{field}[{position}]", tag)
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
