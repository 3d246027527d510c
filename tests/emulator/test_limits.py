"""Rate limits: token bucket, concurrency cap and window quota, exact under an injected clock."""

from __future__ import annotations

import email.utils
from typing import Any

import pytest

from zyntro_async._parse import parse_retry_after
from zyntro_async.testing import ConcurrencyCap, RateLimiter, TokenBucket, WindowQuota
from zyntro_async.testing._limits import parse_duration, parse_quota

WALL = 1_800_000_000.0  # a fixed wall clock for Retry-After dates


class Clock:
    """Seconds that move only when a test says so."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def limiter(*limits: Any, clock: Clock) -> RateLimiter:
    return RateLimiter(limits, clock=clock, wall_clock=lambda: WALL + clock.now)


def admitted(rl: RateLimiter, credential: str | None = "key", n: int = 1) -> list[bool]:
    results = []
    for _ in range(n):
        admission = rl.admit(credential)
        admission.release()
        results.append(admission.admitted)
    return results


# ------------------------------------------------------------------ token bucket


def test_bucket_admits_its_burst_then_one_per_interval() -> None:
    clock = Clock()
    rl = limiter(TokenBucket(rate=10, burst=3), clock=clock)

    assert admitted(rl, n=4) == [True, True, True, False]
    refused = rl.admit("key")
    assert refused.wait == pytest.approx(0.1)
    assert refused.retry_after == "1"  # whole seconds, rounded up

    clock.advance(0.1)
    assert admitted(rl, n=2) == [True, False]


def test_bucket_holds_its_rate_exactly_and_refusals_take_no_token() -> None:
    clock = Clock()
    rl = limiter(TokenBucket(rate=300, burst=1), clock=clock)
    accepted = 0
    for _ in range(6000):  # ten seconds, offered at twice the rate
        accepted += sum(admitted(rl))
        clock.advance(1 / 600)
    assert accepted == pytest.approx(3000, abs=2)
    assert rl.refused["token_bucket"] == 6000 - accepted


def test_bucket_refills_to_its_burst_and_no_further() -> None:
    clock = Clock()
    rl = limiter(TokenBucket(rate=2, burst=4), clock=clock)
    assert admitted(rl, n=5) == [True] * 4 + [False]
    clock.advance(100)  # a long idle time refills only up to the burst
    assert admitted(rl, n=5) == [True] * 4 + [False]


def test_bucket_per_credential_or_global() -> None:
    clock = Clock()
    per_key = limiter(TokenBucket(rate=1, scope="credential"), clock=clock)
    shared = limiter(TokenBucket(rate=1, scope="global"), clock=clock)

    assert admitted(per_key, "a") + admitted(per_key, "b") + admitted(per_key, "a") == [
        True,
        True,
        False,
    ]
    assert admitted(shared, "a") + admitted(shared, "b") == [True, False]


# ------------------------------------------------------------------ Retry-After styles


@pytest.mark.parametrize(
    ("style", "header"),
    [
        ("none", None),
        ("seconds", "3"),  # 2.5 s rounded up
        ("exact", "2.500"),
        (0, "0"),
        (1, "1"),
        (30, "30"),
        ("date", email.utils.formatdate(WALL + 3, usegmt=True)),
    ],
)
def test_retry_after_styles(style: Any, header: str | None) -> None:
    clock = Clock()
    rl = limiter(TokenBucket(rate=0.4, burst=1, retry_after=style), clock=clock)
    assert admitted(rl) == [True]

    refused = rl.admit("key")

    assert not refused.admitted
    assert refused.wait == pytest.approx(2.5)
    assert refused.retry_after == header


def test_exact_is_never_earlier_than_the_wait() -> None:
    clock = Clock(0.2)
    rl = limiter(WindowQuota(limit=1, window=1, retry_after="exact"), clock=clock)
    assert admitted(rl) == [True]
    refused = rl.admit("key")
    assert refused.retry_after == "0.800"  # to the window's end at clock 1.0
    clock.now = 0.9004
    assert rl.admit("key").retry_after == "0.100"  # 0.0996 s, rounded up
    assert parse_retry_after("0.100") == pytest.approx(0.1)  # as the client reads it


def test_date_is_never_earlier_than_the_wait() -> None:
    clock = Clock(0.25)
    rl = limiter(WindowQuota(limit=1, window=1, retry_after="date"), clock=clock)
    assert admitted(rl) == [True]
    header = rl.admit("key").retry_after
    assert header is not None
    announced = email.utils.parsedate_to_datetime(header).timestamp()
    assert announced >= WALL + 1.0  # the window ends at clock 1.0


# ------------------------------------------------------------------ concurrency cap


def test_cap_refuses_above_n_in_flight_and_frees_on_release() -> None:
    clock = Clock()
    rl = limiter(ConcurrencyCap(max_in_flight=2, retry_after_hint=2), clock=clock)
    first, second = rl.admit("key"), rl.admit("key")
    assert first.admitted
    assert second.admitted
    third = rl.admit("key")
    assert not third.admitted
    assert third.retry_after == "2"
    assert rl.in_flight("key") == rl.in_flight() == 2

    first.release()
    first.release()  # idempotent
    assert rl.in_flight() == 1
    assert rl.admit("key").admitted


def test_cap_per_credential() -> None:
    rl = limiter(ConcurrencyCap(max_in_flight=1, scope="credential"), clock=Clock())
    held = rl.admit("a")
    assert held.admitted
    assert not rl.admit("a").admitted
    assert rl.admit("b").admitted


def test_replacing_a_cap_counts_requests_already_in_flight() -> None:
    rl = limiter(ConcurrencyCap(max_in_flight=4), clock=Clock())
    held = [rl.admit("key") for _ in range(3)]
    rl.set(ConcurrencyCap(max_in_flight=2))
    assert not rl.admit("key").admitted
    for admission in held:
        admission.release()
    assert rl.admit("key").admitted


# ------------------------------------------------------------------ window quota


def test_quota_counts_per_aligned_window_and_says_when_it_ends() -> None:
    clock = Clock(12.0)  # inside the window [10, 20)
    rl = limiter(WindowQuota(limit=100, window=10), clock=clock)

    assert admitted(rl, n=101) == [True] * 100 + [False]
    refused = rl.admit("key")
    assert refused.wait == pytest.approx(8.0)
    assert refused.retry_after == "8"

    clock.advance(7.9)
    assert admitted(rl) == [False]
    clock.advance(0.1)  # 20.0: a new window
    assert admitted(rl, n=101) == [True] * 100 + [False]


def test_quota_refusals_do_not_count() -> None:
    clock = Clock()
    rl = limiter(WindowQuota(limit=2, window=1, scope="credential"), clock=clock)
    assert admitted(rl, "a", n=5) == [True, True, False, False, False]
    assert admitted(rl, "b", n=3) == [True, True, False]
    clock.advance(1)
    assert admitted(rl, "a", n=3) == [True, True, False]


def test_a_sliding_quota_counts_any_span_of_its_window_and_frees_up_as_it_was_spent() -> None:
    clock = Clock(12.0)  # where fixed windows would begin at 10
    rl = limiter(WindowQuota(limit=3, window=10, sliding=True), clock=clock)

    assert admitted(rl, n=2) == [True, True]  # at 12
    clock.advance(5)
    assert admitted(rl, n=2) == [True, False]  # at 17: three in [12, 17]
    refused = rl.admit("key")
    assert refused.wait == pytest.approx(5.0)  # the admissions at 12 leave the span at 22
    assert refused.retry_after == "5"

    clock.advance(3)  # 20: a fixed window would reopen whole here; a sliding one does not
    assert admitted(rl) == [False]
    clock.advance(2)  # 22: the two from 12 have left the span, the one from 17 has not
    assert admitted(rl, n=3) == [True, True, False]
    assert rl.admit("key").wait == pytest.approx(5.0)  # until 27, when 17's leaves


def test_a_sliding_quota_counts_per_credential_and_refusals_do_not_count() -> None:
    clock = Clock()
    rl = limiter(WindowQuota(limit=2, window=1, scope="credential", sliding=True), clock=clock)
    assert admitted(rl, "a", n=4) == [True, True, False, False]
    assert admitted(rl, "b", n=3) == [True, True, False]
    clock.advance(0.5)
    assert admitted(rl, "a") == [False]
    clock.advance(0.5)
    assert admitted(rl, "a", n=3) == [True, True, False]


# ------------------------------------------------------------------ several, and changes


def test_a_request_refused_by_one_limit_counts_against_none() -> None:
    clock = Clock()
    quota = WindowQuota(limit=3, window=60)
    rl = limiter(TokenBucket(rate=1, burst=1), quota, clock=clock)
    assert admitted(rl, n=3) == [True, False, False]  # the bucket refuses
    clock.advance(1)
    assert admitted(rl) == [True]  # so the quota still has room
    clock.advance(1)
    assert admitted(rl) == [True]
    clock.advance(1)
    refused = rl.admit("key")
    assert refused.limit == quota
    assert refused.wait == pytest.approx(57)


def test_the_longest_wait_answers() -> None:
    clock = Clock()
    rl = limiter(
        TokenBucket(rate=1, retry_after="none"),
        WindowQuota(limit=1, window=30, retry_after="seconds"),
        clock=clock,
    )
    assert admitted(rl) == [True]
    refused = rl.admit("key")
    assert isinstance(refused.limit, WindowQuota)
    assert refused.retry_after == "30"


def test_limits_change_during_a_run() -> None:
    clock = Clock()
    rl = limiter(TokenBucket(rate=10, burst=1), clock=clock)

    def second_rate() -> int:
        accepted = 0
        for _ in range(100):
            accepted += sum(admitted(rl))
            clock.advance(0.01)
        return accepted

    assert second_rate() == 10
    rl.set(TokenBucket(rate=5, burst=1))  # halved
    assert second_rate() == 5
    rl.set(TokenBucket(rate=10, burst=1))  # restored
    assert second_rate() == 10
    rl.clear()
    assert rl.limits == ()
    assert second_rate() == 100


def test_add_and_remove_by_identity() -> None:
    clock = Clock()
    rl = limiter(clock=clock)
    quota = rl.add(WindowQuota(limit=1, window=5))
    assert admitted(rl, n=2) == [True, False]
    rl.remove(quota)
    assert admitted(rl) == [True]


# ------------------------------------------------------------------ arguments


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: TokenBucket(rate=0), "rate"),
        (lambda: TokenBucket(rate=1, burst=0), "burst"),
        (lambda: TokenBucket(rate=1, scope="user"), "scope"),
        (lambda: TokenBucket(rate=1, retry_after="soon"), "retry_after"),
        (lambda: TokenBucket(rate=1, retry_after=-1), "retry_after"),
        (lambda: ConcurrencyCap(max_in_flight=0), "max_in_flight"),
        (lambda: WindowQuota(limit=0, window=1), "limit"),
        (lambda: WindowQuota(limit=1, window=0), "window"),
    ],
)
def test_bad_arguments_name_the_field(build: Any, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        build()


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("20ms", 0.02), ("1.5s", 1.5), ("0.02", 0.02), ("2m", 120), ("1h", 3600)],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


def test_parse_quota() -> None:
    assert parse_quota("100/10s") == (100, 10.0)
    assert parse_quota("5/1") == (5, 1.0)
    for bad in ("100", "0/1s", "x/1s", "5/0s", "5/soon"):
        with pytest.raises(ValueError):
            parse_quota(bad)
