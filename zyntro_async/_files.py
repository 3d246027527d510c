"""Attachment files: where the bytes come from, and the streamed JSON body that carries them.

``manageAttachments`` takes a file as base64 inside the JSON body. Building that body in
memory costs about 2.4x the file size and blocks the event loop while encoding, so
:class:`Base64JsonPayload` writes the JSON around the file and produces the base64 while
sending: the file is read in a worker thread, chunk by chunk, and each chunk is encoded and
written in slices small enough (well under a millisecond each) that the event loop runs
between them. For a path, bytes or a seekable file object the size is known up front
(base64 of ``n`` bytes is ``4 * ceil(n / 3)`` characters), so the request has a
Content-Length. A non-seekable stream (a pipe, a socket, a generator behind ``readinto``)
has no size until it ends: it is sent with chunked transfer encoding, exactly once, as it
is read; it cannot be rewound, so a retry that would have to send it again is refused.

Nothing here reads a file while a request is being validated: a source is opened and read
only by :meth:`Base64JsonPayload.write`, that is, while its request is being sent.

The encoding itself stays on the event loop's thread on purpose: ``base64.b64encode`` holds
the GIL, so a worker thread would not encode in parallel, only make the loop queue for the
GIL behind every thread encoding at once (tens of milliseconds with eight uploads).
"""

from __future__ import annotations

import base64
import io
import json
import mimetypes
import os
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from stat import S_ISREG
from typing import IO, Any, cast

import anyio.lowlevel
import anyio.to_thread
from aiohttp import payload
from aiohttp.abc import AbstractStreamWriter

from zyntro_async._errors import ConfigurationError, RequestValidationError
from zyntro_async.models._validators import EXTENSION_MIME_TYPES

__all__ = [
    "Base64JsonPayload",
    "FileSource",
    "HookedBytesPayload",
    "StreamSource",
    "file_source",
    "guess_file_type",
    "refuse_unverified_tls",
]

# Awaited before the body's last byte is written (the attempt observer's before_last_byte).
BeforeLastByte = Callable[[], Awaitable[None]]

# Multiples of 3, so each piece's base64 has no padding and pieces concatenate.
CHUNK_BYTES = 3 * 256 * 1024  # read from the file at once (in a worker thread)
ENCODE_SLICE = 3 * 32 * 1024  # encoded and written at once, between two turns of the loop


