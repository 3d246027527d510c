"""``attachments.add_file``: where the bytes come from, how they are encoded and typed.

The body is streamed (a :class:`~zyntro_async._files.Base64JsonPayload`), so most tests
collect it through a fake writer; the Content-Length tests send it to a real aiohttp.web
server on 127.0.0.1 that records exactly what arrived.
"""

from __future__ import annotations

import base64
import io
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from aiohttp import web
from aioresponses import aioresponses

from zyntro_async import FileInsert, RequestValidationError, ZyntroClient
from zyntro_async._files import CHUNK_BYTES, ENCODE_SLICE, Base64JsonPayload, file_source

from ._helpers import (
    ATTACHMENT_DATA,
    CONTACT_ID,
    DOC_CREDENTIALS,
    MANAGE_ATTACHMENTS,
    attempts,
    calls,
    no_request_was_made,
    payload_bytes,
    sent_json,
    success,
    url,
)
from .conftest import ClientFactory

# The documented allow-list (manageAttachments, UNSUPPORTED_FILE), written out here rather
# than imported, so the test checks the SDK's table instead of reusing it.
MIME_BY_EXTENSION = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "svg": "image/svg+xml",
    "webp": "image/webp",
    "pdf": "application/pdf",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt": "application/vnd.ms-powerpoint",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "txt": "text/plain",
    "csv": "text/csv",
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "mp4": "video/mp4",
    "webm": "video/webm",
    "mov": "video/quicktime",
    "zip": "application/zip",
}

CONTENT = bytes(range(256)) * 3 + b"tail"  # 772 bytes: not a multiple of 3, every byte value


@pytest.fixture
def answered(mocked: aioresponses) -> aioresponses:
    mocked.post(url(MANAGE_ATTACHMENTS), payload=success(ATTACHMENT_DATA), repeat=True)
    return mocked


def decoded_file(body: dict[str, Any]) -> bytes:
    return base64.b64decode(body["file_data"], validate=True)


# ---- sources ---------------------------------------------------------------------------


async def test_a_path_is_uploaded_with_its_own_name(
    zy: ZyntroClient, answered: aioresponses, tmp_path: Path
) -> None:
    path = tmp_path / "contract.pdf"
    path.write_bytes(CONTENT)
    await zy.attachments.add_file(CONTACT_ID, path)
    body = await sent_json(answered, MANAGE_ATTACHMENTS)
    assert decoded_file(body) == CONTENT
    assert (body["att_name"], body["file_type"]) == ("contract.pdf", "application/pdf")


async def test_a_path_given_as_str_works_like_a_pathlike(
    zy: ZyntroClient, answered: aioresponses, tmp_path: Path
) -> None:
    path = tmp_path / "photo.png"
    path.write_bytes(CONTENT)
    await zy.attachments.add_file(CONTACT_ID, os.fspath(path), name="Team photo.png")
    body = await sent_json(answered, MANAGE_ATTACHMENTS)
    assert decoded_file(body) == CONTENT
    assert (body["att_name"], body["file_type"]) == ("Team photo.png", "image/png")


async def test_bytes_are_uploaded_under_the_given_name(
    zy: ZyntroClient, answered: aioresponses
) -> None:
    await zy.attachments.add_file(CONTACT_ID, CONTENT, name="notes.txt", context="from the fair")
    body = await sent_json(answered, MANAGE_ATTACHMENTS)
    assert decoded_file(body) == CONTENT
    assert body["file_type"] == "text/plain"
    assert body["att_context"] == "from the fair"


@pytest.mark.parametrize("kind", [bytearray, memoryview])
async def test_bytearray_and_memoryview_are_bytes_too(
    zy: ZyntroClient, answered: aioresponses, kind: type[Any]
) -> None:
    await zy.attachments.add_file(CONTACT_ID, kind(CONTENT), name="a.zip")
    assert decoded_file(await sent_json(answered, MANAGE_ATTACHMENTS)) == CONTENT


async def test_an_open_binary_file_is_uploaded_with_its_name(
    zy: ZyntroClient, answered: aioresponses, tmp_path: Path
) -> None:
    path = tmp_path / "sheet.xlsx"
    path.write_bytes(CONTENT)
    with path.open("rb") as handle:
        await zy.attachments.add_file(CONTACT_ID, handle)
        body = await sent_json(answered, MANAGE_ATTACHMENTS)
    assert decoded_file(body) == CONTENT
    assert body["att_name"] == "sheet.xlsx"
    assert body["file_type"] == MIME_BY_EXTENSION["xlsx"]


