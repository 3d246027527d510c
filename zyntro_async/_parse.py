"""Parsing responses: a capped read, the envelope's decoding, and the mapping to errors.

The answer to an attempt becomes the envelope's ``data``, or an
:class:`~zyntro_async._retry.AttemptFailure` carrying the typed error and how the retry
loop should see it (a 429, a 503, another 5xx, or an answer retrying cannot change).
Everything quoted from the server in an error passes through the client's
:class:`~zyntro_async._redact.Redactor`.
"""

from __future__ import annotations

import datetime
import email.utils
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from zyntro_async._errors import MalformedResponseError, api_error_for
from zyntro_async._json import decode_json
from zyntro_async._redact import Redactor
from zyntro_async._retry import AttemptFailure, FailureKind

__all__ = [
    "ResponseParser",
    "RetryAfterReader",
    "decode_envelope",
    "parse_retry_after",
    "read_capped",
]

# The usual answers' Content-Type, known to be JSON without parsing the header.
_JSON_CONTENT_TYPES = frozenset({"application/json", "application/json; charset=utf-8"})
_READ_CHUNK = 65536
# A server's ``Date`` within this many seconds of our clock: the two clocks agree. Past
# the second ``Date`` truncates and a round trip's transit, a clock synced over NTP is
# within milliseconds; one never synced is minutes or hours off.
_CLOCKS_AGREE = 2.0


def is_json_media(content_type: str) -> bool:
    """``application/json`` or ``application/*+json``, whatever the case and parameters."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def parse_retry_after(value: str | None, date: str | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (seconds or an HTTP date); ``None`` if unusable.

    ``date``: the same response's ``Date`` header, the server's clock when it answered. A
    date is read against it where the two clocks disagree (see :class:`RetryAfterReader`,
    which also keeps what it learned of the server's clock from one answer to the next).
    """
    return RetryAfterReader().read(value, date)


def _http_date(value: str) -> float | None:
    """Epoch seconds of an HTTP date, or ``None`` if ``value`` is not one.

    An HTTP date is in GMT (RFC 9110, 5.6.7), and a recipient accepts all three of its
    formats: so a date with no zone (the obsolete asctime format, ``Sun Nov  6 08:49:37
    1994``) or with ``-0000`` (what Python's ``email.utils.formatdate()`` writes by default)
    is read as GMT. Ignored as dates with no zone, such a server's every wait went unheeded
    and the run paced as if it gave none. A date with an offset (not HTTP's, but sent) is
    read at that offset.
    """
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed.timestamp()


class RetryAfterReader:
    """Reads ``Retry-After`` as seconds to wait on this machine's clock, one client's worth.

    Seconds are read as they are. An HTTP date names a time on the *server's* clock: read
    against ours, it is off by however far the two clocks are apart. A client machine
    without time sync, or a server an hour ahead, made every 429 ask for an hour's pause
    (a bulk run waited it out, or stopped as for a daily quota); a server behind made
    every wait nothing, and the run paced as if told none.

    So the response's ``Date`` header, the server's clock when it answered, is compared
    with ours. Within ``_CLOCKS_AGREE`` seconds (past the second ``Date`` truncates) they
    agree, and dates are read against our clock, to the millisecond. Further apart, dates
    are read against the server's: shifted by how far ours is ahead of it. ``Date`` has
    whole seconds and comes a transit late, so each answer bounds that from above only;
    the least bound seen is kept (a wait read so never ends before the date the server
    named), and it comes closer as answers fall near a second's start. Kept from one
    answer to the next, the waits dates name still end whole seconds apart on our clock
    (how the rate governor tells a server answering in dates), and a date that comes
    without ``Date`` is read the same way. An answer that puts our clock more than
    ``_CLOCKS_AGREE`` further ahead than kept (a clock set since) starts over from it.

    Args:
        clock: Epoch seconds now (default :func:`time.time`, read at each call).
    """

    def __init__(self, clock: Callable[[], float] | None = None) -> None:
        self._clock = clock
        self._offset = 0.0  # how far our clock is ahead of the server's, at most (0: agree)

    @property
    def offset(self) -> float:
        """How far this machine's clock is taken to be ahead of the server's, as dates are
        read (0.0: the two agree)."""
        return self._offset

    def read(self, value: str | None, date: str | None = None) -> float | None:
        """Seconds to wait for ``value``; ``None`` if unusable (neither seconds nor a date).

        ``NaN``, a negative number or a date in the past is ``0.0``. ``date``: the
        response's ``Date`` header, if it sent one.
        """
        if not value:
            return None
        try:
            seconds = float(value)
        except ValueError:
            at = _http_date(value)
            if at is None:
                return None  # neither seconds nor an HTTP date: ignore it, back off as usual
            now = self._clock() if self._clock is not None else time.time()
            if date:
                self._compare_clocks(date, now)
            seconds = at + self._offset - now
        if math.isnan(seconds) or seconds < 0:  # NaN or in the past
            return 0.0
        return seconds

    def _compare_clocks(self, date: str, now: float) -> None:
        server = _http_date(date)
        if server is None:
            return
        # The server's clock read somewhere in the second Date names, a transit ago: ours
        # is at most this far ahead of it.
        ahead = now - server
        if abs(ahead - 0.5) <= _CLOCKS_AGREE:
            self._offset = 0.0
        elif self._offset == 0.0 or ahead > self._offset + _CLOCKS_AGREE:
            self._offset = ahead
        else:
            self._offset = min(self._offset, ahead)


