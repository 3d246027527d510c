"""``zy.attachments``: ``crm/manageAttachments`` (insert link or file, update, delete)."""

from __future__ import annotations

import os
from typing import IO

from zyntro_async.models._requests import (
    AttachmentDelete,
    AttachmentUpdate,
    FileInsert,
    LinkInsert,
)
from zyntro_async.models._results import AttachmentResult
from zyntro_async.resources._base import ID, Resource

__all__ = ["Attachments", "FileInput"]

FileInput = str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes]


class Attachments(Resource):
    """Link and file attachments on contacts."""

    __slots__ = ()

    async def add_link(
        self,
        contact_id: ID,
        *,
        name: str,
        url: str,
        context: str | None = None,
        member_id: ID | None = None,
    ) -> AttachmentResult:
        """Attach a link (``att_type=link``).

        Raises:
            RequestValidationError: ``url`` is not a well-formed http(s) URL.
            AmbiguousOutcomeError: it may or may not have been attached (not retried).
        """
        request = LinkInsert(
            contact_id=contact_id, name=name, url=url, context=context, member_id=member_id
        )
        return await self._client.send(request)

    async def add_file(
        self,
        contact_id: ID,
        file: FileInput,
        *,
        name: str | None = None,
        file_type: str | None = None,
        context: str | None = None,
        member_id: ID | None = None,
    ) -> AttachmentResult:
        """Upload a file (``att_type=file``), base64-encoded while it is sent.

        The file is opened and read only while the request is sent, in chunks (in a worker
        thread), and encoded in slices that never hold up the event loop for long: memory
        does not grow with the file's size. A non-seekable stream (a pipe, a socket) is
        sent once, chunked, as it is read; a retry that would have to send it again fails
        with :class:`~zyntro_async.RequestValidationError` (``field="file"``) instead.

        Args:
            contact_id: the contact.
            file: a path, bytes, or a binary file object.
            name: ``att_name``; defaults to the file's name (required for bytes).
            file_type: MIME type; guessed from the name when omitted.
            context: ``att_context``.
            member_id: act as this member.

        Raises:
            RequestValidationError: unsupported type, no name, unreadable file; a stream
                that a retry would have to rewind.
            APIConnectionError: the file could not be read while it was being sent (the
                request was cut short, so nothing was attached).
            StorageError: the account has no file storage.
            AmbiguousOutcomeError: it may or may not have been attached (not retried).
        """
        request = FileInsert(
            contact_id=contact_id,
            file=file,
            name=name,
            file_type=file_type,
            context=context,
            member_id=member_id,
        )
        return await self._client.send(request)

    async def update(
        self,
        att_id: ID,
        *,
        name: str | None = None,
        url: str | None = None,
        context: str | None = None,
        member_id: ID | None = None,
    ) -> AttachmentResult:
        """Change an attachment's name, link URL or context (retried on transient failures)."""
        request = AttachmentUpdate(
            att_id=att_id, name=name, url=url, context=context, member_id=member_id
        )
        return await self._client.send(request)

    async def delete(self, att_id: ID, *, member_id: ID | None = None) -> AttachmentResult:
        """Delete an attachment (retried on transient failures).

        If an attempt went unanswered and the retry finds the attachment gone, that
        attempt did the delete: the call succeeds rather than reporting "not found".
        """
        return await self._client.send(AttachmentDelete(att_id=att_id, member_id=member_id))
