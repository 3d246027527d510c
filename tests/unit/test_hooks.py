"""Event hooks: ``ZyntroClient(event_hooks={"request": [...], "response": [...], "retry": [...]})``.

Each hook receives a frozen, typed event; sync and async hooks both work; a request hook's
exception stops the call, a response/retry hook's is logged and ignored; unknown names are a
ConfigurationError.
"""

from __future__ import annotations

import logging
from typing import Any

import attrs
import pytest
from aioresponses import aioresponses

from zyntro_async import (
    ConfigurationError,
    Contact,
    NotFoundError,
    RequestEvent,
    ResponseEvent,
    RetryEvent,
    ZyntroClient,
)

from ._helpers import ADD_CONTACTS, CONTACT_RESULT_DATA, DOC_CREDENTIALS, error, success, url
from .conftest import ClientFactory

CONTACT = Contact(first_name="Jane", primary_email="jane@acme.com")


def upsert_fails_then_succeeds(m: aioresponses) -> None:
    m.post(url(ADD_CONTACTS), status=503, headers={"Retry-After": "2"})
    m.post(url(ADD_CONTACTS), payload=success(CONTACT_RESULT_DATA))


async def test_a_hook_sees_a_retry_with_its_delay_and_cause(
    make_client: ClientFactory, mocked: aioresponses
) -> None:
    events: list[Any] = []
    hooks = {"request": [events.append], "response": [events.append], "retry": [events.append]}
    upsert_fails_then_succeeds(mocked)
    async with make_client(max_retries=2, event_hooks=hooks) as zy:
        await zy.contacts.upsert(CONTACT)

    assert [type(e) for e in events] == [
        RequestEvent,
        ResponseEvent,
        RetryEvent,
        RequestEvent,
        ResponseEvent,
    ]
    first_request, failed, retry, second_request, succeeded = events
    assert first_request.endpoint == ADD_CONTACTS
    assert (first_request.attempt, second_request.attempt) == (1, 2)
    assert first_request.idempotent is True
    assert first_request.body_size > 0
    assert (failed.status, failed.failure, failed.final) == (503, "unavailable", False)
    assert retry.attempt == 1
    assert retry.delay == 2.0  # the server's Retry-After
    assert retry.retry_after == 2.0
    assert retry.status == 503
    assert retry.failure == "unavailable"
    assert retry.cause is failed.error
    assert retry.cause is not None
    assert retry.cause.status == 503
    assert (succeeded.status, succeeded.failure, succeeded.error) == (200, None, None)
    assert succeeded.final is True
    assert succeeded.elapsed >= 0.0
    assert succeeded.attempt_elapsed >= 0.0


async def test_events_are_frozen(make_client: ClientFactory, mocked: aioresponses) -> None:
    events: list[Any] = []
    mocked.post(url(ADD_CONTACTS), payload=success(CONTACT_RESULT_DATA))
    async with make_client(event_hooks={"response": [events.append]}) as zy:
        await zy.contacts.upsert(CONTACT)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        events[0].status = 500


async def test_async_hooks_are_awaited(make_client: ClientFactory, mocked: aioresponses) -> None:
    seen: list[str] = []

    async def on_request(event: RequestEvent) -> None:
        seen.append(f"request {event.attempt}")

    async def on_retry(event: RetryEvent) -> None:
        seen.append(f"retry after {event.attempt}")

    async def on_response(event: ResponseEvent) -> None:
        seen.append(f"response {event.status}")

    upsert_fails_then_succeeds(mocked)
    zy = make_client(
        max_retries=2,
        event_hooks={"request": [on_request], "retry": [on_retry], "response": [on_response]},
    )
    await zy.contacts.upsert(CONTACT)
    await zy.aclose()  # waits for the response hooks still running
    assert seen == ["request 1", "response 503", "retry after 1", "request 2", "response 200"]


async def test_a_failed_call_reports_its_error_to_the_final_response_hook(
    make_client: ClientFactory, mocked: aioresponses
) -> None:
    responses: list[ResponseEvent] = []
    mocked.post(url(ADD_CONTACTS), payload=error("Contact does not exist"))
    async with make_client(event_hooks={"response": [responses.append]}) as zy:
        with pytest.raises(NotFoundError):
            await zy.contacts.update(CONTACT)
    [event] = responses
    assert event.final
    assert event.failure == "fatal"
    assert isinstance(event.error, NotFoundError)


async def test_a_request_hook_that_raises_stops_the_call_before_sending(
    make_client: ClientFactory, mocked: aioresponses
) -> None:
    def veto(event: RequestEvent) -> None:
        raise RuntimeError("not now")

    mocked.post(url(ADD_CONTACTS), payload=success(CONTACT_RESULT_DATA))
    async with make_client(event_hooks={"request": [veto]}) as zy:
        with pytest.raises(RuntimeError, match="not now"):
            await zy.contacts.upsert(CONTACT)
    assert not mocked.requests


async def test_a_response_hook_that_raises_is_logged_and_the_call_succeeds(
    make_client: ClientFactory, mocked: aioresponses, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(event: ResponseEvent) -> None:
        raise ValueError("metrics backend down")

    async def broken_async(event: ResponseEvent) -> None:
        raise ValueError("async metrics backend down")

    mocked.post(url(ADD_CONTACTS), payload=success(CONTACT_RESULT_DATA))
    caplog.set_level(logging.ERROR, logger="zyntro_async")
    zy = make_client(event_hooks={"response": [broken, broken_async]})
    result = await zy.contacts.upsert(CONTACT)
    await zy.aclose()
    assert result.contact_id == CONTACT_RESULT_DATA["contact_id"]
    messages = [r.getMessage() for r in caplog.records]
    assert sum("response hook" in m and "raised; ignored" in m for m in messages) == 2


@pytest.mark.parametrize(
    ("hooks", "message"),
    [
        ({"requests": []}, "unknown event names \\['requests'\\]"),
        ({"request": print}, "must be a list of callables"),
        ({"retry": [1]}, "event_hooks\\['retry'\\]\\[0\\] is not callable"),
        ([("request", [])], "must be a mapping"),
    ],
)
def test_bad_event_hooks_are_a_configuration_error(hooks: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        ZyntroClient(**DOC_CREDENTIALS, event_hooks=hooks)


async def test_views_share_the_hooks(make_client: ClientFactory, mocked: aioresponses) -> None:
    events: list[RequestEvent] = []
    mocked.post(url(ADD_CONTACTS), payload=success(CONTACT_RESULT_DATA))
    async with make_client(event_hooks={"request": [events.append]}) as zy:
        await zy.with_options(timeout=5).contacts.upsert(CONTACT)
    assert len(events) == 1
