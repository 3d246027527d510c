"""The request log: what the emulator saw, answered and changed, request by request.

Every request ends as one :class:`RequestRecord` (kept in a bounded deque) and in the
never-trimmed counters: requests by endpoint, responses by HTTP status, and requests
refused by a rate limit. Benchmarks and tests read goodput and the share of 429s from
them.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from zyntro_async.testing._bodies import SpilledString

__all__ = ["RequestLog", "RequestRecord", "summarize_body"]

_SECRET_KEYS = frozenset({"api_key", "developer_secret"})
_SUMMARY_TEXT_LIMIT = 120


@attrs.frozen
class RequestRecord:
    """One request as the emulator saw it.

    Attributes:
        seq: 1-based arrival number.
        method: HTTP method.
        endpoint: ``"crm/addContactsFull"`` style name, or the raw path when unknown.
        peer: Peer address.
        http_status: Status sent, or ``None`` when the connection was reset instead.
        outcome: ``"success"``, ``"error"`` (an error envelope), ``"rejected"`` (400,
            404 or 405), ``"rate_limited"`` (429 from a rate limit), ``"fault"`` (an
            injected fault answered), ``"disconnected"`` (the client left before its
            whole body arrived) or ``"internal_error"``.
        messages: The error envelope's messages, if any.
        applied: Whether the request changed the emulator's state.
        faults: Names of the injected faults involved (``"latency"``, ``"stall"``, ...)
            and of the rate limit that refused it (``"token_bucket"``...).
        body: A redacted summary of the body: credentials masked, long strings cut.
        duration: Seconds spent handling the request.
    """

    seq: int
    method: str
    endpoint: str
    peer: str | None
    http_status: int | None
    outcome: str
    messages: tuple[str, ...] = ()
    applied: bool = False
    faults: tuple[str, ...] = ()
    body: Mapping[str, Any] = attrs.field(factory=dict)
    duration: float = 0.0


def summarize_body(body: Any, *, key: str | None = None) -> Any:
    """Return a log-safe summary of a request body.

    Credentials are masked, base64 payloads and long strings are replaced by their
    length, so the log never holds a secret or a large upload.

    Args:
        body: A decoded body or a value inside it.
        key: The key ``body`` was found under.

    Returns:
        The summary.
    """
    if key in _SECRET_KEYS:
        return "<redacted>" if isinstance(body, str) and body else body
    if isinstance(body, SpilledString):
        return f"<{body.size} chars>"
    if isinstance(body, str):
        if key == "file_data":
            return f"<{len(body)} chars>"
        if len(body) > _SUMMARY_TEXT_LIMIT:
            return body[:_SUMMARY_TEXT_LIMIT] + f"... <{len(body)} chars>"
        return body
    if isinstance(body, dict):
        return {k: summarize_body(v, key=k) for k, v in body.items()}
    if isinstance(body, list):
        head = [summarize_body(v) for v in body[:20]]
        return [*head, f"... <{len(body)} items>"] if len(body) > 20 else head
    return body


class RequestLog:
    """The bounded record of requests and the counters that are never trimmed.

    Args:
        limit: Most recent records kept (``None``: all).
        on_request: Called with each record as it is logged.
    """

    def __init__(
        self,
        *,
        limit: int | None = 10_000,
        on_request: Callable[[RequestRecord], None] | None = None,
    ) -> None:
        self.records: deque[RequestRecord] = deque(maxlen=limit)
        self.by_endpoint: Counter[str] = Counter()
        """Requests by endpoint, whatever their outcome."""
        self.by_status: Counter[int | None] = Counter()
        """Responses by HTTP status (``None``: the connection was reset)."""
        self.rate_limited: Counter[str] = Counter()
        """Requests refused by a rate limit (not the ``RateLimited`` fault), by endpoint."""
        self._on_request = on_request
        self._seq = 0

    def next_seq(self) -> int:
        """Return the next arrival number.

        Returns:
            1 for the first request.
        """
        self._seq += 1
        return self._seq

    def append(self, record: RequestRecord) -> None:
        """Log one finished request.

        Args:
            record: The record.
        """
        self.records.append(record)
        self.by_endpoint[record.endpoint] += 1
        self.by_status[record.http_status] += 1
        if record.outcome == "rate_limited":
            self.rate_limited[record.endpoint] += 1
        if self._on_request is not None:
            self._on_request(record)

    def clear(self) -> None:
        """Forget every record and count."""
        self.records.clear()
        self.by_endpoint.clear()
        self.by_status.clear()
        self.rate_limited.clear()
        self._seq = 0