async def test_a_file_object_is_sent_from_its_current_position(
    zy: ZyntroClient, answered: aioresponses
) -> None:
    handle = io.BytesIO(b"HEADER" + CONTENT)
    handle.seek(6)
    await zy.attachments.add_file(CONTACT_ID, handle, name="rest.txt")
    assert decoded_file(await sent_json(answered, MANAGE_ATTACHMENTS)) == CONTENT


async def test_a_file_object_that_cannot_seek_is_read_once_and_only_while_sending(
    zy: ZyntroClient, answered: aioresponses
) -> None:
    class Stream:
        def __init__(self) -> None:
            self.served = 0

        def read(self, size: int = -1) -> bytes:
            # Hands out its content once, then end of file, like a pipe.
            self.served += 1
            return CONTENT if self.served == 1 else b""

    stream = Stream()
    request = FileInsert(contact_id=CONTACT_ID, file=stream, name="pipe.txt")
    assert stream.served == 0  # validating reads nothing
    await zy.send(request)
    # (aioresponses keeps a copy of the body; tests/integration/test_streams.py sends
    # streams over real sockets and counts the reads.)
    assert decoded_file(await sent_json(answered, MANAGE_ATTACHMENTS)) == CONTENT


async def test_a_file_spanning_several_chunks_is_encoded_exactly(
    zy: ZyntroClient, answered: aioresponses, tmp_path: Path
) -> None:
    content = os.urandom(4 * CHUNK_BYTES + 2)
    path = tmp_path / "video.mp4"
    path.write_bytes(content)
    await zy.attachments.add_file(CONTACT_ID, path)
    assert decoded_file(await sent_json(answered, MANAGE_ATTACHMENTS)) == content


async def test_a_file_is_encoded_a_slice_at_a_time_with_the_loop_running_in_between(
    tmp_path: Path,
) -> None:
    # base64 holds the GIL, so it runs on the loop's thread, in slices short enough that
    # every other task (other uploads, heartbeats, timeouts) runs between two of them.
    class Sink:
        def __init__(self) -> None:
            self.chunks: list[bytes] = []

        async def write(self, chunk: bytes) -> None:
            self.chunks.append(bytes(chunk))

    content = os.urandom(2 * CHUNK_BYTES + 5)
    path = tmp_path / "video.mp4"
    path.write_bytes(content)
    body = Base64JsonPayload({"att_name": "video.mp4"}, file_source(path))
    sink = Sink()
    turns = 0

    async def count_turns() -> None:
        nonlocal turns
        while True:
            await anyio.lowlevel.checkpoint()
            turns += 1

    async with anyio.create_task_group() as tg:
        tg.start_soon(count_turns)
        await body.write(sink)  # type: ignore[arg-type]
        tg.cancel_scope.cancel()

    prefix, *pieces, suffix = sink.chunks
    assert base64.b64decode(b"".join(pieces), validate=True) == content
    assert max(len(piece) for piece in pieces) == 4 * ENCODE_SLICE // 3
    assert turns >= len(pieces)
    assert json.loads(prefix + b"".join(pieces) + suffix)["att_name"] == "video.mp4"


async def test_the_streamed_body_is_exactly_as_long_as_it_declares(
    zy: ZyntroClient, answered: aioresponses
) -> None:
    await zy.attachments.add_file(CONTACT_ID, CONTENT, name="a.csv")
    payload = calls(answered, MANAGE_ATTACHMENTS)[0].kwargs["data"]
    assert payload.size == len(await payload_bytes(payload))


async def test_a_retried_upload_sends_the_whole_file_again(
    make_client: ClientFactory, mocked: aioresponses, tmp_path: Path
) -> None:
    path = tmp_path / "deck.pptx"
    path.write_bytes(CONTENT)
    mocked.post(url(MANAGE_ATTACHMENTS), status=429, headers={"Retry-After": "1"})
    mocked.post(url(MANAGE_ATTACHMENTS), payload=success(ATTACHMENT_DATA))
    async with make_client(max_retries=1) as zy:
        await zy.attachments.add_file(CONTACT_ID, path)
    assert attempts(mocked, MANAGE_ATTACHMENTS) == 2
    first = await sent_json(mocked, MANAGE_ATTACHMENTS, 0)
    assert first == await sent_json(mocked, MANAGE_ATTACHMENTS, 1)
    assert decoded_file(first) == CONTENT


