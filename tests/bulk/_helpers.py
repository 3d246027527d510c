"""Shared helpers for the bulk engine's tests: inputs, servers, and exactly-once checks.

Fixtures live in ``conftest.py``; these are plain functions the test modules import, so
each test says exactly what it feeds the engine and what it checks in the emulator.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import Any

from aiohttp import web

from zyntro_async import Contact, RetryPolicy, ZyntroClient
from zyntro_async.bulk import (
    AddLink,
    AddNote,
    ContactBundle,
    ItemResult,
    LogComms,
    Status,
    UpsertContact,
)
from zyntro_async.testing import Emulator

ClientFactory = Callable[..., ZyntroClient]
"""Builds clients of the test's emulator (the ``make_client`` fixture)."""

ADD_CONTACTS = "crm/addContactsFull"
ADD_NOTES = "crm/addNotestoContact"
MANAGE_ATTACHMENTS = "crm/manageAttachments"
ADD_COMMS = "crm/addCommsHistory"

# The documented success ``data`` shapes, for the minimal servers some tests start.
CONTACT_DATA = {"action": "created", "contact_id": "c-1", "message": "Contact created"}
ATTACHMENT_DATA = {"action": "inserted", "att_id": "att-1", "message": "Attachment created"}


def fast_retry(*, max_retries: int = 3, seed: int = 0, budget: bool = False) -> RetryPolicy:
    """Real retries with short, seeded backoff (tests should not sit in 8 s waits).

    The client-wide retry budget is off unless ``budget``: most tests check one rule at a
    time and must not depend on how many retries earlier tests' traffic has paid for.
    """
    policy = RetryPolicy(
        max_retries=max_retries, base_delay=0.02, max_delay=0.2, rng=random.Random(seed)
    )
    if not budget:
        policy.budget = None
    return policy


def email(i: int) -> str:
    return f"person{i}@bulk.example"


def bundle(i: int, *, key: str | None = None) -> ContactBundle:
    """Bundle ``i``: a contact, one or two notes, a link and a comms entry, all distinct."""
    notes = [AddNote(None, f"note {i}.0")]
    if i % 2:
        notes.append(AddNote(None, f"note {i}.1", visible=True))
    return ContactBundle(
        Contact(first_name=f"Person{i}", last_name="Bulk", primary_email=email(i)),
        notes=notes,
        attachments=[AddLink(None, name=f"site {i}", url=f"https://bulk.example/{i}")],
        comms=[LogComms(None, "call", f"intro call {i}", source="Phone")],
        key=key,
    )


def bundles(n: int) -> Iterator[ContactBundle]:
    """A lazy input of ``n`` bundles."""
    return (bundle(i) for i in range(n))


def upsert(i: int, *, key: str | None = None) -> UpsertContact:
    return UpsertContact(Contact(first_name=f"Person{i}", primary_email=email(i)), key=key)


class Pulled:
    """Wraps an input to count what the engine pulled from it."""

    def __init__(self, items: Sequence[Any]) -> None:
        self.items = items
        self.count = 0

    def __iter__(self) -> Iterator[Any]:
        for item in self.items:
            self.count += 1
            yield item


def check_one_result_per_input(results: Sequence[ItemResult], n: int) -> None:
    """Every input index 0..n-1 has exactly one result."""
    indexes = Counter(r.index for r in results)
    assert sorted(indexes) == list(range(n))
    assert set(indexes.values()) == {1}


def contact_emails(emu: Emulator) -> dict[str, str]:
    """contact_id -> primary e-mail (lower case) of every stored contact."""
    return {c.contact_id: (c.primary_email or "").lower() for c in emu.contacts}


def child_content(op: Any) -> tuple[str, ...]:
    """What identifies a child's stored record besides its contact."""
    if isinstance(op, AddNote):
        return ("note", op.note)
    if isinstance(op, AddLink):
        return ("link", op.name, op.url)
    if isinstance(op, LogComms):
        return ("comms", op.comms_type, str(op.data))
    raise AssertionError(f"unexpected child {op!r}")


def stored_children(emu: Emulator) -> Counter[tuple[str, ...]]:
    """Every stored note, link and comms entry as ``(email, kind, content...)``."""
    emails = contact_emails(emu)
    found: Counter[tuple[str, ...]] = Counter()
    for note in emu.notes:
        found[(emails[note.contact_id], "note", note.content)] += 1
    for att in emu.attachments:
        found[(emails[att.contact_id], "link", att.name or "", att.link_url or "")] += 1
    for entry in emu.comms:
        found[(emails[entry.contact_id], "comms", entry.comms_type, str(entry.comms_data))] += 1
    return found


