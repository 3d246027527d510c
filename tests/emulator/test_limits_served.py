"""Rate limits over real sockets: 429 before applying, Retry-After, the log's counts."""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from zyntro_async.testing import (
    ConcurrencyCap,
    Emulator,
    ResetAfterApply,
    Stall,
    TokenBucket,
    WindowQuota,
)

from ._raw import TIMEOUT

ENDPOINT = "crm/addContactsFull"
WALL = 1_800_000_000.0
Factory = Callable[..., Awaitable[Emulator]]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        yield session


async def upsert(
    session: aiohttp.ClientSession, emu: Emulator, n: int, **creds: str
) -> tuple[int, str | None, Any]:
    body = {
        **emu.credentials.as_dict(),
        **creds,
        "contact": {"firstName": f"P{n}", "primaryEmail": f"p{n}@acme.com"},
    }
    async with session.post(f"{emu.base_url}/apis/v2/public/{ENDPOINT}", json=body) as resp:
        return resp.status, resp.headers.get("Retry-After"), await resp.json()


@pytest.mark.zyntro_emulator(limits=[TokenBucket(rate=0.5, burst=2)], clock=Clock())
async def test_token_bucket_refuses_before_applying(
    zyntro_emulator: Emulator, session: aiohttp.ClientSession
) -> None:
    results = [await upsert(session, zyntro_emulator, n) for n in range(3)]

    assert [status for status, _, _ in results] == [200, 200, 429]
    assert results[2][1] == "2"  # 1 / 0.5 s
    assert results[2][2] == {"status": "error", "data": ["Too many requests"]}
    assert zyntro_emulator.find_contact(email="p2@acme.com") is None
    assert zyntro_emulator.applied[ENDPOINT] == 2
    assert zyntro_emulator.rate_limited == {ENDPOINT: 1}
    assert zyntro_emulator.status_counts == {200: 2, 429: 1}
    last = zyntro_emulator.requests[-1]
    assert (last.outcome, last.applied, last.faults) == ("rate_limited", False, ("token_bucket",))
    async with session.get(f"{zyntro_emulator.base_url}/_emulator/stats") as resp:
        stats = await resp.json()
    assert stats == zyntro_emulator.stats()
    assert {k: stats[k] for k in ("requests", "applied", "rate_limited", "status_counts")} == {
        "requests": 3,
        "applied": 2,
        "rate_limited": 1,
        "status_counts": {"200": 2, "429": 1},
    }
    assert len(zyntro_emulator.requests) == 3  # the stats request is not logged


async def test_clock_moves_and_the_limit_changes_live(
    zyntro_emulator_factory: Factory, session: aiohttp.ClientSession
) -> None:
    clock = Clock()
    emu = await zyntro_emulator_factory(limits=[TokenBucket(rate=1, burst=1)], clock=clock)
    assert (await upsert(session, emu, 0))[0] == 200
    assert (await upsert(session, emu, 1))[0] == 429
    clock.now = 1.0
    assert (await upsert(session, emu, 2))[0] == 200

    emu.set_limits(TokenBucket(rate=0.5, burst=1, retry_after="date"))  # halved
    clock.now = 2.0
    assert (await upsert(session, emu, 3))[0] == 200
    clock.now = 3.0
    status, retry_after, _ = await upsert(session, emu, 4)
    assert status == 429
    assert retry_after is not None
    assert email.utils.parsedate_to_datetime(retry_after).timestamp() > 0

    emu.set_limits()  # lifted
    assert (await upsert(session, emu, 5))[0] == 200
    assert emu.applied[ENDPOINT] == 4


