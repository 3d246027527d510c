"""When to retry, how long to wait, and how many retries a client may spend.

The rule (DESIGN.md, "Retrying without duplicating"):

================================  =====================  ==========================
failure                           idempotent call         creating call
================================  =====================  ==========================
connection refused / connect      retry                   retry (nothing was sent)
timeout before anything was sent
HTTP 429 (Retry-After honoured)   retry                   retry (not applied)
HTTP 503                          retry                   retry (not applied)
HTTP 500 / 502 / 504              retry                   AmbiguousOutcomeError
timeout / reset after sending     retry                   AmbiguousOutcomeError
error envelope, other 4xx         raise                   raise
================================  =====================  ==========================

Waits are exponential with full jitter (``uniform(0, min(max_delay, base * 2**n))``), or
the server's ``Retry-After`` capped at ``retry_after_cap``. A :class:`RetryBudget` shared by
the whole client stops a failing server from turning every call into ``max_retries + 1``
calls: retries are paid from tokens that successful traffic earns.
"""

from __future__ import annotations

import asyncio
import enum
import random
import threading
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Protocol

import attrs

__all__ = [
    "FailureKind",
    "Pacer",
    "RetryBudget",
    "RetryPolicy",
    "current_pacer",
    "current_send_hook",
]


class FailureKind(enum.Enum):
    """How an attempt failed, as far as retrying is concerned."""

    NOT_SENT = "not_sent"  # connection refused, connect timeout: provably not applied
    RATE_LIMITED = "rate_limited"  # 429: not applied
    UNAVAILABLE = "unavailable"  # 503: not applied
    SERVER_ERROR = "server_error"  # 500/502/504: may have been applied
    AMBIGUOUS = "ambiguous"  # reset/timeout after sending: may have been applied
    FATAL = "fatal"  # an answer retrying cannot change


_SAFE_FOR_CREATING = frozenset(
    {FailureKind.NOT_SENT, FailureKind.RATE_LIMITED, FailureKind.UNAVAILABLE}
)
_RETRYABLE = frozenset(
    {
        FailureKind.NOT_SENT,
        FailureKind.RATE_LIMITED,
        FailureKind.UNAVAILABLE,
        FailureKind.SERVER_ERROR,
        FailureKind.AMBIGUOUS,
    }
)


@attrs.define
class RetryBudget:
    """A token bucket that retries draw from, shared by every call of one client.

    Each first attempt deposits ``ratio`` tokens, time adds ``refill_per_second``, and each
    retry withdraws one. With the defaults, retries can add at most about 20% to steady
    traffic, plus a trickle, however many calls fail at once.

    Args:
        ratio: tokens earned per first attempt.
        initial: tokens available at start (and the floor a quiet client refills to).
        capacity: most tokens the bucket holds.
        refill_per_second: tokens added per second of wall time.
        clock: monotonic clock in seconds (injectable for tests).
    """

    ratio: float = 0.2
    initial: float = 20.0
    capacity: float = 200.0
    refill_per_second: float = 2.0
    clock: Callable[[], float] = time.monotonic
    _tokens: float = attrs.field(init=False)
    _stamp: float = attrs.field(init=False)
    _lock: threading.Lock = attrs.field(init=False, factory=threading.Lock)

    def __attrs_post_init__(self) -> None:
        self._tokens = self.initial
        self._stamp = self.clock()

    def _refill(self) -> None:
        now = self.clock()
        elapsed = max(0.0, now - self._stamp)
        self._stamp = now
        self._tokens = min(self.capacity, self._tokens + elapsed * self.refill_per_second)

    def record_request(self) -> None:
        """A first attempt was made: earn ``ratio`` tokens."""
        if self._tokens >= self.capacity:
            # Full (the usual state of a healthy client): nothing to earn, and refilling
            # from an older stamp later gives the same result, since it stops at capacity.
            return
        with self._lock:
            self._refill()
            self._tokens = min(self.capacity, self._tokens + self.ratio)

    def try_spend(self) -> bool:
        """Take one token for a retry; ``False`` when the budget is exhausted."""
        with self._lock:
            self._refill()
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False

    @property
    def tokens(self) -> float:
        """Tokens available now."""
        with self._lock:
            self._refill()
            return self._tokens


async def _asyncio_sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


@attrs.define
class RetryPolicy:
    """How a client retries. Pass one as ``ZyntroClient(retry_policy=...)``.

    Args:
        max_retries: retries after the first attempt (so ``max_retries + 1`` attempts).
        base_delay: first backoff ceiling in seconds; doubles each retry.
        max_delay: largest backoff ceiling.
        retry_after_cap: longest ``Retry-After`` we wait; larger values are cut to it.
        budget: the client-wide retry budget; ``None`` disables it.
        sleep: ``async`` sleep function (injectable so tests never really wait).
        clock: monotonic clock used for deadlines.
        rng: random source for jitter.
    """

    max_retries: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0
    retry_after_cap: float = 60.0
    budget: RetryBudget | None = attrs.field(factory=RetryBudget)
    sleep: Callable[[float], Awaitable[None]] = _asyncio_sleep
    clock: Callable[[], float] = time.monotonic
    rng: random.Random = attrs.field(factory=random.Random)

    def __attrs_post_init__(self) -> None:
        if isinstance(self.max_retries, bool) or not isinstance(self.max_retries, int):
            raise TypeError("max_retries must be an int")
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")

    def should_retry(self, kind: FailureKind, *, idempotent: bool) -> bool:
        """Whether this kind of failure may be retried for this kind of call."""
        if idempotent:
            return kind in _RETRYABLE
        return kind in _SAFE_FOR_CREATING

    def backoff(self, retry_number: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry ``retry_number`` (1 for the first retry).

        Args:
            retry_number: 1-based count of the retry about to happen.
            retry_after: the server's ``Retry-After`` in seconds, when it gave one.
        """
        if retry_after is not None and retry_after >= 0:
            return min(retry_after, self.retry_after_cap)
        ceiling = min(self.max_delay, self.base_delay * (2 ** (retry_number - 1)))
        return self.rng.uniform(0.0, ceiling)


class Pacer(Protocol):
    """What a bulk run plugs into every attempt made inside it (see :data:`current_pacer`).

    Before each attempt the transport calls :meth:`turn_now`, and awaits
    :meth:`before_attempt` only when that returns ``False``.
    """

    def turn_now(self) -> bool:
        """Start the attempt at once if no wait is due; ``False``: await before_attempt."""

    async def before_attempt(self) -> None:
        """Wait for the run's rate limit; raise to stop the attempt (circuit open)."""

    def after_attempt(self, kind: FailureKind | None, retry_after: float | None) -> None:
        """Report how the attempt went: ``None`` for an answer, else the failure kind."""


# Set by the bulk runner for the tasks it starts, so every attempt made by an endpoint call
# inside a run is paced by the run's shared limiter without threading it through each call.
current_pacer: ContextVar[Pacer | None] = ContextVar("zyntro_async_pacer", default=None)

# Set by the bulk runner (with a journal) around a creating call: awaited just before the
# last byte of each attempt's body is written, so the journal can commit "sent" first.
current_send_hook: ContextVar[Callable[[], Awaitable[None]] | None] = ContextVar(
    "zyntro_async_send_hook", default=None
)
