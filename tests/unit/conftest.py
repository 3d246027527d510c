"""Fixtures for the core SDK's unit tests: no network, no real waiting, no host environment.

Every HTTP exchange is answered by aioresponses; retry waits go to :class:`FakeTime`.

aioresponses 0.7.9 does not fit aiohttp 3.14 in two ways, which
:func:`_aioresponses_on_current_aiohttp` (autouse) patches around: it builds its fake
``ClientResponse`` without the ``stream_writer`` argument 3.14 made required, and it feeds a
whole body into a ``StreamReader`` whose protocol has no parser, which 3.14 asserts on when
a body larger than 128 KiB asks it to pause reading. The suite thereby runs on the aiohttp a
plain ``pip install`` gets; on older releases the patch is a no-op.
"""

from __future__ import annotations

import inspect
import random
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from aiohttp import ClientResponse, StreamReader
from aiohttp.client_proto import ResponseHandler
from aioresponses import aioresponses

from zyntro_async import RetryPolicy, ZyntroClient

from ._helpers import DOC_CREDENTIALS, FakeTime


class _FinishedUpload:
    """What aiohttp 3.14 asks of a request's writer once the request was sent."""

    output_size = 0


class _CompatResponse(ClientResponse):
    """A ``ClientResponse`` aioresponses can build without aiohttp 3.14's ``stream_writer``."""

    def __init__(self, method: str, url: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", _FinishedUpload())
        super().__init__(method, url, **kwargs)


class _UnpausedHandler(ResponseHandler):
    """A protocol with no socket behind it: there is nothing to pause."""

    def pause_reading(self) -> None:
        pass


def _stream_reader(loop: Any = None) -> StreamReader:
    return StreamReader(_UnpausedHandler(loop=loop), limit=2**16, loop=loop)


@pytest.fixture(autouse=True)
def _aioresponses_on_current_aiohttp(monkeypatch: pytest.MonkeyPatch) -> None:
    if "stream_writer" in inspect.signature(ClientResponse.__init__).parameters:
        monkeypatch.setattr("aioresponses.core.ClientResponse", _CompatResponse)
        monkeypatch.setattr("aioresponses.core.stream_reader_factory", _stream_reader)


@pytest.fixture
def mocked() -> Iterator[aioresponses]:
    """aioresponses: every request is answered from what the test registered."""
    with aioresponses() as m:
        yield m


@pytest.fixture
def fake_time() -> FakeTime:
    """A clock and a sleep that never really waits."""
    return FakeTime()


ClientFactory = Callable[..., ZyntroClient]


@pytest.fixture
async def make_client(fake_time: FakeTime) -> AsyncIterator[ClientFactory]:
    """Build clients with the documented placeholder credentials; all closed afterwards.

    Keyword arguments override ``ZyntroClient``'s. Unless a ``retry_policy`` or
    ``max_retries`` is given, calls are not retried (429s included) and never really sleep.
    """
    clients: list[ZyntroClient] = []

    def build(**kwargs: Any) -> ZyntroClient:
        options: dict[str, Any] = {**DOC_CREDENTIALS}
        if "retry_policy" not in kwargs:
            retried = "max_retries" in kwargs
            options["retry_policy"] = RetryPolicy(
                max_retries=kwargs.pop("max_retries", 0),
                # 429s are waited out outside max_retries: "not retried" means no patience.
                rate_limit_patience=300.0 if retried else 0.0,
                sleep=fake_time.sleep,
                clock=fake_time.clock,
                rng=random.Random(0),
                budget=None,
                retry_after_spread=0.0,  # the server's waits exactly
            )
        options.update(kwargs)
        client = ZyntroClient(**options)
        clients.append(client)
        return client

    yield build
    for client in clients:
        await client.aclose()


@pytest.fixture
async def zy(make_client: ClientFactory) -> AsyncIterator[ZyntroClient]:
    """An open client with the documented placeholder credentials and no retries."""
    async with make_client() as client:
        yield client
