"""When to retry, how long to wait, and how many retries a client may spend.

The rule (DESIGN.md, "Retrying without duplicating"):

================================  =====================  ==========================
failure                           idempotent call         creating call
================================  =====================  ==========================
connection refused / connect      retry                   retry (nothing was sent)
timeout before anything was sent
HTTP 429 (Retry-After honoured)   retry (*)               retry (*) (not applied)
HTTP 503                          retry                   retry (not applied)
HTTP 500 / 502 / 504              retry                   AmbiguousOutcomeError
timeout / reset after sending     retry                   AmbiguousOutcomeError
error envelope, other 4xx         raise                   raise
================================  =====================  ==========================

(*) A 429 proves the request was not applied: the server only asks us to slow down. It
does not count against ``max_retries`` and draws nothing from the retry budget (the budget
guards a *failing* server against retry storms; a 429 is a working server pacing us, and
the waits it asks for already space the calls out). The call goes again until it gets
another answer, bounded by its deadline and by ``rate_limit_patience``: that many seconds
of nothing but 429s raise :class:`~zyntro_async.RateLimitError`.

Waits are exponential with full jitter (``uniform(0, min(max_delay, base * 2**n))``), or
the server's ``Retry-After`` capped at ``retry_after_cap``; after a 429, up to
``retry_after_spread`` seconds more at random, so that calls refused together do not all
come back at the same instant to be refused together again. A :class:`RetryBudget` shared by
the whole client stops a failing server from turning every call into ``max_retries + 1``
calls: retries are paid from tokens that successful traffic earns.
"""

from __future__ import annotations

import enum
import logging
import random
import threading
import time
from collections.abc import Awaitable, Callable

import anyio
import attrs

from zyntro_async._errors import (
    AmbiguousOutcomeError,
    APIConnectionError,
    APIError,
    MalformedResponseError,
    RateLimitError,
    ZyntroError,
)

__all__ = [
    "AttemptFailure",
    "FailureKind",
    "RetryBudget",
    "RetryPolicy",
    "final_error",
]

logger = logging.getLogger("zyntro_async")


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
class AttemptFailure(Exception):
    """One failed attempt: the error to raise if we stop, and how to classify it."""

    error: ZyntroError
    kind: FailureKind
    retry_after: float | None = None


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


@attrs.define
class RetryPolicy:
    """How a client retries. Pass one as ``ZyntroClient(retry_policy=...)``.

    Args:
        max_retries: retries after the first attempt (so ``max_retries + 1`` attempts).
        base_delay: first backoff ceiling in seconds; doubles each retry.
        max_delay: largest backoff ceiling.
        retry_after_cap: longest ``Retry-After`` we wait; larger values are cut to it.
        retry_after_spread: after a 429 whose ``Retry-After`` says how long to wait, up to
            this many seconds more, drawn at random (never less than the server asks).
            Calls refused together by one limit are told the same wait: all back at once,
            a token bucket accepts its burst of them and refuses the rest again (50 calls
            at once against 10/s with a burst of 2, each 429 saying "1": 25 s and 600 429s
            without it, 7 s and 113 with it). ``0`` waits exactly what the server says.
        rate_limit_patience: seconds a call keeps waiting out 429 answers (which do not
            count against ``max_retries``) with no other answer in between; then it raises
            :class:`~zyntro_async.RateLimitError`.
        budget: the client-wide retry budget; ``None`` disables it.
        sleep: ``async`` sleep function (injectable so tests never really wait); the
            default is anyio's, the one the bulk limiter uses too.
        clock: monotonic clock used for deadlines.
        rng: random source for jitter.
    """

    max_retries: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0
    retry_after_cap: float = 60.0
    retry_after_spread: float = 1.0
    rate_limit_patience: float = 300.0
    budget: RetryBudget | None = attrs.field(factory=RetryBudget)
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep
    clock: Callable[[], float] = time.monotonic
    rng: random.Random = attrs.field(factory=random.Random)

    def __attrs_post_init__(self) -> None:
        if isinstance(self.max_retries, bool) or not isinstance(self.max_retries, int):
            raise TypeError("max_retries must be an int")
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")
        spread = self.retry_after_spread
        if isinstance(spread, bool) or not isinstance(spread, int | float) or spread < 0:
            raise ValueError(f"retry_after_spread must be a number >= 0, got {spread!r}")
        patience = self.rate_limit_patience
        if isinstance(patience, bool) or not isinstance(patience, int | float) or patience < 0:
            raise ValueError(f"rate_limit_patience must be a number >= 0, got {patience!r}")

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

    def next_delay(
        self, failure: AttemptFailure, retries: int, *, idempotent: bool
    ) -> float | None:
        """Seconds to wait before retrying a failed attempt, or ``None`` to stop.

        A 429 is handled by the caller (see :meth:`rate_limited_delay`): this is for every
        other failure, which counts against ``max_retries`` and the budget.

        Args:
            failure: how the attempt failed.
            retries: retries already made for this call (429 waits not counted).
            idempotent: whether repeating the call cannot change the outcome.
        """
        if retries >= self.max_retries:
            return None
        if not self.should_retry(failure.kind, idempotent=idempotent):
            return None
        if self.budget is not None and not self.budget.try_spend():
            logger.debug("retry budget exhausted; not retrying")
            return None
        return self.backoff(retries + 1, failure.retry_after)

    def rate_limited_delay(
        self, failure: AttemptFailure, streak: int, waited: float, *, paced: bool = False
    ) -> float | ZyntroError:
        """Seconds to wait after a 429, or the error to raise when patience ran out.

        With ``rate_limit_patience=0`` a 429 is never waited out: the server's own
        :class:`~zyntro_async.RateLimitError` is raised at once.

        Args:
            failure: the 429 attempt.
            streak: 429s in a row so far, this one included (the backoff's exponent when
                the server gave no ``Retry-After``).
            waited: seconds since the streak began.
            paced: an observer of the call paces 429s itself (a bulk run's governor): the
                retry goes at once into its ``before_attempt``, which waits for the turn
                and bounds the whole run's rate limiting (its stall bound, its longest
                pause), so neither our backoff nor our patience applies.
        """
        if self.rate_limit_patience == 0:
            return failure.error
        if paced:
            return 0.0
        # "Retry-After: 0" (or a date in the past) is taken as "no advice": answered with
        # 429s again and again, it would otherwise retry in a tight loop.
        delay = self.backoff(streak, failure.retry_after or None)
        if failure.retry_after and self.retry_after_spread:
            delay += self.rng.uniform(0.0, self.retry_after_spread)
        if waited + delay > self.rate_limit_patience:
            error = failure.error
            endpoint = error.endpoint if isinstance(error, APIError) else "?"
            limited = RateLimitError(
                "RATE_LIMITED",
                (
                    f"still rate limited (HTTP 429) after {streak} attempts over {waited:.1f}s; "
                    f"gave up at rate_limit_patience={self.rate_limit_patience:g}s",
                ),
                endpoint,
                retry_after=failure.retry_after,
            )
            limited.__cause__ = error
            return limited
        return delay


def final_error(failure: AttemptFailure, *, idempotent: bool) -> ZyntroError:
    """The error a call raises after its last attempt failed.

    A creating call whose last attempt may have been applied (reset or timeout after
    sending, 500/502/504, an answer that cannot be read) raises
    :class:`~zyntro_async.AmbiguousOutcomeError` with the attempt's error as its cause.
    """
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
