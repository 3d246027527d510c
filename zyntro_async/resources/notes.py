"""``zy.notes``: ``crm/addNotestoContact``."""

from __future__ import annotations

from zyntro_async.models._requests import NoteWrite
from zyntro_async.models._results import Note
from zyntro_async.resources._base import ID, Resource

__all__ = ["Notes"]


class Notes(Resource):
    """Add and update notes. Only the contact's owner may: pass ``member_id`` for that."""

    __slots__ = ()

    async def add(
        self,
        contact_id: ID,
        note: str,
        *,
        visible: bool | None = None,
        editable: bool | None = None,
        member_id: ID | None = None,
    ) -> Note:
        """Add a note to a contact.

        Args:
            contact_id: the contact.
            note: the text.
            visible: visible to other team members (``note_visibility``); ``None``: not
                sent, the server's default stands.
            editable: editable by other team members (``note_editable``); ``None``: not
                sent, the server's default stands.
            member_id: the contact's owner, when not the client's member.

        Raises:
            PermissionDeniedError: ``NOT_OWNER`` or ``WRONG_ORG``.
            NotFoundError: the contact does not exist.
            AmbiguousOutcomeError: the note may or may not have been added (not retried).
        """
        request = NoteWrite(
            contact_id=contact_id,
            note=note,
            visible=visible,
            editable=editable,
            member_id=member_id,
        )
        return await self._client.send(request)

    async def update(
        self,
        note_id: ID,
        contact_id: ID,
        note: str,
        *,
        visible: bool | None = None,
        editable: bool | None = None,
        member_id: ID | None = None,
    ) -> Note:
        """Replace a note's text (retried on transient failures).

        ``visible``/``editable`` left ``None`` are not sent: the note keeps its flags.
        """
        request = NoteWrite(
            contact_id=contact_id,
            note=note,
            visible=visible,
            editable=editable,
            note_id=note_id,
            member_id=member_id,
        )
        return await self._client.send(request)
