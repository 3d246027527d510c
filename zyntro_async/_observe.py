"""The attempt observer: the one seam through which anything watches or paces requests.

Every request the SDK sends goes through one retry loop (:mod:`zyntro_async._transport`).
That loop tells an :class:`AttemptObserver` about each attempt, at three moments:

1. :meth:`AttemptObserver.before_attempt`, awaited before an attempt starts. A rate governor
   waits here for its turn (or raises to stop the attempt: a circuit that is open, a run
   that is stopping). User hooks see a "request" event.
2. :meth:`AttemptObserver.before_last_byte`, awaited for a *creating* request only, after
   every byte of the body but the last has reached the kernel. The bulk journal commits its
   write-ahead "sent" mark here: from this instant the server may apply the request.
3. :meth:`AttemptObserver.after_attempt`, called once the attempt's outcome is classified,
   with the delay before the next attempt (``None`` when there is none). A governor learns
   the server's limit here; tracing ends its span on the last attempt; user hooks see a
   "response" and, when ``retry_in`` is set, a "retry" event.

Observers come from two places and are combined with :class:`ObserverChain`: the client's
own (event hooks, tracing) and the one a caller passes to ``ZyntroClient.send`` (a bulk
run's governor and journal). Nothing reaches the transport any other way: no context
variables, no globals.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import attrs

if TYPE_CHECKING:
    from zyntro_async._errors import ZyntroError
    from zyntro_async._retry import FailureKind

__all__ = [
    "Attempt",
    "AttemptObserver",
    "AttemptResult",
    "Call",
    "ObserverChain",
    "paces_rate_limits",
]


class Call:
    """One call (all the attempts of one request), shared by the :class:`Attempt` objects of it.

    Observers watch many concurrent calls at once; this object is how they tell them apart and
    where they keep per-call state (a tracing span, a start time): ``call.state[self] = ...``.
    Created only when an observer is present, so calls without observers pay nothing.

    Attributes:
        endpoint: ``module/action``.
        idempotent: whether repeating the request cannot change the outcome.
        state: per-observer scratch space, keyed by the observer.
    """

    __slots__ = ("endpoint", "idempotent", "state")

    def __init__(self, endpoint: str, *, idempotent: bool) -> None:
        self.endpoint = endpoint
        self.idempotent = idempotent
        self.state: dict[object, Any] = {}

    def __repr__(self) -> str:
        return f"Call({self.endpoint!r}, idempotent={self.idempotent})"


@attrs.frozen(slots=True)
class Attempt:
    """One attempt at sending one request.

    Attributes:
        call: the call this attempt belongs to (the same object for every attempt of it).
        number: 1 for the first attempt, 2 for the first retry, ...
        body_size: bytes of the request body (base64 included for uploads; -1 when the
            size is not known up front, as for a stream that cannot be measured).
    """

    call: Call
    number: int
    body_size: int

    @property
    def endpoint(self) -> str:
        """``module/action``, e.g. ``"crm/addContactsFull"``."""
        return self.call.endpoint

    @property
    def idempotent(self) -> bool:
        """Whether repeating the request cannot change the outcome."""
        return self.call.idempotent


@attrs.frozen(slots=True)
class AttemptResult:
    """How one attempt ended.

    Attributes:
        attempt: the attempt.
        elapsed: seconds from the start of the attempt to its classification.
        status: the HTTP status when an answer arrived, else ``None``.
        kind: ``None`` when the answer was usable (a success, or a documented error
            envelope that retrying cannot change is reported with ``FATAL``); otherwise how
            the attempt failed as far as retrying is concerned.
        error: the error this attempt would raise if it were the last one (already
            scrubbed of credentials), ``None`` on success.
        retry_after: the server's ``Retry-After`` in seconds, when it sent one.
        retry_in: seconds until the next attempt, or ``None`` when no attempt follows
            (success, or the error is final).
    """

    attempt: Attempt
    elapsed: float
    status: int | None
    kind: FailureKind | None
    error: ZyntroError | None
    retry_after: float | None = None
    retry_in: float | None = None

    @property
    def final(self) -> bool:
        """No further attempt follows this one."""
        return self.retry_in is None


@runtime_checkable
class AttemptObserver(Protocol):
    """Watches (and may pace) every attempt of the requests it is given.

    Implementations must be cheap when they have nothing to do: they run on every request.
    ``after_attempt`` must not raise; ``before_attempt`` may raise a ``ZyntroError`` to stop
    the request before it is sent (it is then raised to the caller as it is).

    Attributes:
        wants_last_byte: ``before_last_byte`` is called only when this is true: holding the
            body's last byte back (and flushing the rest to the kernel first) costs a little
            on every creating request, so only an observer that needs the moment (a
            journal's write-ahead mark) asks for it.

    An observer may also set ``paces_rate_limits = True`` (optional, read with
    :func:`paces_rate_limits`): it holds the retry after a 429 in its own ``before_attempt``
    (a bulk run's rate governor), so the transport adds no wait of its own.
    """

    wants_last_byte: bool

    async def before_attempt(self, attempt: Attempt) -> None:
        """Called before each attempt; may wait (pacing) or raise (stop)."""

    async def before_last_byte(self, attempt: Attempt) -> None:
        """Called for creating requests before the body's last byte is written."""

    def after_attempt(self, result: AttemptResult) -> None:
        """Called once per attempt with its classified outcome."""


class ObserverChain:
    """Several observers seen as one, called in the order given.

    ``before_*`` are awaited in order; ``after_attempt`` is called in reverse order, so that
    an observer that wraps the others (a tracing span) sees its inner observers finish first.
    """

    __slots__ = ("observers", "paces_rate_limits", "wants_last_byte")

    def __init__(self, observers: Sequence[AttemptObserver]) -> None:
        self.observers = tuple(observers)
        self.wants_last_byte = any(o.wants_last_byte for o in self.observers)
        self.paces_rate_limits = any(paces_rate_limits(o) for o in self.observers)

    @classmethod
    def of(cls, *observers: AttemptObserver | None) -> AttemptObserver | None:
        """The observers that are not ``None``, chained; one alone is returned as it is."""
        present = [o for o in observers if o is not None]
        if not present:
            return None
        if len(present) == 1:
            return present[0]
        return cls(present)

    async def before_attempt(self, attempt: Attempt) -> None:
        """Await each observer's ``before_attempt`` in order.

        If one raises (a governor stopping the run, a cancellation while it waits), the
        observers before it have already seen the attempt start: they are told it ended
        (``NOT_SENT``: nothing left, no retry), so a span is closed and no count is left
        open.
        """
        for entered, observer in enumerate(self.observers):
            try:
                await observer.before_attempt(attempt)
            except BaseException as exc:
                from zyntro_async._errors import ZyntroError
                from zyntro_async._retry import FailureKind

                ended = AttemptResult(
                    attempt,
                    0.0,
                    None,
                    FailureKind.NOT_SENT,
                    exc if isinstance(exc, ZyntroError) else None,
                )
                for earlier in reversed(self.observers[:entered]):
                    earlier.after_attempt(ended)
                raise

    async def before_last_byte(self, attempt: Attempt) -> None:
        """Await ``before_last_byte`` of each observer that wants it, in order."""
        for observer in self.observers:
            if observer.wants_last_byte:
                await observer.before_last_byte(attempt)

    def after_attempt(self, result: AttemptResult) -> None:
        """Call each observer's ``after_attempt``, innermost first."""
        for observer in reversed(self.observers):
            observer.after_attempt(result)


def paces_rate_limits(observer: AttemptObserver | None) -> bool:
    """Whether ``observer`` waits out 429s itself (its optional ``paces_rate_limits``).

    The attribute is optional so that observers written before it existed (hooks, tracing,
    a caller's own) still satisfy :class:`AttemptObserver`; the transport reads it only
    when a 429 arrives.

    Args:
        observer: the observer of a call, or ``None``.

    Returns:
        ``True`` when a 429's retry is held in the observer's ``before_attempt``.
    """
    return getattr(observer, "paces_rate_limits", False) is True
