"""``ZyntroClient.send``, the attempt observer, and 429s waited out beyond ``max_retries``."""

from __future__ import annotations

import random

import pytest
from aioresponses import aioresponses

from zyntro_async import (
    Attempt,
    AttemptResult,
    ConfigurationError,
    Contact,
    ContactWrite,
    Note,
    NoteWrite,
    RateLimitError,
    RetryBudget,
    RetryPolicy,
    ZyntroClient,
)
from zyntro_async._retry import FailureKind

from ._helpers import (
    ADD_CONTACTS,
    ADD_NOTES,
    CONTACT_ID,
    NOTE_DATA,
    FakeTime,
    attempts,
    sent_json,
    success,
    url,
)
from .conftest import ClientFactory

CONTACT = Contact(first_name="Jane", primary_email="jane@acme.com")


class Recorder:
    """An observer that writes down every moment it is told about."""

    wants_last_byte = True  # it records that moment too

    def __init__(self, name: str = "", log: list[str] | None = None) -> None:
        self.name = name
        self.log: list[str] = [] if log is None else log
        self.results: list[AttemptResult] = []

    async def before_attempt(self, attempt: Attempt) -> None:
        self.log.append(f"{self.name}before {attempt.endpoint} #{attempt.number}")

    async def before_last_byte(self, attempt: Attempt) -> None:
        self.log.append(f"{self.name}last byte #{attempt.number}")

    def after_attempt(self, result: AttemptResult) -> None:
        self.results.append(result)
        self.log.append(f"{self.name}after #{result.attempt.number} {result.status}")


def patient(fake_time: FakeTime, **options: object) -> RetryPolicy:
    settings: dict[str, object] = {
        "max_retries": 0,
        "sleep": fake_time.sleep,
        "clock": fake_time.clock,
        "rng": random.Random(0),
        "budget": None,
        "retry_after_spread": 0.0,  # the server's waits exactly
    }
    settings.update(options)
    return RetryPolicy(**settings)  # type: ignore[arg-type]


# ---- send --------------------------------------------------------------------------------


async def test_send_takes_a_request_model_and_returns_its_typed_result(
    zy: ZyntroClient, mocked: aioresponses
) -> None:
    mocked.post(url(ADD_NOTES), payload=success(NOTE_DATA))
    note = await zy.send(NoteWrite(contact_id=CONTACT_ID, note="Hi", member_id="m-2"))
    assert isinstance(note, Note)
    body = await sent_json(mocked, ADD_NOTES)
    assert (body["contact_id"], body["note"], body["member_id"]) == (CONTACT_ID, "Hi", "m-2")


async def test_a_missing_member_names_its_variable(make_client: ClientFactory) -> None:
    async with make_client(member_id=None) as zy:
        with pytest.raises(ConfigurationError) as excinfo:
            await zy.send(ContactWrite(contact=CONTACT))
    assert excinfo.value.variable == "ZYNTRO_MEMBER_ID"


async def test_a_missing_brand_names_its_variable(zy: ZyntroClient) -> None:
    with pytest.raises(ConfigurationError) as excinfo:
        await zy.contacts.fetch(CONTACT_ID)
    assert excinfo.value.variable == "ZYNTRO_BRAND_ID"


def test_a_missing_credential_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ZYNTRO_API_KEY", "ZYNTRO_DEVELOPER_SECRET", "ZYNTRO_ORG_ID"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigurationError) as excinfo:
        ZyntroClient(developer_secret="s", org_id="o")
    assert excinfo.value.variable == "ZYNTRO_API_KEY"


# ---- the observer ------------------------------------------------------------------------


async def test_the_observer_sees_each_attempt_and_the_delay_before_the_next(
    make_client: ClientFactory, mocked: aioresponses, fake_time: FakeTime
) -> None:
    mocked.post(url(ADD_CONTACTS), status=503)
    mocked.post(url(ADD_CONTACTS), payload=success({"action": "created", "contact_id": "c"}))
    recorder = Recorder()
    async with make_client(retry_policy=patient(fake_time, max_retries=1)) as zy:
        await zy.send(ContactWrite(contact=CONTACT), observer=recorder)
    assert recorder.log == [
        "before crm/addContactsFull #1",
        "after #1 503",
        "before crm/addContactsFull #2",
        "after #2 200",
    ]
    first, second = recorder.results
    assert first.kind is FailureKind.UNAVAILABLE
    assert first.retry_in == fake_time.sleeps[0]
    assert not first.final
    assert (second.kind, second.error, second.final) == (None, None, True)
    assert first.attempt.call is second.attempt.call  # one call, two attempts


# ---- 429s --------------------------------------------------------------------------------


