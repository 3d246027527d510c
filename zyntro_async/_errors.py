"""Every exception the SDK raises, and the mapping from API messages to codes.

The tree::

    ZyntroError
    ├── ConfigurationError (also ValueError)    missing credential / bad client setting
    ├── RequestValidationError (also ValueError) input rejected before any I/O
    ├── ClientClosedError (also RuntimeError)   work asked of a closed client
    ├── CircuitOpenError                        bulk run stopped: the server is failing
    ├── BulkAbortedError                        bulk run stopped early (carries its report)
    ├── JournalError                            journal locked, damaged, foreign or newer
    ├── JournalConflictError                    an item's key was used for other content
    ├── MalformedResponseError                  a body that is not the documented envelope
    ├── APIConnectionError                      transport failures (nothing usable came back)
    │   ├── APITimeoutError                     per-attempt timeout or overall deadline
    │   └── AmbiguousOutcomeError               a creating call that may have been applied
    └── APIError(code, messages, endpoint)      error envelopes and HTTP error statuses
        ├── AuthenticationError                 MISSING_API_KEY, INVALID_API_KEY, USER_INACTIVE,
        │                                       MISSING_DEVELOPER_SECRET, INVALID_DEVELOPER_SECRET
        ├── PermissionDeniedError               IP_NOT_WHITELISTED, NOT_OWNER, WRONG_ORG
        ├── NotFoundError                       NOT_FOUND, NOT_FOUND_UPDATE, MEMBER_NOT_FOUND
        ├── InvalidRequestError                 MISSING_FIELDS, MISSING_CONTACT, VALIDATION_ERROR,
        │                                       CUSTOM_FIELD_ERROR, INVALID_ACTION, INVALID_TYPE,
        │                                       INVALID_URL, INVALID_BASE64, UNSUPPORTED_FILE,
        │                                       ALREADY_EXISTS
        ├── StorageError                        STORAGE_ERROR
        ├── RateLimitError                      HTTP 429
        └── ServerError                         HTTP 5xx

The API answers errors with HTTP 200 and ``{"status": "error", "data": ["message", ...]}``;
the documented tables give each message a code. :func:`code_for_message` holds that table
(the wording differs between pages, so matching ignores case, spacing and final
punctuation) and falls back, for messages no table lists, to the most specific code the
message's words point to; :func:`api_error_for` turns a code into the right class.
``ALREADY_EXISTS`` is not in the pages: it is what ``mode=insert`` of an existing contact
answers (the emulator says "Contact already exists").
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zyntro_async.bulk._report import BulkReport

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AmbiguousOutcomeError",
    "AuthenticationError",
    "BulkAbortedError",
    "CircuitOpenError",
    "ClientClosedError",
    "ConfigurationError",
    "ImportLineError",
    "InvalidRequestError",
    "JournalConflictError",
    "JournalError",
    "MalformedResponseError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestValidationError",
    "ServerError",
    "StorageError",
    "ZyntroError",
    "api_error_for",
    "code_for_message",
]


class ZyntroError(Exception):
    """Root of every exception raised by :mod:`zyntro_async`."""


class ConfigurationError(ZyntroError, ValueError):
    """The client is missing a credential or was given an unusable setting.

    Attributes:
        variable: the environment variable that would supply the missing or bad setting
            (``"ZYNTRO_API_KEY"``), when there is one; ``None`` otherwise.
    """

    def __init__(self, message: str, *, variable: str | None = None) -> None:
        super().__init__(message)
        self.variable = variable

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), (str(self),), {"variable": self.variable}))


class RequestValidationError(ZyntroError, ValueError):
    """Input the SDK rejects before sending anything.

    Attributes:
        field: the offending field as the caller knows it, by its argument name
            (``"source"`` of ``comms.log``, ``"contact.primary_email"``, ``"file_type"``, ...).
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")

    def __reduce__(self) -> tuple[type[RequestValidationError], tuple[str, str]]:
        return (type(self), (self.field, self.message))


class ImportLineError(RequestValidationError):
    """A line of an import file (JSONL or CSV row) that cannot become an operation.

    Unlike its base class it carries *every* problem found in the line, so a user fixes a
    row in one round, not one problem per run.

    Attributes:
        problems: ``(path, message)`` pairs, the path as the import format names it
            (``"contact.primaryEmail"``, ``"attachments[1].path"``).
        field: the first problem's path.
    """

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        if not problems:
            raise ValueError("ImportLineError needs at least one problem")
        self.problems = tuple((str(path), str(message)) for path, message in problems)
        first_path, first_message = self.problems[0]
        super().__init__(first_path, first_message)
        self.args = ("; ".join(f"{path}: {message}" for path, message in self.problems),)

    def __str__(self) -> str:
        return str(self.args[0])

    def __reduce__(self) -> tuple[type[ImportLineError], tuple[tuple[tuple[str, str], ...]]]:  # type: ignore[override]
        return (type(self), (self.problems,))


