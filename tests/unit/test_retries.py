"""The retry matrix: which failures are retried, how long the SDK waits, what it raises.

Idempotent calls are retried on every transient failure. Creating calls are retried only
when the request provably was not applied (connection refused, connect timeout, 429, 503);
anything ambiguous raises :class:`AmbiguousOutcomeError` after one attempt, because a retry
could create a duplicate. Every wait goes to an injected fake sleep, so nothing really waits.
"""

from __future__ import annotations

import asyncio
import email.utils
import itertools
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp.client_reqrep import ConnectionKey
from aioresponses import aioresponses

from zyntro_async import (
    AmbiguousOutcomeError,
    APIConnectionError,
    APIError,
    APITimeoutError,
    AttachmentResult,
    AuthenticationError,
    Contact,
    MalformedResponseError,
    NotFoundError,
    RateLimitError,
    RetryBudget,
    RetryPolicy,
    ServerError,
    ZyntroClient,
    ZyntroError,
)
from zyntro_async._parse import RetryAfterReader

from ._helpers import (
    ADD_COMMS,
    ADD_CONTACTS,
    ADD_NOTES,
    ATT_ID,
    CONTACT_ID,
    FETCH_CONTACT,
    MANAGE_ATTACHMENTS,
    NOTE_ID,
    SUCCESS_DATA,
    FakeTime,
    attempts,
    calls,
    error,
    sent_json,
    success,
    url,
)
from .conftest import ClientFactory

CUSTOM = "crm/scoreContact"
CONTACT = Contact(first_name="Jane", primary_email="jane@acme.com")
Invoke = Callable[[ZyntroClient], Awaitable[Any]]

IDEMPOTENT_CALLS: list[tuple[str, str, Invoke]] = [
    ("contacts.upsert", ADD_CONTACTS, lambda zy: zy.contacts.upsert(CONTACT)),
    ("contacts.update", ADD_CONTACTS, lambda zy: zy.contacts.update(CONTACT)),
    ("contacts.fetch", FETCH_CONTACT, lambda zy: zy.contacts.fetch(CONTACT_ID)),
    ("notes.update", ADD_NOTES, lambda zy: zy.notes.update(NOTE_ID, CONTACT_ID, "Hi")),
    ("attachments.update", MANAGE_ATTACHMENTS, lambda zy: zy.attachments.update(ATT_ID, name="N")),
    ("attachments.delete", MANAGE_ATTACHMENTS, lambda zy: zy.attachments.delete(ATT_ID)),
    ("call(idempotent=True)", CUSTOM, lambda zy: zy.call("crm", "scoreContact", idempotent=True)),
]
CREATING_CALLS: list[tuple[str, str, Invoke]] = [
    ("contacts.create", ADD_CONTACTS, lambda zy: zy.contacts.create(CONTACT)),
    # An upsert by an unknown contact_id creates a contact with a new id every time.
    (
        "contacts.upsert by contact_id",
        ADD_CONTACTS,
        lambda zy: zy.contacts.upsert(CONTACT, lookup_by="contact_id", contact_id=CONTACT_ID),
    ),
    ("notes.add", ADD_NOTES, lambda zy: zy.notes.add(CONTACT_ID, "Hi")),
    (
        "attachments.add_link",
        MANAGE_ATTACHMENTS,
        lambda zy: zy.attachments.add_link(CONTACT_ID, name="Deck", url="https://acme.com/d"),
    ),
    (
        "attachments.add_file",
        MANAGE_ATTACHMENTS,
        lambda zy: zy.attachments.add_file(CONTACT_ID, b"%PDF-1.4", name="a.pdf"),
    ),
    ("comms.log", ADD_COMMS, lambda zy: zy.comms.log(CONTACT_ID, "call", "Intro call")),
    ("call()", CUSTOM, lambda zy: zy.call("crm", "scoreContact")),
]


def connection_refused() -> aiohttp.ClientConnectorError:
    key = ConnectionKey("app.zyntrohq.com", 443, True, True, None, None, None)
    return aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "Connection refused"))


# name -> aioresponses arguments for one failed attempt
FAILURES: dict[str, dict[str, Any]] = {
    "connection refused": {"exception": connection_refused()},
    "connect timeout": {"exception": aiohttp.ConnectionTimeoutError()},
    "server disconnected": {"exception": aiohttp.ServerDisconnectedError()},
    "timeout": {"exception": asyncio.TimeoutError()},
    "429 with Retry-After": {"status": 429, "headers": {"Retry-After": "3"}},
    "500": {"status": 500, "body": "Internal Server Error", "content_type": "text/plain"},
    "502": {"status": 502, "body": "<html>Bad Gateway</html>", "content_type": "text/html"},
    "503": {"status": 503, "body": "", "content_type": "text/plain"},
    "504": {"status": 504, "body": "<html>Gateway Timeout</html>", "content_type": "text/html"},
}

