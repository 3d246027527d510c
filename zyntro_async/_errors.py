"""Every exception the SDK raises, and the mapping from API messages to codes.

The tree::

    ZyntroError
    ├── ConfigurationError (also ValueError)    missing credential / bad client setting
    ├── RequestValidationError (also ValueError) input rejected before any I/O
    ├── ClientClosedError (also RuntimeError)   work asked of a closed client
    ├── CircuitOpenError                        bulk run stopped: the server is failing
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
(the wording differs between pages, so matching ignores case), and :func:`api_error_for`
turns a code into the right class.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AmbiguousOutcomeError",
    "AuthenticationError",
    "CircuitOpenError",
    "ClientClosedError",
    "ConfigurationError",
    "ImportLineError",
    "InvalidRequestError",
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


class ClientClosedError(ZyntroError, RuntimeError):
    """A request was made on a :class:`~zyntro_async.ZyntroClient` that has been closed."""


class CircuitOpenError(ZyntroError):
    """A bulk run stopped because the server kept failing (the circuit breaker opened)."""


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

# Exact messages from the five error tables, lower-cased: the pages spell the same error
# differently ("Invalid API Key" / "Invalid API key"), so lookups ignore case.
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
    "note not found": "NOT_FOUND",
    "you are trying to add a note to a contact that does not belong to your organization": (
        "WRONG_ORG"
    ),
    "api key does not have access to this organization": "WRONG_ORG",
    "the api only supports notes being added by the member that owns the contact.": "NOT_OWNER",
    "action must be one of: insert, update, delete": "INVALID_ACTION",
    "att_type must be 'link' or 'file'": "INVALID_TYPE",
    "comms_type must be one of: email, sms, call, message": "INVALID_TYPE",
    "invalid url format in link_url": "INVALID_URL",
    "invalid base64 file data": "INVALID_BASE64",
    "storage not configured for this account": "STORAGE_ERROR",
    "contact already exists": "ALREADY_EXISTS",
}

_PREFIX_MESSAGES: tuple[tuple[str, str], ...] = (
    ("missing required contact fields:", "MISSING_FIELDS"),
    ("contact validation errors:", "VALIDATION_ERROR"),
    ("contact custom field errors:", "CUSTOM_FIELD_ERROR"),
    ("unsupported file type:", "UNSUPPORTED_FILE"),
    ("comms_source ", "VALIDATION_ERROR"),
    ("comms_status must be", "VALIDATION_ERROR"),
    ("mode must be", "VALIDATION_ERROR"),
    ("lookup_by must be", "VALIDATION_ERROR"),
)

# "Missing org ID", "Missing brand ID", "Missing note", ... and "org_id is required",
# "comms_data is required", ...: a required field is absent.
_MISSING_FIELD = re.compile(r"^(missing \w[\w .]*|[\w.]+ is required)$")


def code_for_message(message: str) -> str:
    """Return the documented code for one error message, or ``"UNKNOWN"``.

    Args:
        message: a message from the ``data`` list of an error envelope.

    Returns:
        The code string from the documented error tables (``"NOT_OWNER"``, ...).
    """
    key = " ".join(message.split()).lower()
    exact = _EXACT_MESSAGES.get(key)
    if exact is not None:
        return exact
    for prefix, code in _PREFIX_MESSAGES:
        if key.startswith(prefix):
            return code
    if _MISSING_FIELD.match(key):
        return "MISSING_FIELDS"
    return "UNKNOWN"


def api_error_for(
    messages: Sequence[str],
    endpoint: str,
    *,
    status: int = 200,
    retry_after: float | None = None,
) -> APIError:
    """Build the exception for an error envelope or HTTP error status.

    The code comes from the first message the tables know; the class from the code, or,
    for codes that are only an HTTP status, from the status.

    Args:
        messages: the envelope's ``data`` messages (may be empty for a bare HTTP error).
        endpoint: ``"module/action"``.
        status: the HTTP status.
        retry_after: seconds from a ``Retry-After`` header, for 429.

    Returns:
        An :class:`APIError` of the right subclass (not raised).
    """
    code = "UNKNOWN"
    for message in messages:
        code = code_for_message(message)
        if code != "UNKNOWN":
            break
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
