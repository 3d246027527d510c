"""A discrete-event simulation of a bulk run against a rate-limited server, in virtual time.

The governor runs unchanged on a real asyncio event loop whose clock is virtual: when every
task is waiting, the loop jumps straight to the next timer instead of sleeping. So a
10-minute run against a quota of 100 per 10 s takes well under a second, and the same seed
gives the same run. No sockets: the "server" is an object the workers call.

Servers model the three kinds of limit a real API enforces (:class:`TokenBucket`,
:class:`ConcurrencyCap`, :class:`WindowQuota`), each answering a refusal with a
``Retry-After`` in one of the styles of :data:`RetryAfterStyle`.
"""

from __future__ import annotations

import asyncio
import collections
import math
import random
import selectors
from collections.abc import Callable, Coroutine, Iterable
from typing import Any, Literal, TypeVar

import attrs

from zyntro_async._observe import Attempt, AttemptResult, Call
from zyntro_async._retry import FailureKind
from zyntro_async.bulk._governor import RateGovernor, RateLimitStopError

T = TypeVar("T")

# "none": no header; a number: that many seconds; "exact": the seconds until the server
# accepts again; "seconds": the same in whole seconds, rounded up (the emulator's default);
# "http-date": the same, as an HTTP date (whole seconds of wall clock).
RetryAfterStyle = Literal["none", "exact", "seconds", "http-date"] | float


class _VirtualSelector(selectors.DefaultSelector):
    """Never blocks: a wait for the next timer moves the virtual clock instead."""

    def __init__(self, loop: VirtualTimeLoop) -> None:
        super().__init__()
        self._loop = loop

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = super().select(0)
        if ready:
            return ready
        if timeout is None:
            raise RuntimeError("simulation deadlock: every task waits and no timer is due")
        self._loop.virtual_now += timeout
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An asyncio loop on a virtual clock that jumps to the next timer."""

    def __init__(self) -> None:
        self.virtual_now = 0.0
        super().__init__(_VirtualSelector(self))

    def time(self) -> float:
        return self.virtual_now


def run_virtual(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run ``main()`` to completion on a fresh virtual-time loop."""
    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()


def _retry_after(style: RetryAfterStyle, exact: float, now: float) -> float | None:
    if style == "none":
        return None
    if style == "exact":
        return exact
    if style == "seconds":
        return float(math.ceil(exact))
    if style == "http-date":
        # An HTTP date has whole seconds: the transport turns it into "until that second".
        return math.ceil(now + exact) - now
    return float(style)


class Server:
    """A rate-limited server: ``admit`` decides at arrival, ``leave`` when the answer leaves.

    ``limit`` is the sustainable rate in requests per second at time ``t`` (for goodput).
    """

    def __init__(self, style: RetryAfterStyle) -> None:
        self.style = style

    def admit(self, now: float) -> tuple[bool, float | None]:
        raise NotImplementedError

    def leave(self, now: float) -> None:
        """The request's answer leaves the server."""

    def held(self) -> float:
        """How long the request just admitted waits before it is served (a queue's delay)."""
        return 0.0

    def limit(self, now: float) -> float:
        raise NotImplementedError


class TokenBucket(Server):
    """``rate`` tokens a second, at most ``burst`` saved; ``schedule`` changes the rate.

    ``tokens``: what it holds when the run begins (full by default; less when a run just
    before drained it).
    """

    def __init__(
        self,
        rate: float,
        burst: float,
        style: RetryAfterStyle,
        schedule: tuple[tuple[float, float], ...] = (),
        *,
        tokens: float | None = None,
    ) -> None:
        super().__init__(style)
        self.rate, self.burst = rate, burst
        self.schedule = schedule  # (from time, rate) pairs
        self.tokens = burst if tokens is None else tokens
        self.updated = 0.0

    def limit(self, now: float) -> float:
        rate = self.rate
        for start, changed in self.schedule:
            if now >= start:
                rate = changed
        return rate

    def admit(self, now: float) -> tuple[bool, float | None]:
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.limit(now))
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True, None
        wait = (1 - self.tokens) / self.limit(now)
        return False, _retry_after(self.style, wait, now)


