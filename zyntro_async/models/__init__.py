"""Typed models: what requests carry and what responses become."""

from __future__ import annotations

from zyntro_async.models._contact import Contact, Entity
from zyntro_async.models._results import (
    AttachmentResult,
    CommsResult,
    ContactRecord,
    ContactResult,
    Note,
)

__all__ = [
    "AttachmentResult",
    "CommsResult",
    "Contact",
    "ContactRecord",
    "ContactResult",
    "Entity",
    "Note",
]