# What an idempotent call raises once its retries are used up.
IDEMPOTENT_FINAL: dict[str, type[Exception]] = {
    "connection refused": APIConnectionError,
    "connect timeout": APITimeoutError,
    "server disconnected": APIConnectionError,
    "timeout": APITimeoutError,
    "429 with Retry-After": RateLimitError,
    "500": ServerError,
    "502": ServerError,
    "503": ServerError,
    "504": ServerError,
}

# For a creating call: (retried?, what it finally raises, the cause behind AmbiguousOutcomeError)
CREATING_OUTCOME: dict[str, tuple[bool, type[Exception], type[Exception] | None]] = {
    "connection refused": (True, APIConnectionError, None),
    "connect timeout": (True, APITimeoutError, None),
    "429 with Retry-After": (True, RateLimitError, None),
    "503": (True, ServerError, None),
    "server disconnected": (False, AmbiguousOutcomeError, APIConnectionError),
    "timeout": (False, AmbiguousOutcomeError, APITimeoutError),
    "500": (False, AmbiguousOutcomeError, ServerError),
    "502": (False, AmbiguousOutcomeError, ServerError),
    "504": (False, AmbiguousOutcomeError, ServerError),
}


def policy(fake_time: FakeTime, **overrides: Any) -> RetryPolicy:
    # A persistent 429 ("Retry-After: 3") is waited out outside max_retries, for up to
    # rate_limit_patience: 6 s allows exactly two waits, as many as max_retries=2 allows
    # for the other failures, so the matrix below holds for every row.
    options: dict[str, Any] = {
        "max_retries": 2,
        "rate_limit_patience": 6.0,
        "sleep": fake_time.sleep,
        "clock": fake_time.clock,
        "rng": random.Random(0),
        "budget": None,
        "retry_after_spread": 0.0,  # the server's waits exactly (the spread: its own test)
    }
    options.update(overrides)
    return RetryPolicy(**options)


def jitter(count: int, *, base: float = 0.5, max_delay: float = 8.0) -> list[float]:
    """The delays full jitter draws from ``random.Random(0)`` for ``count`` retries."""
    rng = random.Random(0)
    return [rng.uniform(0.0, min(max_delay, base * 2**n)) for n in range(count)]


def fail(m: aioresponses, endpoint: str, failure: str, *, times: int | bool = True) -> None:
    m.post(url(endpoint), repeat=times, **FAILURES[failure])


def answer(m: aioresponses, endpoint: str) -> None:
    m.post(url(endpoint), payload=success(SUCCESS_DATA.get(endpoint, {"score": 1})))


def expected_sleeps(failure: str, retries: int) -> list[float]:
    return [3.0] * retries if failure.startswith("429") else jitter(retries)


# ---- the matrix ------------------------------------------------------------------------


@pytest.mark.parametrize("failure", list(FAILURES))
@pytest.mark.parametrize(
    ("endpoint", "invoke"),
    [(e, i) for _, e, i in IDEMPOTENT_CALLS],
    ids=[n for n, _, _ in IDEMPOTENT_CALLS],
)
async def test_an_idempotent_call_retries_every_transient_failure(
    make_client: ClientFactory,
    mocked: aioresponses,
    fake_time: FakeTime,
    endpoint: str,
    invoke: Invoke,
    failure: str,
) -> None:
    fail(mocked, endpoint, failure)
    async with make_client(brand_id="1", retry_policy=policy(fake_time, max_retries=2)) as zy:
        with pytest.raises(ZyntroError) as excinfo:
            await invoke(zy)
    assert type(excinfo.value) is IDEMPOTENT_FINAL[failure]
    assert attempts(mocked, endpoint) == 3
    assert fake_time.sleeps == expected_sleeps(failure, 2)


