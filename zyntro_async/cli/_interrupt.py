"""Stopping an import cleanly: the gate on the input, and the SIGINT/SIGTERM handling.

The first SIGINT or SIGTERM closes the :class:`Gate` (nothing more is read from the input)
and gives the requests in flight a grace period; a second signal, or the end of the grace
period, cancels the run at once. Either way the command then prints its summary, writes
``--export`` and closes the journal.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if sys.version_info < (3, 11):  # pragma: no cover - anyio depends on the backport there
    from exceptiongroup import BaseExceptionGroup

from zyntro_async.bulk._report import requests_in_flight

if TYPE_CHECKING:
    from zyntro_async.bulk._report import ItemResult

__all__ = ["Gate", "Stopper", "say", "single_errors"]

# Errors about the account rather than the item: every later item would fail the same way.
_ACCOUNT_CODES = frozenset(
    {
        "MISSING_API_KEY",
        "INVALID_API_KEY",
        "USER_INACTIVE",
        "MISSING_DEVELOPER_SECRET",
        "INVALID_DEVELOPER_SECRET",
        "IP_NOT_WHITELISTED",
        "WRONG_ORG",
    }
)


def _with_lookup(item: Any, lookup_by: str | None) -> Any:
    """``item`` matched by ``lookup_by`` when it is a contact using the default (e-mail).

    A contact that cannot be matched that way (``--lookup-by phone`` and no phone) becomes
    a failed item naming the field, like any other invalid line.
    """
    from zyntro_async._errors import RequestValidationError
    from zyntro_async.bulk import ContactBundle, InvalidItem, UpsertContact, line_from_op

    if lookup_by is None or lookup_by == "email":
        return item
    if not isinstance(item, ContactBundle | UpsertContact) or item.lookup_by != "email":
        return item
    import attrs

    try:
        return attrs.evolve(item, lookup_by=lookup_by)
    except RequestValidationError as exc:
        source = getattr(item, "source", None)
        return InvalidItem(
            error=exc,
            source=source if isinstance(source, str) else None,
            raw=line_from_op(item),
            key=item.key,
        )


class Gate:
    """The input as the run pulls it: stops on request, counts what was pulled.

    It stops once Zyntro rejects the account itself (bad key, IP, org: every later item
    would fail the same way) or on a first SIGINT/SIGTERM. Items already in flight finish;
    the rest are never read, so with a journal a rerun picks up where this one stopped.

    Args:
        items: The reader's operations.
        lookup_by: ``--lookup-by``: applied to the contacts whose line does not choose.
    """

    def __init__(self, items: Iterator[Any], *, lookup_by: str | None = None) -> None:
        self._source = items
        self._lookup_by = lookup_by
        self.reason: BaseException | None = None
        self.stopped = False
        self.pulled = 0
        self.items = self._pull()

    def _pull(self) -> Iterator[Any]:
        for item in self._source:
            if self.reason is not None or self.stopped:
                return
            self.pulled += 1
            yield _with_lookup(item, self._lookup_by)

    def stop(self) -> None:
        """Pull nothing more."""
        self.stopped = True

    def check(self, result: ItemResult) -> None:
        """``on_result``: remember the first account-level error."""
        for outcome in (result, *result.children):
            if self.reason is not None:
                return
            # An unknown member is the account's problem when it is the default member
            # (ZYNTRO_MEMBER_ID / --member-id), and that line's problem when it names one.
            default_member = getattr(outcome.op, "member_id", None) is None
            if outcome.code in _ACCOUNT_CODES or (
                outcome.code == "MEMBER_NOT_FOUND" and default_member
            ):
                self.reason = outcome.error

    def close(self) -> None:
        """Close the file behind the items."""
        close = getattr(self._source, "close", None)
        if callable(close):
            close()


class Stopper:
    """SIGINT/SIGTERM: the first stops pulling, the second (or the grace period) stops now.

    Args:
        gate: The input, told to stop pulling on the first signal.
        scope: The run's cancel scope, cancelled on the second signal.
        grace: Seconds the items in flight get after the first signal.
        in_flight: How many items are in flight (for the message).
    """

    def __init__(
        self,
        gate: Gate,
        scope: Any,
        *,
        grace: float,
        in_flight: Callable[[], int],
    ) -> None:
        self._gate = gate
        self._scope = scope
        self._grace = grace
        self._in_flight = in_flight
        self._timer: asyncio.TimerHandle | None = None
        self.signum: int | None = None
        self.forced = False

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        """Handle SIGINT and SIGTERM on the running loop while the block runs."""
        loop = asyncio.get_running_loop()
        handled: list[int] = []
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(signum, self.handle, signum)
            except (NotImplementedError, RuntimeError, ValueError):  # pragma: no cover
                continue  # not the main thread, or Windows: the default behaviour stays
            handled.append(signum)
        try:
            yield
        finally:
            if self._timer is not None:
                self._timer.cancel()
            for handled_signum in handled:
                loop.remove_signal_handler(handled_signum)

    def handle(self, signum: int) -> None:
        """A signal arrived (on the event loop, between callbacks)."""
        if self.signum is None:
            self.signum = signum
            self._gate.stop()
            again = "press Ctrl-C" if signum == signal.SIGINT else "send SIGTERM"
            say(
                f"stopping: finishing {requests_in_flight(self._in_flight())}; {again} again "
                f"to stop now (waiting at most {self._grace:g}s)"
            )
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self._grace, self._stop_now, "the grace period ended")
        else:
            self._stop_now("second signal")

    def _stop_now(self, why: str) -> None:
        if self.forced:
            return
        self.forced = True
        say(
            f"stopping now ({why}): requests still in flight are reported unknown; "
            "the journal keeps them from being sent twice"
        )
        self._scope.cancel()


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@contextlib.contextmanager
def single_errors() -> Iterator[None]:
    """Let a task group's lone error surface as itself, not as an exception group."""
    try:
        yield
    except BaseExceptionGroup as group:
        if len(group.exceptions) == 1:
            raise group.exceptions[0] from None
        raise
