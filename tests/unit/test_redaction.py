"""The api_key and developer_secret never appear in a log line, an exception, or a repr.

Every failing request here runs with DEBUG logging on and a server that, where it can,
echoes the credentials back; the exception raised is checked together with its whole
chain (``__cause__`` and ``__context__``) and its formatted traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
import pickle
import random
import traceback
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import aiohttp
import pytest
from aiohttp.client_reqrep import ConnectionKey
from aioresponses import aioresponses

from zyntro_async import Contact, RetryPolicy, ZyntroClient, ZyntroError

from ._helpers import (
    ADD_CONTACTS,
    ADD_NOTES,
    CONTACT_ID,
    NOTE_DATA,
    NOTE_ID,
    FakeTime,
    error,
    success,
    url,
)

API_KEY = "UYUJH-SECRETKEY1234-LEAKCANARY99-ZZZZZ"
DEVELOPER_SECRET = "zdk_0123456789abcdef_LEAKCANARY"
SECRETS = (API_KEY, DEVELOPER_SECRET)
ECHO = f"api_key={API_KEY}&developer_secret={DEVELOPER_SECRET}"
REQUEST_ECHO = {"api_key": API_KEY, "developer_secret": DEVELOPER_SECRET, "org_id": "o"}
CONTACT = Contact(first_name="Jane", primary_email="jane@acme.com")
Invoke = Callable[[ZyntroClient], Awaitable[Any]]


def connection_refused() -> aiohttp.ClientConnectorError:
    key = ConnectionKey("app.zyntrohq.com", 443, True, True, None, None, None)
    return aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "Connection refused"))


# name -> (endpoint, aioresponses arguments for every attempt, the call)
UPSERT: Invoke = lambda zy: zy.contacts.upsert(CONTACT)  # noqa: E731 - idempotent: retried
CREATE: Invoke = lambda zy: zy.contacts.create(CONTACT)  # noqa: E731 - creating: ambiguous
NOTE_UPDATE: Invoke = lambda zy: zy.notes.update(NOTE_ID, CONTACT_ID, "Hi")  # noqa: E731

SCENARIOS: dict[str, tuple[str, dict[str, Any], Invoke]] = {
    "error envelope echoing the credentials": (
        ADD_CONTACTS,
        {
            "payload": error(
                f"Invalid API key: {API_KEY}", f"Invalid developer_secret {DEVELOPER_SECRET}"
            )
        },
        UPSERT,
    ),
    "error envelope data as one string": (
        ADD_CONTACTS,
        {"payload": {"status": "error", "data": ECHO}},
        UPSERT,
    ),
    "500 page echoing the credentials, retried": (
        ADD_CONTACTS,
        {"status": 500, "body": f"<pre>Traceback: {ECHO}</pre>", "content_type": "text/html"},
        UPSERT,
    ),
    "500 page echoing the credentials, ambiguous": (
        ADD_CONTACTS,
        {"status": 500, "body": f"<pre>{ECHO}</pre>", "content_type": "text/html"},
        CREATE,
    ),
    "401 envelope echoing the credentials": (
        ADD_CONTACTS,
        {"status": 401, "payload": error(f"bad key {API_KEY} / {DEVELOPER_SECRET}")},
        UPSERT,
    ),
    "429 echoing the credentials": (
        ADD_CONTACTS,
        {
            "status": 429,
            "body": ECHO,
            "content_type": "text/plain",
            "headers": {"Retry-After": "1"},
        },
        UPSERT,
    ),
    "connection refused": (ADD_CONTACTS, {"exception": connection_refused()}, UPSERT),
    "server disconnected": (ADD_CONTACTS, {"exception": aiohttp.ServerDisconnectedError()}, CREATE),
    "timeout": (ADD_CONTACTS, {"exception": asyncio.TimeoutError()}, UPSERT),
    "200 html page echoing the credentials": (
        ADD_CONTACTS,
        {"body": f"<html><body>{ECHO}</body></html>", "content_type": "text/html"},
        UPSERT,
    ),
    "200 truncated json echoing the request": (
        ADD_CONTACTS,
        {"body": json.dumps(REQUEST_ECHO)[:-5], "content_type": "application/json"},
        UPSERT,
    ),
    "200 json whose status echoes the key": (
        ADD_CONTACTS,
        {"payload": {"status": API_KEY, "data": REQUEST_ECHO}},
        UPSERT,
    ),
    "200 json echoing the request with no envelope": (
        ADD_CONTACTS,
        {"payload": REQUEST_ECHO},
        UPSERT,
    ),
    "success whose data echoes the request": (
        ADD_CONTACTS,
        {"payload": success(REQUEST_ECHO)},
        UPSERT,
    ),
    "success with the key in an id field": (
        ADD_CONTACTS,
        {"payload": success({"contact_id": {"api_key": API_KEY}, "action": DEVELOPER_SECRET})},
        UPSERT,
    ),
    "success with the key in a flag field": (
        ADD_NOTES,
        {"payload": success({**NOTE_DATA, "note_editable": API_KEY})},
        NOTE_UPDATE,
    ),
    "success with the secret in a flag field": (
        ADD_NOTES,
        {"payload": success({**NOTE_DATA, "note_visibility": DEVELOPER_SECRET})},
        NOTE_UPDATE,
    ),
}


def chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything chained to it, each once."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)


def leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


def secret_client(fake_time: FakeTime) -> ZyntroClient:
    retry = RetryPolicy(
        max_retries=1,
        sleep=fake_time.sleep,
        clock=fake_time.clock,
        rng=random.Random(0),
        budget=None,
    )
    return ZyntroClient(
        api_key=API_KEY,
        developer_secret=DEVELOPER_SECRET,
        org_id="org",
        member_id="member",
        brand_id="1",
        retry_policy=retry,
    )


@pytest.mark.parametrize(
    ("endpoint", "response", "invoke"), SCENARIOS.values(), ids=list(SCENARIOS)
)
async def test_a_failing_request_leaks_no_credential(
    mocked: aioresponses,
    caplog: pytest.LogCaptureFixture,
    fake_time: FakeTime,
    endpoint: str,
    response: dict[str, Any],
    invoke: Invoke,
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="zyntro_async")
    mocked.post(url(endpoint), repeat=True, **response)
    async with secret_client(fake_time) as zy:
        with pytest.raises(ZyntroError) as excinfo:
            await invoke(zy)
        client_reprs = [repr(zy), repr(zy.config), str(zy.config)]

    assert any(r.name.startswith("zyntro_async") for r in caplog.records)  # DEBUG was on
    for record in caplog.records:
        assert leaks(record.getMessage()) == [], record.getMessage()
        assert leaks(repr(record.args)) == []
    assert leaks(caplog.text) == []
    for exc in chain(excinfo.value):
        assert leaks(str(exc)) == [], f"{type(exc).__name__}: {exc}"
        assert leaks(repr(exc)) == [], repr(exc)
    assert leaks("".join(traceback.format_exception(excinfo.value))) == []
    for text in client_reprs:
        assert leaks(text) == []


def test_the_client_and_its_config_never_show_the_credentials(fake_time: FakeTime) -> None:
    zy = secret_client(fake_time)
    config = zy.config
    for text in (repr(zy), str(zy), repr(config), str(config), f"{config.api_key}"):
        assert leaks(text) == []
    assert leaks(repr(config.developer_secret)) == []
    assert leaks(f"{config.developer_secret:>80}") == []


def test_a_credential_refuses_to_be_pickled(fake_time: FakeTime) -> None:
    with pytest.raises(TypeError):
        pickle.dumps(secret_client(fake_time).config.api_key)


async def test_request_logging_never_shows_the_body(
    mocked: aioresponses, caplog: pytest.LogCaptureFixture, fake_time: FakeTime
) -> None:
    caplog.set_level(logging.DEBUG)
    mocked.post(url(ADD_CONTACTS), payload=success({"contact_id": CONTACT_ID}))
    async with secret_client(fake_time) as zy:
        await zy.contacts.upsert(CONTACT)
    assert "crm/addContactsFull" in caplog.text
    assert leaks(caplog.text) == []


@pytest.mark.parametrize("offset", [150, 185, 190, 199, 205])
async def test_no_prefix_of_a_credential_survives_where_server_text_is_cut(
    mocked: aioresponses, fake_time: FakeTime, offset: int
) -> None:
    # Server text is quoted in errors only up to a length; the cut must not fall inside
    # a credential and leave its first characters behind.
    page = "x" * offset + API_KEY + " " + DEVELOPER_SECRET
    mocked.post(url(ADD_CONTACTS), body=page, content_type="text/html")
    async with secret_client(fake_time) as zy:
        with pytest.raises(ZyntroError) as excinfo:
            await zy.contacts.upsert(CONTACT)
    text = "".join(traceback.format_exception(excinfo.value))
    assert API_KEY[:6] not in text
    assert DEVELOPER_SECRET[:8] not in text