@pytest.mark.parametrize("failure", list(FAILURES))
@pytest.mark.parametrize(
    ("endpoint", "invoke"),
    [(e, i) for _, e, i in CREATING_CALLS],
    ids=[n for n, _, _ in CREATING_CALLS],
)
async def test_a_creating_call_retries_only_what_provably_was_not_applied(
    make_client: ClientFactory,
    mocked: aioresponses,
    fake_time: FakeTime,
    endpoint: str,
    invoke: Invoke,
    failure: str,
) -> None:
    retried, final, cause = CREATING_OUTCOME[failure]
    fail(mocked, endpoint, failure)
    async with make_client(retry_policy=policy(fake_time, max_retries=2)) as zy:
        with pytest.raises(ZyntroError) as excinfo:
            await invoke(zy)
    assert type(excinfo.value) is final
    if retried:
        assert attempts(mocked, endpoint) == 3
        assert fake_time.sleeps == expected_sleeps(failure, 2)
    else:
        assert attempts(mocked, endpoint) == 1
        assert fake_time.sleeps == []
        assert type(excinfo.value.__cause__) is cause
        assert excinfo.value.endpoint == endpoint  # type: ignore[attr-defined]


def pairs(calls_: list[tuple[str, str, Invoke]], failures: list[str]) -> list[Any]:
    """Every call and every failure at least once, without the full cross product."""
    count = max(len(calls_), len(failures))
    return [
        pytest.param(
            calls_[n % len(calls_)][1],
            calls_[n % len(calls_)][2],
            failures[n % len(failures)],
            id=f"{calls_[n % len(calls_)][0]}-{failures[n % len(failures)]}",
        )
        for n in range(count)
    ]


SAFE_FOR_CREATING = [name for name, (retried, _, _) in CREATING_OUTCOME.items() if retried]


@pytest.mark.parametrize(("endpoint", "invoke", "failure"), pairs(IDEMPOTENT_CALLS, list(FAILURES)))
async def test_an_idempotent_call_succeeds_when_a_retry_does(
    make_client: ClientFactory,
    mocked: aioresponses,
    fake_time: FakeTime,
    endpoint: str,
    invoke: Invoke,
    failure: str,
) -> None:
    fail(mocked, endpoint, failure, times=1)
    answer(mocked, endpoint)
    async with make_client(brand_id="1", retry_policy=policy(fake_time)) as zy:
        assert await invoke(zy) is not None
    assert attempts(mocked, endpoint) == 2
    assert await sent_json(mocked, endpoint, 0) == await sent_json(mocked, endpoint, 1)


@pytest.mark.parametrize(
    ("endpoint", "invoke", "failure"), pairs(CREATING_CALLS, SAFE_FOR_CREATING)
)
async def test_a_creating_call_succeeds_when_its_safe_retry_does(
    make_client: ClientFactory,
    mocked: aioresponses,
    fake_time: FakeTime,
    endpoint: str,
    invoke: Invoke,
    failure: str,
) -> None:
    fail(mocked, endpoint, failure, times=1)
    answer(mocked, endpoint)
    async with make_client(retry_policy=policy(fake_time)) as zy:
        assert await invoke(zy) is not None
    assert attempts(mocked, endpoint) == 2
    assert await sent_json(mocked, endpoint, 0) == await sent_json(mocked, endpoint, 1)


async def test_ambiguous_outcome_is_a_connection_error_naming_what_happened(
    make_client: ClientFactory, mocked: aioresponses, fake_time: FakeTime
) -> None:
    fail(mocked, ADD_NOTES, "502")
    async with make_client(retry_policy=policy(fake_time)) as zy:
        with pytest.raises(APIConnectionError) as excinfo:
            await zy.notes.add(CONTACT_ID, "Hi")
    assert isinstance(excinfo.value, AmbiguousOutcomeError)
    assert "may or may not have been applied" in str(excinfo.value)
    assert "HTTP_502" in str(excinfo.value)


async def test_a_creating_call_that_was_refused_then_ambiguous_is_ambiguous(
    make_client: ClientFactory, mocked: aioresponses, fake_time: FakeTime
) -> None:
    fail(mocked, ADD_COMMS, "503", times=1)
    fail(mocked, ADD_COMMS, "timeout", times=1)
    async with make_client(retry_policy=policy(fake_time)) as zy:
        with pytest.raises(AmbiguousOutcomeError):
            await zy.comms.log(CONTACT_ID, "call", "Hi")
    assert attempts(mocked, ADD_COMMS) == 2