# ---- the MIME type ---------------------------------------------------------------------


@pytest.mark.parametrize(("extension", "mime"), sorted(MIME_BY_EXTENSION.items()))
async def test_the_mime_type_is_guessed_from_every_allowed_extension(
    zy: ZyntroClient, answered: aioresponses, extension: str, mime: str
) -> None:
    await zy.attachments.add_file(CONTACT_ID, b"x", name=f"upload.{extension}")
    assert (await sent_json(answered, MANAGE_ATTACHMENTS))["file_type"] == mime


async def test_the_extension_is_matched_regardless_of_case(
    zy: ZyntroClient, answered: aioresponses
) -> None:
    await zy.attachments.add_file(CONTACT_ID, b"x", name="SCAN.JPG")
    assert (await sent_json(answered, MANAGE_ATTACHMENTS))["file_type"] == "image/jpeg"


async def test_an_explicit_file_type_wins_over_the_name(
    zy: ZyntroClient, answered: aioresponses
) -> None:
    await zy.attachments.add_file(CONTACT_ID, b"x", name="export.bin", file_type="application/zip")
    assert (await sent_json(answered, MANAGE_ATTACHMENTS))["file_type"] == "application/zip"


@pytest.mark.parametrize(
    ("name", "file_type"),
    [
        ("setup.exe", None),  # guessed, but not on the allow-list
        ("archive.7z", None),
        ("README", None),  # nothing to guess from
        ("a.pdf", "application/x-msdownload"),
        ("a.pdf", "text/html"),
    ],
)
async def test_a_type_outside_the_allow_list_is_refused_before_sending(
    zy: ZyntroClient, mocked: aioresponses, name: str, file_type: str | None
) -> None:
    with pytest.raises(RequestValidationError) as excinfo:
        await zy.attachments.add_file(CONTACT_ID, b"x", name=name, file_type=file_type)
    assert excinfo.value.field == "file_type"
    assert no_request_was_made(mocked)


# ---- bad sources -----------------------------------------------------------------------


async def test_bytes_without_a_name_are_refused(zy: ZyntroClient, mocked: aioresponses) -> None:
    with pytest.raises(RequestValidationError) as excinfo:
        await zy.attachments.add_file(CONTACT_ID, CONTENT)
    assert excinfo.value.field == "name"
    assert no_request_was_made(mocked)


@pytest.mark.parametrize("name", [5, b"a.pdf", "", "   "])
async def test_a_name_that_is_not_a_real_string_is_refused(
    zy: ZyntroClient, mocked: aioresponses, name: Any
) -> None:
    with pytest.raises(RequestValidationError) as excinfo:
        await zy.attachments.add_file(CONTACT_ID, CONTENT, name=name)
    assert excinfo.value.field == "name"
    assert no_request_was_made(mocked)


async def test_a_missing_path_is_refused(
    zy: ZyntroClient, mocked: aioresponses, tmp_path: Path
) -> None:
    with pytest.raises(RequestValidationError) as excinfo:
        await zy.attachments.add_file(CONTACT_ID, tmp_path / "nope.pdf")
    assert excinfo.value.field == "file"
    assert no_request_was_made(mocked)


async def test_a_directory_is_refused(
    zy: ZyntroClient, mocked: aioresponses, tmp_path: Path
) -> None:
    folder = tmp_path / "folder.zip"
    folder.mkdir()
    with pytest.raises(RequestValidationError) as excinfo:
        await zy.attachments.add_file(CONTACT_ID, folder)
    assert excinfo.value.field == "file"
    assert no_request_was_made(mocked)


async def test_a_text_mode_file_is_refused(
    zy: ZyntroClient, mocked: aioresponses, tmp_path: Path
) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with path.open() as handle, pytest.raises(RequestValidationError) as excinfo:
        await zy.attachments.add_file(CONTACT_ID, handle)
    assert excinfo.value.field == "file"
    assert no_request_was_made(mocked)


@pytest.mark.parametrize("file", [12345, None, ["a"], {"path": "a.pdf"}])
async def test_something_that_is_not_a_file_is_refused(
    zy: ZyntroClient, mocked: aioresponses, file: Any
) -> None:
    with pytest.raises(RequestValidationError) as excinfo:
        await zy.attachments.add_file(CONTACT_ID, file, name="a.pdf")
    assert excinfo.value.field == "file"
    assert no_request_was_made(mocked)