def state_multiset(emu: Emulator) -> dict[str, Counter[tuple[Any, ...]]]:
    """The emulator's data as multisets of content (ids differ between runs; content not)."""
    emails = contact_emails(emu)
    return {
        "contacts": Counter(
            (c.primary_email, c.first_name, c.last_name, tuple(c.tags)) for c in emu.contacts
        ),
        "notes": Counter(
            (emails[n.contact_id], n.content, n.note_visibility, n.note_editable) for n in emu.notes
        ),
        "attachments": Counter(
            (emails[a.contact_id], a.att_type, a.name, a.link_url, a.context, a.size)
            for a in emu.attachments
        ),
        "comms": Counter(
            (emails[c.contact_id], c.comms_type, str(c.comms_data), c.source, c.status)
            for c in emu.comms
        ),
    }


def check_exactly_once(emu: Emulator, results: Sequence[ItemResult]) -> Counter[str]:
    """Check each bundle result against the emulator's own state.

    ``succeeded`` was applied exactly once (its returned id names exactly one record with
    the right content), ``failed`` and ``skipped`` zero times, ``unknown`` at most once;
    and nothing is stored twice anywhere. Returns how many unknown children were applied.
    """
    contacts_by_email = Counter((c.primary_email or "").lower() for c in emu.contacts)
    assert set(contacts_by_email.values()) <= {1}, "a contact was stored twice"
    stored = stored_children(emu)
    duplicates = [k for k, count in stored.items() if count > 1]
    assert not duplicates, f"stored twice: {duplicates[:5]}"
    notes = {n.note_id: n for n in emu.notes}
    links = {a.att_id: a for a in emu.attachments}
    comms = {c.ch_id: c for c in emu.comms}
    emails = contact_emails(emu)
    seen: Counter[str] = Counter()
    for result in results:
        address = result.op.contact.primary_email.lower()
        if result.status is Status.SUCCEEDED:
            assert emails[result.value.contact_id] == address
        elif result.status is Status.FAILED:
            assert contacts_by_email[address] == 0, f"failed contact stored: {result}"
        for child in result.children:
            content = (address, *child_content(child.op))
            count = stored[content]
            seen[f"{child.status.value}:{count}"] += 1
            if child.status is Status.SUCCEEDED:
                assert count == 1, content
                value = child.value
                if isinstance(child.op, AddNote):
                    note = notes[value.note_id]
                    assert (emails[note.contact_id], "note", note.content) == content
                elif isinstance(child.op, AddLink):
                    link = links[value.att_id]
                    assert (emails[link.contact_id], "link", link.name, link.link_url) == content
                else:
                    entry = comms[value.ch_id]
                    assert emails[entry.contact_id] == address
                    assert entry.comms_data == child.op.data
            elif child.status in (Status.FAILED, Status.SKIPPED):
                assert count == 0, f"{child.status} child stored: {content}"
            else:
                assert child.status is Status.UNKNOWN
                assert count <= 1
    return seen


@contextlib.asynccontextmanager
async def serve_app(app: web.Application) -> AsyncIterator[str]:
    """Serve ``app`` on a free loopback port for the block; yields the base URL."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def app_for(handler: Handler) -> web.Application:
    """An application answering every API path with ``handler``."""
    app = web.Application()
    app.router.add_post("/apis/v2/public/{module}/{action}", handler)
    return app


class Heartbeat:
    """Measures the event loop's responsiveness: the largest gap between 5 ms ticks."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.max_gap = 0.0
        self.ticks = 0
        self.samples: list[Callable[[], None]] = []

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            before = time.perf_counter()
            await asyncio.sleep(self.interval)
            self.max_gap = max(self.max_gap, time.perf_counter() - before - self.interval)
            self.ticks += 1
            for sample in self.samples:
                sample()


async def settled(emu: Emulator, endpoint: str, requests: int, *, timeout: float = 5.0) -> None:
    """Wait (bounded) until the emulator has finished ``requests`` requests to ``endpoint``.

    A stalled request outlives the client's timeout; its outcome lands a bit later.
    """
    for _ in range(int(timeout / 0.02)):
        if emu.request_counts[endpoint] >= requests:
            return
        await asyncio.sleep(0.02)


def note_answer(text: str) -> bytes:
    """The documented success envelope of ``addNotestoContact`` for a note ``text``."""
    data = {
        "note_id": f"note-{text}",
        "contact_id": "contact-1",
        "note_content": text,
        "note_editable": 0,
        "note_visibility": 0,
    }
    return json.dumps({"status": "success", "data": data}).encode()


def engine_tasks() -> list[asyncio.Task[Any]]:
    """Tasks still running code of the bulk engine (there should be none after a run)."""
    found = []
    for task in asyncio.all_tasks():
        code = getattr(task.get_coro(), "cr_code", None)
        if code is not None and "zyntro_async" in code.co_filename.replace("\\", "/"):
            found.append(task)
    return found


class FakeClock:
    """A monotonic clock that only moves when someone sleeps (or the test says so)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