def decode_envelope(raw: bytes, content_type: str) -> dict[str, Any] | None:
    """The JSON object in ``raw``, or ``None`` when it is not JSON or not an object."""
    if content_type not in _JSON_CONTENT_TYPES and not is_json_media(content_type):
        return None
    try:
        value = decode_json(raw)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def read_capped(endpoint: str, response: aiohttp.ClientResponse, cap: int) -> Awaitable[bytes]:
    """The response's body, refused once it grows past ``cap`` bytes (await the result).

    Not a coroutine itself: a body of a declared size is aiohttp's own ``read()``, with no
    frame of ours around it.

    Raises:
        AttemptFailure: ``FATAL``, with a :class:`~zyntro_async.MalformedResponseError`
            (a declared size over the cap is refused at once, before anything is read).
    """
    declared = response.content_length
    if declared is not None and declared > cap:
        raise AttemptFailure(
            MalformedResponseError(
                f"response of {declared} bytes exceeds max_response_bytes={cap}",
                endpoint=endpoint,
                status=response.status,
            ),
            FailureKind.FATAL,
        )
    if declared is not None and not response.headers.get("Content-Encoding"):
        # Not compressed, so no larger than declared (the parser stops there): reading it
        # whole stays within the cap.
        return response.read()
    return _read_chunks(endpoint, response, cap)


async def _read_chunks(endpoint: str, response: aiohttp.ClientResponse, cap: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while chunk := await response.content.read(_READ_CHUNK):
        total += len(chunk)
        if total > cap:
            raise AttemptFailure(
                MalformedResponseError(
                    f"response exceeds max_response_bytes={cap}; refused",
                    endpoint=endpoint,
                    status=response.status,
                ),
                FailureKind.FATAL,
            )
        chunks.append(chunk)
    return b"".join(chunks)


class ResponseParser:
    """Turns one answer into the envelope's ``data`` or a classified failure.

    Args:
        redactor: scrubs what the server sent before it is quoted in an error.
    """

    __slots__ = ("_redactor",)

    def __init__(self, redactor: Redactor) -> None:
        self._redactor = redactor

    def parse(
        self,
        endpoint: str,
        status: int,
        content_type: str,
        raw: bytes,
        retry_after: float | None,
    ) -> Any:
        """The envelope's ``data`` for a 200 success envelope.

        Raises:
            AttemptFailure: for everything else, with the typed error and its kind.
        """
        # decode_envelope(), inline for the usual answer (a call less on every request).
        envelope: dict[str, Any] | None = None
        if content_type in _JSON_CONTENT_TYPES:
            try:
                value = decode_json(raw)
            except (UnicodeDecodeError, ValueError, RecursionError):
                value = None
            if type(value) is dict:
                envelope = value
        else:
            envelope = decode_envelope(raw, content_type)
        if status != 200:
            messages = self._error_messages(envelope)
            if messages is None:
                snippet = self._redactor.snippet(raw)
                messages = (f"HTTP {status}: {snippet}",) if snippet else ()
            error = api_error_for(messages, endpoint, status=status, retry_after=retry_after)
            if status == 429:
                raise AttemptFailure(error, FailureKind.RATE_LIMITED, retry_after)
            if status == 503:
                raise AttemptFailure(error, FailureKind.UNAVAILABLE, retry_after)
            if status >= 500:
                raise AttemptFailure(error, FailureKind.SERVER_ERROR, retry_after)
            raise AttemptFailure(error, FailureKind.FATAL)
        if envelope is None:
            kind = (
                "not JSON"
                if is_json_media(content_type)
                # The header is the server's text too: scrubbed like the body.
                else f"Content-Type {self._redactor.scrub(content_type or 'missing')[:80]!r}, "
                "not JSON"
            )
            raise self._malformed(
                endpoint,
                status,
                f"expected the JSON envelope, got {kind}: {self._redactor.snippet(raw)!r}",
            )
        result_status = envelope.get("status")
        if result_status == "success":
            if "data" not in envelope:
                raise self._malformed(endpoint, status, "success envelope without 'data'")
            # A success answer may echo our body (a note's content): scrubbed like errors.
            return self._redactor.scrub_response(raw, envelope["data"])
        if result_status == "error":
            messages = self._error_messages(envelope)
            if messages is None:
                raise self._malformed(
                    endpoint, status, "error envelope whose 'data' is not a list of messages"
                )
            raise AttemptFailure(
                api_error_for(messages, endpoint, status=status), FailureKind.FATAL
            )
        raise self._malformed(
            endpoint,
            status,
            "envelope 'status' must be 'success' or 'error', got "
            f"{self._redactor.scrub(repr(result_status))[:40]}",
        )

    @staticmethod
    def _malformed(endpoint: str, status: int, message: str) -> AttemptFailure:
        return AttemptFailure(
            MalformedResponseError(message, endpoint=endpoint, status=status), FailureKind.FATAL
        )

    def _error_messages(self, envelope: dict[str, Any] | None) -> tuple[str, ...] | None:
        if envelope is None or envelope.get("status") != "error":
            return None
        data = envelope.get("data")
        scrub = self._redactor.scrub
        if isinstance(data, str):
            return (scrub(data),)
        if isinstance(data, list) and data and all(isinstance(m, str) for m in data):
            return tuple(scrub(m) for m in data)
        return None
