"""Uploads from streams and files that fail, over real sockets (the emulator on loopback).

A file is read only while its request is being sent, never while it is validated. A
non-seekable stream (a pipe, a socket, a generator behind ``readinto``) is sent once, in
full, with chunked transfer encoding; when a retry would have to send it again, the item
fails with that reason. A body that never completed (the file could not be read, or was
truncated mid-upload) was not applied: ``failed`` in a bulk run, a plain (not ambiguous)
``APIConnectionError`` for a single call, never ``unknown``.
"""

from __future__ import annotations

import errno
import io
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from zyntro_async import (
    AmbiguousOutcomeError,
    APIConnectionError,
    FileInsert,
    RequestValidationError,
    ZyntroClient,
)
from zyntro_async._files import CHUNK_BYTES, PathSource
from zyntro_async.bulk import AddFile, ContactBundle, Status
from zyntro_async.models import Contact
from zyntro_async.testing import Emulator, ServerFailure

from .conftest import ClientFactory

MANAGE_ATTACHMENTS = "crm/manageAttachments"
# More than one chunk, and not a multiple of 3: exercises the carry between reads.
CONTENT = os.urandom(CHUNK_BYTES + 100_001)


@pytest.fixture
def contact_id(zyntro_emulator: Emulator) -> str:
    return zyntro_emulator.add_contact(fields={"firstName": "Jane"}).contact_id


class GeneratorStream(io.RawIOBase):
    """A non-seekable binary stream whose ``readinto`` pulls pieces from a generator."""

    def __init__(self, pieces: Iterator[bytes]) -> None:
        self._pieces = pieces
        self._pending = b""
        self.pulls = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if not self._pending:
            try:
                self._pending = next(self._pieces)
            except StopIteration:
                return 0
            self.pulls += 1
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count


def pieces(data: bytes, size: int = 10_007) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def stored_files(emulator: Emulator) -> list[bytes]:
    return [a.data for a in emulator.attachments if a.att_type == "file"]


async def test_a_pipe_is_sent_once_and_in_full(
    make_client: ClientFactory, zyntro_emulator: Emulator, contact_id: str
) -> None:
    read_end, write_end = os.pipe()

    def feed() -> None:
        with os.fdopen(write_end, "wb") as sink:
            sink.write(CONTENT)

    writer = threading.Thread(target=feed)
    writer.start()
    try:
        with os.fdopen(read_end, "rb") as pipe:
            async with make_client() as zy:
                report = await zy.bulk.run([AddFile(contact_id, pipe, name="x.txt")])
    finally:
        writer.join()
    assert report.all_succeeded
    assert stored_files(zyntro_emulator) == [CONTENT]
    assert zyntro_emulator.request_counts[MANAGE_ATTACHMENTS] == 1


async def test_a_socket_stream_is_sent_once_and_in_full(
    zyntro_client: ZyntroClient, zyntro_emulator: Emulator, contact_id: str
) -> None:
    ours, theirs = socket.socketpair()

    def feed() -> None:
        with theirs:
            theirs.sendall(CONTENT)
            theirs.shutdown(socket.SHUT_WR)

    writer = threading.Thread(target=feed)
    writer.start()
    try:
        with ours, ours.makefile("rb") as stream:
            result = await zyntro_client.attachments.add_file(contact_id, stream, name="s.csv")
    finally:
        writer.join()
    assert result.att_id
    assert stored_files(zyntro_emulator) == [CONTENT]


async def test_a_generator_backed_stream_is_read_only_while_sending(
    zyntro_client: ZyntroClient, zyntro_emulator: Emulator, contact_id: str
) -> None:
    stream = GeneratorStream(pieces(CONTENT))
    bundle = ContactBundle(
        Contact(first_name="Ann", primary_email="ann@acme.example"),
        attachments=[AddFile(None, stream, name="g.txt")],
    )
    assert stream.pulls == 0  # building (and validating) the item read nothing
    report = await zyntro_client.bulk.run([bundle])
    assert report.all_succeeded
    assert stored_files(zyntro_emulator) == [CONTENT]
    assert stream.pulls == len(list(pieces(CONTENT)))