class JournalError(ZyntroError):
    """A bulk run's journal cannot be used; raised before anything is sent.

    Another run holds it (one run per journal), or the file is empty, another program's
    database, damaged, or written by a newer zyntro-async.

    Attributes:
        path: the journal's path.
    """

    def __init__(self, message: str, *, path: str | os.PathLike[str]) -> None:
        super().__init__(message)
        self.path = Path(path)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_journal_error, (str(self), str(self.path)))


class JournalConflictError(ZyntroError):
    """A bulk item's key was used by an earlier run of its journal for different content.

    Never raised: it is the error of the item's ``failed`` result (code
    ``JOURNAL_CONFLICT``). The item is a creating call (a note, attachment or comms entry)
    and the earlier content may be in Zyntro already, so sending this one could add a
    second entry where one was meant. Give the item a new key, or send it anyway with
    ``retry_changed=True`` (``--retry-changed`` on the command line).

    Attributes:
        key: the item's key.
        earlier: what the journal recorded for the earlier content (``"succeeded"``,
            ``"unknown"``, ``"sent"``).
        code: ``"JOURNAL_CONFLICT"``.
    """

    code = "JOURNAL_CONFLICT"

    def __init__(self, message: str, *, key: str, earlier: str) -> None:
        super().__init__(message)
        self.key = key
        self.earlier = earlier

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_conflict, (str(self), self.key, self.earlier))


def _rebuild_conflict(message: str, key: str, earlier: str) -> JournalConflictError:
    return JournalConflictError(message, key=key, earlier=earlier)


def _rebuild_journal_error(message: str, path: str) -> JournalError:
    return JournalError(message, path=path)


class ClientClosedError(ZyntroError, RuntimeError):
    """A request was made on a :class:`~zyntro_async.ZyntroClient` that has been closed."""


class CircuitOpenError(ZyntroError):
    """A bulk run stopped because the server kept failing (the circuit breaker opened)."""


class BulkAbortedError(ZyntroError):
    """A bulk run stopped before the end of its input.

    Raised by ``run`` (and at the end of ``stream``) for ``fail_fast``, ``max_failures``, the
    circuit breaker, and an input that raised (``reason`` is its error); every item pulled
    so far is still accounted for in ``report``.
    Defined here (not in the bulk package) so that ``from zyntro_async import
    BulkAbortedError`` does not load the bulk runner.

    Attributes:
        report: the run's report up to the stop.
        reason: the error that stopped it (a :class:`~zyntro_async.CircuitOpenError` when
            the server kept failing).
    """

    def __init__(self, message: str, *, report: BulkReport, reason: BaseException | None) -> None:
        super().__init__(message)
        self.report = report
        self.reason = reason


class MalformedResponseError(ZyntroError):
    """The server answered with something that is not the documented JSON envelope.

    Attributes:
        endpoint: ``"crm/addContactsFull"`` and the like.
        status: the HTTP status of the response.
    """

    def __init__(self, message: str, *, endpoint: str, status: int | None = None) -> None:
        self.endpoint = endpoint
        self.status = status
        super().__init__(f"{endpoint}: {message}")

    def __reduce__(self) -> tuple[object, ...]:
        text = str(self).removeprefix(f"{self.endpoint}: ")
        return (_rebuild, (type(self), (text,), {"endpoint": self.endpoint, "status": self.status}))


class APIConnectionError(ZyntroError):
    """The request could not be completed: connection refused, reset, or timed out.

    Attributes:
        endpoint: the endpoint being called.
    """

    def __init__(self, message: str, *, endpoint: str) -> None:
        self.endpoint = endpoint
        super().__init__(f"{endpoint}: {message}")

    def __reduce__(self) -> tuple[object, ...]:
        text = str(self).removeprefix(f"{self.endpoint}: ")
        return (_rebuild, (type(self), (text,), {"endpoint": self.endpoint}))


class APITimeoutError(APIConnectionError):
    """An attempt exceeded ``timeout``, or the whole call exceeded its deadline."""


