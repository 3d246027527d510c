"""Fixtures of the integration suite: the SDK against the emulator over loopback sockets.

The emulator and a connected client come from the package's own pytest plugin
(``zyntro_emulator``, ``zyntro_client``), so this suite is also its demonstration. Tests
that need other settings (credentials, a fast retry policy, a short timeout) build clients
with :func:`make_client`; every server here binds 127.0.0.1 and is stopped at teardown,
every client is closed.
"""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from zyntro_async import RetryPolicy, ZyntroClient
from zyntro_async.testing import Emulator

ClientFactory = Callable[..., ZyntroClient]


class RecordedWaits(list[float]):
    """The backoff waits the SDK asked for; they are recorded, never slept.

    :meth:`clock` is the real clock plus the waits recorded so far, so limits measured in
    time (a deadline, ``rate_limit_patience``) count the waits as if they had happened.
    """

    async def sleep(self, seconds: float) -> None:
        self.append(seconds)

    def clock(self) -> float:
        return time.monotonic() + sum(self)


@pytest.fixture
def waits() -> RecordedWaits:
    return RecordedWaits()


def fast_policy(waits: RecordedWaits, *, max_retries: int = 3) -> RetryPolicy:
    """Real retry decisions, no real waiting, no client-wide budget.

    The budget is off so that each test checks one classification rule and does not
    depend on how many retries earlier calls paid for (its own test turns it on).
    """
    return RetryPolicy(
        max_retries=max_retries,
        budget=None,
        sleep=waits.sleep,
        clock=waits.clock,
        rng=random.Random(0),
        retry_after_spread=0.0,  # the server's waits exactly
        # 429s are waited out beyond max_retries: three waits of the 3 s the tests'
        # Retry-After announces, the most any other failure gets with max_retries=3.
        rate_limit_patience=9.5,
    )


@pytest.fixture
async def make_client(
    zyntro_emulator: Emulator, waits: RecordedWaits
) -> AsyncIterator[ClientFactory]:
    """Clients of ``zyntro_emulator``: the demo credentials, a fast retry policy.

    Keyword arguments override ``ZyntroClient``'s (``api_key=``, ``timeout=``, ...).
    """
    clients: list[ZyntroClient] = []

    def build(**overrides: Any) -> ZyntroClient:
        options: dict[str, Any] = {"retry_policy": fast_policy(waits), "timeout": 5.0}
        options.update(overrides)
        client = zyntro_emulator.client(**options)
        clients.append(client)
        return client

    yield build
    for client in clients:
        await client.aclose()


class Gateway:
    """A loopback proxy in front of the emulator that removes fields from request bodies.

    The SDK refuses to send a request without ``api_key`` or ``developer_secret``, so the
    only way the server can see one (and answer "Missing service instance", "Missing
    developer_secret", ...) is a gateway that loses it on the way, which this is.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.drop: set[str] = set()
        self.base_url = ""
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    def dropping(self, fields: Iterable[str]) -> str:
        """Drop ``fields`` from every body from now on; returns the URL to give clients."""
        self.drop = set(fields)
        return self.base_url

    async def _forward(self, request: web.Request) -> web.Response:
        body = await request.json()
        for field in self.drop:
            body.pop(field, None)
        assert self._session is not None
        async with self._session.post(self.upstream + request.path, json=body) as upstream:
            return web.Response(
                status=upstream.status,
                body=await upstream.read(),
                content_type=upstream.content_type,
            )

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._forward)
        self._session = aiohttp.ClientSession()
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.base_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()


@pytest.fixture
async def gateway(zyntro_emulator: Emulator) -> AsyncIterator[Gateway]:
    """A :class:`Gateway` to ``zyntro_emulator``, forwarding bodies unchanged until told."""
    proxy = Gateway(zyntro_emulator.base_url)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.close()
