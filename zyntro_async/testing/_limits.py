"""Rate limits the way real services enforce them: reproducible, per credential or global.

Three kinds, each answering HTTP 429 *before* the request is applied (a refused request
never changes anything):

- :class:`TokenBucket`: ``rate`` requests per second with a ``burst`` capacity, in the
  classic GCRA (leaky bucket as a meter) form: a full bucket lets ``burst`` requests
  through at once, then one per ``1/rate`` seconds. Refused requests take no token.
- :class:`ConcurrencyCap`: refuses a request that arrives while ``max_in_flight``
  admitted requests are still being handled.
- :class:`WindowQuota`: ``limit`` requests per fixed window of ``window`` seconds,
  windows aligned to multiples of ``window`` on the clock; ``Retry-After`` is the time
  to the window's end. With ``sliding=True``, ``limit`` requests in any span of
  ``window`` seconds (a log of admissions, as many services keep one): ``Retry-After`` is
  the time until the oldest admission in the span leaves it.

Each limit counts per ``api_key`` (``scope="credential"``) or across all callers
(``scope="global"``), and announces when to come back in one ``Retry-After`` style:
``"none"`` (no header), ``"seconds"`` (whole seconds, rounded up, so a client that
waits that long is admitted), ``"exact"`` (the real wait to the millisecond, ``"6.834"``:
HTTP asks for whole seconds, but some services send fractions), ``"date"`` (an HTTP
date), or a fixed integer (``0``, ``1``, ``30``: what a service announces whatever the
real wait).

A :class:`RateLimiter` holds the active limits of an emulator, can be changed while it
serves (:meth:`RateLimiter.set`, ``add``, ``remove``, ``clear``) and reads an injected
clock, so a test can walk time exactly::

    now = [0.0]
    limiter = RateLimiter([TokenBucket(rate=10, burst=2)], clock=lambda: now[0])
    assert limiter.admit("key").admitted and limiter.admit("key").admitted
    refused = limiter.admit("key")
    assert refused.retry_after == "1" and refused.wait == 0.1
"""

from __future__ import annotations

import email.utils
import math
import re
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from typing import Literal

import attrs

__all__ = [
    "Admission",
    "ConcurrencyCap",
    "Limit",
    "RateLimiter",
    "TokenBucket",
    "WindowQuota",
    "parse_duration",
    "parse_quota",
]

Scope = Literal["credential", "global"]
RetryAfter = Literal["none", "seconds", "exact", "date"] | int

# Float clocks: 0.1 + 0.2 must still conform at 0.3.
_EPSILON = 1e-9


def _retry_after(_instance: object, _attribute: attrs.Attribute[RetryAfter], value: object) -> None:
    if isinstance(value, bool) or not (
        value in ("none", "seconds", "exact", "date") or (isinstance(value, int) and value >= 0)
    ):
        raise ValueError(
            "retry_after must be 'none', 'seconds', 'exact', 'date' or an integer >= 0, "
            f"got {value!r}"
        )


_SCOPES = attrs.validators.in_(("credential", "global"))


def _positive(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0:
        raise ValueError(f"{attribute.name} must be > 0, got {value!r}")


@attrs.frozen
class TokenBucket:
    """``rate`` requests per second, up to ``burst`` at once (GCRA semantics).

    Attributes:
        rate: Sustained requests per second.
        burst: Bucket capacity: requests admitted back to back from a full bucket.
        scope: ``"credential"`` (one bucket per ``api_key``) or ``"global"``.
        retry_after: ``"none"``, ``"seconds"``, ``"date"`` or a fixed integer.
    """

    rate: float = attrs.field(validator=_positive)
    burst: int = attrs.field(default=1, validator=attrs.validators.ge(1))
    scope: Scope = attrs.field(default="global", validator=_SCOPES)
    retry_after: RetryAfter = attrs.field(default="seconds", validator=_retry_after)
    name = "token_bucket"


@attrs.frozen
class ConcurrencyCap:
    """At most ``max_in_flight`` requests handled at once; the next one gets 429.

    Attributes:
        max_in_flight: Admitted requests allowed in flight together.
        scope: ``"credential"`` or ``"global"``.
        retry_after: ``"none"``, ``"seconds"``, ``"date"`` or a fixed integer.
        retry_after_hint: The wait announced by ``"seconds"``/``"date"``: a service
            cannot know when a slot frees up, so it announces a guess.
    """

    max_in_flight: int = attrs.field(validator=attrs.validators.ge(1))
    scope: Scope = attrs.field(default="global", validator=_SCOPES)
    retry_after: RetryAfter = attrs.field(default="seconds", validator=_retry_after)
    retry_after_hint: float = attrs.field(default=1.0, validator=attrs.validators.ge(0))
    name = "concurrency_cap"


@attrs.frozen
class WindowQuota:
    """At most ``limit`` requests per window of ``window`` seconds, fixed or sliding.

    Fixed windows (the default) are aligned to multiples of ``window`` on the limiter's
    clock; a refused request is told to come back when its window ends, and the next
    window admits ``limit`` again at once. A sliding window admits at most ``limit``
    requests in any span of ``window`` seconds: a refused request is told to come back
    when the oldest admission in the span leaves it, and the quota frees up one
    admission at a time, as it was spent.

    Attributes:
        limit: Requests admitted per window.
        window: Window length in seconds.
        scope: ``"credential"`` or ``"global"``.
        retry_after: ``"none"``, ``"seconds"``, ``"date"`` or a fixed integer.
        sliding: Count over a sliding window instead of fixed ones.
    """

    limit: int = attrs.field(validator=attrs.validators.ge(1))
    window: float = attrs.field(validator=_positive)
    scope: Scope = attrs.field(default="global", validator=_SCOPES)
    retry_after: RetryAfter = attrs.field(default="seconds", validator=_retry_after)
    sliding: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))
    name = "window_quota"