# ---- never retried ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "invoke"),
    [(e, i) for _, e, i in IDEMPOTENT_CALLS + CREATING_CALLS],
    ids=[n for n, _, _ in IDEMPOTENT_CALLS + CREATING_CALLS],
)
async def test_an_error_envelope_is_never_retried(
    make_client: ClientFactory,
    mocked: aioresponses,
    fake_time: FakeTime,
    endpoint: str,
    invoke: Invoke,
) -> None:
    mocked.post(url(endpoint), payload=error("Invalid API key"), repeat=True)
    async with make_client(brand_id="1", retry_policy=policy(fake_time, max_retries=5)) as zy:
        with pytest.raises(AuthenticationError):
            await invoke(zy)
    assert attempts(mocked, endpoint) == 1
    assert fake_time.sleeps == []


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
async def test_a_client_error_status_is_never_retried(
    make_client: ClientFactory, mocked: aioresponses, fake_time: FakeTime, status: int
) -> None:
    mocked.post(url(ADD_CONTACTS), status=status, body="no", content_type="text/plain", repeat=True)
    async with make_client(retry_policy=policy(fake_time, max_retries=5)) as zy:
        with pytest.raises(APIError):
            await zy.contacts.upsert(CONTACT)
    assert attempts(mocked, ADD_CONTACTS) == 1


async def test_a_malformed_answer_is_never_retried(
    make_client: ClientFactory, mocked: aioresponses, fake_time: FakeTime
) -> None:
    mocked.post(url(ADD_CONTACTS), body="<html>", content_type="text/html", repeat=True)
    async with make_client(retry_policy=policy(fake_time, max_retries=5)) as zy:
        with pytest.raises(MalformedResponseError, match="expected the JSON envelope"):
            await zy.contacts.upsert(CONTACT)
    assert attempts(mocked, ADD_CONTACTS) == 1


async def test_a_certificate_failure_is_never_retried(
    make_client: ClientFactory, mocked: aioresponses, fake_time: FakeTime
) -> None:
    key = ConnectionKey("app.zyntrohq.com", 443, True, True, None, None, None)
    certificate_error = aiohttp.ClientConnectorCertificateError(
        key, ValueError("certificate verify failed")
    )
    mocked.post(url(ADD_CONTACTS), exception=certificate_error, repeat=True)
    async with make_client(retry_policy=policy(fake_time, max_retries=5)) as zy:
        with pytest.raises(APIConnectionError, match="TLS"):
            await zy.contacts.upsert(CONTACT)
    assert attempts(mocked, ADD_CONTACTS) == 1


async def test_max_retries_zero_makes_one_attempt(
    make_client: ClientFactory, mocked: aioresponses, fake_time: FakeTime
) -> None:
    fail(mocked, ADD_CONTACTS, "503")
    async with make_client(retry_policy=policy(fake_time, max_retries=0)) as zy:
        with pytest.raises(ServerError):
            await zy.contacts.upsert(CONTACT)
    assert attempts(mocked, ADD_CONTACTS) == 1


# ---- how long it waits -----------------------------------------------------------------


async def test_backoff_is_full_jitter_under_a_capped_exponential_ceiling(
    make_client: ClientFactory, mocked: aioresponses, fake_time: FakeTime
) -> None:
    fail(mocked, ADD_CONTACTS, "503")
    retry = policy(fake_time, max_retries=7, base_delay=0.5, max_delay=4.0)
    async with make_client(retry_policy=retry) as zy:
        with pytest.raises(ServerError):
            await zy.contacts.upsert(CONTACT)
    ceilings = [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0]
    assert fake_time.sleeps == jitter(7, base=0.5, max_delay=4.0)
    pairs = zip(fake_time.sleeps, ceilings, strict=True)
    assert all(0.0 <= slept <= ceiling for slept, ceiling in pairs)
    assert len(set(fake_time.sleeps)) == 7  # drawn, not fixed


@pytest.mark.parametrize(("header", "slept"), [("3", 3.0), ("2.5", 2.5)])
async def test_retry_after_seconds_are_honoured(
    make_client: ClientFactory, mocked: aioresponses, fake_time: FakeTime, header: str, slept: float
) -> None:
    mocked.post(url(ADD_CONTACTS), status=429, headers={"Retry-After": header}, repeat=True)
    async with make_client(retry_policy=policy(fake_time)) as zy:
        with pytest.raises(RateLimitError):
            await zy.contacts.upsert(CONTACT)
    assert fake_time.sleeps == [slept, slept]


