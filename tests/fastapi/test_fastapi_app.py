"""examples/fastapi_app.py under a real uvicorn server, against the emulator.

The point of the example is the client's lifetime: ONE ZyntroClient (one aiohttp session,
one connection pool) created at startup, shared by every request, closed at shutdown. These
tests fire hundreds of concurrent requests through a real HTTP server and check exactly
that, plus the mapping of SDK errors to HTTP statuses.

(No ``__init__.py`` here on purpose: a ``tests/fastapi`` package would shadow FastAPI.)
"""

from __future__ import annotations

import gc
import importlib.util
import socket
import sys
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp
import anyio
import pytest
import uvicorn

from zyntro_async import ZyntroClient
from zyntro_async.testing import Emulator

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fastapi_app.py"
CONCURRENT_REQUESTS = 300
TIMEOUT = aiohttp.ClientTimeout(total=30)


def load_example() -> ModuleType:
    """Import examples/fastapi_app.py (examples/ is not a package)."""
    spec = importlib.util.spec_from_file_location("zyntro_fastapi_example", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic resolves the models' annotations through it
    spec.loader.exec_module(module)
    return module


@asynccontextmanager
async def serve(app: Any) -> AsyncIterator[str]:
    """Run ``app`` under uvicorn on a free loopback port; stop it on exit."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, lifespan="on", log_level="warning", access_log=False, http="h11", ws="none"
    )
    server = uvicorn.Server(config)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(server.serve, [sock])
            with anyio.fail_after(10):
                while not server.started:  # noqa: ASYNC110 - uvicorn only offers a flag
                    await anyio.sleep(0.01)
            try:
                yield f"http://127.0.0.1:{port}"
            finally:
                server.should_exit = True
    finally:
        sock.close()


def open_sessions() -> list[aiohttp.ClientSession]:
    gc.collect()
    return [
        obj for obj in gc.get_objects() if isinstance(obj, aiohttp.ClientSession) and not obj.closed
    ]


@pytest.fixture
def example() -> ModuleType:
    return load_example()


@pytest.fixture
def clients() -> list[ZyntroClient]:
    return []


@pytest.fixture
def app(example: ModuleType, zyntro_emulator: Emulator, clients: list[ZyntroClient]) -> Any:
    def make_client() -> ZyntroClient:
        client: ZyntroClient = zyntro_emulator.client()
        clients.append(client)
        return client

    return example.create_app(client_factory=make_client)


async def test_hundreds_of_concurrent_requests_share_one_client_and_one_pool(
    app: Any, zyntro_emulator: Emulator, clients: list[ZyntroClient]
) -> None:
    seen_sessions: dict[int, aiohttp.ClientSession] = {}
    statuses: list[int] = []

    async with serve(app) as base_url:
        connector = aiohttp.TCPConnector(limit=0)  # really concurrent: no client-side queue
        async with aiohttp.ClientSession(connector=connector, timeout=TIMEOUT) as http:

            async def call(method: str, path: str, body: Any = None) -> Any:
                async with http.request(method, base_url + path, json=body) as response:
                    statuses.append(response.status)
                    payload = await response.json()
                session = app.state.zyntro.session
                seen_sessions[id(session)] = session
                return payload

            contact_ids: list[str] = []

            async def create(i: int) -> None:
                body = {"first_name": f"User{i}", "email": f"user{i}@load.example"}
                contact_ids.append((await call("POST", "/contacts", body))["contact_id"])

            async with anyio.create_task_group() as tg:
                for i in range(CONCURRENT_REQUESTS):
                    tg.start_soon(create, i)

            async def note_and_fetch(contact_id: str) -> None:
                await call("POST", f"/contacts/{contact_id}/notes", {"note": "hello"})
                record = await call("GET", f"/contacts/{contact_id}")
                assert record["contact_id"] == contact_id

            async with anyio.create_task_group() as tg:
                for contact_id in contact_ids:
                    tg.start_soon(note_and_fetch, contact_id)

            # While serving: our own session and the app's one, nothing else.
            assert len(open_sessions()) == 2

    assert sorted(set(statuses)) == [200, 201]
    assert len(statuses) == 3 * CONCURRENT_REQUESTS
    assert len(clients) == 1, "the app must create exactly one ZyntroClient"
    (client,) = clients
    assert len(seen_sessions) == 1, "every request must go through the same aiohttp session"
    (session,) = seen_sessions.values()
    assert isinstance(session, aiohttp.ClientSession)
    assert len(zyntro_emulator.contacts) == CONCURRENT_REQUESTS
    assert len(zyntro_emulator.notes) == CONCURRENT_REQUESTS

    # Shut down cleanly: the lifespan closed the client and its pool, nothing leaks.
    assert client.closed
    assert session.closed
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert open_sessions() == []
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


async def test_sdk_errors_become_sensible_http_errors(app: Any, zyntro_emulator: Emulator) -> None:
    async with serve(app) as base_url, aiohttp.ClientSession(timeout=TIMEOUT) as http:

        async def status_of(method: str, path: str, body: Any = None) -> tuple[int, Any]:
            async with http.request(method, base_url + path, json=body) as response:
                return response.status, await response.json()

        # Rejected by the SDK before sending: 422 naming the field.
        status, body = await status_of(
            "POST", "/contacts", {"first_name": "Jo", "email": "not-an-email"}
        )
        assert status == 422
        assert body["detail"]["code"] == "REQUEST_VALIDATION"
        assert "primary_email" in body["detail"]["message"]

        # Rejected by the API (an option the custom field does not have): 422 with its code.
        status, body = await status_of(
            "POST",
            "/contacts",
            {"first_name": "Jo", "email": "jo@x.example", "custom_fields": {"company_size": "9"}},
        )
        assert (status, body["detail"]["code"]) == (422, "CUSTOM_FIELD_ERROR")

        # Unknown contact: 404.
        status, body = await status_of("GET", "/contacts/no-such-contact")
        assert status == 404
        status, body = await status_of("POST", "/contacts/no-such-contact/notes", {"note": "x"})
        assert status == 404

        # Bad credentials are the server's problem, not the caller's: 502.
        zyntro_emulator.users[zyntro_emulator.credentials.api_key].active = False
        status, body = await status_of("POST", "/contacts", {"first_name": "A", "email": "a@b.co"})
        assert (status, body["detail"]["code"]) == (502, "USER_INACTIVE")
