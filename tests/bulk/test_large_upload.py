"""Large attachments stream: bounded memory, a responsive event loop, bounded bytes in flight.

A minimal aiohttp server consumes the upload in chunks and checks it incrementally (the
base64 length, and a SHA-256 of the decoded bytes), so neither side ever holds the file.
The loop's responsiveness is checked as an order of events (another task ran between the
chunks the server received); how long a stall lasts is measured by the benchmarks.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import json
import os
import tracemalloc
from pathlib import Path

import anyio
import attrs
import psutil
import pytest
from aiohttp import web

from zyntro_async import ZyntroClient
from zyntro_async.bulk import AddFile

from ._helpers import ATTACHMENT_DATA, Heartbeat, app_for, serve_app

MiB = 1024 * 1024
MARKER = b'"file_data":"'
ANSWER = json.dumps({"status": "success", "data": ATTACHMENT_DATA}).encode()


@attrs.define
class Upload:
    fields: dict[str, object]
    size: int
    base64_length: int
    sha256: str
    most_at_once: int  # uploads in flight together at some point during this one


@attrs.define
class UploadSink:
    """Takes ``manageAttachments`` uploads apart as they stream in; keeps only digests."""

    uploads: list[Upload] = attrs.Factory(list)
    active: dict[int, int] = attrs.Factory(dict)  # upload number -> most at once so far
    most_at_once: int = 0
    # Set by a test: the heartbeat's tick count is noted at each chunk received.
    heartbeat: Heartbeat | None = None
    ticks_at_chunks: list[int] = attrs.Factory(list)
    _count: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        self._count += 1
        number = self._count
        self.active[number] = 0
        for other in self.active:
            self.active[other] = max(self.active[other], len(self.active))
        self.most_at_once = max(self.most_at_once, len(self.active))
        try:
            upload = await self._consume(request)
        finally:
            most = self.active.pop(number)
        self.uploads.append(attrs.evolve(upload, most_at_once=most))
        return web.Response(body=ANSWER, content_type="application/json")

    async def _consume(self, request: web.Request) -> Upload:
        head, rest, tail = bytearray(), b"", bytearray()
        digest = hashlib.sha256()
        size = b64_length = 0
        in_data = ended = False
        async for received in request.content.iter_chunked(256 * 1024):
            if self.heartbeat is not None:
                self.ticks_at_chunks.append(self.heartbeat.ticks)
            chunk = received
            if not in_data:
                head += chunk
                start = head.find(MARKER)
                if start < 0:
                    continue
                chunk, head, in_data = bytes(head[start + len(MARKER) :]), head[:start], True
            if ended:
                tail += chunk
                continue
            end = chunk.find(b'"')
            data = chunk if end < 0 else chunk[:end]
            if end >= 0:
                tail += chunk[end:]
                ended = True
            b64_length += len(data)
            data = rest + data
            cut = len(data) - len(data) % 4
            decoded = base64.b64decode(data[:cut], validate=True)
            rest = data[cut:]
            digest.update(decoded)
            size += len(decoded)
        assert not rest
        assert bytes(tail) == b'"}'
        fields = json.loads(bytes(head).rstrip(b",") + b"}")
        return Upload(fields, size, b64_length, digest.hexdigest(), 0)


def make_file(path: Path, size: int) -> str:
    """A sparse file of ``size`` bytes with random blocks in it; returns its SHA-256."""
    with path.open("wb") as out:
        out.truncate(size)
        for offset in range(0, size, 16 * MiB):
            out.seek(offset)
            out.write(os.urandom(64 * 1024))
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(4 * MiB):
            digest.update(block)
    return digest.hexdigest()


def client(base_url: str) -> ZyntroClient:
    return ZyntroClient(
        api_key="k", developer_secret="s", org_id="o", member_id="m", base_url=base_url
    )


@pytest.mark.slow
async def test_200_mb_file_uploads_with_flat_memory_and_a_responsive_loop(
    tmp_path: Path,
) -> None:
    size = 200 * MiB
    path = tmp_path / "big.pdf"
    expected = await anyio.to_thread.run_sync(make_file, path, size)
    heartbeat = Heartbeat(interval=0)  # ticks at every turn of the loop
    sink = UploadSink(heartbeat=heartbeat)
    process = psutil.Process()
    peak_rss = rss_before = process.memory_info().rss

    def sample_rss() -> None:
        nonlocal peak_rss
        if heartbeat.ticks % 10 == 0:
            peak_rss = max(peak_rss, process.memory_info().rss)

    heartbeat.samples.append(sample_rss)
    try:
        async with serve_app(app_for(sink.handle)) as base_url, client(base_url) as zy:
            stop = asyncio.Event()
            peak_rss = rss_before = process.memory_info().rss
            tracemalloc.start()
            try:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(heartbeat.run, stop)
                    result = await zy.attachments.add_file("contact-1", path, context="signed")
                    stop.set()
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
    finally:
        path.unlink()

    assert result.att_id == ATTACHMENT_DATA["att_id"]
    (upload,) = sink.uploads
    assert upload.size == size
    assert upload.base64_length == 4 * ((size + 2) // 3)
    assert upload.sha256 == expected
    assert upload.fields["att_type"] == "file"
    assert upload.fields["att_name"] == "big.pdf"
    assert upload.fields["contact_id"] == "contact-1"
    assert peak < 64 * MiB
    assert peak_rss - rss_before < 64 * MiB
    # The loop kept turning during the upload: another task ran between (nearly) every two
    # chunks the server received, instead of the encoding holding the loop for the file.
    marks = sink.ticks_at_chunks
    advanced = sum(later > earlier for earlier, later in itertools.pairwise(marks))
    assert len(marks) > 100
    assert advanced >= 0.9 * (len(marks) - 1)


async def test_bulk_uploads_keep_attachment_bytes_in_flight_under_the_budget(
    tmp_path: Path,
) -> None:
    sizes = [8 * MiB] * 5 + [20 * MiB]
    files: list[tuple[Path, str]] = []
    for number, size in enumerate(sizes):
        path = tmp_path / f"file{number}.pdf"
        files.append((path, await anyio.to_thread.run_sync(make_file, path, size)))
    ops = [AddFile("contact-1", path) for path, _ in files]

    async def upload_all(budget: int) -> UploadSink:
        sink = UploadSink()
        async with serve_app(app_for(sink.handle)) as base_url, client(base_url) as zy:
            report = await zy.bulk.run(ops, concurrency=len(ops), max_inflight_bytes=budget)
        assert report.all_succeeded
        assert {u.sha256 for u in sink.uploads} == {digest for _, digest in files}
        return sink

    try:
        bounded = await upload_all(17 * MiB)
        unbounded = await upload_all(1024 * MiB)
    finally:
        for path, _ in files:
            path.unlink()

    # Two 8 MiB files fit in 17 MiB, a third does not; the 20 MiB file (larger than the
    # whole budget) waits until it has all of it, and travels alone.
    assert bounded.most_at_once == 2
    (big,) = (u for u in bounded.uploads if u.size == 20 * MiB)
    assert big.most_at_once == 1
    assert unbounded.most_at_once > 2