async def test_a_429s_retry_after_is_spread_so_calls_refused_together_come_back_apart(
    make_client: ClientFactory, mocked: aioresponses, fake_time: FakeTime
) -> None:
    mocked.post(url(ADD_CONTACTS), status=429, headers={"Retry-After": "3"}, repeat=True)
    spread = policy(fake_time, retry_after_spread=1.0, rate_limit_patience=30.0)
    async with make_client(retry_policy=spread) as zy:
        with pytest.raises(RateLimitError):
            await zy.contacts.upsert(CONTACT)
    assert len(fake_time.sleeps) >= 7
    assert all(3.0 <= slept <= 4.0 for slept in fake_time.sleeps)  # never under the server's
    assert len(set(fake_time.sleeps)) == len(fake_time.sleeps)  # drawn, not fixed


@pytest.mark.parametrize("spread", [-1.0, "1", True])
def test_retry_after_spread_must_be_a_number_of_seconds(spread: object) -> None:
    with pytest.raises(ValueError, match="retry_after_spread"):
        RetryPolicy(retry_after_spread=spread)  # type: ignore[arg-type]


async def test_retry_after_on_a_503_is_honoured_as_it_is(
    make_client: ClientFactory, mocked: aioresponses, fake_time: FakeTime
) -> None:
    mocked.post(url(ADD_NOTES), status=503, headers={"Retry-After": "7"}, repeat=True)
    spread = policy(fake_time, retry_after_spread=1.0)  # spreads a 429's wait, not a 503's
    async with make_client(retry_policy=spread) as zy:
        with pytest.raises(ServerError):
            await zy.notes.add(CONTACT_ID, "Hi")
    assert fake_time.sleeps == [7.0, 7.0]


async def test_retry_after_is_capped_at_retry_after_cap(
    make_client: ClientFactory, mocked: aioresponses, fake_time: FakeTime
) -> None:
    mocked.post(url(ADD_CONTACTS), status=429, headers={"Retry-After": "3600"}, repeat=True)
    patient = policy(fake_time, retry_after_cap=20.0, rate_limit_patience=40.0)
    async with make_client(retry_policy=patient) as zy:
        with pytest.raises(RateLimitError):
            await zy.contacts.upsert(CONTACT)
    assert fake_time.sleeps == [20.0, 20.0]


def _imf_fixdate(at: float) -> str:
    return email.utils.formatdate(at, usegmt=True)  # Sun, 06 Nov 1994 08:49:37 GMT


def _minus_zero_zone(at: float) -> str:
    return email.utils.formatdate(at)  # ... 08:49:37 -0000: Python's default


def _asctime(at: float) -> str:
    return time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(at))  # no zone at all


def _rfc850(at: float) -> str:
    return time.strftime("%A, %d-%b-%y %H:%M:%S GMT", time.gmtime(at))


@pytest.mark.parametrize("written", [_imf_fixdate, _minus_zero_zone, _asctime, _rfc850])
async def test_retry_after_as_an_http_date_is_honoured(
    make_client: ClientFactory,
    mocked: aioresponses,
    fake_time: FakeTime,
    written: Callable[[float], str],
) -> None:
    # An HTTP date is in GMT, in any of its three formats (RFC 9110, 5.6.7). A date with
    # "-0000" or with no zone was ignored: the call backed off as if the server had given
    # no wait (a second or less, where it asked for 30).
    when = written(time.time() + 30)
    mocked.post(url(ADD_CONTACTS), status=429, headers={"Retry-After": when}, repeat=True)
    patient = policy(fake_time, rate_limit_patience=35.0)
    async with make_client(retry_policy=patient) as zy:
        with pytest.raises(RateLimitError):
            await zy.contacts.upsert(CONTACT)
    (slept,) = fake_time.sleeps
    assert 27.0 <= slept <= 30.0  # whole seconds in the header, and a little time passes


@pytest.mark.parametrize(
    "skew", [86_400.0, -86_400.0, 0.0], ids=["a day ahead", "a day behind", "in step"]
)
async def test_an_http_date_is_read_on_the_server_s_clock(
    make_client: ClientFactory, mocked: aioresponses, fake_time: FakeTime, skew: float
) -> None:
    # An HTTP date is a time on the server's clock. Read against ours where the two are a
    # day apart, a server ahead asked for a day's wait at each 429 (cut to retry_after_cap,
    # or a bulk run's long pause), one behind for none. Its Date header tells how far apart.
    server_now = time.time() + skew
    headers = {"Retry-After": _imf_fixdate(server_now + 30), "Date": _imf_fixdate(server_now)}
    mocked.post(url(ADD_CONTACTS), status=429, headers=headers, repeat=True)
    patient = policy(fake_time, rate_limit_patience=35.0, retry_after_cap=100_000.0)
    async with make_client(retry_policy=patient) as zy:
        with pytest.raises(RateLimitError):
            await zy.contacts.upsert(CONTACT)
    (slept,) = fake_time.sleeps
    assert 28.0 <= slept <= 31.0  # whole seconds in both headers, a little time passes


