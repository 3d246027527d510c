"""A client that leaves after its request: applied if the whole body arrived, dropped if not.

A client process killed right after writing the last byte of a request closes its
connection before reading the answer. A real server has the whole request by then and
applies it; only a body cut short cannot be applied. These tests write raw HTTP/1.1 on a
loopback socket, then close it with a FIN (an ordinary close, or a process exit) or a
reset (a process that dies with unread data in its socket), and read the outcome from the
emulator's applied counts and request log.

aiohttp marks a request's body with the disconnect as soon as it notices the close, and
from then on refuses to hand out even bytes it already holds. Whether the emulator's
handler reads the body before or after that moment is a race, so the second half of the
tests settles it: a middleware holds each request until the connection is gone, and only
then lets the emulator read the body.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Literal

import pytest
from aiohttp import web

from zyntro_async.testing import Emulator, RequestRecord

from ._docs import COMMS_CURL, doc_body

COMMS = "crm/addCommsHistory"
PATH = "/apis/v2/public/" + COMMS
WAIT = 5.0  # seconds: generous; a test normally waits a few milliseconds

Framing = Literal["content-length", "chunked"]
Close = Literal["fin", "rst"]
FRAMINGS = ["content-length", "chunked"]


class LoggingEmulator:
    """A demo emulator on a loopback port that signals when it has logged a request."""

    def __init__(self) -> None:
        self.logged = asyncio.Event()
        self.emulator = Emulator.demo(on_request=lambda _record: self.logged.set())
        self.contact_id = self.emulator.add_contact(fields={"firstName": "Jane"}).contact_id
        self.port = 0

    async def record(self) -> RequestRecord:
        """Wait until the emulator has logged its one request, and return that record."""
        await asyncio.wait_for(self.logged.wait(), WAIT)
        (record,) = self.emulator.requests
        return record

    def request(self, *, framing: Framing) -> bytes:
        """The documented comms example as one HTTP/1.1 request, its body framed as asked."""
        body = doc_body(COMMS_CURL, self.emulator.credentials)
        body["contact_id"] = self.contact_id
        payload = json.dumps(body).encode()
        head = f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        if framing == "content-length":
            return f"{head}Content-Length: {len(payload)}\r\n\r\n".encode() + payload
        # Two chunks, then the zero-length chunk that ends the body.
        half = len(payload) // 2
        chunks = b"".join(
            f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
            for piece in (payload[:half], payload[half:])
        )
        return f"{head}Transfer-Encoding: chunked\r\n\r\n".encode() + chunks + b"0\r\n\r\n"

    def request_cut_short(self, *, framing: Framing) -> bytes:
        """The same request without the end of its body (nor, if chunked, its last chunk)."""
        whole = self.request(framing=framing)
        return whole[: -len(b"0\r\n\r\n") - 10] if framing == "chunked" else whole[:-10]


@pytest.fixture
async def served() -> AsyncIterator[LoggingEmulator]:
    served = LoggingEmulator()
    base_url = await served.emulator.start(host="127.0.0.1", port=0)
    served.port = int(base_url.rsplit(":", 1)[1])
    try:
        yield served
    finally:
        await served.emulator.close()


async def send_and_leave(port: int, data: bytes, *, close: Close) -> None:
    """Write ``data`` on a new connection, then close it without reading anything."""
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    if close == "rst":
        sock = writer.get_extra_info("socket")
        # SO_LINGER with a zero timeout: closing sends a reset instead of a FIN.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()
    else:
        writer.close()
    await writer.wait_closed()


def assert_applied_once(served: LoggingEmulator, record: RequestRecord) -> None:
    assert record.outcome == "success", record
    assert record.applied
    assert served.emulator.applied[COMMS] == 1
    (entry,) = served.emulator.comms
    assert entry.contact_id == served.contact_id
    assert entry.comms_data == doc_body(COMMS_CURL, served.emulator.credentials)["comms_data"]


def assert_dropped(served: LoggingEmulator, record: RequestRecord) -> None:
    assert record.outcome == "disconnected", record
    assert not record.applied
    assert record.http_status is None
    assert served.emulator.applied[COMMS] == 0
    assert served.emulator.comms == []


# ------------------------------------------------------------------ natural timing


@pytest.mark.parametrize("close", ["fin", "rst"])
@pytest.mark.parametrize("framing", FRAMINGS)
async def test_whole_body_then_close_is_applied(
    served: LoggingEmulator, framing: Framing, close: Close
) -> None:
    await send_and_leave(served.port, served.request(framing=framing), close=close)

    assert_applied_once(served, await served.record())


@pytest.mark.parametrize("framing", FRAMINGS)
async def test_body_cut_short_then_close_is_dropped(
    served: LoggingEmulator, framing: Framing
) -> None:
    await send_and_leave(served.port, served.request_cut_short(framing=framing), close="fin")

    assert_dropped(served, await served.record())


# ------------------------------------------ the close noticed before the body is read

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def read_body_only_after_the_client_left(
    request: web.Request, handler: Handler
) -> web.StreamResponse:
    """Hold the request until aiohttp has seen its connection close, then handle it."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + WAIT
    # aiohttp offers no event for a lost connection, only the transport going away.
    while request.transport is not None:
        assert loop.time() < give_up, "the client never closed its connection"
        await asyncio.sleep(0.005)
    return await handler(request)


@pytest.fixture
async def held_port(served: LoggingEmulator) -> AsyncIterator[int]:
    """A second loopback server for the same emulator, whose handler reads bodies late.

    Only bodies below aiohttp's read buffer limit can wait unread: a larger one stops the
    server reading, so the close is not seen before the body is read in any case.
    """
    app = served.emulator.make_app()
    app.middlewares.append(read_body_only_after_the_client_left)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port: int = runner.addresses[0][1]
        yield port
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("close", ["fin", "rst"])
@pytest.mark.parametrize("framing", FRAMINGS)
async def test_whole_body_read_after_the_close_is_still_applied(
    served: LoggingEmulator, held_port: int, framing: Framing, close: Close
) -> None:
    await send_and_leave(held_port, served.request(framing=framing), close=close)

    assert_applied_once(served, await served.record())


@pytest.mark.parametrize("close", ["fin", "rst"])
@pytest.mark.parametrize("framing", FRAMINGS)
async def test_cut_body_read_after_the_close_is_dropped(
    served: LoggingEmulator, held_port: int, framing: Framing, close: Close
) -> None:
    await send_and_leave(held_port, served.request_cut_short(framing=framing), close=close)

    assert_dropped(served, await served.record())
