"""``zy.notes``: ``crm/addNotestoContact``."""

from __future__ import annotations

from zyntro_async._serde import request_body, structure_result
from zyntro_async.models._requests import NoteWrite
from zyntro_async.models._results import Note
from zyntro_async.resources._base import Resource

__all__ = ["Notes"]

ADD_NOTES = "crm/addNotestoContact"


class Notes(Resource):
    """Add and update notes. Only the contact's owner may: pass ``member_id`` for that."""

    async def _send(self, request: NoteWrite, member_id: str | None, *, idempotent: bool) -> Note:
        body = self._fields(member_id)
        body.update(request_body(request))
        data = await self._transport.request(ADD_NOTES, body, idempotent=idempotent)
        return structure_result(data, Note, endpoint=ADD_NOTES)

    async def add(
        self,
        contact_id: str,
        note: str,
        *,
        visible: bool = False,
        editable: bool = False,
        member_id: str | None = None,
    ) -> Note:
        """Add a note to a contact.

        Args:
            contact_id: the contact.
            note: the text.
            visible: visible to other team members (``note_visibility=1``).
            editable: editable by other team members (``note_editable=1``).
            member_id: the contact's owner, when not the client's member.

        Raises:
            PermissionDeniedError: ``NOT_OWNER`` or ``WRONG_ORG``.
            NotFoundError: the contact does not exist.
            AmbiguousOutcomeError: the note may or may not have been added (not retried).
        """
        request = NoteWrite(contact_id=contact_id, note=note, visible=visible, editable=editable)
        return await self._send(request, member_id, idempotent=False)

    async def update(
        self,
        note_id: str,
        contact_id: str,
        note: str,
        *,
        visible: bool = False,
        editable: bool = False,
        member_id: str | None = None,
    ) -> Note:
        """Replace a note's text and flags (retried on transient failures)."""
        request = NoteWrite(
            contact_id=contact_id, note=note, visible=visible, editable=editable, note_id=note_id
        )
        return await self._send(request, member_id, idempotent=True)
