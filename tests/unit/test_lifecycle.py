"""The client as a resource: unopened, open, closed; one session shared by every task.

The aiohttp session is created lazily inside the running loop, closed by ``aclose()`` (or
``async with``) unless the caller injected it, and a closed client refuses work clearly.
``filterwarnings = error`` makes any "Unclosed client session" warning fail its test.
"""

from __future__ import annotations

import asyncio
import gc
import warnings
from typing import Any

import aiohttp
import anyio
import pytest
from aioresponses import aioresponses

from zyntro_async import ClientClosedError, Contact, ZyntroClient

from ._helpers import (
    ADD_CONTACTS,
    ADD_NOTES,
    CONTACT_ID,
    CONTACT_RESULT_DATA,
    DOC_CREDENTIALS,
    NOTE_DATA,
    attempts,
    no_request_was_made,
    success,
    url,
)

CONTACT = Contact(first_name="Jane", primary_email="jane@acme.com")


def new_client(**kwargs: Any) -> ZyntroClient:
    return ZyntroClient(**DOC_CREDENTIALS, **kwargs)


def test_a_client_can_be_built_outside_any_event_loop() -> None:
    zy = new_client()
    assert zy.session is None
    assert not zy.closed


def test_a_client_built_before_the_loop_runs_works_inside_it() -> None:
    zy = new_client()  # e.g. at import time, as a module global

    async def main() -> str:
        with aioresponses() as m:
            m.post(url(ADD_NOTES), payload=success(NOTE_DATA))
            async with zy:
                return (await zy.notes.add(CONTACT_ID, "Hi")).note_id

    assert asyncio.run(main()) == NOTE_DATA["note_id"]


async def test_the_session_is_created_by_the_first_request(mocked: aioresponses) -> None:
    mocked.post(url(ADD_NOTES), payload=success(NOTE_DATA))
    zy = new_client()
    assert zy.session is None
    await zy.notes.add(CONTACT_ID, "Hi")
    assert isinstance(zy.session, aiohttp.ClientSession)
    await zy.aclose()


async def test_async_with_opens_the_client_and_closes_its_session() -> None:
    async with new_client() as zy:
        session = zy.session
        assert session is not None
        assert not session.closed
    assert session.closed
    assert zy.closed
    assert zy.session is None


async def test_async_with_closes_the_session_when_the_body_raises() -> None:
    sessions = []

    async def use_then_fail() -> None:
        async with new_client() as zy:
            sessions.append(zy.session)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await use_then_fail()
    (session,) = sessions
    assert session is not None
    assert session.closed


async def test_aclose_can_be_called_twice() -> None:
    zy = new_client()
    async with zy:
        pass
    await zy.aclose()
    await zy.aclose()
    assert zy.closed


async def test_aclose_on_a_client_never_used_is_fine() -> None:
    zy = new_client()
    await zy.aclose()
    assert zy.closed


async def test_a_closed_client_refuses_requests(mocked: aioresponses) -> None:
    zy = new_client()
    await zy.aclose()
    with pytest.raises(ClientClosedError, match="closed"):
        await zy.contacts.upsert(CONTACT)
    assert no_request_was_made(mocked)


async def test_a_closed_client_cannot_be_reopened() -> None:
    zy = new_client()
    await zy.aclose()
    with pytest.raises(ClientClosedError):
        async with zy:
            pass


def test_client_closed_error_is_a_runtime_error() -> None:
    assert issubclass(ClientClosedError, RuntimeError)


async def test_an_injected_session_is_used_and_never_closed(mocked: aioresponses) -> None:
    mocked.post(url(ADD_NOTES), payload=success(NOTE_DATA))
    async with aiohttp.ClientSession() as session:
        async with new_client(session=session) as zy:
            assert zy.session is session
            await zy.notes.add(CONTACT_ID, "Hi")
        assert not session.closed
        await zy.aclose()
        assert not session.closed


async def test_concurrent_calls_share_one_session(
    mocked: aioresponses, monkeypatch: pytest.MonkeyPatch
) -> None:
    created: list[aiohttp.ClientSession] = []
    real_session = aiohttp.ClientSession

    def counting_session(*args: Any, **kwargs: Any) -> aiohttp.ClientSession:
        session = real_session(*args, **kwargs)
        created.append(session)
        return session

    monkeypatch.setattr(aiohttp, "ClientSession", counting_session)
    mocked.post(url(ADD_CONTACTS), payload=success(CONTACT_RESULT_DATA), repeat=True)
    zy = new_client()  # not opened: the first of the concurrent calls opens it
    results = []

    async def one() -> None:
        results.append(await zy.contacts.upsert(CONTACT))

    async with anyio.create_task_group() as tasks:
        for _ in range(50):
            tasks.start_soon(one)
    await zy.aclose()
    assert len(results) == 50
    assert attempts(mocked, ADD_CONTACTS) == 50
    assert len(created) == 1
    assert created[0].closed


async def test_the_session_pool_size_is_max_connections() -> None:
    async with new_client(max_connections=7) as zy:
        assert zy.session is not None
        connector = zy.session.connector
        assert connector is not None
        assert connector.limit == 7


async def test_no_unclosed_session_warning_after_use(mocked: aioresponses) -> None:
    mocked.post(url(ADD_NOTES), payload=success(NOTE_DATA))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with new_client() as zy:
            await zy.notes.add(CONTACT_ID, "Hi")
        del zy
        gc.collect()
    assert [str(w.message) for w in caught] == []


async def test_the_repr_shows_the_state() -> None:
    zy = new_client()
    assert "state=unopened" in repr(zy)
    async with zy:
        assert "state=open" in repr(zy)
    assert "state=closed" in repr(zy)
