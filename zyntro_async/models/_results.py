"""What the endpoints return, structured from the envelope's ``data``.

Nothing the server sends is thrown away: the keys a result model names become its
attributes, and every other key is kept in its ``extra`` mapping (forward compatibility,
like stripe's objects), so a field the API adds tomorrow is readable today as
``result.extra["new_field"]``. Unknown keys are never an error.

Reprs show ``extra`` and ``debug`` by their keys only: their values are whatever the server
put there (an echo of the request, say), and a repr ends up in logs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

__all__ = [
    "CREDENTIAL_KEYS",
    "AttachmentResult",
    "CommsResult",
    "ContactRecord",
    "ContactResult",
    "Note",
]

CREDENTIAL_KEYS = frozenset({"api_key", "developer_secret"})
"""Response keys never kept in ``extra``: a server echoing the request would put the
credentials there, and results are logged, journaled and exported."""


def _keys_only(value: object) -> str:
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{key!r}: ..." for key in value) + "}"
    if value is None:
        return "None"
    return f"<{type(value).__name__}>"


def _extra() -> Any:
    # Equality compares extras too; they are dicts, so they take no part in the hash.
    return attrs.field(factory=dict, kw_only=True, hash=False, repr=_keys_only)


@attrs.frozen
class ContactResult:
    """``addContactsFull``: what happened to the contact and its entity.

    Attributes:
        action: ``"created"`` or ``"updated"``.
        entity_action: what happened to the entity, when one was involved (B2B mode).
        debug: the response's ``debug`` value when the request asked for it
            (``debug=True`` on ``contacts.upsert/create/update``), else ``None``. The page
            does not describe it; usually an object.
        extra: every other key of the response, as sent.
    """

    contact_id: str
    action: str | None = None
    entity_id: str | None = None
    entity_action: str | None = None
    message: str | None = None
    debug: Any = attrs.field(default=None, kw_only=True, hash=False, repr=_keys_only)
    extra: Mapping[str, Any] = _extra()


@attrs.frozen
class ContactRecord:
    """``fetchContact``: a contact as stored.

    Attributes:
        extra: every other key of the response (fields the overview's example omits).
    """

    contact_id: str
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    contact_status: str | None = None
    extra: Mapping[str, Any] = _extra()


@attrs.frozen
class Note:
    """``addNotestoContact``: the note as stored (flags are 0/1 on the wire).

    Attributes:
        extra: every other key of the response.
    """

    note_id: str
    contact_id: str | None = None
    note_content: str | None = None
    note_editable: bool = False
    note_visibility: bool = False
    extra: Mapping[str, Any] = _extra()


@attrs.frozen
class AttachmentResult:
    """``manageAttachments``: ``action`` is ``"inserted"``, ``"updated"`` or ``"deleted"``.

    Attributes:
        extra: every other key of the response.
    """

    att_id: str
    action: str | None = None
    message: str | None = None
    extra: Mapping[str, Any] = _extra()


@attrs.frozen
class CommsResult:
    """``addCommsHistory``: ``ch_id`` is an integer, unlike the other IDs.

    Attributes:
        extra: every other key of the response.
    """

    ch_id: int
    message: str | None = None
    extra: Mapping[str, Any] = _extra()
