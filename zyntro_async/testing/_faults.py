"""Fault injection: what can go wrong between a client and the Zyntro API.

A :class:`FaultRule` pairs one fault kind with *when* it fires (which endpoint, after how
many requests, every Nth, at most N times, with what probability). The
:class:`FaultInjector` evaluates the rules in order for each request with a seeded
``random.Random``, so a run is reproducible: the same seed and the same request order
give the same faults.

Kinds that change the answer ("terminal" kinds) are exclusive: the first one that fires
wins. :class:`Latency` adds up and combines with everything.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Iterable
from typing import Literal

import attrs

__all__ = [
    "Fault",
    "FaultDecision",
    "FaultInjector",
    "FaultRule",
    "Latency",
    "Malformed",
    "RateLimited",
    "ResetAfterApply",
    "ResetBeforeApply",
    "ServerFailure",
    "Stall",
    "parse_fault",
]


@attrs.frozen
class Latency:
    """Delay the request by ``ms`` milliseconds, then handle it normally.

    Attributes:
        ms: Added delay in milliseconds.
    """

    ms: float = attrs.field(validator=attrs.validators.ge(0))
    name = "latency"


@attrs.frozen
class ServerFailure:
    """Answer with an HTTP 5xx status instead of handling the request.

    Attributes:
        status: 500, 502, 503 or 504.
        body: ``"html"`` (what a proxy sends) or ``"envelope"`` (a JSON error envelope).
        apply: Apply the request first (a failure *after* the write: ambiguous for the
            client). Default ``False``: nothing changes.
    """

    status: int = attrs.field(default=500, validator=attrs.validators.in_((500, 502, 503, 504)))
    body: Literal["html", "envelope"] = attrs.field(
        default="html", validator=attrs.validators.in_(("html", "envelope"))
    )
    apply: bool = False
    name = "server_failure"


@attrs.frozen
class RateLimited:
    """Answer HTTP 429 with a ``Retry-After`` header; the request is not applied.

    Attributes:
        retry_after: Seconds announced in ``Retry-After`` (an integer, as HTTP requires).
    """

    retry_after: int = attrs.field(default=1, validator=attrs.validators.ge(0))
    name = "rate_limited"


@attrs.frozen
class ResetBeforeApply:
    """Read the whole body, then reset the connection without applying anything."""

    name = "reset_before_apply"


@attrs.frozen
class ResetAfterApply:
    """Apply the request, then reset the connection without answering.

    This is the ambiguous case: the client cannot know the write happened.
    """

    name = "reset_after_apply"


@attrs.frozen
class Stall:
    """Hold the request for ``seconds`` (longer than the client's timeout), then finish.

    Attributes:
        seconds: How long to hold the request. Closing the emulator ends the wait early.
        then: What happens after the wait: ``"respond"`` applies and answers normally
            (too late for the client), ``"apply"`` applies then resets the connection,
            ``"drop"`` resets the connection without applying.
    """

    seconds: float = attrs.field(validator=attrs.validators.ge(0))
    then: Literal["respond", "apply", "drop"] = attrs.field(
        default="respond", validator=attrs.validators.in_(("respond", "apply", "drop"))
    )
    name = "stall"


@attrs.frozen
class Malformed:
    """Answer HTTP 200 with a body that is not the documented envelope.

    Attributes:
        kind: ``"truncated"`` (JSON cut in the middle), ``"html"`` (an HTML page),
            ``"wrong_shape"`` (valid JSON, not an envelope) or ``"empty"`` (no body).
        apply: Apply the request first (default ``True``: a proxy mangled a real answer).
    """

    kind: Literal["truncated", "html", "wrong_shape", "empty"] = attrs.field(
        default="truncated",
        validator=attrs.validators.in_(("truncated", "html", "wrong_shape", "empty")),
    )
    apply: bool = True
    name = "malformed"


Fault = (
    Latency | ServerFailure | RateLimited | ResetBeforeApply | ResetAfterApply | Stall | Malformed
)
"""Any fault kind."""


def _optional_positive(
    _instance: object, attribute: attrs.Attribute[int | None], value: int | None
) -> None:
    if value is not None and value < 1:
        raise ValueError(f"{attribute.name} must be >= 1 or None, got {value!r}")


def _probability(_instance: object, _attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"probability must be between 0 and 1, got {value!r}")


@attrs.frozen
class FaultRule:
    """When a fault fires.

    Of the requests to ``endpoint`` (all endpoints when ``None``), the first ``after``
    pass untouched; from then on the rule fires on every ``every``-th one (all when
    ``None``), with ``probability``, at most ``times`` times in total.

    Attributes:
        fault: The fault kind.
        endpoint: ``"crm/addNotestoContact"`` style name, or ``None`` for every endpoint.
        probability: Chance of firing on an eligible request (seeded, reproducible).
        times: Maximum number of times the rule fires; ``None`` for unlimited.
        every: Fire only on every Nth eligible request.
        after: Number of matching requests to let through before the rule applies.
    """

    fault: Fault
    endpoint: str | None = None
    probability: float = attrs.field(default=1.0, validator=_probability)
    times: int | None = attrs.field(default=None, validator=_optional_positive)
    every: int | None = attrs.field(default=None, validator=_optional_positive)
    after: int = attrs.field(default=0, validator=attrs.validators.ge(0))


@attrs.frozen
class FaultDecision:
    """The faults chosen for one request.

    Attributes:
        latency_ms: Total added latency.
        fault: The terminal fault that fired, if any.
    """

    latency_ms: float = 0.0
    fault: Fault | None = None

    @property
    def names(self) -> tuple[str, ...]:
        """Names of every fault involved, latency included."""
        names = ("latency",) if self.latency_ms else ()
        return names + ((self.fault.name,) if self.fault is not None else ())


@attrs.define
class _RuleCounters:
    matched: int = 0
    fired: int = 0


class FaultInjector:
    """The runtime-editable set of fault rules of one emulator.

    Args:
        rules: Initial rules.
        seed: Seed of the random generator used for ``probability``.
    """

    def __init__(self, rules: Iterable[FaultRule] = (), *, seed: int | str = 0) -> None:
        self._lock = threading.Lock()
        self._rules: list[tuple[FaultRule, _RuleCounters]] = []
        self._seed: int | str = seed
        self._rng = random.Random(seed)
        self.fired: Counter[str] = Counter()
        """How many times each fault kind fired, by name."""
        for rule in rules:
            self.add_rule(rule)

    @property
    def rules(self) -> tuple[FaultRule, ...]:
        """The current rules, in evaluation order."""
        return tuple(rule for rule, _ in self._rules)

    def add_rule(self, rule: FaultRule) -> FaultRule:
        """Append a rule.

        Args:
            rule: The rule.

        Returns:
            The same rule, for :meth:`remove`.
        """
        with self._lock:
            self._rules.append((rule, _RuleCounters()))
        return rule

    def add(
        self,
        fault: Fault,
        *,
        endpoint: str | None = None,
        probability: float = 1.0,
        times: int | None = None,
        every: int | None = None,
        after: int = 0,
    ) -> FaultRule:
        """Build a :class:`FaultRule` and append it.

        Args:
            fault: The fault kind, e.g. ``ResetAfterApply()``.
            endpoint: ``"crm/addNotestoContact"`` style name; ``None`` for all endpoints.
            probability: Chance of firing on an eligible request.
            times: Fire at most this many times.
            every: Fire on every Nth eligible request only.
            after: Let this many matching requests through first.

        Returns:
            The rule, for :meth:`remove`.
        """
        return self.add_rule(
            FaultRule(
                fault=fault,
                endpoint=endpoint,
                probability=probability,
                times=times,
                every=every,
                after=after,
            )
        )

    def remove(self, rule: FaultRule) -> None:
        """Remove one rule (by identity).

        Args:
            rule: A rule returned by :meth:`add` or :meth:`add_rule`.
        """
        with self._lock:
            self._rules = [(r, c) for r, c in self._rules if r is not rule]

    def clear(self) -> None:
        """Remove every rule, forget the fired counts and reseed the generator."""
        with self._lock:
            self._rules.clear()
            self.fired.clear()
            self._rng = random.Random(self._seed)

    def reseed(self, seed: int | str) -> None:
        """Restart the random generator from ``seed``.

        Args:
            seed: The new seed.
        """
        with self._lock:
            self._seed = seed
            self._rng = random.Random(seed)

    def decide(self, endpoint: str, *, latency_only: bool = False) -> FaultDecision:
        """Choose the faults for one request; called once per request, in arrival order.

        Args:
            endpoint: The request's endpoint, ``"crm/addContactsFull"`` style.
            latency_only: Consider only :class:`Latency` rules (a request a rate limit
                refused: it is slow like any other, but nothing else happens to it, so
                a ``times=1`` fault still meets a request that is handled).

        Returns:
            The decision (no fault at all when nothing fired).
        """
        latency = 0.0
        terminal: Fault | None = None
        with self._lock:
            for rule, counters in self._rules:
                if rule.endpoint is not None and rule.endpoint != endpoint:
                    continue
                if latency_only and not isinstance(rule.fault, Latency):
                    continue
                counters.matched += 1
                eligible = counters.matched - rule.after
                if eligible <= 0:
                    continue
                if rule.every is not None and eligible % rule.every != 0:
                    continue
                if rule.times is not None and counters.fired >= rule.times:
                    continue
                is_latency = isinstance(rule.fault, Latency)
                if not is_latency and terminal is not None:
                    continue
                # Draw only for rules that could fire, so adding a rule for another
                # endpoint does not shift this endpoint's random sequence.
                if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                    continue
                counters.fired += 1
                self.fired[rule.fault.name] += 1
                if isinstance(rule.fault, Latency):
                    latency += rule.fault.ms
                else:
                    terminal = rule.fault
        return FaultDecision(latency_ms=latency, fault=terminal)


_SERVER_FAILURES = {"500": 500, "502": 502, "503": 503, "504": 504}
_MALFORMED_KINDS: dict[str, Fault] = {
    "truncated": Malformed("truncated"),
    "html": Malformed("html"),
    "wrong_shape": Malformed("wrong_shape"),
    "empty": Malformed("empty"),
}


def parse_fault(spec: str) -> FaultRule:
    """A :class:`FaultRule` from a command-line spec ``KIND[=ARG][:PROBABILITY]``.

    Kinds: ``500``/``502``/``503``/``504`` (:class:`ServerFailure`, nothing applied),
    ``429`` (:class:`RateLimited`; ``429=5`` announces ``Retry-After: 5``),
    ``reset-before``, ``reset-after``, ``malformed`` (``malformed=html``...), ``stall``
    (``stall=30``: hold 30 s, then drop) and ``latency`` (``latency=20``: add 20 ms).
    The probability defaults to 1 (every request).

    Args:
        spec: E.g. ``"503:0.05"``, ``"reset-after:0.01"``, ``"429=2:0.1"``.

    Returns:
        The rule, for every endpoint.

    Raises:
        ValueError: An unknown kind, a bad argument or probability.
    """
    head, _, probability_text = spec.partition(":")
    kind, _, arg = head.strip().lower().partition("=")
    try:
        probability = float(probability_text) if probability_text else 1.0
    except ValueError:
        raise ValueError(f"fault {spec!r}: the probability must be a number") from None
    fault: Fault
    try:
        if kind in _SERVER_FAILURES and not arg:
            fault = ServerFailure(_SERVER_FAILURES[kind])
        elif kind == "429":
            fault = RateLimited(retry_after=int(arg) if arg else 1)
        elif kind == "reset-before" and not arg:
            fault = ResetBeforeApply()
        elif kind == "reset-after" and not arg:
            fault = ResetAfterApply()
        elif kind == "malformed" and (arg or "truncated") in _MALFORMED_KINDS:
            fault = _MALFORMED_KINDS[arg or "truncated"]
        elif kind == "stall":
            fault = Stall(seconds=float(arg) if arg else 60.0, then="drop")
        elif kind == "latency" and arg:
            fault = Latency(ms=float(arg))
        else:
            raise ValueError("unknown kind")
    except ValueError as exc:
        raise ValueError(
            f"fault {spec!r}: {exc} (kinds: 500, 502, 503, 504, 429[=SECONDS], reset-before, "
            "reset-after, malformed[=truncated|html|wrong_shape|empty], stall[=SECONDS], "
            "latency=MS; then an optional :PROBABILITY)"
        ) from None
    return FaultRule(fault=fault, probability=probability)
