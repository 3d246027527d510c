"""What an item's outcome was: the status its attempts prove, as a pure function.

``failed`` means "not applied", ``unknown`` "may have been applied", ``skipped`` "never
sent". The runner hands over how the item's send ended (its exception, or ``None``) and
what its :class:`~zyntro_async.bulk._item_observer.ItemObserver` saw; nothing here does I/O.
"""

from __future__ import annotations

from zyntro_async._errors import (
    AmbiguousOutcomeError,
    APIConnectionError,
    APIError,
    CircuitOpenError,
    MalformedResponseError,
    ZyntroError,
)
from zyntro_async.bulk._governor import RateLimitStopError
from zyntro_async.bulk._report import Status

__all__ = ["ambiguous", "classify", "classify_cancelled"]


def classify(
    error: BaseException | None,
    *,
    endpoint: str,
    attempts: int,
    maybe_applied: bool,
) -> tuple[Status, BaseException | None]:
    """The status of an item whose send returned (``error is None``) or raised ``error``.

    Args:
        error: what the send raised, ``None`` when it returned a result.
        endpoint: the item's endpoint (named in the errors made here).
        attempts: attempts the item started.
        maybe_applied: an attempt may have been applied and no later one settled it.

    Returns:
        The status, and the error to report with it.
    """
    if error is None:
        return Status.SUCCEEDED, None
    if isinstance(error, AmbiguousOutcomeError):
        return Status.UNKNOWN, error
    if isinstance(error, RateLimitStopError):
        # The run stopped for rate limiting before this attempt was sent; the earlier
        # ones were refused (429: not applied) unless one may have been applied.
        if maybe_applied:
            return Status.UNKNOWN, ambiguous(endpoint, error)
        return Status.SKIPPED, error
    if isinstance(error, CircuitOpenError):
        if attempts == 0:
            return Status.SKIPPED, error
        if maybe_applied:
            return Status.UNKNOWN, ambiguous(endpoint, error)
        return Status.FAILED, error
    if isinstance(error, MalformedResponseError):
        # An answer came back but could not be read: it may well report a success.
        return Status.UNKNOWN, ambiguous(endpoint, error)
    if isinstance(error, ZyntroError):
        # ``failed`` means "not applied": an idempotent call whose earlier attempt was
        # reset or answered 5xx may have been applied even if its last attempt failed.
        if maybe_applied:
            return Status.UNKNOWN, ambiguous(endpoint, error)
        return Status.FAILED, error
    # A file that vanished or a value the SDK could not send: this item only.
    return Status.FAILED, error


def classify_cancelled(*, in_flight: bool, maybe_applied: bool) -> Status:
    """The status of an item whose run stopped while it was being sent.

    A request still out, or one that may have been applied, leaves the item ``unknown``;
    an item that never started, or was waiting to retry after attempts that provably
    applied nothing (refused, 429, 503), was ``skipped``: a rerun sends it.
    """
    return Status.UNKNOWN if in_flight or maybe_applied else Status.SKIPPED


def ambiguous(endpoint: str, cause: ZyntroError) -> AmbiguousOutcomeError:
    """``cause`` restated as "may or may not have been applied" (chained to it)."""
    if isinstance(cause, APIError | APIConnectionError | MalformedResponseError):
        endpoint = cause.endpoint or endpoint
    detail = str(cause).removeprefix(f"{endpoint}: ")
    error = AmbiguousOutcomeError(
        f"the request may or may not have been applied ({detail})", endpoint=endpoint
    )
    error.__cause__ = cause
    return error
