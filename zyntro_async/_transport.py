"""Sending requests: the one retry loop, and how aiohttp's failures are classified.

Every request ends in :meth:`Transport.send` (a request model) or :meth:`Transport.request`
(a body already built, for ``zy.call``): the credentials and base identifiers are added,
the body is sent over the client's aiohttp session, the answer is parsed
(:mod:`zyntro_async._parse`), and :mod:`zyntro_async._retry` decides whether and when to
go again. An :class:`~zyntro_async._observe.AttemptObserver` is told about each attempt.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from zyntro_async._config import ClientConfig
from zyntro_async._errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    ConfigurationError,
    MalformedResponseError,
    RequestValidationError,
    ZyntroError,
)
from zyntro_async._files import Base64JsonPayload, FileSource, HookedBytesPayload
from zyntro_async._json import encode_body
from zyntro_async._observe import (
    Attempt,
    AttemptObserver,
    AttemptResult,
    Call,
    paces_rate_limits,
)
from zyntro_async._parse import ResponseParser, RetryAfterReader, read_capped
from zyntro_async._redact import SNIPPET, Redactor
from zyntro_async._retry import AttemptFailure, FailureKind, RetryPolicy, final_error
from zyntro_async.models._requests import ApiRequest

__all__ = ["Transport"]

logger = logging.getLogger("zyntro_async")

R = TypeVar("R")

API_PREFIX = "/apis/v2/public"
_UPLOAD_SECONDS_PER_MIB = 1.0  # attempt timeout grows by this for each MiB of request body
_URL_CACHE_LIMIT = 64  # endpoints whose URL is kept parsed (``call`` takes any name)
_TIMEOUT_CACHE_LIMIT = 256  # attempt timeouts kept built (they vary with the body's size)
# A read-only multidict: aiohttp copies it as it is, without converting a dict first.
_HEADERS = CIMultiDictProxy(
    CIMultiDict({"Content-Type": "application/json", "Accept": "application/json"})
)
_MAYBE_APPLIED = (FailureKind.AMBIGUOUS, FailureKind.SERVER_ERROR)

Absorb = Callable[[ZyntroError], Mapping[str, Any] | None]


def _status_of(error: ZyntroError) -> int | None:
    if isinstance(error, APIError | MalformedResponseError):
        return error.status
    return None


class Transport:
    """Owns the request pipeline of one client (not the session's lifetime)."""

    def __init__(
        self,
        config: ClientConfig,
        retry: RetryPolicy,
        get_session: Callable[[], aiohttp.ClientSession],
        *,
        check_tls: bool = False,
    ) -> None:
        self._config = config
        # A session the caller injected may not verify TLS: each body checks its
        # connection before the credentials are written (refuse_unverified_tls).
        self._check_tls = check_tls
        self._retry = retry
        self._get_session = get_session
        self.redactor = Redactor(config.secrets())
        self._parser = ResponseParser(self.redactor)
        # HTTP dates in Retry-After read against the server's clock where ours is off.
        self._retry_after = RetryAfterReader()
        self._urls: dict[str, URL] = {}
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}
        # The opening of most bodies (the client's member, no brand), built once and copied
        # per request; None without a configured member (base_fields checks each call then).
        self._usual_fields = (
            None if config.member_id is None else self.base_fields(member_id=config.member_id)
        )

    # ---- building -------------------------------------------------------------------

    def base_fields(
        self, *, member_id: str | None, brand: bool = False, needs_member: bool = False
    ) -> dict[str, Any]:
        """Credentials and identifiers that open every body, in the documented order.

        Raises:
            ConfigurationError: ``brand`` without a configured ``brand_id``, or
                ``needs_member`` without a member here or on the client.
        """
        fields: dict[str, Any] = {
            "api_key": self._config.api_key.reveal(),
            "developer_secret": self._config.developer_secret.reveal(),
            "org_id": self._config.org_id,
        }
        if brand:
            if not self._config.brand_id:
                raise ConfigurationError(
                    "missing brand_id: this endpoint needs one; pass brand_id=... to "
                    "ZyntroClient or set the ZYNTRO_BRAND_ID environment variable",
                    variable="ZYNTRO_BRAND_ID",
                )
            fields["brand_id"] = self._config.brand_id
        member = member_id if member_id is not None else self._config.member_id
        if member is not None:
            fields["member_id"] = member
        elif needs_member:
            raise ConfigurationError(
                "missing member_id: pass member_id=... to this call or to ZyntroClient, "
                "or set the ZYNTRO_MEMBER_ID environment variable",
                variable="ZYNTRO_MEMBER_ID",
            )
        return fields

    def scrub(self, text: str) -> str:
        """Text from elsewhere with this client's credentials removed (see ``Redactor``)."""
        return self.redactor.scrub(text)

    # ---- sending --------------------------------------------------------------------

    def send(self, request: ApiRequest[R], *, observer: AttemptObserver | None) -> Awaitable[R]:
        """Send a request model; await the result for its typed result (see ``ZyntroClient.send``).

        Not a coroutine itself: the body's opening is built now (raising
        ``ConfigurationError`` here), and the one coroutine returned sends, retries and
        structures, so a call crosses one frame less on every resumption.
        """
        usual = self._usual_fields
        if usual is not None and request.member_id is None and not request.sends_brand:
            fields = usual.copy()
        else:
            fields = self.base_fields(
                member_id=request.member_id,
                brand=request.sends_brand,
                needs_member=request.needs_member,
            )
        fields.update(request.body())
        return self.request(
            request.endpoint,
            fields,
            idempotent=request.idempotent,
            file=request.upload,
            absorb=request.absorb,
            observer=observer,
            structure=request.structure,
        )

    async def request(
        self,
        endpoint: str,
        body: dict[str, Any],
        *,
        idempotent: bool,
        file: FileSource | None = None,
        absorb: Absorb | None = None,
        observer: AttemptObserver | None = None,
        structure: Callable[[Any], Any] | None = None,
    ) -> Any:
        """Send ``body`` to ``endpoint`` (``"crm/addContactsFull"``), retrying as allowed.

        Args:
            endpoint: ``module/action``.
            body: the full body, credentials included (see :meth:`base_fields`).
            idempotent: whether repeating the call cannot change the outcome.
            file: a file to stream as ``file_data`` after the other keys.
            absorb: for a retried call whose earlier attempt may have been applied: maps the
                error of a later attempt to the data to return instead (``None`` to raise).
            observer: told about each attempt (and paces it).
            structure: turns the envelope's ``data`` into the result (a request model's
                ``structure``); ``None`` returns ``data`` as parsed.

        Returns:
            The envelope's ``data`` (any JSON value), through ``structure`` when given.

        Raises:
            ZyntroError: the typed error of the last attempt (see :mod:`zyntro_async._retry`).
            RequestValidationError: ``file`` is a stream that a retry would have to rewind.
        """
        policy = self._retry
        clock = policy.clock
        deadline = None if self._config.deadline is None else clock() + self._config.deadline
        body_bytes = None if file is not None else encode_body(body)
        # -1: a stream's size is unknown until its end (observers are told so).
        body_size = -1
        if body_bytes is not None:
            body_size = len(body_bytes)
        elif file is not None and file.size is not None:
            body_size = file.size
        attempt_timeout = self._config.timeout + _UPLOAD_SECONDS_PER_MIB * max(body_size, 0) / 2**20
        if policy.budget is not None:
            policy.budget.record_request()
        # Only creating calls need the write-ahead mark: repeating the others is harmless.
        before_last = (
            observer.before_last_byte
            if observer is not None and observer.wants_last_byte and not idempotent
            else None
        )
        call = None if observer is None else Call(endpoint, idempotent=idempotent)
        number = 0
        retries = 0  # retries counted against max_retries (429 waits are not)
        limited = 0  # 429s in a row
        limited_since = 0.0
        maybe_applied = False
        while True:
            number += 1
            timeout = attempt_timeout
            if deadline is not None:
                timeout = min(timeout, deadline - clock())
                if timeout <= 0:
                    raise APITimeoutError(
                        f"deadline of {self._config.deadline}s exceeded before attempt {number}",
                        endpoint=endpoint,
                    )
            attempt: Attempt | None = None
            if observer is not None and call is not None:
                attempt = Attempt(call, number, body_size)
                await observer.before_attempt(attempt)
            started = 0.0 if attempt is None else clock()  # only observers are told
            payload: Base64JsonPayload | HookedBytesPayload | None = None
            if file is not None:
                hook = (
                    None if attempt is None or before_last is None else _bind(before_last, attempt)
                )
                payload = Base64JsonPayload(body, file, hook, check_tls=self._check_tls)
            elif before_last is not None and attempt is not None and body_bytes:
                payload = HookedBytesPayload(
                    body_bytes, _bind(before_last, attempt), check_tls=self._check_tls
                )
            elif self._check_tls and body_bytes:
                payload = HookedBytesPayload(body_bytes, None, check_tls=True)
            try:
                data = await self._attempt(
                    endpoint,
                    body_bytes if payload is None else payload,
                    payload,
                    timeout=timeout,
                    number=number,
                )
            except AttemptFailure as failure:
                error: ZyntroError | None = None
                delay: float | None = None
                if maybe_applied and absorb is not None and failure.kind is FailureKind.FATAL:
                    absorbed = absorb(failure.error)
                    if absorbed is not None:
                        if attempt is not None and observer is not None:
                            observer.after_attempt(
                                AttemptResult(attempt, clock() - started, None, None, None)
                            )
                        data = absorbed
                        break  # structured below, outside this except block
                maybe_applied = maybe_applied or failure.kind in _MAYBE_APPLIED
                if failure.kind is FailureKind.RATE_LIMITED:
                    limited += 1
                    if limited == 1:
                        limited_since = clock()
                    waited = policy.rate_limited_delay(
                        failure,
                        limited,
                        clock() - limited_since,
                        paced=paces_rate_limits(observer),
                    )
                    if isinstance(waited, ZyntroError):
                        error = waited
                    else:
                        delay = waited
                else:
                    limited = 0
                    delay = policy.next_delay(failure, retries, idempotent=idempotent)
                    if delay is not None:
                        retries += 1
                if delay is not None and deadline is not None and clock() + delay >= deadline:
                    delay = None
                if delay is not None and file is not None and not file.rewindable:
                    delay = None
                    error = RequestValidationError(
                        "file",
                        f"attempt {number} failed ({failure.error}) after reading from a "
                        "stream that cannot be rewound, so it cannot be sent again; pass a "
                        "path, bytes or a seekable file object to allow retries",
                    )
                    error.__cause__ = failure.error
                if observer is not None and attempt is not None:
                    # The server's word as it is: our own wait is capped (retry_after_cap),
                    # but a governor decides itself how to treat a long pause (wait, say
                    # so, or stop the run resumably) and needs the real figure for it.
                    retry_after = failure.retry_after
                    observer.after_attempt(
                        AttemptResult(
                            attempt,
                            clock() - started,
                            _status_of(failure.error),
                            failure.kind,
                            failure.error,
                            retry_after,
                            delay,
                        )
                    )
                if delay is None:
                    if error is None:
                        failure.error.__cause__ = failure.__cause__
                        error = final_error(failure, idempotent=idempotent)
                    raise error from error.__cause__
                logger.debug(
                    "%s attempt %d failed (%s); retrying in %.3fs",
                    endpoint,
                    number,
                    failure.kind.value,
                    delay,
                )
                await policy.sleep(delay)
                continue
            except BaseException as exc:
                # Cancelled, or a hook raised mid-attempt: the attempt still ends for the
                # observers (a span is closed, a governor's in-flight count goes down), as
                # AMBIGUOUS: the request may have reached the server before it was cut off.
                if observer is not None and attempt is not None:
                    observer.after_attempt(
                        AttemptResult(
                            attempt,
                            clock() - started,
                            None,
                            FailureKind.AMBIGUOUS,
                            exc if isinstance(exc, ZyntroError) else None,
                        )
                    )
                raise
            if observer is not None and attempt is not None:
                observer.after_attempt(AttemptResult(attempt, clock() - started, 200, None, None))
            break
        return data if structure is None else structure(data)

    async def _attempt(
        self,
        endpoint: str,
        data: Any,
        payload: Base64JsonPayload | HookedBytesPayload | None,
        *,
        timeout: float,
        number: int,
    ) -> Any:
        session = self._get_session()
        debug = logger.isEnabledFor(logging.DEBUG)
        started = time.perf_counter() if debug else 0.0
        if debug:
            logger.debug("POST %s attempt %d", endpoint, number)
        # The caches looked up here, their methods called only to fill them: two calls
        # less on every attempt.
        url = self._urls.get(endpoint) or self._url(endpoint)
        client_timeout = self._timeouts.get(timeout) or self._timeout(timeout)
        try:
            async with session.post(
                url,
                data=data,
                headers=_HEADERS,
                timeout=client_timeout,
                allow_redirects=False,
            ) as response:
                raw = await read_capped(endpoint, response, self._config.max_response_bytes)
                status = response.status
                headers = response.headers
                content_type = headers.get("Content-Type", "")
                retry_after_header = headers.get("Retry-After")
                retry_after = (
                    self._retry_after.read(retry_after_header, headers.get("Date"))
                    if retry_after_header
                    else None
                )
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
            failure, cause = self._failure(endpoint, exc, payload, timeout)
            raise failure from cause
        if debug:
            elapsed_ms = (time.perf_counter() - started) * 1000
            logger.debug(
                "%s -> HTTP %d in %.1f ms (%d bytes)", endpoint, status, elapsed_ms, len(raw)
            )
        return self._parser.parse(endpoint, status, content_type, raw, retry_after)

    def _failure(
        self,
        endpoint: str,
        exc: BaseException,
        payload: Base64JsonPayload | HookedBytesPayload | None,
        timeout: float,
    ) -> tuple[AttemptFailure, BaseException | None]:
        """Classify what aiohttp raised; returns the failure and the cause to chain."""
        redactor = self.redactor
        failure: AttemptFailure
        cause: BaseException | None = exc
        if payload is not None and isinstance(payload.error, ConfigurationError):
            # The connection's TLS verifies nothing: refused before a byte of the body
            # (and its credentials) was written; no retry can fix a configuration.
            failure = AttemptFailure(payload.error, FailureKind.FATAL)
            cause = None
        elif payload is not None and payload.error is not None:
            # Our own body failed (the file could not be read, was cut short, or the "sent"
            # mark could not be written): the request never completed, so the server
            # cannot have applied it, whatever aiohttp wrapped the error in.
            reason = payload.error
            failure = AttemptFailure(
                APIConnectionError(
                    f"the request body could not be completed: {reason}", endpoint=endpoint
                ),
                FailureKind.FATAL,
            )
            cause = reason
        elif isinstance(exc, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError):
            # Not transient: a bad certificate stays bad. Never retried, never bypassed.
            failure = AttemptFailure(
                APIConnectionError(f"TLS failure: {redactor.scrub(str(exc))}", endpoint=endpoint),
                FailureKind.FATAL,
            )
            cause = redactor.safe_cause(exc)
        elif isinstance(exc, aiohttp.ConnectionTimeoutError):
            failure = AttemptFailure(
                APITimeoutError(f"connect timed out after {timeout:.1f}s", endpoint=endpoint),
                FailureKind.NOT_SENT,
            )
        elif isinstance(exc, aiohttp.ClientConnectorError):
            failure = AttemptFailure(
                APIConnectionError(f"cannot connect: {exc.os_error}", endpoint=endpoint),
                FailureKind.NOT_SENT,
            )
        elif isinstance(exc, asyncio.TimeoutError | aiohttp.ServerTimeoutError):
            failure = AttemptFailure(
                APITimeoutError(f"no complete answer within {timeout:.1f}s", endpoint=endpoint),
                FailureKind.AMBIGUOUS,
            )
        elif isinstance(exc, aiohttp.ClientError):
            failure = AttemptFailure(
                APIConnectionError(
                    f"connection failed: {type(exc).__name__}: "
                    f"{redactor.scrub(str(exc))[:SNIPPET]}",
                    endpoint=endpoint,
                ),
                FailureKind.AMBIGUOUS,
            )
            cause = redactor.safe_cause(exc)
        else:
            # An OSError outside aiohttp's wrapping, from our own body: not applied.
            failure = AttemptFailure(
                APIConnectionError(f"reading the file failed: {exc}", endpoint=endpoint),
                FailureKind.FATAL,
            )
        return failure, cause

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


def _bind(before_last: Callable[[Attempt], Any], attempt: Attempt) -> Callable[[], Any]:
    """``before_last(attempt)`` as the payload's argument-less callback."""

    def call() -> Any:
        return before_last(attempt)

    return call
