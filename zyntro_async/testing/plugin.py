"""pytest plugin: the ``zyntro_emulator``, ``zyntro_client``, ``zyntro_emulator_factory`` fixtures.

Registered through the ``pytest11`` entry point, so installing ``zyntro_async`` is
enough::

    import pytest
    from zyntro_async import Contact
    from zyntro_async.testing import TokenBucket

    @pytest.mark.asyncio
    async def test_import_creates_contact(zyntro_client, zyntro_emulator):
        result = await zyntro_client.contacts.upsert(Contact(first_name="Jane",
                                                             primary_email="jane@acme.com"))
        assert zyntro_emulator.contact(result.contact_id).first_name == "Jane"

    @pytest.mark.asyncio
    @pytest.mark.zyntro_emulator(limits=[TokenBucket(rate=5, burst=2)])
    async def test_under_a_rate_limit(zyntro_client, zyntro_emulator):
        ...  # zyntro_emulator answers 429 beyond 5 requests/s

    @pytest.mark.asyncio
    async def test_two_accounts(zyntro_emulator_factory):
        strict = await zyntro_emulator_factory(limits=[ConcurrencyCap(max_in_flight=2)])
        ...

What a fresh project needs: ``pip install zyntro-async pytest pytest-asyncio``. The
fixtures are async (declared with ``pytest_asyncio.fixture``), so they work in both of
pytest-asyncio's modes:

- the default *strict* mode: mark each async test ``@pytest.mark.asyncio`` (or a
  module with ``pytestmark = pytest.mark.asyncio``);
- *auto* mode (``asyncio_mode = "auto"`` under ``[tool.pytest.ini_options]``): no
  mark needed.

The ``zyntro_emulator`` marker passes its keyword arguments to
:meth:`Emulator.demo() <zyntro_async.testing.Emulator.demo>` (``limits``, ``faults``,
``seed``, ``custom_fields``, ``clock``, ``wall_clock``); the factory takes the same
keywords and may be called several times per test.

This module is imported by every pytest run in an environment where ``zyntro_async``
is installed, so it must never break a run that does not use it: without
pytest-asyncio the fixtures still exist and fail with a clear message only when
requested.
"""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator, Awaitable
from typing import TYPE_CHECKING, Any, Protocol

import pytest

if TYPE_CHECKING:
    from zyntro_async import ZyntroClient
    from zyntro_async.testing._emulator import Emulator

__all__ = ["EmulatorFactory", "zyntro_client", "zyntro_emulator", "zyntro_emulator_factory"]

_HAVE_PYTEST_ASYNCIO = importlib.util.find_spec("pytest_asyncio") is not None
_MARKER = "zyntro_emulator"


class EmulatorFactory(Protocol):
    """``await zyntro_emulator_factory(**options)``: a started demo emulator."""

    def __call__(self, **options: Any) -> Awaitable[Emulator]:
        """Start a demo emulator built with ``Emulator.demo(**options)``."""
        ...


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``zyntro_emulator`` marker (so ``--strict-markers`` accepts it).

    Args:
        config: pytest's configuration.
    """
    config.addinivalue_line(
        "markers",
        f"{_MARKER}(**options): build the zyntro_emulator fixture with "
        "Emulator.demo(**options), e.g. limits=[TokenBucket(rate=5, burst=2)]",
    )


def _marker_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    marker = request.node.get_closest_marker(_MARKER)
    if marker is None:
        return {}
    if marker.args:
        raise pytest.UsageError(f"@pytest.mark.{_MARKER} takes keyword arguments only")
    return dict(marker.kwargs)


if _HAVE_PYTEST_ASYNCIO:
    import pytest_asyncio

    @pytest_asyncio.fixture
    async def zyntro_emulator_factory() -> AsyncIterator[EmulatorFactory]:
        """Start demo emulators on demand: ``await zyntro_emulator_factory(limits=[...])``.

        Each call builds ``Emulator.demo(**options)`` and starts it on a free loopback
        port; all are closed after the test.
        """
        # Imported here: collecting tests must not import aiohttp.web for everyone.
        from zyntro_async.testing._emulator import Emulator

        started: list[Emulator] = []

        async def start(**options: Any) -> Emulator:
            emulator = Emulator.demo(**options)
            started.append(emulator)  # before start(): closed even if it fails to bind
            await emulator.start(host="127.0.0.1", port=0)
            return emulator

        try:
            yield start
        finally:
            for emulator in reversed(started):
                await emulator.close()

    @pytest_asyncio.fixture
    async def zyntro_emulator(
        request: pytest.FixtureRequest, zyntro_emulator_factory: EmulatorFactory
    ) -> Emulator:
        """A started demo :class:`~zyntro_async.testing.Emulator` on a free loopback port.

        Use ``zyntro_emulator.credentials`` and ``zyntro_emulator.base_url`` to reach it,
        ``zyntro_emulator.faults.add(...)`` to inject faults,
        ``zyntro_emulator.set_limits(...)`` to change its rate limits, and its
        inspection properties (``contacts``, ``notes``, ``applied``, ``requests``,
        ``rate_limited``...) to assert. ``@pytest.mark.zyntro_emulator(**options)``
        passes options to ``Emulator.demo()``. Stopped and cleaned up after the test.
        """
        return await zyntro_emulator_factory(**_marker_options(request))

    @pytest_asyncio.fixture
    async def zyntro_client(zyntro_emulator: Emulator) -> AsyncIterator[ZyntroClient]:
        """A ``zyntro_async.ZyntroClient`` connected to ``zyntro_emulator``; closed after."""
        async with zyntro_emulator.client() as client:
            yield client

else:  # pragma: no cover - exercised only without pytest-asyncio

    def _needs_pytest_asyncio(name: str) -> None:
        pytest.fail(f"the {name} fixture needs pytest-asyncio: pip install pytest-asyncio")

    @pytest.fixture
    def zyntro_emulator_factory() -> None:
        """Needs pytest-asyncio; fails with a message saying so."""
        _needs_pytest_asyncio("zyntro_emulator_factory")

    @pytest.fixture
    def zyntro_emulator() -> None:
        """Needs pytest-asyncio; fails with a message saying so."""
        _needs_pytest_asyncio("zyntro_emulator")

    @pytest.fixture
    def zyntro_client() -> None:
        """Needs pytest-asyncio; fails with a message saying so."""
        _needs_pytest_asyncio("zyntro_client")
