"""Fixtures for the core SDK's unit tests: no network, no real waiting, no host environment.

Every HTTP exchange is answered by aioresponses; retry waits go to :class:`FakeTime`.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from aioresponses import aioresponses

from zyntro_async import RetryPolicy, ZyntroClient

from ._helpers import DOC_CREDENTIALS, FakeTime


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
