"""Fixtures for the bulk engine's tests: a seeded emulator on loopback and its clients.

Every server binds 127.0.0.1 and is stopped at teardown; every client is closed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from zyntro_async import ZyntroClient
from zyntro_async.testing import Emulator

from ._helpers import ClientFactory, fast_retry

FAULT_SEED = 20240611


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    """A demo emulator serving on a free loopback port; faults drawn from a fixed seed."""
    emu = Emulator.demo(seed="bulk-tests")
    emu.faults.reseed(FAULT_SEED)
    await emu.start(host="127.0.0.1", port=0)
    try:
        yield emu
    finally:
        await emu.close()


@pytest.fixture
async def make_client(emulator: Emulator) -> AsyncIterator[ClientFactory]:
    """Clients of ``emulator`` with fast, seeded retries; keyword arguments override."""
    clients: list[ZyntroClient] = []

    def build(**overrides: Any) -> ZyntroClient:
        options: dict[str, Any] = {"retry_policy": fast_retry(), "timeout": 5.0}
        options.update(overrides)
        client: ZyntroClient = emulator.client(**options)
        clients.append(client)
        return client

    yield build
    for client in clients:
        await client.aclose()


@pytest.fixture
async def zy(make_client: ClientFactory) -> AsyncIterator[ZyntroClient]:
    """An open client of ``emulator``."""
    async with make_client() as client:
        yield client