def test_a_server_s_clock_is_kept_so_its_dates_still_end_whole_seconds_apart() -> None:
    # The governor tells a server answering in dates by waits that end whole seconds apart
    # on our clock: a server an hour ahead keeps its shift from one answer to the next
    # however its Date (whole seconds, a transit late) falls against our clock's fractions.
    ours = [0.0]
    reader = RetryAfterReader(clock=lambda: ours[0])
    ends = []
    for at, server in (
        (1_000_000.3, 1_003_600),
        (1_000_002.9, 1_003_602),
        (1_000_004.6, 1_003_604),
    ):
        ours[0] = at
        wait = reader.read(_imf_fixdate(server + 5), _imf_fixdate(server))
        assert wait is not None
        ends.append(at + wait)
    assert [round(b - a, 6) for a, b in itertools.pairwise(ends)] == [2.0, 2.0]
    # Ours is at most 3599.7 s behind (Date truncates the server's second): the waits end
    # no earlier than the dates the server named, whatever its fraction of a second was.
    assert reader.offset == pytest.approx(-3599.7)

    ours[0] = 1_000_006.05  # an answer just past the server's second: the bound comes closer
    assert reader.read(_imf_fixdate(1_003_611), _imf_fixdate(1_003_606)) == pytest.approx(5.0)
    assert reader.offset == pytest.approx(-3599.95)
    ours[0] = 1_000_020.0  # our clock set 10 s on since: it starts over from there
    assert reader.read(_imf_fixdate(1_003_611), _imf_fixdate(1_003_610)) == pytest.approx(1.0)
    assert reader.offset == pytest.approx(-3590.0)

    in_step = RetryAfterReader(clock=lambda: 1_000_000.3)
    assert in_step.read(_imf_fixdate(1_000_005), _imf_fixdate(1_000_000)) == pytest.approx(4.7)
    assert in_step.offset == 0.0  # to the millisecond on our clock: Date has whole seconds
    assert in_step.read("7", _imf_fixdate(0)) == 7.0  # seconds are seconds: no clock in them
    assert in_step.read(_imf_fixdate(1_000_005), "not a date") == pytest.approx(4.7)


@pytest.mark.parametrize("past", [False, True], ids=["zero seconds", "a past date"])
async def test_a_retry_after_of_now_on_repeated_429s_backs_off_instead_of_spinning(
    make_client: ClientFactory, mocked: aioresponses, fake_time: FakeTime, past: bool
) -> None:
    when = email.utils.formatdate(time.time() - 60, usegmt=True) if past else "0"
    mocked.post(url(ADD_CONTACTS), status=429, headers={"Retry-After": when}, repeat=True)
    async with make_client(retry_policy=policy(fake_time)) as zy:
        with pytest.raises(RateLimitError):
            await zy.contacts.upsert(CONTACT)
    assert fake_time.sleeps == jitter(len(fake_time.sleeps))
    assert sum(fake_time.sleeps) <= 6.0  # rate_limit_patience


@pytest.mark.parametrize("header", ["soon", "", "Wed, 99 Foo 2026", "Mon, 01 Jan 2026 00:00:00"])
async def test_an_unusable_retry_after_falls_back_to_backoff(
    make_client: ClientFactory, mocked: aioresponses, fake_time: FakeTime, header: str
) -> None:
    mocked.post(url(ADD_CONTACTS), status=429, headers={"Retry-After": header}, repeat=True)
    async with make_client(retry_policy=policy(fake_time, max_retries=2)) as zy:
        with pytest.raises(RateLimitError):
            await zy.contacts.upsert(CONTACT)
    # Backoff with full jitter, for as long as rate_limit_patience allows (not max_retries).
    assert len(fake_time.sleeps) > 2
    assert fake_time.sleeps == jitter(len(fake_time.sleeps))
    assert sum(fake_time.sleeps) <= 6.0


def test_retry_policy_refuses_a_negative_max_retries() -> None:
    with pytest.raises(ValueError, match="max_retries"):
        RetryPolicy(max_retries=-1)


# ---- the client-wide budget ------------------------------------------------------------


