"""zyntro_async: the asyncio SDK for the Zyntro CRM API, built for bulk imports.

Quick start::

    from zyntro_async import Contact, ZyntroClient

    async with ZyntroClient() as zy:  # credentials from ZYNTRO_* environment variables
        result = await zy.contacts.upsert(Contact(first_name="Jane", primary_email="j@acme.com"))
        await zy.notes.add(result.contact_id, "Met at the fair")

Every endpoint method builds a request model and sends it; the same models can be sent
directly, ``await zy.send(NoteWrite(contact_id=cid, note="..."))``.
"""

from __future__ import annotations

from zyntro_async._client import ZyntroClient
from zyntro_async._errors import (
    AmbiguousOutcomeError,
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BulkAbortedError,
    CircuitOpenError,
    ClientClosedError,
    ConfigurationError,
    ImportLineError,
    InvalidRequestError,
    JournalConflictError,
    JournalError,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestValidationError,
    ServerError,
    StorageError,
    ZyntroError,
)
from zyntro_async._hooks import RequestEvent, ResponseEvent, RetryEvent
from zyntro_async._observe import Attempt, AttemptObserver, AttemptResult, ObserverChain
from zyntro_async._retry import RetryBudget, RetryPolicy
from zyntro_async._version import __version__
from zyntro_async.bulk._governor import (
    LongRetryAfterError,
    RateLimitStalledError,
    RateLimitStopError,
)
from zyntro_async.models import (
    AttachmentResult,
    CommsResult,
    Contact,
    ContactRecord,
    ContactResult,
    Entity,
    Note,
)
from zyntro_async.models._requests import (
    ApiRequest,
    AttachmentDelete,
    AttachmentUpdate,
    CommsEntry,
    ContactFetch,
    ContactWrite,
    FileInsert,
    LinkInsert,
    NoteWrite,
)

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AmbiguousOutcomeError",
    "ApiRequest",
    "AttachmentDelete",
    "AttachmentResult",
    "AttachmentUpdate",
    "Attempt",
    "AttemptObserver",
    "AttemptResult",
    "AuthenticationError",
    "BulkAbortedError",
    "CircuitOpenError",
    "ClientClosedError",
    "CommsEntry",
    "CommsResult",
    "ConfigurationError",
    "Contact",
    "ContactFetch",
    "ContactRecord",
    "ContactResult",
    "ContactWrite",
    "Entity",
    "FileInsert",
    "ImportLineError",
    "InvalidRequestError",
    "JournalConflictError",
    "JournalError",
    "LinkInsert",
    "LongRetryAfterError",
    "MalformedResponseError",
    "NotFoundError",
    "Note",
    "NoteWrite",
    "ObserverChain",
    "PermissionDeniedError",
    "RateLimitError",
    "RateLimitStalledError",
    "RateLimitStopError",
    "RequestEvent",
    "RequestValidationError",
    "ResponseEvent",
    "RetryBudget",
    "RetryEvent",
    "RetryPolicy",
    "ServerError",
    "StorageError",
    "ZyntroClient",
    "ZyntroError",
    "__version__",
]
