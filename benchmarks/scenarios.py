"""The client side of every benchmark: the SDK and the hand-written baselines it is held to.

Each scenario is a coroutine taking a :class:`Spec` and returning a flat ``dict`` of
figures. They run one per fresh worker process (see :mod:`benchmarks._worker`), so peak
memory, CPU time and garbage-collector state belong to that scenario alone.

Baselines are written the way a careful user would write them without the SDK: one
``aiohttp.ClientSession`` (or ``httpx.AsyncClient``) with the same connection limit, the
same JSON body built per item, the response parsed and its envelope checked. The load
driver (``concurrency`` workers pulling item numbers from one counter) is shared by all of
them, so the only difference between two columns of a comparison is the client.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import attrs

from benchmarks._measure import MB, Heartbeat, PeakRSS, Stopwatch
from benchmarks._spec import CONTACT_ID, CREDENTIALS, Spec
from zyntro_async import Contact, ZyntroClient

__all__ = ["SCENARIOS", "run_scenario"]

_API = "/apis/v2/public"
_JSON_HEADERS = {"Content-Type": "application/json"}
Result = dict[str, Any]


def _names(i: int) -> tuple[str, str]:
    return f"User{i}", f"user{i}@bench.example"


def _upsert_body(template: dict[str, Any], i: int) -> bytes:
    """Build the body of upsert number ``i`` the way a hand-written client would."""
    first, email = _names(i)
    contact = {**template["contact"], "firstName": first, "primaryEmail": email}
    return json.dumps({**template, "contact": contact}, separators=(",", ":")).encode()


def _check_envelope(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict) or payload.get("status") != "success":
        raise RuntimeError(f"unexpected response: {payload!r:.200}")
    data: dict[str, Any] = payload["data"]
    return data


# How long calls still in flight at a ``max_seconds`` deadline may take before they are
# cancelled (a slow client's tail would otherwise dominate the run's duration).
_DEADLINE_GRACE_S = 0.5


async def _drive(
    count: int,
    concurrency: int,
    call: Callable[[int], Awaitable[object]],
    *,
    max_seconds: float = 0.0,
) -> int:
    """Run ``call(0) .. call(count - 1)`` with ``concurrency`` calls in flight.

    ``concurrency`` long-lived workers pull numbers from one shared counter: no task or
    coroutine per item, so the driver itself costs next to nothing per request. With
    ``max_seconds``, no new call starts after that long (for clients too slow to finish
    ``count`` in reasonable time), and calls still running half a second later are
    cancelled and not counted.

    Returns:
        How many calls completed.
    """
    numbers = itertools.count()
    deadline = time.perf_counter() + max_seconds if max_seconds else float("inf")
    done = 0

    async def worker() -> None:
        nonlocal done
        for i in numbers:
            if i >= count or time.perf_counter() > deadline:
                return
            await call(i)
            done += 1

    workers = [asyncio.ensure_future(worker()) for _ in range(concurrency)]
    if not max_seconds:
        await asyncio.gather(*workers)
        return done
    finished, late = await asyncio.wait(workers, timeout=max_seconds + _DEADLINE_GRACE_S)
    for task in late:
        task.cancel()
    await asyncio.gather(*late, return_exceptions=True)
    for task in finished:
        task.result()  # a failed call fails the scenario
    return done


def _throughput(count: int, watch: Stopwatch) -> Result:
    return {
        "count": count,
        "wall_s": watch.wall,
        "cpu_s": watch.cpu,
        "per_second": count / watch.wall,
        "cpu_us_per_item": watch.cpu / count * 1e6,
    }


def _memory(rss: PeakRSS) -> Result:
    return {
        "rss_baseline_mb": rss.baseline / MB,
        "rss_peak_mb": rss.peak / MB,
        "rss_above_baseline_mb": rss.above_baseline / MB,
        "rss_method": rss.method,
    }


async def _measure_drive(spec: Spec, call: Callable[[int], Awaitable[object]]) -> Result:
    """Warm up, then time ``spec.count`` calls at ``spec.concurrency``."""
    warmup_limit = spec.max_seconds / 4
    await _drive(
        spec.warmup,
        spec.concurrency,
        lambda i: call(spec.count + i),
        max_seconds=warmup_limit,
    )
    watch = Stopwatch()
    with PeakRSS() as rss, watch.running():
        done = await _drive(spec.count, spec.concurrency, call, max_seconds=spec.max_seconds)
    return {**_throughput(done, watch), **_memory(rss), "capped": done < spec.count}


# --------------------------------------------------------------------------- SDK helpers


def _sdk_client(spec: Spec, *, max_connections: int | None = None) -> ZyntroClient:
    return ZyntroClient(
        api_key=CREDENTIALS["api_key"],
        developer_secret=CREDENTIALS["developer_secret"],
        org_id=CREDENTIALS["org_id"],
        member_id=CREDENTIALS["member_id"],
        base_url=spec.base_url,
        max_connections=max_connections or max(spec.concurrency, 1),
    )


def _contacts(start: int, count: int) -> Iterator[Any]:
    """Lazily yield ``count`` UpsertContact operations (never materialised)."""
    # zyntro_async.bulk is imported where used, so the per-request scenarios still run
    # while the bulk engine is broken or unfinished.
    from zyntro_async.bulk import UpsertContact

    for i in range(start, start + count):
        first, email = _names(i)
        yield UpsertContact(contact=Contact(first_name=first, primary_email=email))


def _report_summary(report: Any, expected: int) -> Result:
    """Pull the counts out of a BulkReport and fail loudly if any item did not succeed."""
    summary: Result = {}
    for name in ("total", "succeeded", "failed", "unknown", "skipped", "elapsed"):
        value = getattr(report, name, None)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            summary[f"report_{name}"] = value
    ips = getattr(report, "items_per_second", None)
    if isinstance(ips, (int, float)):
        summary["report_items_per_second"] = ips
    succeeded = summary.get("report_succeeded")
    if succeeded is not None and succeeded != expected:
        raise RuntimeError(f"bulk run: {succeeded} of {expected} items succeeded: {report!r:.500}")
    return summary


async def _bulk_run(zy: Any, items: Any, **options: Any) -> Any:
    return await zy.bulk.run(items, **options)


# --------------------------------------------------------------------------- probe


async def probe_sdk(spec: Spec) -> Result:
    """Send one SDK upsert so the server captures the exact body the SDK builds."""
    first, email = _names(0)
    async with _sdk_client(spec) as zy:
        result = await zy.contacts.upsert(Contact(first_name=first, primary_email=email))
    return {"result_type": type(result).__name__, "count": 1}


# --------------------------------------------------------------------------- per-request


async def upsert_sdk(spec: Spec) -> Result:
    """``zy.contacts.upsert`` called from ``concurrency`` workers."""
    async with _sdk_client(spec) as zy:

        async def call(i: int) -> object:
            first, email = _names(i)
            return await zy.contacts.upsert(Contact(first_name=first, primary_email=email))

        return await _measure_drive(spec, call)


async def upsert_aiohttp(spec: Spec) -> Result:
    """The floor: a raw aiohttp session posting the same bodies."""
    url = f"{spec.base_url}{_API}/crm/addContactsFull"
    connector = aiohttp.TCPConnector(limit=spec.concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def call(i: int) -> object:
            body = _upsert_body(spec.template, i)
            async with session.post(url, data=body, headers=_JSON_HEADERS) as response:
                response.raise_for_status()
                return _check_envelope(await response.json())

        return await _measure_drive(spec, call)


async def upsert_httpx(spec: Spec) -> Result:
    """The same loop on ``httpx.AsyncClient``."""
    # Imported here: the other scenarios' processes should not carry httpx's objects (a
    # bigger heap makes every full garbage collection, a loop stall, longer).
    import httpx

    url = f"{spec.base_url}{_API}/crm/addContactsFull"
    limits = httpx.Limits(
        max_connections=spec.concurrency, max_keepalive_connections=spec.concurrency
    )
    async with httpx.AsyncClient(limits=limits, timeout=30.0) as client:

        async def call(i: int) -> object:
            response = await client.post(
                url, content=_upsert_body(spec.template, i), headers=_JSON_HEADERS
            )
            response.raise_for_status()
            return _check_envelope(response.json())

        return await _measure_drive(spec, call)


async def bulk_upserts(spec: Spec) -> Result:
    """``zy.bulk.run`` over a lazy generator of ``spec.count`` UpsertContact operations."""
    async with _sdk_client(spec) as zy:
        if spec.warmup:
            await _bulk_run(zy, _contacts(spec.count, spec.warmup), concurrency=spec.concurrency)
        watch = Stopwatch()
        with PeakRSS() as rss, watch.running():
            report = await _bulk_run(zy, _contacts(0, spec.count), concurrency=spec.concurrency)
    return {**_throughput(spec.count, watch), **_memory(rss), **_report_summary(report, spec.count)}


async def naive_gather_upserts(spec: Spec) -> Result:
    """What bulk replaces: ``asyncio.gather`` over every item, a semaphore bounding calls."""
    async with _sdk_client(spec) as zy:
        semaphore = asyncio.Semaphore(spec.concurrency)

        async def one(op: Any) -> object:
            async with semaphore:
                return await zy.contacts.upsert(op.contact)

        if spec.warmup:
            await asyncio.gather(*(one(op) for op in _contacts(spec.count, spec.warmup)))
        watch = Stopwatch()
        with PeakRSS() as rss, watch.running():
            await asyncio.gather(*(one(op) for op in _contacts(0, spec.count)))
    return {**_throughput(spec.count, watch), **_memory(rss)}


# --------------------------------------------------------------------------- attachments


def _file_size_sum(paths: tuple[str, ...]) -> int:
    return sum(os.path.getsize(path) for path in paths)


async def _upload_measured(
    spec: Spec,
    upload: Callable[[], Awaitable[object]],
    warm_up: Callable[[], Awaitable[object]],
) -> Result:
    """Time ``upload()`` while recording peak memory and the longest event-loop stall.

    Two control figures come with it: the longest stall of an idle loop in this process
    (the machine's own noise floor) and the longest stall during ``warm_up()``, a small
    upload made first that pays one-time costs (lazy imports, the worker thread) the way
    the first upload of a real process would.
    """
    async with Heartbeat() as idle:
        await asyncio.sleep(0.3)
    async with Heartbeat() as cold:
        await warm_up()
    total = _file_size_sum(spec.paths)
    watch = Stopwatch()
    with PeakRSS() as rss:
        async with Heartbeat() as heartbeat:
            with watch.running():
                await upload()
    return {
        "files": len(spec.paths),
        "bytes": total,
        "wall_s": watch.wall,
        "cpu_s": watch.cpu,
        "mb_per_second": total / MB / watch.wall,
        "max_stall_ms": heartbeat.max_gap * 1000,
        "stalls_over_20ms": heartbeat.long_gaps,
        "heartbeats": heartbeat.beats,
        "idle_max_stall_ms": idle.max_gap * 1000,
        "warmup_max_stall_ms": cold.max_gap * 1000,
        **_memory(rss),
    }


async def upload_sdk(spec: Spec) -> Result:
    """``zy.attachments.add_file`` for one file, or ``zy.bulk.run`` of AddFile for several."""
    async with _sdk_client(spec) as zy:
        # Open the session and a connection first: only the upload is measured.
        await zy.contacts.upsert(Contact(first_name="Warm", primary_email="warm@bench.example"))
        if len(spec.paths) == 1:

            async def warm_up() -> object:
                return await zy.attachments.add_file(CONTACT_ID, spec.small_file)

            async def upload() -> object:
                return await zy.attachments.add_file(CONTACT_ID, spec.paths[0])

        else:
            from zyntro_async.bulk import AddFile

            def add_files(paths: tuple[str, ...]) -> list[Any]:
                return [
                    AddFile(contact_id=CONTACT_ID, file=path, name=os.path.basename(path))
                    for path in paths
                ]

            async def warm_up() -> object:
                report = await _bulk_run(zy, add_files((spec.small_file,)), concurrency=1)
                return _report_summary(report, 1)

            async def upload() -> object:
                report = await _bulk_run(zy, add_files(spec.paths), concurrency=spec.concurrency)
                return _report_summary(report, len(spec.paths))

        return await _upload_measured(spec, upload, warm_up)


def _naive_attachment_body(path: str) -> bytes:
    """Read the whole file, base64 it and dump the whole body: everything in memory at once."""
    with open(path, "rb") as file:
        data = file.read()
    body = {
        **CREDENTIALS,
        "action": "insert",
        "contact_id": CONTACT_ID,
        "att_type": "file",
        "att_name": os.path.basename(path),
        "file_type": "application/pdf",
        "file_data": base64.b64encode(data).decode("ascii"),
    }
    return json.dumps(body).encode()


async def upload_naive(spec: Spec) -> Result:
    """The obvious implementation, posted with aiohttp, ``concurrency`` files at a time."""
    url = f"{spec.base_url}{_API}/crm/manageAttachments"
    connector = aiohttp.TCPConnector(limit=max(spec.concurrency, 1))
    async with aiohttp.ClientSession(connector=connector) as session:
        async with session.post(
            f"{spec.base_url}{_API}/crm/addContactsFull",
            data=_upsert_body(spec.template, 0),
            headers=_JSON_HEADERS,
        ) as warm:
            await warm.read()

        async def post_file(path: str) -> object:
            body = _naive_attachment_body(path)
            async with session.post(url, data=body, headers=_JSON_HEADERS) as response:
                response.raise_for_status()
                return _check_envelope(await response.json())

        return await _upload_measured(
            spec,
            lambda: _drive(
                len(spec.paths), max(spec.concurrency, 1), lambda i: post_file(spec.paths[i])
            ),
            lambda: post_file(spec.small_file),
        )


async def base64_limit(spec: Spec) -> Result:
    """Plain ``base64.b64encode`` of the same bytes, in memory: the ceiling for an upload."""
    data = await asyncio.to_thread(Path(spec.paths[0]).read_bytes)
    # Best of five: this is a ceiling, and a busy machine only ever makes it look lower.
    best = float("inf")
    for _ in range(5):
        watch = Stopwatch()
        with watch.running():
            encoded = base64.b64encode(data)
        best = min(best, watch.wall)
        del encoded
    return {"bytes": len(data), "wall_s": best, "mb_per_second": len(data) / MB / best}


# --------------------------------------------------------------------------- bundles


def _bundles(start: int, count: int, small_file: str) -> Iterator[Any]:
    from zyntro_async.bulk import AddFile, AddNote, ContactBundle

    for i in range(start, start + count):
        first, email = _names(i)
        yield ContactBundle(
            contact=Contact(first_name=first, primary_email=email),
            notes=(
                AddNote(contact_id=None, note=f"First meeting with {first}"),
                AddNote(contact_id=None, note=f"Follow-up call with {first}"),
            ),
            attachments=(AddFile(contact_id=None, file=small_file, name="card.pdf"),),
        )


async def bundles_sdk(spec: Spec) -> Result:
    """``zy.bulk.run`` of ContactBundle(contact, 2 notes, 1 small file)."""
    async with _sdk_client(spec) as zy:
        if spec.warmup:
            await _bulk_run(
                zy,
                _bundles(spec.count, spec.warmup, spec.small_file),
                concurrency=spec.concurrency,
            )
        watch = Stopwatch()
        with PeakRSS() as rss, watch.running():
            report = await _bulk_run(
                zy, _bundles(0, spec.count, spec.small_file), concurrency=spec.concurrency
            )
    return {**_throughput(spec.count, watch), **_memory(rss), **_report_summary(report, spec.count)}


async def bundles_aiohttp(spec: Spec) -> Result:
    """Hand-written bundles on raw aiohttp: upsert, then both notes and the file at once.

    ``concurrency`` means what it means to ``bulk.run``: requests in flight, children
    included (a semaphore around every request). A few more bundles than that are open at
    once, so a bundle waiting for its contact never leaves a request slot idle.
    """
    small = await asyncio.to_thread(Path(spec.small_file).read_bytes)
    file_data = base64.b64encode(small).decode("ascii")
    contact_url = f"{spec.base_url}{_API}/crm/addContactsFull"
    note_url = f"{spec.base_url}{_API}/crm/addNotestoContact"
    file_url = f"{spec.base_url}{_API}/crm/manageAttachments"
    in_flight = asyncio.Semaphore(spec.concurrency)
    connector = aiohttp.TCPConnector(limit=spec.concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def post(url: str, body: dict[str, Any] | bytes) -> dict[str, Any]:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            async with (
                in_flight,
                session.post(url, data=data, headers=_JSON_HEADERS) as response,
            ):
                response.raise_for_status()
                return _check_envelope(await response.json())

        async def bundle(i: int) -> object:
            first, _ = _names(i)
            contact = await post(contact_url, _upsert_body(spec.template, i))
            contact_id = contact["contact_id"]
            note = {**CREDENTIALS, "contact_id": contact_id}
            attachment = {
                **CREDENTIALS,
                "action": "insert",
                "contact_id": contact_id,
                "att_type": "file",
                "att_name": "card.pdf",
                "file_type": "application/pdf",
                "file_data": file_data,
            }
            return await asyncio.gather(
                post(note_url, {**note, "note": f"First meeting with {first}"}),
                post(note_url, {**note, "note": f"Follow-up call with {first}"}),
                post(file_url, attachment),
            )

        open_bundles = spec.concurrency + max(2, spec.concurrency // 4)
        return await _measure_drive(attrs.evolve(spec, concurrency=open_bundles), bundle)


SCENARIOS: dict[str, Callable[[Spec], Coroutine[Any, Any, Result]]] = {
    "probe_sdk": probe_sdk,
    "upsert_sdk": upsert_sdk,
    "upsert_aiohttp": upsert_aiohttp,
    "upsert_httpx": upsert_httpx,
    "bulk_upserts": bulk_upserts,
    "naive_gather_upserts": naive_gather_upserts,
    "upload_sdk": upload_sdk,
    "upload_naive": upload_naive,
    "base64_limit": base64_limit,
    "bundles_sdk": bundles_sdk,
    "bundles_aiohttp": bundles_aiohttp,
}


def run_scenario(spec: Spec) -> Result:
    """Run one scenario to completion on a fresh event loop."""
    return asyncio.run(SCENARIOS[spec.scenario](spec))