class ReplacedBuckets(Server):
    """Token buckets replaced on a schedule, each new one full: the emulator's ``set_limits``.

    ``phases``: ``(from time, rate, burst)``, the first from 0. Unlike a
    :class:`TokenBucket` whose ``schedule`` changes only the rate, a change here brings a
    new bucket with its own burst, saved in full (as the benchmark's limit change does).
    """

    def __init__(self, phases: tuple[tuple[float, float, float], ...], style: RetryAfterStyle):
        super().__init__(style)
        self.phases = phases
        self.phase = 0
        self.bucket = TokenBucket(phases[0][1], phases[0][2], style)

    def limit(self, now: float) -> float:
        return [rate for start, rate, _ in self.phases if now >= start][-1]

    def admit(self, now: float) -> tuple[bool, float | None]:
        phase = max(i for i, (start, _, _) in enumerate(self.phases) if now >= start)
        if phase != self.phase:
            _, rate, burst = self.phases[phase]
            self.phase, self.bucket = phase, TokenBucket(rate, burst, self.style)
            self.bucket.updated = now
        return self.bucket.admit(now)


class ConcurrencyCap(Server):
    """At most ``cap`` requests inside the server at once: ``cap / latency`` a second."""

    def __init__(self, cap: int, latency: float, style: RetryAfterStyle) -> None:
        super().__init__(style)
        self.cap, self.latency = cap, latency
        self.inside = 0

    def limit(self, now: float) -> float:
        return self.cap / self.latency

    def admit(self, now: float) -> tuple[bool, float | None]:
        if self.inside >= self.cap:
            return False, _retry_after(self.style, self.latency, now)
        self.inside += 1
        return True, None

    def leave(self, now: float) -> None:
        self.inside -= 1


