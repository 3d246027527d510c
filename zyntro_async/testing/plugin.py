"""pytest plugin: ``zyntro_emulator`` and ``zyntro_client`` fixtures.

Registered through the ``pytest11`` entry point, so installing ``zyntro_async`` is
enough::

    async def test_import_creates_contact(zyntro_client, zyntro_emulator):
        result = await zyntro_client.contacts.upsert(Contact(first_name="Jane",
                                                             primary_email="jane@acme.com"))
        assert zyntro_emulator.contact(result.contact_id).first_name == "Jane"

Both fixtures are function-scoped and async, so they need pytest-asyncio. This module
is imported by every pytest run in an environment where ``zyntro_async`` is installed,
so it must never break a run that does not use it: without pytest-asyncio the fixtures
still exist and fail with a clear message only when requested.
"""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from zyntro_async import ZyntroClient
    from zyntro_async.testing._emulator import Emulator

__all__ = ["zyntro_client", "zyntro_emulator"]

_HAVE_PYTEST_ASYNCIO = importlib.util.find_spec("pytest_asyncio") is not None


if _HAVE_PYTEST_ASYNCIO:
    import pytest_asyncio

    @pytest_asyncio.fixture
    async def zyntro_emulator() -> AsyncIterator[Emulator]:
        """A started demo :class:`~zyntro_async.testing.Emulator` on a free loopback port.

        Use ``zyntro_emulator.credentials`` and ``zyntro_emulator.base_url`` to reach it,
        ``zyntro_emulator.faults.add(...)`` to inject faults, and its inspection
        properties (``contacts``, ``notes``, ``applied``, ``requests``...) to assert.
        Stopped and cleaned up after the test.
        """
        # Imported here: collecting tests must not import aiohttp.web for everyone.
        from zyntro_async.testing._emulator import Emulator

        emulator = Emulator.demo()
        await emulator.start(host="127.0.0.1", port=0)
        try:
            yield emulator
        finally:
            await emulator.close()

    @pytest_asyncio.fixture
    async def zyntro_client(zyntro_emulator: Emulator) -> AsyncIterator[ZyntroClient]:
        """A ``zyntro_async.ZyntroClient`` connected to ``zyntro_emulator``; closed after."""
        async with zyntro_emulator.client() as client:
            yield client

else:  # pragma: no cover - exercised only without pytest-asyncio

    @pytest.fixture
    def zyntro_emulator() -> None:
        """Needs pytest-asyncio; fails with a message saying so."""
        pytest.fail("the zyntro_emulator fixture needs pytest-asyncio: pip install pytest-asyncio")

    @pytest.fixture
    def zyntro_client() -> None:
        """Needs pytest-asyncio; fails with a message saying so."""
        pytest.fail("the zyntro_client fixture needs pytest-asyncio: pip install pytest-asyncio")
