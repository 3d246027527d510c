"""Guarantees that depend on the aiohttp release: why pyproject's floor is what it is.

A hostile (or broken) server must not make the client's memory grow without bound. aiohttp
before 3.13.3 kept reading header lines for as long as a server sent them (2 GB of RSS in 8
seconds); the decompression bound is checked by test_hostile_server.py's "gzip bomb". These
fail below the floor, which is what ``nox -s lowest`` (the lowest allowed version of every
dependency) checks.
"""

from __future__ import annotations

import asyncio

import pytest

from zyntro_async import APIConnectionError, Contact

from ._hostile import RawRequest, RawServer
from .conftest import ClientFactory

MiB = 1024 * 1024
CONTACT = Contact(first_name="Jane", primary_email="jane@acme.com")


async def test_endless_header_lines_are_refused_early(make_client: ClientFactory) -> None:
    written = [0]
    limit = 64 * MiB  # the test's own bound, far above what a bounded client lets through

    async def respond(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\n")
        line = b"X-Padding: " + b"a" * 100 + b"\r\n"
        block = line * 1000
        while written[0] < limit and not writer.transport.is_closing():
            writer.write(block)
            written[0] += len(block)
            try:
                await writer.drain()
            except ConnectionError:
                return

    async with RawServer(respond) as server:
        zy = make_client(server.base_url, max_retries=0)
        with pytest.raises(APIConnectionError):
            await zy.contacts.upsert(CONTACT)
    # The client stopped reading after a bounded number of header lines: what was written
    # is at most that plus the kernel's socket buffers, nowhere near the 64 MiB offered.
    assert written[0] < 16 * MiB
