"""Event hooks, httpx-style: ``ZyntroClient(event_hooks={"request": [...], ...})``.

Three events, each a frozen attrs class, for every attempt of every call:

- ``"request"`` (:class:`RequestEvent`): an attempt is about to be sent;
- ``"response"`` (:class:`ResponseEvent`): an attempt ended (answered or not), with its
  status, its failure kind and the (scrubbed) error it would raise;
- ``"retry"`` (:class:`RetryEvent`): another attempt follows, after ``delay`` seconds.

A hook is any callable taking the event; an ``async`` one is awaited. What happens when a hook
raises follows from what it watches:

- a *request* hook runs before anything is sent, and its exception stops the call and reaches
  the caller unchanged, as in httpx (a hook can veto a request);
- a *response* or *retry* hook runs after the outcome is known (the server may have applied
  the request): its exception is logged on the ``zyntro_async`` logger and the call goes on,
  so a faulty metrics hook cannot turn a stored contact into a failed (and re-sent) bulk
  item. Sync ones run inline; async ones run as tasks, awaited before the call's next
  attempt and by ``aclose()``.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import attrs

from zyntro_async._errors import ConfigurationError, ZyntroError
from zyntro_async._observe import Attempt, AttemptResult

__all__ = ["EventHooks", "HookObserver", "RequestEvent", "ResponseEvent", "RetryEvent"]

logger = logging.getLogger("zyntro_async")

HOOK_NAMES = ("request", "response", "retry")


@attrs.frozen(slots=True)
class RequestEvent:
    """An attempt is about to be sent.

    Attributes:
        endpoint: ``module/action``, e.g. ``"crm/addContactsFull"``.
        attempt: 1 for the first attempt, 2 for the first retry, ...
        idempotent: whether repeating the request cannot change the outcome.
        body_size: bytes of the body (-1 when not known up front). Never the body itself.
        elapsed: seconds since the call's first attempt started (0.0 on the first).
    """

    endpoint: str
    attempt: int
    idempotent: bool
    body_size: int
    elapsed: float


@attrs.frozen(slots=True)
class ResponseEvent:
    """An attempt ended.

    Attributes:
        endpoint: ``module/action``.
        attempt: the attempt's number (1-based).
        status: the HTTP status when an answer arrived, else ``None``.
        failure: ``None`` when the answer was a success; otherwise how the attempt failed:
            ``"not_sent"``, ``"rate_limited"``, ``"unavailable"``, ``"server_error"``,
            ``"ambiguous"`` or ``"fatal"`` (an answer retrying cannot change).
        error: the error this attempt would raise, scrubbed of credentials; ``None`` on
            success.
        elapsed: seconds since the call's first attempt started.
        attempt_elapsed: seconds this attempt took.
        final: no further attempt follows.
    """

    endpoint: str
    attempt: int
    status: int | None
    failure: str | None
    error: ZyntroError | None
    elapsed: float
    attempt_elapsed: float
    final: bool


@attrs.frozen(slots=True)
class RetryEvent:
    """Another attempt will follow after ``delay`` seconds.

    Attributes:
        endpoint: ``module/action``.
        attempt: the number of the attempt that failed (the next one is ``attempt + 1``).
        delay: seconds until the next attempt.
        status: the failed attempt's HTTP status, or ``None`` when no answer came.
        failure: how it failed (see :class:`ResponseEvent`).
        cause: the error of the failed attempt, scrubbed of credentials.
        retry_after: the server's ``Retry-After`` in seconds, when it sent one.
        elapsed: seconds since the call's first attempt started.
    """

    endpoint: str
    attempt: int
    delay: float
    status: int | None
    failure: str | None
    cause: ZyntroError | None
    retry_after: float | None
    elapsed: float


Hook = Callable[[Any], Awaitable[object] | object]


def _check_hooks(name: str, value: object) -> tuple[Hook, ...]:
    if callable(value) or isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise ConfigurationError(
            f"event_hooks[{name!r}] must be a list of callables, got {type(value).__name__}"
        )
    for index, hook in enumerate(value):
        if not callable(hook):
            raise ConfigurationError(
                f"event_hooks[{name!r}][{index}] is not callable: {type(hook).__name__}"
            )
    return tuple(value)


@attrs.frozen
class EventHooks:
    """The validated ``event_hooks`` of a client."""

    request: tuple[Hook, ...] = ()
    response: tuple[Hook, ...] = ()
    retry: tuple[Hook, ...] = ()

    @classmethod
    def from_mapping(cls, hooks: Mapping[str, Any] | None) -> EventHooks:
        """Check ``event_hooks`` as given to the client.

        Raises:
            ConfigurationError: not a mapping, an unknown event name (naming it and the
                known ones), or a value that is not a list of callables.
        """
        if hooks is None:
            return cls()
        if not isinstance(hooks, Mapping):
            raise ConfigurationError(
                f"event_hooks must be a mapping of event name to hooks, got {type(hooks).__name__}"
            )
        unknown = [name for name in hooks if name not in HOOK_NAMES]
        if unknown:
            raise ConfigurationError(
                f"event_hooks has unknown event names {unknown!r:.80}; the events are "
                f"{', '.join(HOOK_NAMES)}"
            )
        return cls(**{name: _check_hooks(name, value) for name, value in hooks.items()})

    def __bool__(self) -> bool:
        return bool(self.request or self.response or self.retry)


class HookObserver:
    """Turns attempts into hook events (an :class:`~zyntro_async._observe.AttemptObserver`).

    Args:
        hooks: the client's validated hooks.
        clock: monotonic clock for ``elapsed`` (injectable).
    """

    wants_last_byte = False  # it never needs the moment before a body's last byte

    def __init__(self, hooks: EventHooks, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._hooks = hooks
        self._clock = clock
        self._tasks: set[asyncio.Task[None]] = set()

    async def before_attempt(self, attempt: Attempt) -> None:
        """Await pending async hooks of this call, then run the request hooks (which may raise)."""
        state = attempt.call.state
        started = state.get(self)
        now = self._clock()
        if started is None:
            started = state[self] = now
        pending = state.pop((self, "tasks"), None)
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        if not self._hooks.request:
            return
        event = RequestEvent(
            endpoint=attempt.endpoint,
            attempt=attempt.number,
            idempotent=attempt.idempotent,
            body_size=attempt.body_size,
            elapsed=now - started,
        )
        for hook in self._hooks.request:
            outcome = hook(event)
            if inspect.isawaitable(outcome):
                await outcome

    async def before_last_byte(self, attempt: Attempt) -> None:
        """Hooks have nothing to do here."""

    def after_attempt(self, result: AttemptResult) -> None:
        """Run the response hooks, then the retry hooks when another attempt follows."""
        attempt = result.attempt
        started = attempt.call.state.get(self, self._clock())
        elapsed = self._clock() - started
        failure = None if result.kind is None else result.kind.value
        if self._hooks.response:
            response = ResponseEvent(
                endpoint=attempt.endpoint,
                attempt=attempt.number,
                status=result.status,
                failure=failure,
                error=result.error,
                elapsed=elapsed,
                attempt_elapsed=result.elapsed,
                final=result.final,
            )
            self._run("response", self._hooks.response, response, attempt)
        if self._hooks.retry and result.retry_in is not None:
            retry = RetryEvent(
                endpoint=attempt.endpoint,
                attempt=attempt.number,
                delay=result.retry_in,
                status=result.status,
                failure=failure,
                cause=result.error,
                retry_after=result.retry_after,
                elapsed=elapsed,
            )
            self._run("retry", self._hooks.retry, retry, attempt)

    def _run(self, name: str, hooks: tuple[Hook, ...], event: object, attempt: Attempt) -> None:
        for hook in hooks:
            try:
                outcome = hook(event)
            except Exception:
                logger.exception("%s hook %r raised; ignored", name, hook)
                continue
            if inspect.isawaitable(outcome):
                task = asyncio.ensure_future(self._guarded(name, hook, outcome))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                attempt.call.state.setdefault((self, "tasks"), []).append(task)

    @staticmethod
    async def _guarded(name: str, hook: Hook, outcome: Awaitable[object]) -> None:
        try:
            await outcome
        except Exception:
            logger.exception("%s hook %r raised; ignored", name, hook)

    async def drain(self) -> None:
        """Wait for the async response/retry hooks still running (``aclose`` calls this)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
