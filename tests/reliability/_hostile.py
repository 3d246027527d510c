"""A raw HTTP/1.1 server on loopback that answers exactly the bytes a test tells it to.

aiohttp.web (and so the emulator) always sends well-formed HTTP; a hostile or broken server
does not. :class:`RawServer` reads each request itself (head and ``Content-Length`` body,
recorded in :attr:`RawServer.requests`) and hands the socket's writer to a *responder*, a
coroutine that writes whatever it likes: an HTML page, half a JSON document, 200 MB, one
byte a second, or nothing before closing.

Every server binds 127.0.0.1 on a free port, closes each connection after one answer, and
shuts itself down after ``lifetime`` seconds even if a test forgets to.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import ssl
import struct
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

import attrs

__all__ = [
    "RawRequest",
    "RawServer",
    "Responder",
    "drip",
    "gzip_bomb",
    "http_response",
    "reply",
    "send_gzip_bomb",
    "stream_body",
]

_MAX_HEAD = 64 * 1024


@attrs.frozen
class RawRequest:
    """One request as it arrived: method, path, lower-cased headers and the body bytes."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


Responder = Callable[[RawRequest, asyncio.StreamWriter], Awaitable[None]]


def http_response(
    status: int,
    body: bytes = b"",
    *,
    content_type: str | None = "application/json",
    headers: dict[str, str] | None = None,
    reason: str = "Whatever",
    content_length: int | None = None,
) -> bytes:
    """The bytes of a complete HTTP/1.1 response (``Connection: close``)."""
    lines = [f"HTTP/1.1 {status} {reason}"]
    if content_type is not None:
        lines.append(f"Content-Type: {content_type}")
    length = len(body) if content_length is None else content_length
    lines.append(f"Content-Length: {length}")
    lines.append("Connection: close")
    lines.extend(f"{name}: {value}" for name, value in (headers or {}).items())
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def reply(
    status: int,
    body: bytes | str | Any = b"",
    *,
    content_type: str | None = "application/json",
    headers: dict[str, str] | None = None,
) -> Responder:
    """A responder that sends one fixed response (``str`` is UTF-8, other objects JSON)."""
    if isinstance(body, str):
        payload = body.encode()
    elif isinstance(body, bytes):
        payload = body
    else:
        payload = json.dumps(body).encode()
    raw = http_response(status, payload, content_type=content_type, headers=headers)

    async def respond(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        writer.write(raw)
        await writer.drain()

    return respond


def drip(
    head: bytes, body: bytes, *, interval: float = 1.0, sent: list[int] | None = None
) -> Responder:
    """A responder that sends ``head`` at once, then ``body`` one byte per ``interval``.

    ``sent`` (a one-item list) counts the body bytes written, so a test can prove the client
    gave up before the body was complete (an order of events, not a duration).
    """

    async def respond(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        writer.write(head)
        await writer.drain()
        for position in range(len(body)):
            await asyncio.sleep(interval)
            writer.write(body[position : position + 1])
            await writer.drain()
            if sent is not None:
                sent[0] += 1

    return respond


def stream_body(
    total: int,
    *,
    declare_length: bool,
    chunk: int = 256 * 1024,
    sent: list[int] | None = None,
) -> Responder:
    """A responder that produces a ``total``-byte body lazily, as fast as the client reads.

    Nothing is built in memory beyond one chunk, and production stops as soon as the client
    goes away. ``sent`` (a one-item list) counts the body bytes actually written, so a test
    can prove the client stopped reading early.

    Args:
        total: body size.
        declare_length: send ``Content-Length: total`` (else chunked transfer encoding).
        chunk: bytes produced per write.
        sent: a counter, ``[0]``, incremented with each write.
    """
    counter = sent if sent is not None else [0]
    block = b'{"status": "success", "data": {"filler": "' + b"x" * chunk

    async def respond(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        headers = ["HTTP/1.1 200 OK", "Content-Type: application/json", "Connection: close"]
        if declare_length:
            headers.append(f"Content-Length: {total}")
        else:
            headers.append("Transfer-Encoding: chunked")
        writer.write(("\r\n".join(headers) + "\r\n\r\n").encode())
        produced = 0
        while produced < total and not writer.transport.is_closing():
            piece = block[: min(chunk, total - produced)]
            produced += len(piece)
            writer.write(piece if declare_length else b"%x\r\n%s\r\n" % (len(piece), piece))
            counter[0] += len(piece)
            await writer.drain()
        if not declare_length:
            writer.write(b"0\r\n\r\n")
            await writer.drain()

    return respond


@functools.cache
def gzip_bomb(expanded: int) -> bytes:
    """A valid gzip stream of ``expanded`` zero bytes, about a thousandth of that on the wire.

    After a full flush the compressor starts afresh, so every further MiB of zeros
    compresses to the same bytes: one block is made and repeated, which takes no time.
    """
    mib = bytes(1024 * 1024)
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
    first = compressor.compress(mib) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(mib) + compressor.flush(zlib.Z_FULL_FLUSH)
    count = max(1, expanded // len(mib))
    crc = 0
    for _ in range(count):
        crc = zlib.crc32(mib, crc)
    final_empty_block = b"\x03\x00"
    trailer = struct.pack("<II", crc, (count * len(mib)) & 0xFFFFFFFF)
    return first + block * (count - 1) + final_empty_block + trailer


def send_gzip_bomb(expanded: int) -> Responder:
    """A responder answering 200 with a gzip-encoded body that inflates to ``expanded``."""

    async def respond(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        body = gzip_bomb(expanded)
        writer.write(
            http_response(200, b"", headers={"Content-Encoding": "gzip"}, content_length=len(body))
        )
        for start in range(0, len(body), 16 * 1024):
            if writer.transport.is_closing():
                return
            writer.write(body[start : start + 16 * 1024])
            await writer.drain()

    return respond


class RawServer:
    """A loopback HTTP server whose answers are written by ``respond``.

    Use as ``async with RawServer(respond) as server:``; :attr:`base_url` is where to point
    a client, :attr:`connections` counts accepted TCP connections (TLS handshakes that
    failed included), :attr:`requests` holds every request read in full.

    Args:
        respond: writes the answer to one request (see :func:`reply`, :func:`drip`, ...).
        lifetime: seconds after which the server stops by itself.
        tls: serve HTTPS with this server-side context.
    """

    def __init__(
        self,
        respond: Responder,
        *,
        lifetime: float = 120.0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.respond = respond
        self.lifetime = lifetime
        self.tls = tls
        self.requests: list[RawRequest] = []
        self.connections = 0
        self.received = bytearray()  # every byte any connection sent us, heads included
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._watchdog: asyncio.TimerHandle | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` (``https`` when serving TLS)."""
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    async def __aenter__(self) -> RawServer:
        loop = asyncio.get_running_loop()

        def accept() -> asyncio.StreamReaderProtocol:
            # Called when a TCP connection is accepted, before any TLS handshake: so
            # ``connections`` also counts clients that gave up during the handshake.
            self.connections += 1
            reader = asyncio.StreamReader(limit=2**16)
            return asyncio.StreamReaderProtocol(reader, self._handle)

        self._server = await loop.create_server(accept, "127.0.0.1", 0, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]
        self._watchdog = loop.call_later(self.lifetime, self._expire)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def _expire(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in self._handlers:
            task.cancel()

    async def close(self) -> None:
        """Stop listening, end every connection, wait for the handlers."""
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        for task in list(self._handlers):
            task.cancel()
        if self._handlers:
            await asyncio.wait(list(self._handlers), timeout=5)
        if server is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(server.wait_closed(), timeout=5)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self._writers.add(writer)
        graceful = False
        try:
            request = await asyncio.wait_for(self._read_request(reader), timeout=self.lifetime)
            if request is None:
                return
            self.requests.append(request)
            await self.respond(request, writer)
            graceful = True
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # the client went away, or sent something we do not parse: just close
        except asyncio.CancelledError:
            pass  # server closing; the handler's task ends here
        finally:
            self._handlers.discard(task)
            self._writers.discard(writer)
            if graceful:
                # Let what was written reach the client before the FIN.
                writer.close()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(writer.wait_closed(), timeout=5)
            else:
                writer.transport.abort()

    async def _read_request(self, reader: asyncio.StreamReader) -> RawRequest | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            self.received += exc.partial
            return None
        self.received += head
        if len(head) > _MAX_HEAD:
            return None
        lines = head.decode("latin-1").split("\r\n")
        method, path, *_ = [*lines[0].split(" ", 2), "", ""]
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or 0)
        body = await reader.readexactly(length) if length else b""
        self.received += body
        return RawRequest(method=method, path=path, headers=headers, body=body)