@pytest.mark.parametrize("wall", [WALL, None], ids=["its own clock", "this machine's"])
async def test_the_date_header_comes_from_the_clock_of_the_retry_after_dates(
    zyntro_emulator_factory: Factory, session: aiohttp.ClientSession, wall: float | None
) -> None:
    # A server's Date and the dates in its Retry-After come from one clock: a client
    # compares the two to read a date where its own clock is off.
    options: dict[str, Any] = {} if wall is None else {"wall_clock": lambda: wall}
    emu = await zyntro_emulator_factory(
        limits=[WindowQuota(limit=1, window=10, retry_after="date")], clock=Clock(), **options
    )
    await upsert(session, emu, 0)
    body = {**emu.credentials.as_dict(), "contact": {"firstName": "Q", "primaryEmail": "q@x.io"}}
    async with session.post(f"{emu.base_url}/apis/v2/public/{ENDPOINT}", json=body) as resp:
        assert resp.status == 429
        served = email.utils.parsedate_to_datetime(resp.headers["Date"]).timestamp()
        until = email.utils.parsedate_to_datetime(resp.headers["Retry-After"]).timestamp()
    if wall is None:
        assert abs(served - time.time()) <= 2  # aiohttp's own, from this machine's clock
    else:
        assert served == WALL
        assert until == WALL + 10


async def test_per_credential_limit_leaves_other_keys_alone(
    zyntro_emulator_factory: Factory, session: aiohttp.ClientSession
) -> None:
    emu = await zyntro_emulator_factory(
        limits=[WindowQuota(limit=1, window=10, scope="credential", retry_after="none")],
        clock=Clock(),
    )
    other_key = "UYUJH-OTHER-KEY"
    emu.add_user(api_key=other_key, org_ids=[emu.credentials.org_id])

    assert (await upsert(session, emu, 0))[0] == 200
    status, retry_after, _ = await upsert(session, emu, 1)
    assert (status, retry_after) == (429, None)
    assert (await upsert(session, emu, 2, api_key=other_key))[0] == 200


async def test_window_quota_says_when_the_window_ends(
    zyntro_emulator_factory: Factory, session: aiohttp.ClientSession
) -> None:
    clock = Clock()
    clock.now = 3.0
    emu = await zyntro_emulator_factory(limits=[WindowQuota(limit=2, window=10)], clock=clock)
    statuses = [await upsert(session, emu, n) for n in range(3)]
    assert [s for s, _, _ in statuses] == [200, 200, 429]
    assert statuses[2][1] == "7"
    clock.now = 10.0
    assert (await upsert(session, emu, 3))[0] == 200


async def test_concurrency_cap_refuses_while_a_request_is_in_flight(
    zyntro_emulator_factory: Factory, session: aiohttp.ClientSession
) -> None:
    emu = await zyntro_emulator_factory(limits=[ConcurrencyCap(max_in_flight=1, retry_after=0)])
    emu.faults.add(Stall(seconds=60, then="drop"), times=1)  # holds the first request

    first = asyncio.create_task(upsert(session, emu, 0))
    try:
        # The order of events, not a timer: the emulator has no event for "admitted".
        while emu.limits.in_flight() == 0:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        status, retry_after, _ = await upsert(session, emu, 1)
        assert (status, retry_after) == (429, "0")
    finally:
        await emu.stop()  # ends the stall: the first request is dropped
        with pytest.raises(aiohttp.ClientError):
            await first
    assert emu.limits.in_flight() == 0
    assert emu.applied[ENDPOINT] == 0


async def test_a_refused_request_does_not_use_up_a_fault(
    zyntro_emulator_factory: Factory, session: aiohttp.ClientSession
) -> None:
    emu = await zyntro_emulator_factory(limits=[TokenBucket(rate=1, burst=1)], clock=Clock())
    assert (await upsert(session, emu, 0))[0] == 200
    emu.faults.add(ResetAfterApply(), times=1)
    assert (await upsert(session, emu, 1))[0] == 429
    assert emu.faults.fired == {}
    emu.set_limits()
    with pytest.raises(aiohttp.ClientError):
        await upsert(session, emu, 2)  # the fault meets the next handled request
    assert emu.faults.fired == {"reset_after_apply": 1}


async def test_reset_clears_limits_and_counts(
    zyntro_emulator_factory: Factory, session: aiohttp.ClientSession
) -> None:
    emu = await zyntro_emulator_factory(limits=[TokenBucket(rate=1)], clock=Clock())
    await upsert(session, emu, 0)
    await upsert(session, emu, 1)
    emu.reset()
    assert (emu.limits.limits, emu.rate_limited, emu.status_counts) == ((), {}, {})
