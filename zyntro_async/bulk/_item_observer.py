"""What a bulk run plugs into each attempt of an item: the run's pace and the journal.

The runner sends each item with ``client.send(request, observer=ItemObserver(...))``; the
transport then tells the observer about every attempt (see :mod:`zyntro_async._observe`):

- before an attempt, the run's :class:`~zyntro_async.bulk._limiter.CircuitBreaker` stops it
  if the server keeps failing, then the run's
  :class:`~zyntro_async.bulk._governor.RateGovernor` gives it its turn (the pace learned
  from 429s, ``max_per_second``, a ``Retry-After`` pause) or stops the run (rate limited
  with no progress, or a pause longer than the run accepts);
- just before the last byte of a creating request, the journal commits its write-ahead
  "sent" mark, so a run killed after that instant knows the item may have been applied;
- after the attempt, the governor and the breaker learn how it went, and the observer keeps
  what the runner needs to classify the item's outcome (attempts made, whether one may
  have been applied, whether one is still out).

A 429 is retried by the transport at once and held here, in the governor's
``before_attempt`` (``paces_rate_limits``): the governor alone decides how long to wait,
and no 429 counts against the item's ``max_retries``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zyntro_async._observe import Attempt, AttemptResult
from zyntro_async._retry import FailureKind
from zyntro_async.bulk._limiter import MAYBE_APPLIED

if TYPE_CHECKING:
    from zyntro_async.bulk._governor import RateGovernor
    from zyntro_async.bulk._journal import Journal
    from zyntro_async.bulk._limiter import CircuitBreaker

__all__ = ["ItemObserver"]


class ItemObserver:
    """One item's view of a run: paces its attempts, journals "sent", counts attempts.

    Args:
        governor: the run's shared rate governor.
        breaker: the run's shared circuit breaker.
        journal: the run's journal, or ``None``.
        key: the item's journal key (for the "sent" mark).
        fingerprint: the item's content fingerprint, recorded with the "sent" mark.

    Attributes:
        attempts: attempts started so far.
        maybe_applied: an attempt failed in a way that may have applied it (a reset or
            timeout after sending, a 500/502/504) and no later attempt got a definitive
            answer, so the item's final failure does not prove it was not applied.
    """

    __slots__ = (
        "_breaker",
        "_fingerprint",
        "_finished",
        "_governor",
        "_journal",
        "_key",
        "_last_byte",
        "attempts",
        "maybe_applied",
        "wants_last_byte",
    )

    paces_rate_limits = True  # a 429's retry waits in the governor, not in the transport

    def __init__(
        self,
        governor: RateGovernor,
        breaker: CircuitBreaker,
        journal: Journal | None,
        key: str,
        *,
        fingerprint: str | None = None,
    ) -> None:
        self._governor = governor
        self._breaker = breaker
        self._journal = journal
        self._key = key
        self._fingerprint = fingerprint
        # The journal's write-ahead "sent" mark is the one use of that moment.
        self.wants_last_byte = journal is not None
        self.attempts = 0
        self.maybe_applied = False
        self._finished = 0
        self._last_byte = False  # this attempt's body was complete (journal "sent" mark)

    @property
    def in_flight(self) -> bool:
        """An attempt has started and has not come back (it may be applied as we speak)."""
        return self.attempts > self._finished

    async def before_attempt(self, attempt: Attempt) -> None:
        """Check the circuit, take the run's turn, then count the attempt.

        Raises:
            CircuitOpenError: the run's circuit breaker is open.
            RateLimitStopError: the governor stopped the run (no progress while rate
                limited, or a ``Retry-After`` over ``max_pause`` with
                ``on_long_pause="stop"``); nothing was sent.
        """
        self._breaker.check()
        await self._governor.before_attempt(attempt)
        self.attempts += 1
        self._last_byte = False

    async def before_last_byte(self, attempt: Attempt) -> None:
        """Commit the journal's "sent" mark (creating requests only).

        Raises:
            OSError: the journal cannot be written; the request is then not completed.
        """
        if self._journal is not None:
            await self._journal.mark_sent(self._key, fingerprint=self._fingerprint)
            self._last_byte = True

    def after_attempt(self, result: AttemptResult) -> None:
        """Note whether the attempt may have been applied, then tell the governor and breaker."""
        self._finished += 1
        kind = result.kind
        if kind in MAYBE_APPLIED:
            # A reset, timeout or cut-off (cancelled) attempt may have been applied, unless
            # the journal watched its body and it never reached its last byte: a request
            # whose body never completed cannot have been applied (the rerun sends it).
            if self._last_byte or not self.wants_last_byte:
                self.maybe_applied = True
        elif kind is FailureKind.FATAL and result.status is not None:
            # The server judged the very same request: that answer settles the outcome.
            self.maybe_applied = False
        self._governor.after_attempt(result)
        self._breaker.after_attempt(kind)