class AmbiguousOutcomeError(APIConnectionError):
    """A call that creates something failed in a way that leaves its effect unknown.

    The request body was sent, but no answer came back (a reset or timeout after sending,
    or a 500/502/504). Retrying could create a duplicate, so the SDK does not; in bulk runs
    such items have the status ``unknown``.
    """


class APIError(ZyntroError):
    """The API answered with an error envelope or an HTTP error status.

    Attributes:
        code: the documented code (``"NOT_OWNER"``, ``"INVALID_BASE64"``, ...), ``"HTTP_<n>"``
            for a bare HTTP status, or ``"UNKNOWN"`` for a message no table lists.
        messages: the messages the server sent, as sent.
        endpoint: ``"crm/addNotestoContact"`` and the like.
        status: the HTTP status of the response (200 for error envelopes).
    """

    def __init__(
        self,
        code: str,
        messages: Sequence[str],
        endpoint: str,
        *,
        status: int = 200,
    ) -> None:
        self.code = code
        self.messages = tuple(messages)
        self.endpoint = endpoint
        self.status = status
        text = "; ".join(self.messages) or f"HTTP {status}"
        super().__init__(f"{endpoint}: [{code}] {text}")

    @property
    def message(self) -> str:
        """The messages joined into one line."""
        return "; ".join(self.messages)

    def __reduce__(self) -> tuple[object, ...]:
        return (
            _rebuild,
            (type(self), (self.code, self.messages, self.endpoint), {"status": self.status}),
        )


class AuthenticationError(APIError):
    """The credentials were missing, wrong, or belong to an inactive user."""


class PermissionDeniedError(APIError):
    """The credentials are valid but not allowed to do this (IP, ownership, organisation)."""


class NotFoundError(APIError):
    """The contact, note, attachment or member does not exist where it was looked for."""


class InvalidRequestError(APIError):
    """The server rejected the request's content."""


class StorageError(APIError):
    """File storage is not configured for the account."""