# ---- on the wire, to a real server -----------------------------------------------------


class Recorder:
    """What a real aiohttp.web server received."""

    def __init__(self) -> None:
        self.headers: list[dict[str, str]] = []
        self.bodies: list[bytes] = []


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, Recorder]]:
    recorder = Recorder()

    async def handle(request: web.Request) -> web.Response:
        recorder.headers.append(dict(request.headers))
        recorder.bodies.append(await request.read())
        return web.json_response(success(ATTACHMENT_DATA))

    app = web.Application(client_max_size=64 * 2**20)
    app.router.add_post("/apis/v2/public/crm/manageAttachments", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}", recorder
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("size", [0, 1, 2, 3, 1000, CHUNK_BYTES + 1])
async def test_content_length_matches_the_bytes_sent(
    server: tuple[str, Recorder], size: int
) -> None:
    base_url, recorder = server
    content = os.urandom(size)
    async with ZyntroClient(**DOC_CREDENTIALS, base_url=base_url) as zy:
        result = await zy.attachments.add_file(CONTACT_ID, content, name="blob.zip")
    assert result.att_id == ATTACHMENT_DATA["att_id"]
    (headers,), (body,) = recorder.headers, recorder.bodies
    assert int(headers["Content-Length"]) == len(body)
    assert "Transfer-Encoding" not in headers
    assert headers["Content-Type"] == "application/json"
    sent = json.loads(body)
    assert base64.b64decode(sent["file_data"], validate=True) == content
    assert set(sent) == {*DOC_CREDENTIALS, "action", "contact_id", "att_type", "att_name"} | {
        "file_data",
        "file_type",
    }


async def test_a_file_from_disk_arrives_intact(
    server: tuple[str, Recorder], tmp_path: Path
) -> None:
    base_url, recorder = server
    content = os.urandom(2 * CHUNK_BYTES + 5)
    path = tmp_path / "recording.wav"
    path.write_bytes(content)
    async with ZyntroClient(**DOC_CREDENTIALS, base_url=base_url) as zy:
        await zy.attachments.add_file(CONTACT_ID, path, context="call recording")
    sent = json.loads(recorder.bodies[0])
    assert base64.b64decode(sent["file_data"]) == content
    assert (sent["att_name"], sent["file_type"], sent["att_context"]) == (
        "recording.wav",
        "audio/wav",
        "call recording",
    )
    assert int(recorder.headers[0]["Content-Length"]) == len(recorder.bodies[0])


# ---- the bytes before the "sent" mark are in the kernel ------------------------------


async def test_the_write_buffer_is_flushed_to_the_socket_before_the_sent_hook() -> None:
    # The journal's "sent" mark is written by the hook; everything before the last byte
    # must already have left the process by then, so a kill right after loses nothing the
    # mark claims. A slow reader keeps the transport's buffer non-empty until we flush.
    import asyncio

    from aiohttp.base_protocol import BaseProtocol
    from aiohttp.http_writer import StreamWriter

    from zyntro_async._files import _flush_to_kernel

    finished = asyncio.Event()

    async def slow_reader(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.read(256 * 1024):  # noqa: ASYNC110 - a slow reader, on purpose
            await asyncio.sleep(0.002)
        writer.close()
        await writer.wait_closed()
        finished.set()

    server = await asyncio.start_server(slow_reader, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_connection(
        lambda: BaseProtocol(loop), "127.0.0.1", port
    )
    try:
        limits = transport.get_write_buffer_limits()
        writer = StreamWriter(protocol, loop)
        transport.write(b"x" * (16 * 1024 * 1024))  # straight into the buffer, no drain
        assert transport.get_write_buffer_size() > 0
        await _flush_to_kernel(writer)
        assert transport.get_write_buffer_size() == 0
        assert transport.get_write_buffer_limits() == limits
        assert not protocol.writing_paused
    finally:
        transport.close()
        await asyncio.wait_for(finished.wait(), 10)
        server.close()
        await server.wait_closed()


async def test_flushing_a_writer_without_a_transport_returns_at_once() -> None:
    from zyntro_async._files import _flush_to_kernel

    class Detached:
        transport = None

    await _flush_to_kernel(Detached())  # type: ignore[arg-type]
