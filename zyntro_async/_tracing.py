"""OpenTelemetry spans for calls and bulk runs (the ``otel`` extra: ``opentelemetry-api``).

One span per API call (not per attempt), kind CLIENT, named ``zyntro <module>/<action>``,
with the HTTP client semantic conventions: ``http.request.method``, ``server.address``,
``server.port``, ``url.full`` (the endpoint's URL, never userinfo: the credentials travel in
the body, which is never recorded), ``http.response.status_code``, and the attempts made
(``zyntro.attempts``, and ``http.request.resend_count`` when there were retries). Each retry
is a ``zyntro.retry`` span event. A failed call's span has status ERROR and ``error.type``
(the exception's class name; the API's code in ``zyntro.error.code``); no message text.

A bulk run is one INTERNAL span (:func:`run_span`) that is the current span while the run's
workers start, so the calls' spans are its children; it ends with the outcome counts.

Without ``opentelemetry-api`` installed nothing of this runs: :func:`tracing_observer`
returns ``None`` (no observer is installed) and :func:`run_span` yields an inert handle.
The package is imported on first use, never by ``import zyntro_async``. With it installed
but no tracer provider configured, calls pay nothing either: a client's
:class:`TracingSwitch` installs the observer at the first call after a provider is set.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from yarl import URL

from zyntro_async._observe import Attempt, AttemptResult
from zyntro_async._version import __version__

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer

__all__ = ["RunSpan", "TracingObserver", "TracingSwitch", "run_span", "tracing_observer"]

TRACER_NAME = "zyntro_async"
API_PREFIX = "/apis/v2/public"  # as the transport builds URLs


def _tracer() -> Tracer | None:
    """The SDK's tracer, or ``None`` when ``opentelemetry-api`` is not installed."""
    try:
        from opentelemetry import trace
    except ImportError:
        return None
    return trace.get_tracer(TRACER_NAME, __version__)


class TracingObserver:
    """Opens a span at a call's first attempt and ends it after the last.

    Args:
        tracer: an OpenTelemetry tracer.
        base_url: the client's API root (credentials are never in it; userinfo is removed
            anyway).
    """

    wants_last_byte = False  # it never needs the moment before a body's last byte

    def __init__(self, tracer: Tracer, base_url: str) -> None:
        from opentelemetry.trace import SpanKind, Status, StatusCode

        self._tracer = tracer
        self._kind = SpanKind.CLIENT
        self._error_status = Status(StatusCode.ERROR)
        url = URL(base_url).with_user(None).with_password(None)
        self._base = str(url).rstrip("/")
        self._static: dict[str, Any] = {
            "http.request.method": "POST",
            "server.address": url.host or "",
            "server.port": url.port or (443 if url.scheme == "https" else 80),
        }

    async def before_attempt(self, attempt: Attempt) -> None:
        """Start the call's span at its first attempt (in the caller's context)."""
        call = attempt.call
        if self in call.state:
            return
        endpoint = call.endpoint
        attributes = dict(self._static)
        attributes["url.full"] = f"{self._base}{API_PREFIX}/{endpoint}"
        attributes["zyntro.endpoint"] = endpoint
        attributes["zyntro.idempotent"] = call.idempotent
        call.state[self] = self._tracer.start_span(
            f"zyntro {endpoint}", kind=self._kind, attributes=attributes
        )

    async def before_last_byte(self, attempt: Attempt) -> None:
        """Nothing to record here."""

    def after_attempt(self, result: AttemptResult) -> None:
        """Record a retry as an event, or finish the span after the last attempt."""
        span: Span | None = result.attempt.call.state.get(self)
        if span is None:
            return
        number = result.attempt.number
        if not result.final:
            event: dict[str, Any] = {"zyntro.attempt": number}
            if result.status is not None:
                event["http.response.status_code"] = result.status
            if result.kind is not None:
                event["zyntro.failure"] = result.kind.value
            if result.retry_in is not None:
                event["zyntro.retry_in"] = result.retry_in
            span.add_event("zyntro.retry", event)
            return
        del result.attempt.call.state[self]
        if result.status is not None:
            span.set_attribute("http.response.status_code", result.status)
        span.set_attribute("zyntro.attempts", number)
        if number > 1:
            span.set_attribute("http.request.resend_count", number - 1)
        error = result.error
        if error is not None or result.kind is not None:
            error_type = type(error).__name__ if error is not None else result.kind.value  # type: ignore[union-attr]
            span.set_attribute("error.type", error_type)
            code = getattr(error, "code", None)
            if isinstance(code, str):
                span.set_attribute("zyntro.error.code", code)
            if result.kind is not None:
                span.set_attribute("zyntro.failure", result.kind.value)
            span.set_status(self._error_status)
        span.end()


