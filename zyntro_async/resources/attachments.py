"""``zy.attachments``: ``crm/manageAttachments`` (insert link or file, update, delete)."""

from __future__ import annotations

import os
from typing import IO, Any

from zyntro_async._errors import NotFoundError, RequestValidationError, ZyntroError
from zyntro_async._files import FileSource, file_source, guess_file_type
from zyntro_async._serde import request_body, structure_result
from zyntro_async.models._requests import (
    AttachmentDelete,
    AttachmentUpdate,
    FileInsert,
    LinkInsert,
)
from zyntro_async.models._results import AttachmentResult
from zyntro_async.models._validators import check_str
from zyntro_async.resources._base import Resource

__all__ = ["Attachments", "FileInput", "prepare_file"]

MANAGE_ATTACHMENTS = "crm/manageAttachments"

FileInput = str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes]


def prepare_file(
    contact_id: str,
    file: object,
    *,
    name: str | None,
    file_type: str | None,
    context: str | None,
) -> tuple[FileInsert, FileSource]:
    """Validate an ``add_file`` call and open its source (no bytes are read yet for paths).

    The name defaults to the file's own; the MIME type is guessed from the name and must
    be in the documented allow-list.

    Raises:
        RequestValidationError: no usable name, unknown or unsupported type, bad source.
    """
    if name is not None:
        # Checked before it is used to guess the type, which needs a string.
        check_str("name", name)
    source = file_source(file, name=name)
    att_name = name if name is not None else source.name
    if att_name is None:
        raise RequestValidationError("name", "give a name for an attachment made from bytes")
    if file_type is None:
        file_type = guess_file_type(att_name)
        if file_type is None:
            raise RequestValidationError(
                "file_type", f"cannot guess the type of {att_name!r:.80}; pass file_type="
            )
    return FileInsert(
        contact_id=contact_id, name=att_name, file_type=file_type, context=context
    ), source


class Attachments(Resource):
    """Link and file attachments on contacts."""

    async def _send(
        self,
        body: dict[str, Any],
        *,
        idempotent: bool,
        file: FileSource | None = None,
        absorb: Any = None,
    ) -> AttachmentResult:
        data = await self._transport.request(
            MANAGE_ATTACHMENTS, body, idempotent=idempotent, file=file, absorb=absorb
        )
        return structure_result(data, AttachmentResult, endpoint=MANAGE_ATTACHMENTS)

    async def add_link(
        self,
        contact_id: str,
        *,
        name: str,
        url: str,
        context: str | None = None,
        member_id: str | None = None,
    ) -> AttachmentResult:
        """Attach a link (``att_type=link``).

        Raises:
            RequestValidationError: ``url`` is not a well-formed http(s) URL.
            AmbiguousOutcomeError: it may or may not have been attached (not retried).
        """
        request = LinkInsert(contact_id=contact_id, name=name, url=url, context=context)
        body = self._fields(member_id)
        body.update(request_body(request))
        return await self._send(body, idempotent=False)

    async def add_file(
        self,
        contact_id: str,
        file: FileInput,
        *,
        name: str | None = None,
        file_type: str | None = None,
        context: str | None = None,
        member_id: str | None = None,
    ) -> AttachmentResult:
        """Upload a file (``att_type=file``), base64-encoded while it is sent.

        A path is opened and read only while the request is sent, in chunks (in a worker
        thread), and encoded in slices that never hold up the event loop for long: memory
        does not grow with the file's size.

        Args:
            contact_id: the contact.
            file: a path, bytes, or a binary file object.
            name: ``att_name``; defaults to the file's name (required for bytes).
            file_type: MIME type; guessed from the name when omitted.
            context: ``att_context``.
            member_id: act as this member.

        Raises:
            RequestValidationError: unsupported type, no name, unreadable file.
            StorageError: the account has no file storage.
            AmbiguousOutcomeError: it may or may not have been attached (not retried).
        """
        request, source = prepare_file(
            contact_id, file, name=name, file_type=file_type, context=context
        )
        body = self._fields(member_id)
        body.update(request_body(request))
        return await self._send(body, idempotent=False, file=source)

    async def update(
        self,
        att_id: str,
        *,
        name: str | None = None,
        url: str | None = None,
        context: str | None = None,
        member_id: str | None = None,
    ) -> AttachmentResult:
        """Change an attachment's name, link URL or context (retried on transient failures)."""
        request = AttachmentUpdate(att_id=att_id, name=name, url=url, context=context)
        body = self._fields(member_id)
        body.update(request_body(request))
        return await self._send(body, idempotent=True)

    async def delete(self, att_id: str, *, member_id: str | None = None) -> AttachmentResult:
        """Delete an attachment (retried on transient failures).

        If an attempt went unanswered and the retry finds the attachment gone, that
        attempt did the delete: the call succeeds rather than reporting "not found".
        """
        request = AttachmentDelete(att_id=att_id)
        body = self._fields(member_id)
        body.update(request_body(request))

        def absorb(error: ZyntroError) -> dict[str, Any] | None:
            if isinstance(error, NotFoundError) and error.code == "NOT_FOUND":
                return {
                    "action": "deleted",
                    "att_id": att_id,
                    "message": "Attachment deleted (confirmed on retry)",
                }
            return None

        return await self._send(body, idempotent=True, absorb=absorb)