def empty_budget(fake_time: FakeTime, *, initial: float, ratio: float = 0.0) -> RetryBudget:
    return RetryBudget(ratio=ratio, initial=initial, refill_per_second=0.0, clock=fake_time.clock)


async def test_an_exhausted_budget_stops_retrying(
    make_client: ClientFactory, mocked: aioresponses, fake_time: FakeTime
) -> None:
    budget = empty_budget(fake_time, initial=1.0)
    fail(mocked, ADD_CONTACTS, "503")
    async with make_client(retry_policy=policy(fake_time, max_retries=5, budget=budget)) as zy:
        with pytest.raises(ServerError):
            await zy.contacts.upsert(CONTACT)
        assert attempts(mocked, ADD_CONTACTS) == 2  # the one token paid for one retry
        with pytest.raises(ServerError):
            await zy.contacts.upsert(CONTACT)
        assert attempts(mocked, ADD_CONTACTS) == 3  # none left: no retry at all
    assert budget.tokens < 1.0


async def test_the_budget_is_shared_by_concurrent_calls(
    make_client: ClientFactory, mocked: aioresponses, fake_time: FakeTime
) -> None:
    budget = empty_budget(fake_time, initial=3.0)
    fail(mocked, ADD_CONTACTS, "503")
    async with make_client(retry_policy=policy(fake_time, max_retries=5, budget=budget)) as zy:
        results = await asyncio.gather(
            *(zy.contacts.upsert(CONTACT) for _ in range(10)), return_exceptions=True
        )
    assert all(isinstance(result, ServerError) for result in results)
    assert attempts(mocked, ADD_CONTACTS) == 10 + 3


async def test_first_attempts_earn_the_budget_back(
    make_client: ClientFactory, mocked: aioresponses, fake_time: FakeTime
) -> None:
    budget = empty_budget(fake_time, initial=0.0, ratio=0.5)
    fail(mocked, ADD_CONTACTS, "503")
    async with make_client(retry_policy=policy(fake_time, max_retries=5, budget=budget)) as zy:
        for _ in range(2):
            with pytest.raises(ServerError):
                await zy.contacts.upsert(CONTACT)
    assert attempts(mocked, ADD_CONTACTS) == 1 + 2  # the second call had earned one retry


def test_a_full_budget_earns_nothing_more_and_spends_as_usual(fake_time: FakeTime) -> None:
    # A full bucket skips its bookkeeping on every first attempt; the tokens come out as if
    # it had refilled each time, since a refill never goes past capacity.
    budget = RetryBudget(initial=5.0, capacity=5.0, refill_per_second=1.0, clock=fake_time.clock)
    for _ in range(100):
        budget.record_request()
        fake_time.now += 0.5
    assert budget.tokens == 5.0
    assert budget.try_spend()
    assert budget.tokens == 4.0
    fake_time.now += 0.5  # half a second earns half a token, counted from the spend
    assert budget.tokens == 4.5
    budget.record_request()  # not full: earns its ratio
    assert budget.tokens == pytest.approx(4.7)


# ---- the overall deadline --------------------------------------------------------------


async def test_a_deadline_stops_retrying_when_the_next_wait_would_pass_it(
    make_client: ClientFactory, mocked: aioresponses, fake_time: FakeTime
) -> None:
    mocked.post(url(ADD_CONTACTS), status=503, headers={"Retry-After": "0.6"}, repeat=True)
    retry = policy(fake_time, max_retries=10)
    async with make_client(retry_policy=retry, deadline=1.0) as zy:
        with pytest.raises(ServerError):
            await zy.contacts.upsert(CONTACT)
    assert attempts(mocked, ADD_CONTACTS) == 2
    assert fake_time.sleeps == [0.6]


async def test_a_deadline_shortens_each_attempts_timeout(
    make_client: ClientFactory, mocked: aioresponses, fake_time: FakeTime
) -> None:
    mocked.post(url(ADD_CONTACTS), status=503, headers={"Retry-After": "2"}, repeat=True)
    async with make_client(retry_policy=policy(fake_time), deadline=5.0, timeout=30.0) as zy:
        with pytest.raises(ServerError):
            await zy.contacts.upsert(CONTACT)
    totals = [call.kwargs["timeout"].total for call in calls(mocked, ADD_CONTACTS)]
    assert totals == pytest.approx([5.0, 3.0, 1.0])