def _records(tracer: Tracer) -> bool:
    """Whether spans of ``tracer`` can go anywhere: a tracer provider has been configured.

    Until the application sets one, ``opentelemetry-api`` hands out a proxy tracer whose spans
    are no-ops; ``NoOpTracerProvider`` (or a ``NoOpTracer``) stays a no-op for good.
    """
    from opentelemetry import trace

    if isinstance(tracer, trace.NoOpTracer):
        return False
    if isinstance(tracer, trace.ProxyTracer):
        provider = trace.get_tracer_provider()
        return not isinstance(provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider)
    return True


def tracing_observer(base_url: str) -> TracingObserver | None:
    """The tracing observer, or ``None`` when nothing would record its spans (free).

    ``None`` without ``opentelemetry-api``, and while no tracer provider is configured (the
    API's default proxy, or ``NoOpTracerProvider``): a span nobody records would cost every
    call a few microseconds for nothing.
    """
    tracer = _tracer()
    if tracer is None or not _records(tracer):
        return None
    return TracingObserver(tracer, base_url)


class TracingSwitch:
    """A client's tracing, switched on at the first call after a tracer provider is set.

    Applications often build their client (a module-level one, say) before they configure
    OpenTelemetry, so the decision is not taken when the client is built. While no provider
    is configured, a call asks again only when ``recheck_seconds`` have passed since the
    last time (asking costs about a microsecond); once a provider is there, tracing stays
    on (OpenTelemetry's global provider cannot be replaced).

    Args:
        base_url: the client's API root.
        recheck_seconds: how long a "no provider" answer is trusted.
        clock: monotonic clock (injectable).
    """

    __slots__ = ("_base_url", "_check_after", "_clock", "_observer", "_recheck")

    def __init__(
        self,
        base_url: str,
        *,
        recheck_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._base_url = base_url
        self._recheck = recheck_seconds
        self._clock = clock
        self._check_after: float | None = None  # None: never checked yet
        self._observer: TracingObserver | None = None

    @classmethod
    def for_client(cls, base_url: str) -> TracingSwitch | None:
        """The switch, or ``None`` when ``opentelemetry-api`` is not installed (free)."""
        try:
            import opentelemetry.trace  # noqa: F401 - only whether it can be imported
        except ImportError:
            return None
        return cls(base_url)

    def current(self) -> TracingObserver | None:
        """The tracing observer, or ``None`` while nothing would record its spans."""
        observer = self._observer
        if observer is not None:
            return observer
        now = self._clock()
        if self._check_after is not None and now < self._check_after:
            return None
        self._check_after = now + self._recheck
        self._observer = tracing_observer(self._base_url)
        return self._observer


class RunSpan:
    """A bulk run's span, as :func:`run_span` yields it (inert without OpenTelemetry)."""

    __slots__ = ("_span",)

    def __init__(self, span: Span | None) -> None:
        self._span = span

    def set_counts(self, counts: Mapping[str, int]) -> None:
        """Record the outcome counts (``succeeded``, ``failed``, ...) as ``zyntro.bulk.*``."""
        if self._span is None:
            return
        for status, count in counts.items():
            self._span.set_attribute(f"zyntro.bulk.{status}", count)


@contextlib.contextmanager
def run_span(*, concurrency: int, journal: bool) -> Iterator[RunSpan]:
    """A span around a bulk run, current while the body runs (its calls are children).

    Args:
        concurrency: the run's concurrency (an attribute).
        journal: whether the run is journaled (an attribute).

    Yields:
        A :class:`RunSpan` on which the runner sets the outcome counts before it ends. An
        exception leaving the block marks the span ERROR with ``error.type`` (no message).
    """
    tracer = _tracer()
    if tracer is None:
        yield RunSpan(None)
        return
    from opentelemetry import trace
    from opentelemetry.trace import Status, StatusCode

    span = tracer.start_span(
        "zyntro bulk.run",
        attributes={"zyntro.bulk.concurrency": concurrency, "zyntro.bulk.journal": journal},
    )
    # No record_exception: an exception's message may quote the server.
    with trace.use_span(
        span, end_on_exit=True, record_exception=False, set_status_on_exception=False
    ):
        try:
            yield RunSpan(span)
        except BaseException as exc:
            span.set_attribute("error.type", type(exc).__name__)
            span.set_status(Status(StatusCode.ERROR))
            raise