def base64_length(size: int) -> int:
    """Characters of base64 (with padding) for ``size`` bytes."""
    return 4 * ((size + 2) // 3)


def guess_file_type(name: str) -> str | None:
    """The MIME type for a file name, from the documented allow-list first.

    Returns ``None`` when nothing is known about the extension.
    """
    suffix = Path(name).suffix.lower().lstrip(".")
    if suffix in EXTENSION_MIME_TYPES:
        return EXTENSION_MIME_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed


class FileSource:
    """Bytes to upload, read only while a request is being sent.

    Attributes:
        name: the file's own name, when it has one.
        size: bytes of content, ``None`` when unknown until the end (a stream).
    """

    name: str | None
    size: int | None

    @property
    def rewindable(self) -> bool:
        """Whether :meth:`open_chunks` can start over (for a retry)."""
        return True

    def open_chunks(self) -> AsyncIterator[bytes | memoryview]:  # pragma: no cover - abstract
        """Yield the content in chunks of at most :data:`CHUNK_BYTES` (a multiple of 3).

        A chunk may be a view of a buffer the next chunk reuses: use it before asking for
        the next one.
        """
        raise NotImplementedError


class BytesSource(FileSource):
    """Bytes already in memory."""

    size: int

    def __init__(self, data: bytes | bytearray | memoryview, name: str | None) -> None:
        self._data = bytes(data)
        self.name = name
        self.size = len(self._data)

    async def open_chunks(self) -> AsyncIterator[bytes | memoryview]:
        view = memoryview(self._data)
        for start in range(0, self.size, CHUNK_BYTES):
            yield view[start : start + CHUNK_BYTES]


class PathSource(FileSource):
    """A file on disk, opened and read only while the request is being sent."""

    size: int

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = path.name
        try:
            stat = path.stat()
        except OSError as exc:
            raise RequestValidationError("file", f"cannot read {path}: {exc.strerror}") from exc
        except ValueError as exc:  # a NUL byte, or a path the OS cannot represent
            raise RequestValidationError("file", f"not a usable path: {exc}") from exc
        if not S_ISREG(stat.st_mode):
            raise RequestValidationError("file", f"{path} is not a regular file")
        self.size = stat.st_size

    async def open_chunks(self) -> AsyncIterator[bytes | memoryview]:
        handle = await anyio.to_thread.run_sync(self._open)
        # One buffer, read into again for each chunk: a fresh 768 KiB object per chunk
        # would be fresh memory for the kernel to hand over each time.
        buffer = memoryview(bytearray(min(CHUNK_BYTES, self.size)))
        try:
            remaining = self.size
            while remaining > 0:
                view = buffer[: min(len(buffer), remaining)]
                await anyio.to_thread.run_sync(self._fill, handle, view)
                remaining -= len(view)
                yield view
        finally:
            await anyio.to_thread.run_sync(handle.close)

    def _open(self) -> io.FileIO:
        return io.FileIO(self.path, "rb")

    def _fill(self, handle: io.FileIO, view: memoryview) -> None:
        filled = 0
        while filled < len(view):
            read = handle.readinto(view[filled:])
            if not read:
                raise OSError(f"{self.path} shrank while being uploaded")
            filled += read


class SeekableFileSource(FileSource):
    """An open binary file object that can be rewound for each attempt."""

    size: int

    def __init__(self, handle: IO[bytes], name: str | None) -> None:
        self._handle = handle
        self.name = name
        try:
            self._start = handle.tell()
            end = handle.seek(0, io.SEEK_END)
            handle.seek(self._start)
        except (OSError, ValueError) as exc:  # closed, or not really seekable
            raise RequestValidationError("file", f"cannot read the file object: {exc}") from exc
        self.size = end - self._start

    async def open_chunks(self) -> AsyncIterator[bytes | memoryview]:
        await anyio.to_thread.run_sync(self._handle.seek, self._start)
        remaining = self.size
        while remaining > 0:
            chunk = await anyio.to_thread.run_sync(self._handle.read, min(CHUNK_BYTES, remaining))
            if not chunk:
                raise OSError("file object ended early while being uploaded")
            remaining -= len(chunk)
            yield chunk


class StreamSource(FileSource):
    """A binary stream that cannot seek (a pipe, a socket, a generator): read once, as sent.

    Its size is unknown until it ends. Once reading has started it cannot start over, so
    :attr:`rewindable` turns ``False`` and the transport refuses a retry that would need to
    send it again (rather than sending what is left of it, or nothing).
    """

    def __init__(self, handle: IO[bytes], name: str | None) -> None:
        self._handle = handle
        self.name = name
        self.size = None
        self._started = False

    @property
    def rewindable(self) -> bool:
        """``True`` until the first read."""
        return not self._started

    async def open_chunks(self) -> AsyncIterator[bytes | memoryview]:
        if self._started:
            raise OSError("the stream was already read and cannot be rewound")
        self._started = True
        carry = b""
        while True:
            data = await anyio.to_thread.run_sync(self._handle.read, CHUNK_BYTES)
            if data is None:
                raise OSError("the stream is non-blocking and had no data ready")
            if not isinstance(data, bytes | bytearray | memoryview):
                raise OSError(f"file object must return bytes, got {type(data).__name__}")
            if not data:
                break
            pending = carry + bytes(data)
            # Only whole 3-byte groups, so each chunk's base64 has no padding; the rest
            # waits for the next read (or is the last chunk).
            whole = len(pending) - len(pending) % 3
            carry = pending[whole:]
            if whole:
                yield pending[:whole]
        if carry:
            yield carry


def file_source(file: object, *, name: str | None = None) -> FileSource:
    """Wrap what ``add_file`` was given: a path, bytes, or a binary file object.

    Nothing is read here: a path is checked with ``stat``, a seekable file object with
    ``tell``/``seek``; a non-seekable one is wrapped as it is (see :class:`StreamSource`).

    Raises:
        RequestValidationError: for anything else, or an unreadable path.
    """
    if isinstance(file, str | os.PathLike):
        path = Path(os.fspath(file))
        return PathSource(path)
    if isinstance(file, bytes | bytearray | memoryview):
        return BytesSource(file, name)
    read = getattr(file, "read", None)
    if callable(read):
        if isinstance(file, io.TextIOBase):
            raise RequestValidationError("file", "open the file in binary mode ('rb')")
        handle_name = getattr(file, "name", None)
        base = Path(handle_name).name if isinstance(handle_name, str) else None
        if getattr(file, "closed", False) is True:
            raise RequestValidationError("file", "the file object is closed")
        seekable = getattr(file, "seekable", None)
        try:
            can_seek = callable(seekable) and seekable()
        except (OSError, ValueError) as exc:
            raise RequestValidationError("file", f"cannot read the file object: {exc}") from exc
        if can_seek:
            return SeekableFileSource(cast("IO[bytes]", file), base)
        return StreamSource(cast("IO[bytes]", file), base)
    raise RequestValidationError(
        "file", f"must be a path, bytes or a binary file object, got {type(file).__name__}"
    )


async def _flush_to_kernel(writer: AbstractStreamWriter) -> None:
    """Wait until everything written so far has left this process for the socket.

    Called right before the "sent" hook: the hook records that the request may be applied,
    so the bytes before the last one should already be in the kernel, which delivers them
    even if this process is killed the next instant. Lowering the transport's high-water
    mark to zero pauses the protocol while anything is buffered, and ``drain()`` waits for
    the resume; the limits are put back afterwards.
    """
    transport = getattr(writer, "transport", None)
    if transport is None or transport.is_closing() or not transport.get_write_buffer_size():
        return
    try:
        low, high = transport.get_write_buffer_limits()
        transport.set_write_buffer_limits(high=0)
    except (AttributeError, NotImplementedError):  # a transport without flow control
        return
    try:
        await writer.drain()
    finally:
        if not transport.is_closing():
            transport.set_write_buffer_limits(high=high, low=low)


def refuse_unverified_tls(writer: AbstractStreamWriter) -> None:
    """Refuse to write a body (it carries the credentials) over TLS that verifies nothing.

    The client checks its own connections by construction; a session the caller injected
    may have been built with ``ssl=False`` or with an ``SSLContext`` that skips the
    certificate or the host name. aiohttp does not say how a connector was configured,
    but the connection in hand tells which context it was made with. Plain HTTP is the
    configuration's concern (``allow_insecure_http``), not this check's.

    Raises:
        ConfigurationError: The connection's TLS context does not verify the server.
    """
    transport = getattr(writer, "transport", None)
    context = None if transport is None else transport.get_extra_info("sslcontext")
    if context is None:
        return
    if context.verify_mode == ssl.CERT_NONE:
        raise ConfigurationError(
            "the injected session disables TLS certificate verification (ssl=False or an "
            "SSLContext with verify_mode=CERT_NONE); zyntro_async refuses to send "
            "credentials that way"
        )
    if not context.check_hostname:
        raise ConfigurationError(
            "the injected session uses an SSLContext that does not check the server's host "
            "name (check_hostname=False); zyntro_async refuses to send credentials that way"
        )


def _refuse_unverified_tls_for(
    body: Base64JsonPayload | HookedBytesPayload, writer: AbstractStreamWriter
) -> None:
    """:func:`refuse_unverified_tls`, the refusal kept as the payload's own error."""
    try:
        refuse_unverified_tls(writer)
    except ConfigurationError as exc:
        body.error = exc
        raise


class Base64JsonPayload(payload.Payload):
    """A JSON object whose ``file_data`` value is a file, base64-encoded while sending.

    Args:
        fields: the other keys of the body (credentials included).
        source: the file.
        before_last: awaited before the closing bytes are written (the attempt
            observer's ``before_last_byte``, for the journal's "sent" mark).
        check_tls: refuse to write over a connection whose TLS verifies nothing
            (:func:`refuse_unverified_tls`; for sessions the caller injected).

    Attributes:
        error: the exception this payload itself raised while writing (the file could not
            be read, or ``before_last`` failed), ``None`` otherwise. aiohttp wraps it as a
            connection error; the transport reads it here to tell "our body never
            completed" (not applied) from a network failure (maybe applied).
    """

    _autoclose = True

    def __init__(
        self,
        fields: dict[str, Any],
        source: FileSource,
        before_last: BeforeLastByte | None = None,
        *,
        check_tls: bool = False,
    ) -> None:
        super().__init__(source, content_type="application/json")
        self._check_tls = check_tls
        head = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
        self._prefix = (head[:-1] + ("," if fields else "") + '"file_data":"').encode()
        self._suffix = b'"}'
        self._source = source
        self._before_last = before_last
        self.error: BaseException | None = None
        # None: chunked transfer encoding (a stream's length is known only at its end).
        self._size = (
            None
            if source.size is None
            else len(self._prefix) + base64_length(source.size) + len(self._suffix)
        )

    @property
    def known_size(self) -> int:
        """Bytes of body known up front (the JSON around a stream of unknown length)."""
        return self._size if self._size is not None else len(self._prefix) + len(self._suffix)

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        """Not supported: the body is never held in memory whole."""
        raise TypeError("Base64JsonPayload is streamed and cannot be decoded in memory")

    async def write(self, writer: AbstractStreamWriter) -> None:
        """Write the prefix, the file as base64 (a slice per turn of the loop), the suffix."""
        if self._check_tls:
            _refuse_unverified_tls_for(self, writer)
        await writer.write(self._prefix)
        chunks = self._source.open_chunks()
        while True:
            try:
                chunk = await anext(chunks)
            except StopAsyncIteration:
                break
            except Exception as exc:
                self.error = exc
                raise
            view = memoryview(chunk)
            for start in range(0, len(view), ENCODE_SLICE):
                # A slice's base64 takes a fraction of a millisecond; the checkpoint lets
                # the loop (and the other uploads) run before the next one.
                await writer.write(base64.b64encode(view[start : start + ENCODE_SLICE]))
                await anyio.lowlevel.checkpoint()
        if self._before_last is not None:
            await _flush_to_kernel(writer)
            try:
                await self._before_last()
            except Exception as exc:
                self.error = exc
                raise
        await writer.write(self._suffix)

    async def write_with_length(
        self, writer: AbstractStreamWriter, content_length: int | None
    ) -> None:
        """aiohttp >= 3.12 calls this; the length is ours, so write everything."""
        await self.write(writer)


class HookedBytesPayload(payload.BytesPayload):
    """A JSON body whose last byte waits for ``before_last`` (the journal's "sent" mark).

    Args:
        body: the serialised body.
        before_last: awaited before the last byte is written; ``None`` writes it all at once.
        check_tls: refuse to write over a connection whose TLS verifies nothing
            (:func:`refuse_unverified_tls`; for sessions the caller injected).

    Attributes:
        error: what this payload itself raised (``before_last``'s error, or the TLS
            refusal), if anything (see :class:`Base64JsonPayload`).
    """

    def __init__(
        self, body: bytes, before_last: BeforeLastByte | None, *, check_tls: bool = False
    ) -> None:
        super().__init__(body, content_type="application/json")
        self._body = body
        self._before_last = before_last
        self._check_tls = check_tls
        self.error: BaseException | None = None

    async def write(self, writer: AbstractStreamWriter) -> None:
        """Write all but the last byte, await the hook, write the last byte."""
        if self._check_tls:
            _refuse_unverified_tls_for(self, writer)
        if self._before_last is None:
            await writer.write(self._body)
            return
        await writer.write(self._body[:-1])
        await _flush_to_kernel(writer)
        try:
            await self._before_last()
        except Exception as exc:
            self.error = exc
            raise
        await writer.write(self._body[-1:])

    async def write_with_length(
        self, writer: AbstractStreamWriter, content_length: int | None
    ) -> None:
        """aiohttp >= 3.12 calls this; the length is the body's own."""
        await self.write(writer)
