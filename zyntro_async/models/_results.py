"""What the endpoints return, structured from the envelope's ``data``.

Unknown keys in a response are ignored, so the API can grow without breaking callers.
"""

from __future__ import annotations

import attrs

__all__ = ["AttachmentResult", "CommsResult", "ContactRecord", "ContactResult", "Note"]


@attrs.frozen
class ContactResult:
    """``addContactsFull``: what happened to the contact and its entity.

    Attributes:
        action: ``"created"`` or ``"updated"``.
        entity_action: what happened to the entity, when one was involved (B2B mode).
    """

    contact_id: str
    action: str | None = None
    entity_id: str | None = None
    entity_action: str | None = None
    message: str | None = None


@attrs.frozen
class ContactRecord:
    """``fetchContact``: a contact as stored."""

    contact_id: str
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    contact_status: str | None = None


@attrs.frozen
class Note:
    """``addNotestoContact``: the note as stored (flags are 0/1 on the wire)."""

    note_id: str
    contact_id: str | None = None
    note_content: str | None = None
    note_editable: bool = False
    note_visibility: bool = False


@attrs.frozen
class AttachmentResult:
    """``manageAttachments``: ``action`` is ``"inserted"``, ``"updated"`` or ``"deleted"``."""

    att_id: str
    action: str | None = None
    message: str | None = None


@attrs.frozen
class CommsResult:
    """``addCommsHistory``: ``ch_id`` is an integer, unlike the other IDs."""

    ch_id: int
    message: str | None = None