async def test_429s_do_not_count_against_max_retries(
    make_client: ClientFactory, mocked: aioresponses, fake_time: FakeTime
) -> None:
    for _ in range(5):
        mocked.post(url(ADD_NOTES), status=429, headers={"Retry-After": "2"})
    mocked.post(url(ADD_NOTES), payload=success(NOTE_DATA))
    async with make_client(retry_policy=patient(fake_time, max_retries=0)) as zy:
        note = await zy.notes.add(CONTACT_ID, "Hi")  # a creating call: 429 proves not applied
    assert isinstance(note, Note)
    assert attempts(mocked, ADD_NOTES) == 6
    assert fake_time.sleeps == [2.0] * 5


class Pacer(Recorder):
    """An observer that holds 429 retries itself (as a bulk run's governor does)."""

    paces_rate_limits = True


async def test_a_pacing_observer_gets_429_retries_at_once_and_holds_them_itself(
    make_client: ClientFactory, mocked: aioresponses, fake_time: FakeTime
) -> None:
    for _ in range(3):
        mocked.post(url(ADD_NOTES), status=429, headers={"Retry-After": "3600"})
    mocked.post(url(ADD_NOTES), payload=success(NOTE_DATA))
    pacer = Pacer()
    policy = patient(fake_time, max_retries=0, rate_limit_patience=1.0)
    async with make_client(retry_policy=policy) as zy:
        note = await zy.send(NoteWrite(contact_id=CONTACT_ID, note="Hi"), observer=pacer)
    assert isinstance(note, Note)
    # No backoff and no patience of the transport's own: the observer's wait is the one.
    assert fake_time.sleeps == [0.0, 0.0, 0.0]
    assert [r.retry_in for r in pacer.results] == [0.0, 0.0, 0.0, None]
    assert [r.retry_after for r in pacer.results[:3]] == [3600.0] * 3  # the server's word


async def test_429s_draw_nothing_from_the_retry_budget(
    make_client: ClientFactory, mocked: aioresponses, fake_time: FakeTime
) -> None:
    empty = RetryBudget(ratio=0.0, initial=0.0, refill_per_second=0.0, clock=fake_time.clock)
    mocked.post(url(ADD_CONTACTS), status=429, headers={"Retry-After": "1"})
    mocked.post(url(ADD_CONTACTS), payload=success({"action": "updated", "contact_id": "c"}))
    async with make_client(retry_policy=patient(fake_time, max_retries=3, budget=empty)) as zy:
        await zy.contacts.upsert(CONTACT)
    assert attempts(mocked, ADD_CONTACTS) == 2


async def test_429s_stop_after_rate_limit_patience_with_a_clear_error(
    make_client: ClientFactory, mocked: aioresponses, fake_time: FakeTime
) -> None:
    mocked.post(url(ADD_CONTACTS), status=429, headers={"Retry-After": "10"}, repeat=True)
    policy = patient(fake_time, rate_limit_patience=35.0)
    async with make_client(retry_policy=policy) as zy:
        with pytest.raises(RateLimitError) as excinfo:
            await zy.contacts.upsert(CONTACT)
    assert fake_time.sleeps == [10.0, 10.0, 10.0]
    assert "rate_limit_patience=35s" in str(excinfo.value)
    assert excinfo.value.retry_after == 10.0
    assert isinstance(excinfo.value.__cause__, RateLimitError)


async def test_another_answer_restarts_the_patience(
    make_client: ClientFactory, mocked: aioresponses, fake_time: FakeTime
) -> None:
    for status in (429, 429, 503, 429, 429):
        mocked.post(url(ADD_CONTACTS), status=status, headers={"Retry-After": "10"})
    mocked.post(url(ADD_CONTACTS), payload=success({"action": "updated", "contact_id": "c"}))
    policy = patient(fake_time, max_retries=1, rate_limit_patience=25.0)
    async with make_client(retry_policy=policy) as zy:
        await zy.contacts.upsert(CONTACT)
    assert attempts(mocked, ADD_CONTACTS) == 6


async def test_429_waits_stop_at_the_calls_deadline(
    make_client: ClientFactory, mocked: aioresponses, fake_time: FakeTime
) -> None:
    mocked.post(url(ADD_CONTACTS), status=429, headers={"Retry-After": "10"}, repeat=True)
    async with make_client(retry_policy=patient(fake_time), deadline=25.0) as zy:
        with pytest.raises(RateLimitError):
            await zy.contacts.upsert(CONTACT)
    assert fake_time.sleeps == [10.0, 10.0]


def test_rate_limit_patience_must_be_a_non_negative_number() -> None:
    with pytest.raises(ValueError, match="rate_limit_patience"):
        RetryPolicy(rate_limit_patience=-1)
