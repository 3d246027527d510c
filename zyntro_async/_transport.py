"""Sending requests: the one retry loop, the one response parser.

Every endpoint coroutine ends in :meth:`Transport.request`: it adds the credentials and base
identifiers, sends the body over the client's aiohttp session, classifies what came back,
retries what :mod:`zyntro_async._retry` allows, and returns the envelope's ``data`` or raises
the typed error.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import math
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import attrs
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from zyntro_async._config import ClientConfig
from zyntro_async._errors import (
    AmbiguousOutcomeError,
    APIConnectionError,
    APIError,
    APITimeoutError,
    ConfigurationError,
    MalformedResponseError,
    ZyntroError,
    api_error_for,
)
from zyntro_async._files import Base64JsonPayload, FileSource, HookedBytesPayload
from zyntro_async._observe import Attempt, AttemptObserver, AttemptResult, Call
from zyntro_async._retry import FailureKind, RetryPolicy, current_pacer, current_send_hook
from zyntro_async._secrets import SecretScrubber

__all__ = ["Transport"]

logger = logging.getLogger("zyntro_async")

API_PREFIX = "/apis/v2/public"
_UPLOAD_SECONDS_PER_MIB = 1.0  # attempt timeout grows by this for each MiB of request body
_SNIPPET = 200
_URL_CACHE_LIMIT = 64  # endpoints whose URL is kept parsed (``call`` takes any name)
_TIMEOUT_CACHE_LIMIT = 256  # attempt timeouts kept built (they vary with the body's size)
# A read-only multidict: aiohttp copies it as it is, without converting a dict first.
_HEADERS = CIMultiDictProxy(
    CIMultiDict({"Content-Type": "application/json", "Accept": "application/json"})
)
# The usual answers' Content-Type, known to be JSON without parsing the header.
_JSON_CONTENT_TYPES = frozenset({"application/json", "application/json; charset=utf-8"})
# json.dumps(body, separators=...) builds an encoder per call; this one is reused.
_encode_json = json.JSONEncoder(separators=(",", ":")).encode


def _is_json_media(content_type: str) -> bool:
    """``application/json`` or ``application/*+json``, whatever the case and parameters."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


@attrs.define
class _Failure(Exception):
    """One failed attempt: the error to raise if we stop, and how to classify it."""

    error: ZyntroError
    kind: FailureKind
    retry_after: float | None = None


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None  # neither seconds nor an HTTP date: ignore it, back off as usual
        if parsed.tzinfo is None:
            return None
        seconds = parsed.timestamp() - time.time()
    if math.isnan(seconds) or seconds < 0:  # NaN or in the past
        return 0.0
    return seconds


class Transport:
    """Owns the request pipeline of one client (not the session's lifetime)."""

    # TEMP wiring: the client's observer (hooks, tracing, log), set by ZyntroClient.
    observer: AttemptObserver | None = None

    def __init__(
        self,
        config: ClientConfig,
        retry: RetryPolicy,
        get_session: Callable[[], aiohttp.ClientSession],
    ) -> None:
        self._config = config
        self._retry = retry
        self._get_session = get_session
        self._secrets = tuple(s for s in config.secrets() if s)
        self._scrubber = SecretScrubber(self._secrets)
        self._urls: dict[str, URL] = {}
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}

    # ---- building -------------------------------------------------------------------

    def base_fields(self, *, member_id: str | None, brand: bool = False) -> dict[str, Any]:
        """Credentials and identifiers that open every body, in the documented order."""
        fields: dict[str, Any] = {
            "api_key": self._config.api_key.reveal(),
            "developer_secret": self._config.developer_secret.reveal(),
            "org_id": self._config.org_id,
        }
        if brand:
            if not self._config.brand_id:
                raise ConfigurationError(
                    "missing brand_id: this endpoint needs one; pass brand_id=... to "
                    "ZyntroClient or set the ZYNTRO_BRAND_ID environment variable"
                )
            fields["brand_id"] = self._config.brand_id
        member = member_id if member_id is not None else self._config.member_id
        if member is not None:
            fields["member_id"] = member
        return fields

    def scrub(self, text: str) -> str:
        """Make text that came from elsewhere (server bodies, headers) safe to keep.

        The credentials are removed in every spelling (JSON-escaped, percent-encoded), also
        their first characters wherever they appear (an echo of our body cut short, by the
        server or by our own snippet window), and lone
        surrogates (a JSON ``"\\ud800"`` escape, a header that was not UTF-8) are replaced:
        the text may be written to the journal or an export file, which need valid Unicode.
        """
        return self._scrubber.scrub_text(text)

    def _safe_cause(self, exc: BaseException) -> BaseException | None:
        """``exc``, unless it (or an exception behind it) quotes a credential.

        aiohttp quotes what it could not parse (a status line, a header, a certificate's
        name), and a hostile server can put our credentials there: such an exception is not
        chained (its scrubbed text is in our message), so no traceback prints it.
        """
        pending: list[BaseException | None] = [exc]
        seen: set[int] = set()
        while pending:
            current = pending.pop()
            if current is None or id(current) in seen:
                continue
            seen.add(id(current))
            if any(self.scrub(part) != part for part in (str(current), repr(current))):
                return None
            pending += (current.__cause__, current.__context__)
        return exc

    # ---- sending --------------------------------------------------------------------

    async def request(
        self,
        endpoint: str,
        body: dict[str, Any],
        *,
        idempotent: bool,
        file: FileSource | None = None,
        absorb: Callable[[ZyntroError], Any] | None = None,
    ) -> Any:
        """Send ``body`` to ``endpoint`` (``"crm/addContactsFull"``), retrying as allowed.

        Args:
            endpoint: ``module/action``.
            body: the full body, credentials included (see :meth:`base_fields`).
            idempotent: whether repeating the call cannot change the outcome.
            file: a file to stream as ``file_data`` after the other keys.
            absorb: for a retried call whose earlier attempt may have been applied: maps the
                error of a later attempt to the data to return instead (``None`` to raise).
                ``attachments.delete`` uses it: "not found" after an unanswered delete
                means our first attempt deleted it.

        Returns:
            The envelope's ``data`` (any JSON value; the caller structures it).
        """
        observer = self.observer
        # TEMP wiring: an attempt left open by an exception (a hook, a cancellation) is
        # reported as final, so spans end.
        opened: list[tuple[Attempt, float]] = []
        try:
            return await self._request(
                endpoint,
                body,
                idempotent=idempotent,
                file=file,
                absorb=absorb,
                observer=observer,
                opened=opened,
            )
        except BaseException as exc:
            error = exc if isinstance(exc, ZyntroError) else None
            self._report(observer, opened, getattr(exc, "status", None), FailureKind.FATAL, error)
            raise

    def _report(
        self,
        observer: AttemptObserver | None,
        opened: list[tuple[Attempt, float]],
        status: int | None,
        kind: FailureKind | None,
        error: ZyntroError | None,
        *,
        retry_after: float | None = None,
        retry_in: float | None = None,
    ) -> None:
        """TEMP wiring: tell the observer how the open attempt ended (once)."""
        if observer is None or not opened:
            return
        attempt, began = opened.pop()
        elapsed = self._retry.clock() - began
        observer.after_attempt(
            AttemptResult(attempt, elapsed, status, kind, error, retry_after, retry_in)
        )

    async def _request(
        self,
        endpoint: str,
        body: dict[str, Any],
        *,
        idempotent: bool,
        file: FileSource | None,
        absorb: Callable[[ZyntroError], Any] | None,
        observer: AttemptObserver | None,
        opened: list[tuple[Attempt, float]],
    ) -> Any:
        policy = self._retry
        call = Call(endpoint, idempotent=idempotent) if observer is not None else None
        deadline = None if self._config.deadline is None else policy.clock() + self._config.deadline
        body_bytes = None if file is not None else _encode_json(body).encode()
        body_size = len(body_bytes) if body_bytes is not None else file.size if file else 0
        attempt_timeout = self._config.timeout + _UPLOAD_SECONDS_PER_MIB * body_size / 2**20
        if policy.budget is not None:
            policy.budget.record_request()
        pacer = current_pacer.get()
        # Only creating calls need the write-ahead mark: repeating the others is harmless.
        send_hook = None if idempotent else current_send_hook.get()
        attempt = 0
        maybe_applied = False
        while True:
            attempt += 1
            timeout = attempt_timeout
            if deadline is not None:
                timeout = min(timeout, deadline - policy.clock())
                if timeout <= 0:
                    raise APITimeoutError(
                        f"deadline of {self._config.deadline}s exceeded before attempt {attempt}",
                        endpoint=endpoint,
                    )
            if pacer is not None and not pacer.turn_now():
                await pacer.before_attempt()
            if observer is not None and call is not None:
                this = Attempt(call, attempt, body_size)
                await observer.before_attempt(this)
                opened[:] = [(this, policy.clock())]
            data_arg: Any
            if file is not None:
                data_arg = Base64JsonPayload(body, file, send_hook)
            elif send_hook is not None and body_bytes:
                data_arg = HookedBytesPayload(body_bytes, send_hook)
            else:
                data_arg = body_bytes
            try:
                data = await self._attempt(
                    endpoint, data_arg, timeout=timeout, idempotent=idempotent, attempt=attempt
                )
            except _Failure as failure:
                if pacer is not None:
                    # The pacer pauses the whole run for Retry-After: the server's word is
                    # capped here as for our own wait, or "Retry-After: 99999999" stalls it.
                    retry_after = failure.retry_after
                    if retry_after is not None:
                        retry_after = min(retry_after, policy.retry_after_cap)
                    pacer.after_attempt(failure.kind, retry_after)
                if maybe_applied and absorb is not None and failure.kind is FailureKind.FATAL:
                    absorbed = absorb(failure.error)
                    if absorbed is not None:
                        status = getattr(failure.error, "status", None)
                        self._report(observer, opened, status, None, None)
                        return absorbed
                maybe_applied = maybe_applied or failure.kind in (
                    FailureKind.AMBIGUOUS,
                    FailureKind.SERVER_ERROR,
                )
                delay = self._next_delay(failure, attempt, idempotent=idempotent)
                final: ZyntroError | None = None
                if delay is None or (deadline is not None and policy.clock() + delay >= deadline):
                    failure.error.__cause__ = failure.__cause__
                    final = self._final_error(failure, idempotent=idempotent)
                self._report(
                    observer,
                    opened,
                    getattr(failure.error, "status", None),
                    failure.kind,
                    failure.error if final is None else final,
                    retry_after=failure.retry_after,
                    retry_in=delay if final is None else None,
                )
                if final is not None:
                    raise final from final.__cause__
                assert delay is not None  # final is set whenever there is no delay
                logger.debug(
                    "%s attempt %d failed (%s); retrying in %.3fs",
                    endpoint,
                    attempt,
                    failure.kind.value,
                    delay,
                )
                await policy.sleep(delay)
                continue
            if pacer is not None:
                pacer.after_attempt(None, None)
            self._report(observer, opened, 200, None, None)
            return data

    def _next_delay(self, failure: _Failure, attempt: int, *, idempotent: bool) -> float | None:
        policy = self._retry
        if attempt > policy.max_retries:
            return None
        if not policy.should_retry(failure.kind, idempotent=idempotent):
            return None
        if policy.budget is not None and not policy.budget.try_spend():
            logger.debug("retry budget exhausted; not retrying")
            return None
        return policy.backoff(attempt, failure.retry_after)

    @staticmethod
    def _final_error(failure: _Failure, *, idempotent: bool) -> ZyntroError:
        error = failure.error
        # A creating request whose answer cannot be read (cut short, not JSON, too large)
        # reached the server: it may have been applied, exactly like a reset after sending.
        unreadable = isinstance(error, MalformedResponseError)
        if not idempotent and (
            unreadable or failure.kind in (FailureKind.AMBIGUOUS, FailureKind.SERVER_ERROR)
        ):
            detail = str(error)
            if isinstance(error, APIError | APIConnectionError | MalformedResponseError):
                detail = detail.removeprefix(f"{error.endpoint}: ")
                endpoint = error.endpoint
            else:  # pragma: no cover - only API and connection errors are ambiguous
                endpoint = "?"
            ambiguous = AmbiguousOutcomeError(
                f"the request may or may not have been applied ({detail}); not retried "
                "because retrying could create a duplicate",
                endpoint=endpoint,
            )
            ambiguous.__cause__ = error
            return ambiguous
        return error

    async def _attempt(
        self, endpoint: str, data: Any, *, timeout: float, idempotent: bool, attempt: int
    ) -> Any:
        session = self._get_session()
        debug = logger.isEnabledFor(logging.DEBUG)
        started = time.perf_counter() if debug else 0.0
        if debug:
            logger.debug("POST %s attempt %d", endpoint, attempt)
        try:
            async with session.post(
                self._url(endpoint),
                data=data,
                headers=_HEADERS,
                timeout=self._timeout(timeout),
                allow_redirects=False,
            ) as response:
                headers = response.headers
                declared = response.content_length
                if (
                    declared is not None
                    and declared <= self._config.max_response_bytes
                    and not headers.get("Content-Encoding")
                ):
                    # Not compressed, so no larger than declared (the parser stops there):
                    # reading it whole stays within the cap.
                    raw = await response.read()
                else:
                    raw = await self._read_capped(endpoint, response)
                status = response.status
                content_type = headers.get("Content-Type", "")
                retry_after_header = headers.get("Retry-After")
                retry_after = _parse_retry_after(retry_after_header) if retry_after_header else None
        except (
            aiohttp.ClientConnectorCertificateError,
            aiohttp.ClientSSLError,
        ) as exc:
            # Not transient: a bad certificate stays bad. Never retried, never bypassed.
            raise _Failure(
                APIConnectionError(f"TLS failure: {self.scrub(str(exc))}", endpoint=endpoint),
                FailureKind.FATAL,
            ) from self._safe_cause(exc)
        except aiohttp.ConnectionTimeoutError as exc:
            raise _Failure(
                APITimeoutError(f"connect timed out after {timeout:.1f}s", endpoint=endpoint),
                FailureKind.NOT_SENT,
            ) from exc
        except aiohttp.ClientConnectorError as exc:
            raise _Failure(
                APIConnectionError(f"cannot connect: {exc.os_error}", endpoint=endpoint),
                FailureKind.NOT_SENT,
            ) from exc
        except (asyncio.TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise _Failure(
                APITimeoutError(f"no complete answer within {timeout:.1f}s", endpoint=endpoint),
                FailureKind.AMBIGUOUS,
            ) from exc
        except aiohttp.ClientError as exc:
            raise _Failure(
                APIConnectionError(
                    f"connection failed: {type(exc).__name__}: {self.scrub(str(exc))[:_SNIPPET]}",
                    endpoint=endpoint,
                ),
                FailureKind.AMBIGUOUS,
            ) from self._safe_cause(exc)
        except OSError as exc:
            # Reading the attachment failed mid-request: the body was cut short, so the
            # server cannot have applied it; the file itself is the problem, not the network.
            raise _Failure(
                APIConnectionError(f"reading the file failed: {exc}", endpoint=endpoint),
                FailureKind.FATAL,
            ) from exc
        if debug:
            elapsed_ms = (time.perf_counter() - started) * 1000
            logger.debug(
                "%s -> HTTP %d in %.1f ms (%d bytes)", endpoint, status, elapsed_ms, len(raw)
            )
        return self._parse(endpoint, status, content_type, raw, retry_after)

    def _url(self, endpoint: str) -> URL:
        """The endpoint's URL, parsed once (aiohttp would parse the string every time)."""
        url = self._urls.get(endpoint)
        if url is None:
            url = URL(f"{self._config.base_url}{API_PREFIX}/{endpoint}")
            if len(self._urls) < _URL_CACHE_LIMIT:
                self._urls[endpoint] = url
        return url

    def _timeout(self, timeout: float) -> aiohttp.ClientTimeout:
        """The attempt's timeout settings, built once per value (bodies of one size share)."""
        client_timeout = self._timeouts.get(timeout)
        if client_timeout is None:
            client_timeout = aiohttp.ClientTimeout(
                total=timeout, connect=min(timeout, self._config.timeout)
            )
            # With a deadline, the time left varies at every attempt: nothing to share.
            if self._config.deadline is None and len(self._timeouts) < _TIMEOUT_CACHE_LIMIT:
                self._timeouts[timeout] = client_timeout
        return client_timeout

    async def _read_capped(self, endpoint: str, response: aiohttp.ClientResponse) -> bytes:
        cap = self._config.max_response_bytes
        declared = response.content_length
        if declared is not None and declared > cap:
            raise _Failure(
                MalformedResponseError(
                    f"response of {declared} bytes exceeds max_response_bytes={cap}",
                    endpoint=endpoint,
                    status=response.status,
                ),
                FailureKind.FATAL,
            )
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = await response.content.read(65536)
            if not chunk:
                break
            total += len(chunk)
            if total > cap:
                raise _Failure(
                    MalformedResponseError(
                        f"response exceeds max_response_bytes={cap}; refused",
                        endpoint=endpoint,
                        status=response.status,
                    ),
                    FailureKind.FATAL,
                )
            chunks.append(chunk)
        return b"".join(chunks)

    # ---- parsing --------------------------------------------------------------------

    def _snippet(self, raw: bytes) -> str:
        # Scrub before cutting: the window's end may cut a credential, whose start scrub()
        # removes; the cut to _SNIPPET comes after, on text that holds none.
        longest = max((len(s.encode()) for s in self._secrets), default=0)
        window = raw[: 2 * _SNIPPET + longest]
        text = self.scrub(window.decode("utf-8", errors="replace"))
        return " ".join(text.split())[:_SNIPPET]

    def _parse(
        self,
        endpoint: str,
        status: int,
        content_type: str,
        raw: bytes,
        retry_after: float | None,
    ) -> Any:
        envelope = self._decode_envelope(raw, content_type)
        if status != 200:
            messages = self._error_messages(envelope)
            if messages is None:
                snippet = self._snippet(raw)
                messages = (f"HTTP {status}: {snippet}",) if snippet else ()
            error = api_error_for(messages, endpoint, status=status, retry_after=retry_after)
            if status == 429:
                raise _Failure(error, FailureKind.RATE_LIMITED, retry_after)
            if status == 503:
                raise _Failure(error, FailureKind.UNAVAILABLE, retry_after)
            if status >= 500:
                raise _Failure(error, FailureKind.SERVER_ERROR, retry_after)
            raise _Failure(error, FailureKind.FATAL)
        if envelope is None:
            kind = (
                "not JSON"
                if _is_json_media(content_type)
                # The header is the server's text too: scrubbed like the body.
                else f"Content-Type {self.scrub(content_type or 'missing')[:80]!r}, not JSON"
            )
            raise _Failure(
                MalformedResponseError(
                    f"expected the JSON envelope, got {kind}: {self._snippet(raw)!r}",
                    endpoint=endpoint,
                    status=status,
                ),
                FailureKind.FATAL,
            )
        result_status = envelope.get("status")
        if result_status == "success":
            if "data" not in envelope:
                raise _Failure(
                    MalformedResponseError(
                        "success envelope without 'data'", endpoint=endpoint, status=status
                    ),
                    FailureKind.FATAL,
                )
            # A success answer may echo our body (a note's content): scrubbed like errors.
            return self._scrubber.scrub_response(raw, envelope["data"])
        if result_status == "error":
            messages = self._error_messages(envelope)
            if messages is None:
                raise _Failure(
                    MalformedResponseError(
                        "error envelope whose 'data' is not a list of messages",
                        endpoint=endpoint,
                        status=status,
                    ),
                    FailureKind.FATAL,
                )
            raise _Failure(api_error_for(messages, endpoint, status=status), FailureKind.FATAL)
        raise _Failure(
            MalformedResponseError(
                "envelope 'status' must be 'success' or 'error', got "
                f"{self.scrub(repr(result_status))[:40]}",
                endpoint=endpoint,
                status=status,
            ),
            FailureKind.FATAL,
        )

    @staticmethod
    def _decode_envelope(raw: bytes, content_type: str) -> dict[str, Any] | None:
        if content_type not in _JSON_CONTENT_TYPES and not _is_json_media(content_type):
            return None
        try:
            value = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            return None
        return value if isinstance(value, dict) else None

    def _error_messages(self, envelope: dict[str, Any] | None) -> tuple[str, ...] | None:
        if envelope is None or envelope.get("status") != "error":
            return None
        data = envelope.get("data")
        if isinstance(data, str):
            return (self.scrub(data),)
        if isinstance(data, list) and data and all(isinstance(m, str) for m in data):
            return tuple(self.scrub(m) for m in data)
        return None
