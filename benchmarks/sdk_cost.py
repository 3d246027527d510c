"""The SDK's own CPU per request, without sockets: ``python -m benchmarks.sdk_cost``.

``contacts.upsert`` and the raw aiohttp baseline's per-request work (build the body, post
it, read and check the envelope) both run against a stand-in session that answers at once,
in one process, interleaved. What is left is the code each side runs around aiohttp, which
the socket benchmarks (``--only overhead``) can only see through the noise of two processes
sharing two cores. Prints microseconds of CPU per request: the best of several rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, cast

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy

from benchmarks._spec import CREDENTIALS, fallback_upsert_template
from benchmarks.scenarios import _check_envelope, _names, _upsert_body
from zyntro_async import Contact, ZyntroClient

__all__ = ["main"]

_ANSWER = (
    b'{"status":"success","data":{"contact_id":"a1b2c3d4-e5f6-7890-abcd-ef1234567890",'
    b'"action":"created"}}'
)
_HEADERS = CIMultiDictProxy(
    CIMultiDict(
        {"Content-Type": "application/json; charset=utf-8", "Content-Length": str(len(_ANSWER))}
    )
)


class _Response:
    """What the SDK and the baseline read of an aiohttp response."""

    status = 200
    headers = _HEADERS
    content_length = len(_ANSWER)

    async def read(self) -> bytes:
        return _ANSWER

    async def json(self) -> Any:
        return json.loads(_ANSWER)

    def raise_for_status(self) -> None:
        pass


class _Post:
    async def __aenter__(self) -> _Response:
        return _Response()

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None


class _Session:
    """Stands in for ``aiohttp.ClientSession``: every post is answered at once."""

    closed = False
    connector = None  # the client's TLS check finds nothing to refuse

    def post(self, url: object, **options: object) -> _Post:
        return _Post()

    async def close(self) -> None:
        pass


async def _measure(rounds: int, count: int) -> dict[str, float]:
    session = _Session()
    template = fallback_upsert_template()
    zy = ZyntroClient(
        api_key=CREDENTIALS["api_key"],
        developer_secret=CREDENTIALS["developer_secret"],
        org_id=CREDENTIALS["org_id"],
        member_id=CREDENTIALS["member_id"],
        base_url="http://127.0.0.1:9",
        session=cast(aiohttp.ClientSession, session),
    )

    async def sdk(i: int) -> object:
        first, email = _names(i)
        return await zy.contacts.upsert(Contact(first_name=first, primary_email=email))

    async def raw(i: int) -> object:
        async with session.post("url", data=_upsert_body(template, i)) as response:
            response.raise_for_status()
            return _check_envelope(await response.json())

    calls: dict[str, Callable[[int], Awaitable[object]]] = {"raw": raw, "sdk": sdk}
    best = dict.fromkeys(calls, float("inf"))
    for call in calls.values():  # warm up
        for i in range(count // 10):
            await call(i)
    for _ in range(rounds):
        for name, call in calls.items():
            started = time.process_time()
            for i in range(count):
                await call(i)
            best[name] = min(best[name], (time.process_time() - started) / count * 1e6)
    await zy.aclose()
    return best


def main(argv: list[str] | None = None) -> int:
    """Print the CPU per request of each side and the SDK's extra."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sdk_cost", description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--count", type=int, default=20_000)
    args = parser.parse_args(argv)
    best = asyncio.run(_measure(args.rounds, args.count))
    print(
        f"raw baseline's own work: {best['raw']:.1f} us, SDK: {best['sdk']:.1f} us per request "
        f"(the SDK's extra: {best['sdk'] - best['raw']:.1f} us; best of {args.rounds} rounds "
        f"of {args.count:,})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