async def test_a_stream_that_a_retry_would_rewind_fails_with_that_reason(
    make_client: ClientFactory, zyntro_emulator: Emulator, contact_id: str
) -> None:
    # A 503 proves the first attempt was not applied, and would be retried; but the stream
    # was consumed by that attempt, and sending what is left of it would lose data.
    zyntro_emulator.faults.add(ServerFailure(status=503), endpoint=MANAGE_ATTACHMENTS, times=1)
    stream = GeneratorStream(pieces(CONTENT))
    async with make_client() as zy:
        report = await zy.bulk.run([AddFile(contact_id, stream, name="g.txt")])
    (result,) = report.results
    assert result.status is Status.FAILED
    assert isinstance(result.error, RequestValidationError)
    assert result.error.field == "file"
    assert "cannot be rewound" in str(result.error)
    assert stored_files(zyntro_emulator) == []
    assert zyntro_emulator.request_counts[MANAGE_ATTACHMENTS] == 1


async def test_a_seekable_file_is_sent_again_in_full_after_the_same_failure(
    make_client: ClientFactory, zyntro_emulator: Emulator, contact_id: str
) -> None:
    zyntro_emulator.faults.add(ServerFailure(status=503), endpoint=MANAGE_ATTACHMENTS, times=1)
    async with make_client() as zy:
        report = await zy.bulk.run([AddFile(contact_id, io.BytesIO(CONTENT), name="b.txt")])
    assert report.all_succeeded
    assert stored_files(zyntro_emulator) == [CONTENT]
    assert zyntro_emulator.request_counts[MANAGE_ATTACHMENTS] == 2


# ---- a body that never completed -----------------------------------------------------------


class FailingFile(io.BytesIO):
    """A seekable file whose second read fails with EIO (a disk error mid-upload)."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.reads = 0

    def read(self, size: int | None = -1) -> bytes:
        self.reads += 1
        if self.reads == 2:
            raise OSError(errno.EIO, "Input/output error")
        # A short first read (allowed of any file): the emulator receives part of the
        # body, but not so much that it starts spilling it to disk (it leaks the spill
        # file of a body cut short: an emulator issue, reported).
        return super().read(3000)


def failing_stream() -> GeneratorStream:
    def failing() -> Iterator[bytes]:
        # Small, so the emulator has not started spilling the value to disk (it leaks the
        # spill file when a chunked body is cut short: an emulator issue, reported).
        yield CONTENT[:3000]
        raise OSError(errno.EIO, "Input/output error")

    return GeneratorStream(failing())


@pytest.mark.parametrize("make_file", [lambda: FailingFile(CONTENT), failing_stream])
async def test_a_file_that_fails_mid_read_leaves_the_item_failed_not_unknown(
    make_client: ClientFactory, zyntro_emulator: Emulator, contact_id: str, make_file: object
) -> None:
    async with make_client() as zy:
        report = await zy.bulk.run([AddFile(contact_id, make_file(), name="f.txt")])  # type: ignore[operator]
    (result,) = report.results
    assert result.status is Status.FAILED
    assert isinstance(result.error, APIConnectionError)
    assert not isinstance(result.error, AmbiguousOutcomeError)
    assert "Input/output error" in str(result.error)
    assert stored_files(zyntro_emulator) == []


async def test_a_single_upload_that_fails_mid_read_raises_a_plain_connection_error(
    zyntro_client: ZyntroClient, zyntro_emulator: Emulator, contact_id: str
) -> None:
    with pytest.raises(APIConnectionError) as excinfo:
        await zyntro_client.send(
            FileInsert(contact_id=contact_id, file=FailingFile(CONTENT), name="f.txt")
        )
    assert type(excinfo.value) is APIConnectionError  # not AmbiguousOutcomeError
    assert isinstance(excinfo.value.__cause__, OSError)
    assert excinfo.value.__cause__.errno == errno.EIO
    assert stored_files(zyntro_emulator) == []


async def test_a_file_truncated_while_sending_is_failed_with_the_os_error(
    make_client: ClientFactory,
    zyntro_emulator: Emulator,
    contact_id: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "shrinking.txt"
    fill = PathSource._fill

    def truncate_then_read(self: PathSource, handle: io.FileIO, view: memoryview) -> None:
        # Another process cuts the file after its size was taken, while it is being sent
        # (the request's first bytes are out).
        os.truncate(path, 3000)
        fill(self, handle, view)

    monkeypatch.setattr(PathSource, "_fill", truncate_then_read)
    async with make_client() as zy:
        path.write_bytes(CONTENT)
        report = await zy.bulk.run([AddFile(contact_id, path)])
        path.write_bytes(CONTENT)
        with pytest.raises(APIConnectionError) as excinfo:
            await zy.attachments.add_file(contact_id, path)
    (result,) = report.results
    assert result.status is Status.FAILED
    assert "shrank while being uploaded" in str(result.error)
    assert type(excinfo.value) is APIConnectionError
    assert stored_files(zyntro_emulator) == []