async def test_a_deadline_passed_while_waiting_raises_a_timeout(
    make_client: ClientFactory, mocked: aioresponses, fake_time: FakeTime
) -> None:
    async def oversleep(seconds: float) -> None:  # a loop so busy the wait overruns
        fake_time.sleeps.append(seconds)
        fake_time.now += seconds + 10.0

    mocked.post(url(ADD_CONTACTS), status=503, headers={"Retry-After": "1"}, repeat=True)
    retry = policy(fake_time, sleep=oversleep, max_retries=5)
    async with make_client(retry_policy=retry, deadline=5.0) as zy:
        with pytest.raises(APITimeoutError, match="deadline"):
            await zy.contacts.upsert(CONTACT)
    assert attempts(mocked, ADD_CONTACTS) == 1


# ---- delete after an unanswered attempt ------------------------------------------------


@pytest.mark.parametrize("first", ["server disconnected", "timeout", "500", "504"])
async def test_a_delete_whose_retry_finds_it_gone_succeeds(
    make_client: ClientFactory,
    mocked: aioresponses,
    fake_time: FakeTime,
    first: str,
) -> None:
    fail(mocked, MANAGE_ATTACHMENTS, first, times=1)
    mocked.post(url(MANAGE_ATTACHMENTS), payload=error("Attachment not found"))
    async with make_client(retry_policy=policy(fake_time)) as zy:
        result = await zy.attachments.delete(ATT_ID)
    assert isinstance(result, AttachmentResult)
    assert (result.action, result.att_id) == ("deleted", ATT_ID)
    assert attempts(mocked, MANAGE_ATTACHMENTS) == 2


async def test_a_delete_of_a_missing_attachment_is_not_found(
    make_client: ClientFactory, mocked: aioresponses, fake_time: FakeTime
) -> None:
    mocked.post(url(MANAGE_ATTACHMENTS), payload=error("Attachment not found"))
    async with make_client(retry_policy=policy(fake_time)) as zy:
        with pytest.raises(NotFoundError):
            await zy.attachments.delete(ATT_ID)


async def test_a_delete_refused_before_it_reached_the_server_still_reports_not_found(
    make_client: ClientFactory, mocked: aioresponses, fake_time: FakeTime
) -> None:
    fail(mocked, MANAGE_ATTACHMENTS, "503", times=1)  # provably not applied
    mocked.post(url(MANAGE_ATTACHMENTS), payload=error("Attachment not found"))
    async with make_client(retry_policy=policy(fake_time)) as zy:
        with pytest.raises(NotFoundError):
            await zy.attachments.delete(ATT_ID)


async def test_a_delete_retry_that_fails_otherwise_raises_that_error(
    make_client: ClientFactory, mocked: aioresponses, fake_time: FakeTime
) -> None:
    fail(mocked, MANAGE_ATTACHMENTS, "server disconnected", times=1)
    mocked.post(url(MANAGE_ATTACHMENTS), payload=error("Invalid API key"))
    async with make_client(retry_policy=policy(fake_time)) as zy:
        with pytest.raises(AuthenticationError):
            await zy.attachments.delete(ATT_ID)


def test_the_default_policy_is_built_from_max_retries() -> None:
    zy = ZyntroClient(api_key="k", developer_secret="s", org_id="o", max_retries=5)
    assert zy.retry_policy.max_retries == 5
    assert zy.retry_policy.budget is not None


# ---- cancellation ----------------------------------------------------------------------


async def test_cancelling_a_call_during_its_backoff_stops_it(
    make_client: ClientFactory, mocked: aioresponses, fake_time: FakeTime
) -> None:
    async def cancelled_sleep(seconds: float) -> None:
        fake_time.sleeps.append(seconds)
        raise asyncio.CancelledError

    fail(mocked, ADD_CONTACTS, "503")
    async with make_client(retry_policy=policy(fake_time, sleep=cancelled_sleep)) as zy:
        with pytest.raises(asyncio.CancelledError):
            await zy.contacts.upsert(CONTACT)
    assert attempts(mocked, ADD_CONTACTS) == 1


async def test_cancelling_a_call_in_flight_is_not_turned_into_an_error(
    make_client: ClientFactory, mocked: aioresponses, fake_time: FakeTime
) -> None:
    started = asyncio.Event()

    async def hang(*_: Any, **__: Any) -> None:
        started.set()
        await asyncio.Event().wait()

    mocked.post(url(ADD_CONTACTS), callback=hang)
    async with make_client(retry_policy=policy(fake_time)) as zy:
        task = asyncio.ensure_future(zy.contacts.upsert(CONTACT))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert attempts(mocked, ADD_CONTACTS) == 1
    assert fake_time.sleeps == []