class RateLimitError(APIError):
    """HTTP 429.

    Attributes:
        retry_after: seconds the server asked us to wait, when it said.
    """

    def __init__(
        self,
        code: str,
        messages: Sequence[str],
        endpoint: str,
        *,
        status: int = 429,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(code, messages, endpoint, status=status)
        self.retry_after = retry_after

    def __reduce__(self) -> tuple[object, ...]:
        return (
            _rebuild,
            (
                type(self),
                (self.code, self.messages, self.endpoint),
                {"status": self.status, "retry_after": self.retry_after},
            ),
        )


class ServerError(APIError):
    """HTTP 5xx."""


def _rebuild(cls: type[Exception], args: tuple[object, ...], kwargs: dict[str, object]) -> object:
    # Keyword-only constructor arguments need help to survive pickling (multiprocessing,
    # journals written by worker processes).
    return cls(*args, **kwargs)


_CLASS_FOR_CODE: dict[str, type[APIError]] = {
    **dict.fromkeys(
        (
            "MISSING_API_KEY",
            "INVALID_API_KEY",
            "USER_INACTIVE",
            "MISSING_DEVELOPER_SECRET",
            "INVALID_DEVELOPER_SECRET",
        ),
        AuthenticationError,
    ),
    **dict.fromkeys(("IP_NOT_WHITELISTED", "NOT_OWNER", "WRONG_ORG"), PermissionDeniedError),
    **dict.fromkeys(("NOT_FOUND", "NOT_FOUND_UPDATE", "MEMBER_NOT_FOUND"), NotFoundError),
    **dict.fromkeys(
        (
            "MISSING_FIELDS",
            "MISSING_CONTACT",
            "VALIDATION_ERROR",
            "CUSTOM_FIELD_ERROR",
            "INVALID_ACTION",
            "INVALID_TYPE",
            "INVALID_URL",
            "INVALID_BASE64",
            "UNSUPPORTED_FILE",
            "ALREADY_EXISTS",
        ),
        InvalidRequestError,
    ),
    "STORAGE_ERROR": StorageError,
    "RATE_LIMITED": RateLimitError,
}

# The five pages' error tables (and the overview's "Common Error Messages"), normalised as
# :func:`_normalise` does. The pages spell the same error differently ("Invalid API Key" /
# "Invalid API key"); case, spacing and final punctuation never decide a code.
_EXACT_MESSAGES: dict[str, str] = {
    "api key is required": "MISSING_API_KEY",
    "missing service instance": "MISSING_API_KEY",
    "invalid api key": "INVALID_API_KEY",
    "user is not active": "USER_INACTIVE",
    "ip address not whitelisted": "IP_NOT_WHITELISTED",
    "invalid developer_secret": "INVALID_DEVELOPER_SECRET",
    "missing developer_secret": "MISSING_DEVELOPER_SECRET",
    "contact data is required": "MISSING_CONTACT",
    "member not found in this organization": "MEMBER_NOT_FOUND",
    "contact not found for update": "NOT_FOUND_UPDATE",
    "contact does not exist": "NOT_FOUND",
    "contact not found in this organization": "NOT_FOUND",
    "attachment not found": "NOT_FOUND",
    "you are trying to add a note to a contact that does not belong to your organization": (
        "WRONG_ORG"
    ),
    "the api only supports notes being added by the member that owns the contact": "NOT_OWNER",
    "action must be one of: insert, update, delete": "INVALID_ACTION",
    "att_type must be 'link' or 'file'": "INVALID_TYPE",
    "comms_type must be one of: email, sms, call, message": "INVALID_TYPE",
    "invalid url format in link_url": "INVALID_URL",
    "invalid base64 file data": "INVALID_BASE64",
    "storage not configured for this account": "STORAGE_ERROR",
    "missing org id": "MISSING_FIELDS",
    "missing brand id": "MISSING_FIELDS",
    "missing member id": "MISSING_FIELDS",
    "missing contact id": "MISSING_FIELDS",
    "missing note": "MISSING_FIELDS",
    "org_id is required": "MISSING_FIELDS",
    "member_id is required": "MISSING_FIELDS",
    "contact_id is required": "MISSING_FIELDS",
    "comms_type is required": "MISSING_FIELDS",
    "comms_data is required": "MISSING_FIELDS",
}

# Documented messages whose end the pages leave open ("Contact validation errors: ...").
_PREFIX_MESSAGES: tuple[tuple[str, str], ...] = (
    ("missing required contact field", "MISSING_FIELDS"),
    ("contact validation error", "VALIDATION_ERROR"),
    ("contact custom field error", "CUSTOM_FIELD_ERROR"),
    ("unsupported file type", "UNSUPPORTED_FILE"),
)

_API_KEY = ("api key", "api_key", "apikey", "api-key")
_SECRET = ("developer_secret", "developer secret", "developer-secret")
_ABSENT = ("missing", "required", "empty", "not provided", "no api key", "no developer")
_NOT_FOUND = ("not found", "does not exist", "doesn't exist", "no such")

# When no documented message matches (the server's wording drifted, or the emulator says
# something the pages do not), the most specific code whose words the message contains.
# A rule matches when the message holds one word of each of its groups; the first rule
# that matches wins, so the specific ones come first (an API key "without access to this
# organization" is WRONG_ORG, not INVALID_API_KEY). Plain substring tests: linear in the
# message's length, whatever the server sends.
_KEYWORD_RULES: tuple[tuple[str, tuple[tuple[str, ...], ...]], ...] = (
    ("NOT_OWNER", (("owns the contact", "own the contact", "contact owner", "contact's owner",
                    "owner of the contact", "not the owner"),)),
    ("WRONG_ORG", (("access to this organi", "access to the organi", "access to your organi",
                    "access to that organi"),)),
    ("MISSING_DEVELOPER_SECRET", (_SECRET, _ABSENT)),
    ("INVALID_DEVELOPER_SECRET", (_SECRET,)),
    ("MISSING_API_KEY", (_API_KEY, _ABSENT)),
    ("MISSING_API_KEY", (("service instance",),)),
    ("USER_INACTIVE", (("user", "account"), ("not active", "inactive", "deactivated",
                                             "disabled", "suspended"))),
    ("INVALID_API_KEY", (_API_KEY,)),
    ("IP_NOT_WHITELISTED", (("whitelist", "allowlist", "allow-list"),)),
    ("MEMBER_NOT_FOUND", (("member",), (*_NOT_FOUND, "does not belong", "not a member",
                                        "unknown", "invalid"))),
    ("WRONG_ORG", (("does not belong to", "belongs to another", "belongs to a different",
                    "different organi", "another organi", "other organi", "wrong organi"),)),
    ("CUSTOM_FIELD_ERROR", (("custom field", "custom_field", "customfield"),)),
    ("NOT_FOUND_UPDATE", ((*_NOT_FOUND, "no contact", "no existing"),
                          ("for update", "to update"))),
    ("ALREADY_EXISTS", (("already exist", "duplicate"),)),
    ("NOT_FOUND", (_NOT_FOUND,)),
    ("INVALID_BASE64", (("base64", "base 64"),)),
    ("STORAGE_ERROR", (("storage",),)),
    ("UNSUPPORTED_FILE", (("file type", "file_type", "mime"),
                          ("unsupported", "not supported", "not allowed", "not permitted"))),
    ("MISSING_CONTACT", (("contact data", "contact object"), ("required", "missing"))),
    ("INVALID_TYPE", (("link attachment", "file attachment"), ("only",))),
    ("INVALID_ACTION", (("action must", "invalid action", "unknown action",
                         "unsupported action", "action is invalid"),)),
    ("INVALID_TYPE", (("att_type", "comms_type", "attachment type", "comms type",
                       "communication type"),
                      ("must be", "invalid", "unknown", "not supported", "unsupported",
                       "not recognized", "not a recognized"))),
    ("INVALID_URL", (("url",), ("invalid", "malformed", "not a valid", "format"))),
    ("MISSING_FIELDS", (("missing", "is required", "are required", "required field"),)),
    ("VALIDATION_ERROR", (("must be", "must not", "exceeds", "too long", "at most",
                           "maximum length", "max length", "validation", "invalid",
                           "not a valid", "cannot be", "can only"),)),
)  # fmt: skip

# Final punctuation a page or a server version may add or drop ("...the contact." / "...").
_FINAL_PUNCTUATION = ".!?;:,\u2026"


def _normalise(message: str) -> str:
    """Lower case, runs of whitespace as one space, no surrounding space or final punctuation."""
    return " ".join(message.split()).lower().rstrip(_FINAL_PUNCTUATION).rstrip()


def _documented_code(key: str) -> str | None:
    exact = _EXACT_MESSAGES.get(key)
    if exact is not None:
        return exact
    for prefix, code in _PREFIX_MESSAGES:
        if key.startswith(prefix):
            return code
    return None


def _keyword_code(key: str) -> str | None:
    for code, groups in _KEYWORD_RULES:
        if all(any(word in key for word in group) for group in groups):
            return code
    return None


def code_for_message(message: str) -> str:
    """Return the code for one error message, or ``"UNKNOWN"``.

    A documented message maps to its documented code whatever its case, spacing and final
    punctuation. Any other message falls back, by its words, to the most specific code
    (anything about the API key or the developer secret is an authentication code; a
    member "not found" is ``MEMBER_NOT_FOUND``; "Contact already exists" is
    ``ALREADY_EXISTS``; a field that "must be ..." is ``VALIDATION_ERROR``). README's
    "Error codes" table lists the mapping.

    Args:
        message: a message from the ``data`` list of an error envelope.

    Returns:
        A code of the documented tables (``"NOT_OWNER"``, ...), ``"ALREADY_EXISTS"``, or
        ``"UNKNOWN"`` when no word of the message points anywhere.
    """
    key = _normalise(message)
    return _documented_code(key) or _keyword_code(key) or "UNKNOWN"


def api_error_for(
    messages: Sequence[str],
    endpoint: str,
    *,
    status: int = 200,
    retry_after: float | None = None,
) -> APIError:
    """Build the exception for an error envelope or HTTP error status.

    The code comes from the first documented message, else from the first message whose
    words point to a code (see :func:`code_for_message`); the class from the code, or, for
    codes that are only an HTTP status, from the status.

    Args:
        messages: the envelope's ``data`` messages (may be empty for a bare HTTP error).
        endpoint: ``"module/action"``.
        status: the HTTP status.
        retry_after: seconds from a ``Retry-After`` header, for 429.

    Returns:
        An :class:`APIError` of the right subclass (not raised).
    """
    # A documented message anywhere in the list decides before any guess by keywords.
    keys = [_normalise(message) for message in messages]
    code = next(filter(None, map(_documented_code, keys)), None)
    if code is None:
        code = next(filter(None, map(_keyword_code, keys)), "UNKNOWN")
    if status == 429:
        return RateLimitError("RATE_LIMITED", messages, endpoint, retry_after=retry_after)
    if status >= 500:
        return ServerError(f"HTTP_{status}", messages, endpoint, status=status)
    if code == "UNKNOWN" and status != 200:
        code = f"HTTP_{status}"
        cls: type[APIError] = {
            401: AuthenticationError,
            403: PermissionDeniedError,
            404: NotFoundError,
        }.get(status, InvalidRequestError if 400 <= status < 500 else APIError)
        return cls(code, messages, endpoint, status=status)
    return _CLASS_FOR_CODE.get(code, APIError)(code, messages, endpoint, status=status)
