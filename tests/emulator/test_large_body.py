"""A ~100 MB upload is streamed: peak memory stays far below the body size."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tracemalloc
from collections.abc import AsyncIterator

from zyntro_async.testing import Emulator

from ._raw import RawApi

BLOCK = os.urandom(3 * 256 * 1024)  # 768 KiB raw: 1 MiB of base64, no padding
BLOCKS = 100  # 100 MiB of base64 in the body, 75 MiB decoded
MEMORY_BUDGET = 24 * 2**20


async def test_large_upload_is_streamed_to_disk(api: RawApi, zyntro_emulator: Emulator) -> None:
    contact_id = await api.new_contact()
    head = api.body(
        action="insert",
        contact_id=contact_id,
        att_type="file",
        att_name="big.zip",
        file_type="application/zip",
    )
    prefix = json.dumps(head)[:-1].encode() + b', "file_data": "'
    encoded_block = base64.b64encode(BLOCK)

    async def body() -> AsyncIterator[bytes]:
        yield prefix
        for _ in range(BLOCKS):
            yield encoded_block
        yield b'"}'

    tracemalloc.start()
    try:
        async with api.session.post(
            api.url("crm/manageAttachments"),
            data=body(),
            headers={"Content-Type": "application/json"},
        ) as resp:
            payload = await resp.json()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert payload["status"] == "success", payload
    assert peak < MEMORY_BUDGET, f"peak {peak / 2**20:.1f} MiB"
    stored = zyntro_emulator.attachment(payload["data"]["att_id"])
    assert stored.size == BLOCKS * len(BLOCK)
    assert stored.path is not None
    expected, actual = hashlib.sha256(), hashlib.sha256()
    for _ in range(BLOCKS):
        expected.update(BLOCK)
    with stored.path.open("rb") as fh:
        while chunk := fh.read(2**20):
            actual.update(chunk)
    assert actual.digest() == expected.digest()
    # The log holds a summary, not the upload.
    assert (
        zyntro_emulator.requests[-1].body["file_data"] == f"<{BLOCKS * len(encoded_block)} chars>"
    )
