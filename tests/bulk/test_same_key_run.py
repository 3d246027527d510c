"""In a run, upserts of one contact never overlap: the later waits, then updates.

Over real sockets: the emulator's application is served behind a probe (an aiohttp
middleware) that counts the contact upserts in the server at each moment, so an overlap
would be seen where it matters, on the server.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import anyio
import pytest
from aiohttp import web

from zyntro_async import Contact, ZyntroClient
from zyntro_async.bulk import AddNote, ContactBundle, SharedKey, UpsertContact
from zyntro_async.testing import Emulator, Latency

from ._helpers import ADD_CONTACTS, ADD_NOTES, fast_retry

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Probe:
    """How many requests per endpoint the server is handling at once, at most."""

    def __init__(self) -> None:
        self.inside: Counter[str] = Counter()
        self.most: Counter[str] = Counter()
        self.finished: list[str] = []

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        endpoint = "/".join(request.path.rsplit("/", 2)[-2:])
        self.inside[endpoint] += 1
        self.most[endpoint] = max(self.most[endpoint], self.inside[endpoint])
        try:
            return await handler(request)
        finally:
            self.inside[endpoint] -= 1
            self.finished.append(endpoint)


@pytest.fixture
async def probe() -> Probe:
    return Probe()


@pytest.fixture
async def probed(emulator: Emulator, probe: Probe) -> AsyncIterator[ZyntroClient]:
    """A client of ``emulator`` reaching it through the probe (on its own loopback port)."""
    app = emulator.make_app()
    app.middlewares.append(probe.middleware)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        async with emulator.client(
            base_url=f"http://{host}:{port}", retry_policy=fast_retry(), timeout=10.0
        ) as client:
            yield client
    finally:
        await runner.cleanup()


def person(i: int, email: str) -> Contact:
    return Contact(first_name=f"Version{i}", primary_email=email)


async def test_rows_sharing_an_email_run_one_at_a_time_and_update_one_contact(
    emulator: Emulator, probed: ZyntroClient, probe: Probe
) -> None:
    emulator.faults.add(Latency(20), endpoint=ADD_CONTACTS)
    # The same address written three ways (the API compares them without case or blanks).
    emails = ["Shared@Example.com", "shared@example.com", " shared@example.com "]
    items = [UpsertContact(person(i, emails[i % 3].strip())) for i in range(30)]
    results = []

    report = await probed.bulk.run(items, concurrency=16, on_result=results.append)

    assert report.all_succeeded
    assert probe.most[ADD_CONTACTS] == 1  # never two upserts of it in the server at once
    (contact,) = emulator.contacts
    assert contact.first_name == "Version29"  # the last row, applied last: input order
    actions = Counter(r.value.action for r in results)
    assert actions == Counter({"created": 1, "updated": 29})
    assert report.shared_keys == 29
    assert report.shared_key_examples[0] == SharedKey(1, 0, "email:shared@example.com")
    assert "29 shared a contact's lookup key" in report.summary()


async def test_rows_with_different_emails_still_run_together(
    emulator: Emulator, probed: ZyntroClient, probe: Probe
) -> None:
    # The probe sees overlap when there is some: the gate holds back only the same key.
    emulator.faults.add(Latency(50), endpoint=ADD_CONTACTS)
    items = [UpsertContact(person(i, f"p{i}@example.com")) for i in range(16)]

    report = await probed.bulk.run(items, concurrency=16)

    assert report.all_succeeded
    assert probe.most[ADD_CONTACTS] > 1
    assert report.shared_keys == 0


async def test_a_bundle_waits_for_its_contact_only_not_for_the_earlier_bundles_notes(
    emulator: Emulator, probed: ZyntroClient, probe: Probe
) -> None:
    # The first bundle's note is slow; the second bundle's contact (same e-mail) need not
    # wait for it: only the upserts of one contact are one at a time.
    emulator.faults.add(Latency(400), endpoint=ADD_NOTES, times=1)
    items = [
        ContactBundle(person(i, "b@example.com"), notes=[AddNote(None, f"note {i}")])
        for i in range(2)
    ]

    report = await probed.bulk.run(items, concurrency=4)

    assert report.all_succeeded
    assert len(emulator.contacts) == 1
    assert probe.most[ADD_CONTACTS] == 1
    # Both upserts were done while the first note was still in the server.
    assert probe.finished[:2] == [ADD_CONTACTS, ADD_CONTACTS]
    assert Counter(n.content for n in emulator.notes) == Counter(["note 0", "note 1"])


@pytest.mark.parametrize("journal", [False, True])
async def test_waiting_rows_hold_no_request_slot_so_concurrency_one_finishes(
    emulator: Emulator, probed: ZyntroClient, tmp_path: Path, journal: bool
) -> None:
    items = [
        ContactBundle(person(i, "one@example.com"), notes=[AddNote(None, f"n{i}")])
        for i in range(12)
    ]
    with anyio.fail_after(60):  # a deadlock would hang here; a working run takes < 1 s
        report = await probed.bulk.run(
            items, concurrency=1, journal=tmp_path / "j" if journal else None
        )
    assert report.all_succeeded
    assert report.shared_keys == 11
    assert len(emulator.contacts) == 1
    assert len(emulator.notes) == 12


async def test_phone_lookups_share_a_key_by_their_digits(
    emulator: Emulator, probed: ZyntroClient, probe: Probe
) -> None:
    emulator.faults.add(Latency(20), endpoint=ADD_CONTACTS)
    phones = ["+1 (555) 010-0199", "15550100199", "1 555 010 0199"]
    items = [
        UpsertContact(
            Contact(first_name=f"P{i}", primary_email=f"p{i}@example.com", primary_phone=phone),
            lookup_by="phone",
        )
        for i, phone in enumerate(phones * 3)
    ]

    report = await probed.bulk.run(items, concurrency=9)

    assert report.all_succeeded
    assert probe.most[ADD_CONTACTS] == 1
    assert report.shared_keys == 8
    assert report.shared_key_examples[0] == SharedKey(1, 0, "phone:15550100199")