Limit = TokenBucket | ConcurrencyCap | WindowQuota
"""Any rate limit."""


@attrs.define
class Admission:
    """The limiter's answer for one request.

    Attributes:
        admitted: ``False`` when the request must be answered 429.
        limit: The limit that refused it (the one with the longest wait).
        wait: Seconds until the refusing limit would admit it (``0`` when admitted).
        retry_after: The ``Retry-After`` header value, or ``None`` for no header.
    """

    admitted: bool
    limit: Limit | None = None
    wait: float = 0.0
    retry_after: str | None = None
    _release: Callable[[], None] | None = attrs.field(default=None, repr=False, alias="on_release")

    def release(self) -> None:
        """Mark the request handled (frees its concurrency slots; idempotent)."""
        release, self._release = self._release, None
        if release is not None:
            release()


@attrs.define
class _BucketState:
    tat: dict[str | None, float] = attrs.Factory(dict)  # theoretical arrival time per key


@attrs.define
class _QuotaState:
    windows: dict[str | None, tuple[int, int]] = attrs.Factory(dict)  # key: (window, count)
    # Sliding: when each admission in the current span was made, oldest first.
    admitted: dict[str | None, deque[float]] = attrs.Factory(dict)


class RateLimiter:
    """The live set of limits of one emulator.

    Args:
        limits: Limits active from the start.
        clock: Monotonic seconds (default :func:`time.monotonic`); inject one to make
            behaviour exact in tests.
        wall_clock: Epoch seconds for ``Retry-After`` dates (default :func:`time.time`);
            the emulator's ``Date`` header comes from it too once injected.
    """

    def __init__(
        self,
        limits: Iterable[Limit] = (),
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock
        self._wall_clock = wall_clock
        self._limits: list[tuple[Limit, _BucketState | _QuotaState | None]] = []
        # In flight per credential and overall, whatever the limits: replacing a cap
        # mid-run still sees the requests admitted under the old one.
        self._in_flight: Counter[str | None] = Counter()
        self.refused: Counter[str] = Counter()
        """Requests refused, by limit name (``"token_bucket"``...)."""
        self.set(*limits)

    @property
    def wall_clock(self) -> Callable[[], float]:
        """The epoch seconds ``Retry-After`` dates are written from (the server's clock)."""
        return self._wall_clock

    @property
    def limits(self) -> tuple[Limit, ...]:
        """The active limits, in order."""
        return tuple(limit for limit, _ in self._limits)

    def set(self, *limits: Limit) -> None:
        """Replace every limit (none: no limit). New limits start with fresh state.

        Args:
            limits: The new limits, e.g. ``TokenBucket(rate=150, burst=25)``.
        """
        self._limits = [(limit, _fresh_state(limit)) for limit in limits]

    def add(self, limit: Limit) -> Limit:
        """Add one limit.

        Args:
            limit: The limit.

        Returns:
            The same limit, for :meth:`remove`.
        """
        self._limits.append((limit, _fresh_state(limit)))
        return limit

    def remove(self, limit: Limit) -> None:
        """Remove one limit (by identity).

        Args:
            limit: A limit given to :meth:`set` or :meth:`add`.
        """
        self._limits = [(lim, st) for lim, st in self._limits if lim is not limit]

    def clear(self) -> None:
        """Remove every limit and forget the refused counts."""
        self._limits.clear()
        self.refused.clear()

    def in_flight(self, credential: str | None = None) -> int:
        """Admitted requests not yet handled: of ``credential``, or all when ``None``.

        Args:
            credential: An ``api_key``, or ``None`` for every caller.

        Returns:
            The count.
        """
        return self._in_flight[credential]

    def admit(self, credential: str | None) -> Admission:
        """Decide whether a request may go ahead; call once per request, on arrival.

        An admitted request counts against every limit and holds a concurrency slot
        until :meth:`Admission.release`. A refused one counts against none.

        Args:
            credential: The request's ``api_key`` (``None`` when it has none).

        Returns:
            The admission.
        """
        now = self._clock()
        credential = credential or ""
        worst: tuple[float, Limit] | None = None
        for limit, state in self._limits:
            key = credential if limit.scope == "credential" else None
            wait = self._wait(limit, state, key, now)
            if wait is not None and (worst is None or wait > worst[0]):
                worst = (wait, limit)
        if worst is not None:
            wait, limit = worst
            self.refused[limit.name] += 1
            return Admission(False, limit, wait, self._header(limit.retry_after, wait, now))
        for limit, state in self._limits:
            key = credential if limit.scope == "credential" else None
            if isinstance(state, _BucketState):
                assert isinstance(limit, TokenBucket)
                state.tat[key] = max(state.tat.get(key, now), now) + 1.0 / limit.rate
            elif isinstance(state, _QuotaState):
                assert isinstance(limit, WindowQuota)
                if limit.sliding:
                    state.admitted.setdefault(key, deque()).append(now)
                    continue
                index = _window_index(now, limit.window)
                window, count = state.windows.get(key, (index, 0))
                state.windows[key] = (index, count + 1 if window == index else 1)
        self._in_flight[credential] += 1
        self._in_flight[None] += 1

        def release() -> None:
            self._in_flight[credential] -= 1
            self._in_flight[None] -= 1

        return Admission(True, on_release=release)

    def _wait(
        self, limit: Limit, state: _BucketState | _QuotaState | None, key: str | None, now: float
    ) -> float | None:
        """Seconds until ``limit`` admits, or ``None`` when it admits now."""
        if isinstance(limit, TokenBucket):
            assert isinstance(state, _BucketState)
            interval = 1.0 / limit.rate
            tat = max(state.tat.get(key, now), now)
            # GCRA: conforming while the bucket's debt stays within burst - 1 intervals.
            excess = tat - now - (limit.burst - 1) * interval
            return excess if excess > _EPSILON else None
        if isinstance(limit, ConcurrencyCap):
            busy = self._in_flight[key]  # None: every caller
            return limit.retry_after_hint if busy >= limit.max_in_flight else None
        assert isinstance(state, _QuotaState)
        if limit.sliding:
            admitted = state.admitted.get(key)
            if admitted is None:
                return None
            while admitted and admitted[0] <= now - limit.window + _EPSILON:
                admitted.popleft()  # out of the span
            if len(admitted) < limit.limit:
                return None
            return admitted[0] + limit.window - now
        index = _window_index(now, limit.window)
        window, count = state.windows.get(key, (index, 0))
        if window != index or count < limit.limit:
            return None
        return (index + 1) * limit.window - now

    def _header(self, style: RetryAfter, wait: float, now: float) -> str | None:
        if style == "none":
            return None
        if isinstance(style, int):
            return str(style)
        if style == "seconds":
            return str(math.ceil(wait - _EPSILON))
        if style == "exact":
            # Milliseconds, rounded up: never earlier than the wait.
            return f"{math.ceil(wait * 1000 - _EPSILON) / 1000:.3f}"
        # HTTP dates have whole seconds: round up, so the date is never too early.
        at = math.ceil(self._wall_clock() + wait - _EPSILON)
        return email.utils.formatdate(at, usegmt=True)


def _fresh_state(limit: Limit) -> _BucketState | _QuotaState | None:
    if isinstance(limit, TokenBucket):
        return _BucketState()
    if isinstance(limit, WindowQuota):
        return _QuotaState()
    return None


def _window_index(now: float, window: float) -> int:
    return math.floor((now + _EPSILON) / window)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(text: str) -> float:
    """Seconds from ``"20ms"``, ``"1.5s"``, ``"10s"``, ``"1m"``, ``"1h"`` or ``"0.02"``.

    Args:
        text: The duration; a bare number is seconds.

    Returns:
        Seconds.

    Raises:
        ValueError: Not a duration.
    """
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"not a duration: {text!r} (e.g. 20ms, 1.5s, 10s, 1m)")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_quota(text: str) -> tuple[int, float]:
    """``(limit, window seconds)`` from ``"100/10s"``, ``"1000/1m"`` or ``"5/1"``.

    Args:
        text: ``LIMIT/WINDOW``.

    Returns:
        The request count and the window in seconds.

    Raises:
        ValueError: Not a quota.
    """
    count, sep, window = text.partition("/")
    if not sep or not count.strip().isdigit() or int(count) < 1:
        raise ValueError(f"not a quota: {text!r} (e.g. 100/10s: 100 requests per 10 seconds)")
    seconds = parse_duration(window)
    if seconds <= 0:
        raise ValueError(f"a quota's window must be longer than 0: {text!r}")
    return int(count), seconds