class WindowQuota(Server):
    """At most ``quota`` requests per fixed window of ``window`` seconds.

    ``start``: how far into its first window the run begins (windows are aligned to the
    limiter's clock, not to the run).
    """

    def __init__(
        self, quota: int, window: float, style: RetryAfterStyle, *, start: float = 0.0
    ) -> None:
        super().__init__(style)
        self.quota, self.window, self.start = quota, window, start
        self.current = -1
        self.used = 0

    def limit(self, now: float) -> float:
        return self.quota / self.window

    def admit(self, now: float) -> tuple[bool, float | None]:
        now += self.start
        index = int(now // self.window)
        if index != self.current:
            self.current, self.used = index, 0
        if self.used < self.quota:
            self.used += 1
            return True, None
        return False, _retry_after(self.style, (index + 1) * self.window - now, now)


class SlidingQuota(Server):
    """At most ``quota`` requests in any span of ``window`` seconds (a log of admissions).

    A refused request is told to come back when the oldest admission in the span leaves it.
    """

    def __init__(self, quota: int, window: float, style: RetryAfterStyle) -> None:
        super().__init__(style)
        self.quota, self.window = quota, window
        self.admitted: collections.deque[float] = collections.deque()

    def limit(self, now: float) -> float:
        return self.quota / self.window

    def admit(self, now: float) -> tuple[bool, float | None]:
        while self.admitted and self.admitted[0] <= now - self.window:
            self.admitted.popleft()
        if len(self.admitted) < self.quota:
            self.admitted.append(now)
            return True, None
        return False, _retry_after(self.style, self.admitted[0] + self.window - now, now)


class QueueingBucket(Server):
    """nginx's ``limit_req`` with a ``burst`` and no ``nodelay``: requests over ``rate``
    wait their turn instead of being refused, up to ``burst`` waiting; more are refused.

    Each request adds one to the excess, which drains at ``rate``; a request finding the
    excess over ``burst`` is refused, one admitted waits ``excess / rate`` before it is
    served. So the 429s come only once the queue is full, one at a time, and everything
    queued then succeeds, late: answers slow down as the run overruns the rate.
    """

    def __init__(self, rate: float, burst: float, style: RetryAfterStyle) -> None:
        super().__init__(style)
        self.rate, self.burst = rate, burst
        self.excess = 0.0
        self.updated = 0.0
        self.wait = 0.0

    def limit(self, now: float) -> float:
        return self.rate

    def admit(self, now: float) -> tuple[bool, float | None]:
        self.excess = max(0.0, self.excess - (now - self.updated) * self.rate)
        self.updated = now
        if self.excess > self.burst:
            return False, _retry_after(self.style, (self.excess - self.burst) / self.rate, now)
        self.wait = self.excess / self.rate
        self.excess += 1
        return True, None

    def held(self) -> float:
        return self.wait


class Stacked(Server):
    """Limits one behind the other, as a gateway's bucket in front of the API's own quota:
    a request passes each in turn (spending what it admits it) until one refuses it.

    The first to refuse answers, with its own ``Retry-After``; the limit is the least of
    theirs (over a run, not at every instant: a quota behind a bucket is drained at the
    bucket's rate, then refuses all until its window ends).
    """

    def __init__(self, *limits: Server) -> None:
        super().__init__(limits[0].style)
        self.limits = limits

    def limit(self, now: float) -> float:
        return min(limit.limit(now) for limit in self.limits)

    def admit(self, now: float) -> tuple[bool, float | None]:
        for i, limit in enumerate(self.limits):
            admitted, retry_after = limit.admit(now)
            if not admitted:
                for passed in self.limits[:i]:
                    passed.leave(now)  # refused behind it: out of a cap at once
                return False, retry_after
        return True, None

    def leave(self, now: float) -> None:
        for limit in self.limits:
            limit.leave(now)

    def held(self) -> float:
        return max(limit.held() for limit in self.limits)


class StrayRefusals(Server):
    """A share of requests answered 429 at random (a busy shard), whatever the pace.

    ``behind``: the limit the others then meet (none by default); a random 429 spends
    none of it, and says no ``Retry-After``. ``unlucky``: the requests (counted from 1)
    refused whatever the draw, for a run's unlucky start.
    """

    def __init__(
        self,
        share: float,
        *,
        seed: int = 3,
        behind: Server | None = None,
        unlucky: Iterable[int] = (),
    ) -> None:
        super().__init__("none" if behind is None else behind.style)
        self.share = share
        self.rng = random.Random(seed)
        self.behind = behind
        self.unlucky = frozenset(unlucky)
        self.admitted = 0

    def limit(self, now: float) -> float:
        return math.inf if self.behind is None else self.behind.limit(now)

    def admit(self, now: float) -> tuple[bool, float | None]:
        self.admitted += 1
        if self.admitted in self.unlucky or self.rng.random() < self.share:
            return False, None
        return (True, None) if self.behind is None else self.behind.admit(now)

    def leave(self, now: float) -> None:
        if self.behind is not None:
            self.behind.leave(now)

    def held(self) -> float:
        return 0.0 if self.behind is None else self.behind.held()


@attrs.define
class SimResult:
    """What a simulated run did."""

    items: int
    succeeded: int
    requests: int
    refused: int
    duration: float
    stopped: RateLimitStopError | None
    completions: list[float]  # virtual time of each success, in order
    sends: list[float]  # virtual time of each attempt's send, in order
    governor: RateGovernor

    @property
    def refused_fraction(self) -> float:
        return self.refused / self.requests

    def goodput(self, server: Server, start: float, end: float) -> float:
        """Successes in [start, end) over what the limit allowed then (1.0: exactly it)."""
        done = sum(1 for t in self.completions if start <= t < end)
        steps = max(1, int((end - start) * 10))
        allowed = sum(server.limit(start + (i + 0.5) * (end - start) / steps) for i in range(steps))
        return done / (allowed * (end - start) / steps)


def simulate(
    server: Server,
    *,
    items: int,
    workers: int,
    latency: float = 0.02,
    jitter: float = 0.2,
    seed: int = 1,
    governor_options: dict[str, Any] | None = None,
    stalls: tuple[tuple[float, float], ...] = (),
    fast_refusals: bool = False,
    server_share: float = 0.8,
    length_known: bool = True,
) -> SimResult:
    """Run ``items`` requests through ``workers`` workers and one governor to ``server``.

    Each request spends ``server_share`` of ``latency`` inside the server (80% by default)
    and half the rest on each way, each part varied by up to ``jitter`` (seeded). A 429 sends
    the item round again (through the governor) without counting against it; a stop ends
    the run.

    ``server_share`` matters most to a :class:`ConcurrencyCap`, whose slot a request holds
    only while inside: at 0.8 a cap lets a pace a quarter over ``cap / latency`` through
    when the round trips line up. Over loopback sockets the emulator holds it for 0.9 or
    more of the round trip the client sees (a cap of 30 at 150 ms: 164 ms), and a cap of
    30 or 50 at 150 ms that settled at 0.98-1.00 of its rate in this simulation settled at
    0.81-0.90 there; at 0.9 the simulation showed the same (see ``sim_matrix``).

    ``stalls``: ``(at, seconds)`` pairs, times the server stops reading (a garbage
    collection): what arrives meanwhile reaches its limit all at once when it reads again.

    ``fast_refusals``: a 429 is answered at once, without the time inside the server (a
    gateway in front of the API refuses before the API sees the request).

    ``length_known``: the governor is told the items left as each finishes, as the bulk
    engine tells it where its input has a length (``RateGovernor.work_left``); ``False``:
    an input of unknown length.
    """

    if not 0.0 < server_share <= 1.0:
        raise ValueError(f"server_share must be in (0, 1], got {server_share!r}")
    transit = (1.0 - server_share) / 2  # each way

    async def main() -> SimResult:
        loop = asyncio.get_running_loop()
        rng = random.Random(seed)
        governor = RateGovernor(clock=loop.time, sleep=asyncio.sleep, **(governor_options or {}))
        remaining = items
        completions: list[float] = []
        sends: list[float] = []
        refused = 0
        stopped: list[RateLimitStopError] = []

        def vary(seconds: float) -> float:
            return seconds * (1 + jitter * (2 * rng.random() - 1))

        async def send(call: Call, number: int) -> bool:
            nonlocal refused
            attempt = Attempt(call=call, number=number, body_size=100)
            await governor.before_attempt(attempt)
            started = loop.time()
            sends.append(started)
            await asyncio.sleep(vary(transit * latency))
            for at, seconds in stalls:
                if at <= loop.time() < at + seconds:
                    await asyncio.sleep(at + seconds - loop.time())
            accepted, retry_after = server.admit(loop.time())
            if accepted and (held := server.held()):
                await asyncio.sleep(held)
            if accepted or not fast_refusals:
                await asyncio.sleep(vary(server_share * latency))
            if accepted:
                server.leave(loop.time())
            await asyncio.sleep(vary(transit * latency))
            kind = None if accepted else FailureKind.RATE_LIMITED
            governor.after_attempt(
                AttemptResult(
                    attempt=attempt,
                    elapsed=loop.time() - started,
                    status=200 if accepted else 429,
                    kind=kind,
                    error=None,
                    retry_after=retry_after,
                )
            )
            if not accepted:
                refused += 1
            return accepted

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0 and not stopped:
                remaining -= 1
                call = Call("crm/addContactsFull", idempotent=True)
                number = 1
                try:
                    while not await send(call, number):
                        number += 1
                except RateLimitStopError as stop:
                    stopped.append(stop)
                    return
                completions.append(loop.time())
                if length_known:  # as the bulk engine tells it, where its input has a length
                    governor.work_left(items - len(completions), len(completions))

        tasks = [asyncio.ensure_future(worker()) for _ in range(workers)]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:  # a failing worker (a bug under test) ends the others too
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        return SimResult(
            items=items,
            succeeded=len(completions),
            requests=governor.requests,
            refused=refused,
            duration=loop.time(),
            stopped=stopped[0] if stopped else None,
            completions=completions,
            sends=sends,
            governor=governor,
        )

    return run_virtual(main)
