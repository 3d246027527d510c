"""Retrying without duplicating, proven from the emulator's applied counts.

DESIGN.md's rule: idempotent calls (contacts.upsert/update/fetch, notes.update,
attachments.update/delete, ``call(idempotent=True)``) are retried on connection failures,
timeouts, 429 and 5xx; calls that create something (contacts.create, notes.add,
attachments.add_*, comms.log, ``call()``) are retried only when the request provably was
not applied (connection refused, 429, 503), and anything ambiguous raises
:class:`~zyntro_async.AmbiguousOutcomeError`.

:data:`FAULTS` by :data:`CALLS` injects each fault kind once into each kind of call and
checks three things against what the emulator really did: the call's outcome (success,
or which error), how many requests reached the emulator, and how many of them changed its
state. So an idempotent call is seen to survive, a creating call never to create twice,
and an ambiguous fault to surface as ``AmbiguousOutcomeError`` exactly when the outcome is
unknowable. Retry waits are recorded, not slept (see ``conftest.RecordedWaits``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import attrs
import pytest

from zyntro_async import (
    AmbiguousOutcomeError,
    APIConnectionError,
    APITimeoutError,
    Contact,
    MalformedResponseError,
    RateLimitError,
    RetryBudget,
    RetryPolicy,
    ServerError,
    ZyntroClient,
    ZyntroError,
)
from zyntro_async.testing import (
    Emulator,
    Fault,
    Latency,
    Malformed,
    RateLimited,
    ResetAfterApply,
    ResetBeforeApply,
    ServerFailure,
    Stall,
)

from .conftest import ClientFactory, RecordedWaits

ADD_CONTACTS = "crm/addContactsFull"
FETCH_CONTACT = "crm/fetchContact"
ADD_NOTES = "crm/addNotestoContact"
MANAGE_ATTACHMENTS = "crm/manageAttachments"
ADD_COMMS = "crm/addCommsHistory"

# The client's per-attempt timeout in the stall cases: long enough for a request to reach
# the emulator on a loaded machine (at 0.15 s one creating call timed out before its body
# was read, under a CPU hog: the stall never began, and the case saw no request)...
TIMEOUT = 0.3
STALL = 0.7  # ...and how long a stalled request is held: well past it
EMAIL = "jane@faults.example"
FILE = b"%PDF-1.4\n" + bytes(range(256)) * 4


# ------------------------------------------------------------------------ the calls


@attrs.frozen
class Call:
    """One SDK method, set up against the emulator, with how to see its effect there.

    Attributes:
        prepare: Seeds what the call needs (a contact, a note...) and returns its ids;
            runs before any fault is injected.
        run: Makes the call.
        check: Asserts the emulator's state after a successful call.
        stored: For a creating call, how many records it created (must never exceed 1).
        writes: Whether an applied request changes state (``fetch`` does not).
        repeats: Whether applying the request twice changes state twice (a second
            delete finds nothing to delete).
    """

    name: str
    endpoint: str
    idempotent: bool
    prepare: Callable[[Emulator, ZyntroClient], Awaitable[dict[str, str]]]
    run: Callable[[ZyntroClient, dict[str, str]], Awaitable[Any]]
    check: Callable[[Emulator, dict[str, str], Any], None]
    stored: Callable[[Emulator, dict[str, str]], int] = lambda emu, ids: 0
    writes: bool = True
    repeats: bool = True


async def _contact(emu: Emulator, zy: ZyntroClient) -> dict[str, str]:
    stored = emu.add_contact(fields={"firstName": "Jane", "primaryEmail": EMAIL})
    return {"contact_id": stored.contact_id}


async def _nothing(emu: Emulator, zy: ZyntroClient) -> dict[str, str]:
    return {}


async def _note(emu: Emulator, zy: ZyntroClient) -> dict[str, str]:
    ids = await _contact(emu, zy)
    note = await zy.notes.add(ids["contact_id"], "draft")
    return {**ids, "note_id": note.note_id}


async def _link(emu: Emulator, zy: ZyntroClient) -> dict[str, str]:
    ids = await _contact(emu, zy)
    link = await zy.attachments.add_link(ids["contact_id"], name="Deck", url="https://a.co/d")
    return {**ids, "att_id": link.att_id}


def _get(result: Any, key: str) -> Any:
    """A field of a typed result, or of the raw ``data`` that ``call()`` returns."""
    return result[key] if isinstance(result, dict) else getattr(result, key)


def _contacts_with_email(emu: Emulator) -> list[Any]:
    return [c for c in emu.contacts if c.primary_email == EMAIL]


def _check_upserted(emu: Emulator, ids: dict[str, str], result: Any) -> None:
    (contact,) = _contacts_with_email(emu)  # one contact, however often it was applied
    assert contact.contact_id == _get(result, "contact_id")
    assert contact.last_name == "Retried"


def _check_note_updated(emu: Emulator, ids: dict[str, str], result: Any) -> None:
    (note,) = emu.notes
    assert (
        (note.note_id, note.note_content)
        == (ids["note_id"], "final")
        == (
            result.note_id,
            result.note_content,
        )
    )


def _check_renamed(emu: Emulator, ids: dict[str, str], result: Any) -> None:
    assert result.att_id == ids["att_id"]
    assert emu.attachment(ids["att_id"]).name == "Deck v2"


def _check_deleted(emu: Emulator, ids: dict[str, str], result: Any) -> None:
    assert (result.action, result.att_id) == ("deleted", ids["att_id"])
    assert emu.attachments == []


def _check_fetched(emu: Emulator, ids: dict[str, str], result: Any) -> None:
    assert (result.contact_id, result.first_name, result.email) == (
        ids["contact_id"],
        "Jane",
        EMAIL,
    )


def _check_created_contact(emu: Emulator, ids: dict[str, str], result: Any) -> None:
    (contact,) = _contacts_with_email(emu)
    assert contact.contact_id == result.contact_id


def _check_one_note(emu: Emulator, ids: dict[str, str], result: Any) -> None:
    (note,) = emu.notes
    assert note.note_id == result.note_id
    assert note.note_content == "Called back"


def _check_one_link(emu: Emulator, ids: dict[str, str], result: Any) -> None:
    (attachment,) = emu.attachments
    assert (attachment.att_id, attachment.link_url) == (result.att_id, "https://a.co/proposal")


def _check_one_file(emu: Emulator, ids: dict[str, str], result: Any) -> None:
    (attachment,) = emu.attachments
    assert attachment.att_id == result.att_id
    assert attachment.read_bytes() == FILE


def _check_one_comms(emu: Emulator, ids: dict[str, str], result: Any) -> None:
    (entry,) = emu.comms
    assert (entry.ch_id, entry.comms_data) == (_get(result, "ch_id"), "Intro call")


CALLS: list[Call] = [
    # --- idempotent: retried on any transient failure
    Call(
        "contacts.upsert",
        ADD_CONTACTS,
        True,
        _nothing,
        lambda zy, ids: zy.contacts.upsert(
            Contact(first_name="Jane", last_name="Retried", primary_email=EMAIL)
        ),
        _check_upserted,
    ),
    Call(
        "contacts.update",
        ADD_CONTACTS,
        True,
        _contact,
        lambda zy, ids: zy.contacts.update(Contact(primary_email=EMAIL, last_name="Retried")),
        _check_upserted,
    ),
    Call(
        "contacts.fetch",
        FETCH_CONTACT,
        True,
        _contact,
        lambda zy, ids: zy.contacts.fetch(ids["contact_id"]),
        _check_fetched,
        writes=False,
    ),
    Call(
        "notes.update",
        ADD_NOTES,
        True,
        _note,
        lambda zy, ids: zy.notes.update(ids["note_id"], ids["contact_id"], "final"),
        _check_note_updated,
    ),
    Call(
        "attachments.update",
        MANAGE_ATTACHMENTS,
        True,
        _link,
        lambda zy, ids: zy.attachments.update(ids["att_id"], name="Deck v2"),
        _check_renamed,
    ),
    Call(
        "attachments.delete",
        MANAGE_ATTACHMENTS,
        True,
        _link,
        lambda zy, ids: zy.attachments.delete(ids["att_id"]),
        _check_deleted,
        repeats=False,
    ),
    Call(
        "call(idempotent=True)",
        ADD_CONTACTS,
        True,
        _nothing,
        lambda zy, ids: zy.call(
            "crm",
            "addContactsFull",
            {
                "mode": "upsert",
                "contact": {"firstName": "J", "lastName": "Retried", "primaryEmail": EMAIL},
            },
            idempotent=True,
        ),
        _check_upserted,
    ),
    # --- creating: retried only when provably not applied
    Call(
        "contacts.create",
        ADD_CONTACTS,
        False,
        _nothing,
        lambda zy, ids: zy.contacts.create(Contact(first_name="Jane", primary_email=EMAIL)),
        _check_created_contact,
        stored=lambda emu, ids: len(_contacts_with_email(emu)),
    ),
    Call(
        "notes.add",
        ADD_NOTES,
        False,
        _contact,
        lambda zy, ids: zy.notes.add(ids["contact_id"], "Called back"),
        _check_one_note,
        stored=lambda emu, ids: len(emu.notes),
    ),
    Call(
        "attachments.add_link",
        MANAGE_ATTACHMENTS,
        False,
        _contact,
        lambda zy, ids: zy.attachments.add_link(
            ids["contact_id"], name="Proposal", url="https://a.co/proposal"
        ),
        _check_one_link,
        stored=lambda emu, ids: len(emu.attachments),
    ),
    Call(
        "attachments.add_file",
        MANAGE_ATTACHMENTS,
        False,
        _contact,
        lambda zy, ids: zy.attachments.add_file(ids["contact_id"], FILE, name="contract.pdf"),
        _check_one_file,
        stored=lambda emu, ids: len(emu.attachments),
    ),
    Call(
        "comms.log",
        ADD_COMMS,
        False,
        _contact,
        lambda zy, ids: zy.comms.log(ids["contact_id"], "call", "Intro call", source="Phone"),
        _check_one_comms,
        stored=lambda emu, ids: len(emu.comms),
    ),
    Call(
        "call()",
        ADD_COMMS,
        False,
        _contact,
        lambda zy, ids: zy.call(
            "crm",
            "addCommsHistory",
            {"contact_id": ids["contact_id"], "comms_type": "call", "comms_data": "Intro call"},
        ),
        _check_one_comms,
        stored=lambda emu, ids: len(emu.comms),
    ),
]
IDEMPOTENT = frozenset(c.name for c in CALLS if c.idempotent)
CREATING = frozenset(c.name for c in CALLS if not c.idempotent)


# ----------------------------------------------------------------------- the faults

OK = None  # the call succeeds


@attrs.frozen
class Expect:
    """What one call does under one fault.

    Attributes:
        raises: The exception class the call raises (exactly), or ``OK``.
        requests: Requests that reached the emulator.
        applied: Requests that changed its state (for a call that writes, and repeats).
    """

    raises: type[ZyntroError] | None
    requests: int
    applied: int


@attrs.frozen
class FaultCase:
    """A fault kind, fired once, and what it does to each kind of call.

    Attributes:
        cause: For an ``AmbiguousOutcomeError``, the failure it wraps.
        only: Run for these calls only (the slow stall cases), or for all.
    """

    id: str
    fault: Fault
    idempotent: Expect
    creating: Expect
    cause: type[Exception] | None = None
    only: frozenset[str] | None = None

    @property
    def stalls(self) -> bool:
        return isinstance(self.fault, Stall)


RETRIED = Expect(OK, 2, 1)  # failed without applying, retried, applied once
RETRIED_AFTER_APPLY = Expect(OK, 2, 2)  # applied, failed, retried, applied again
AMBIGUOUS_NOT_APPLIED = Expect(AmbiguousOutcomeError, 1, 0)
AMBIGUOUS_APPLIED = Expect(AmbiguousOutcomeError, 1, 1)

FAULTS: list[FaultCase] = [
    FaultCase("latency", Latency(ms=30), Expect(OK, 1, 1), Expect(OK, 1, 1)),
    FaultCase("http 500", ServerFailure(500), RETRIED, AMBIGUOUS_NOT_APPLIED, ServerError),
    FaultCase(
        "http 500 after applying",
        ServerFailure(500, apply=True),
        RETRIED_AFTER_APPLY,
        AMBIGUOUS_APPLIED,
        ServerError,
    ),
    FaultCase("http 502", ServerFailure(502), RETRIED, AMBIGUOUS_NOT_APPLIED, ServerError),
    FaultCase(
        "http 502 envelope after applying",
        ServerFailure(502, body="envelope", apply=True),
        RETRIED_AFTER_APPLY,
        AMBIGUOUS_APPLIED,
        ServerError,
    ),
    FaultCase("http 503", ServerFailure(503), RETRIED, RETRIED),
    FaultCase("http 504", ServerFailure(504), RETRIED, AMBIGUOUS_NOT_APPLIED, ServerError),
    FaultCase("http 429 retry-after", RateLimited(retry_after=2), RETRIED, RETRIED),
    FaultCase(
        "reset before applying",
        ResetBeforeApply(),
        RETRIED,
        AMBIGUOUS_NOT_APPLIED,
        APIConnectionError,
    ),
    FaultCase(
        "reset after applying",
        ResetAfterApply(),
        RETRIED_AFTER_APPLY,
        AMBIGUOUS_APPLIED,
        APIConnectionError,
    ),
    FaultCase(
        "stall past the timeout, then answer",
        Stall(STALL),
        RETRIED_AFTER_APPLY,
        AMBIGUOUS_APPLIED,
        APITimeoutError,
    ),
    FaultCase(
        "stall past the timeout, then apply and reset",
        Stall(STALL, then="apply"),
        RETRIED_AFTER_APPLY,
        AMBIGUOUS_APPLIED,
        APITimeoutError,
        only=frozenset({"contacts.upsert", "notes.add", "attachments.add_file"}),
    ),
    FaultCase(
        "stall past the timeout, then drop",
        Stall(STALL, then="drop"),
        RETRIED,
        AMBIGUOUS_NOT_APPLIED,
        APITimeoutError,
        only=frozenset({"contacts.fetch", "attachments.delete", *CREATING}),
    ),
    FaultCase(
        "truncated body after applying",
        Malformed("truncated"),
        Expect(MalformedResponseError, 1, 1),
        AMBIGUOUS_APPLIED,
        MalformedResponseError,
    ),
    FaultCase(
        "html body after applying",
        Malformed("html"),
        Expect(MalformedResponseError, 1, 1),
        AMBIGUOUS_APPLIED,
        MalformedResponseError,
    ),
    FaultCase(
        "json not an envelope after applying",
        Malformed("wrong_shape"),
        Expect(MalformedResponseError, 1, 1),
        AMBIGUOUS_APPLIED,
        MalformedResponseError,
    ),
    FaultCase(
        "empty body after applying",
        Malformed("empty"),
        Expect(MalformedResponseError, 1, 1),
        AMBIGUOUS_APPLIED,
        MalformedResponseError,
    ),
    FaultCase(
        "truncated body, not applied",
        Malformed("truncated", apply=False),
        Expect(MalformedResponseError, 1, 0),
        AMBIGUOUS_NOT_APPLIED,
        MalformedResponseError,
    ),
]


def _matrix() -> Iterator[Any]:
    for case in FAULTS:
        for call in CALLS:
            if case.only is None or call.name in case.only:
                yield pytest.param(case, call, id=f"{call.name}: {case.id}")


async def eventually(condition: Callable[[], bool], *, within: float = 3.0) -> None:
    """Wait for ``condition`` (a stalled request finishing late), polling."""
    for _ in range(int(within / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the emulator did not get there in time")


@pytest.mark.parametrize(("case", "call"), list(_matrix()))
async def test_each_fault_is_survived_or_surfaced_as_classified(
    zyntro_emulator: Emulator,
    make_client: ClientFactory,
    waits: RecordedWaits,
    case: FaultCase,
    call: Call,
) -> None:
    emu = zyntro_emulator
    zy = make_client(timeout=TIMEOUT if case.stalls else 5.0)
    ids = await call.prepare(emu, zy)
    requests_before, applied_before = emu.request_counts[call.endpoint], emu.applied[call.endpoint]
    waits.clear()
    expect = case.idempotent if call.idempotent else case.creating

    emu.faults.add(case.fault, endpoint=call.endpoint, times=1)
    try:
        result = await call.run(zy, ids)
    except ZyntroError as exc:
        error: ZyntroError | None = exc
    else:
        error = None

    if case.stalls:
        # A stalled request is logged (and, unless dropped, applied) when the stall ends.
        await eventually(
            lambda: emu.request_counts[call.endpoint] - requests_before >= expect.requests
        )
    requests = emu.request_counts[call.endpoint] - requests_before
    applied = emu.applied[call.endpoint] - applied_before
    expected_applied = expect.applied if call.repeats else min(expect.applied, 1)

    if expect.raises is None:
        assert error is None, f"{call.name} failed under {case.id}: {error!r}"
        call.check(emu, ids, result)
    else:
        assert type(error) is expect.raises, repr(error)
        assert error is not None
        if expect.raises is AmbiguousOutcomeError:
            assert isinstance(error, APIConnectionError)
            assert case.cause is not None
            assert isinstance(error.__cause__, case.cause), repr(error.__cause__)
            assert error.endpoint == call.endpoint
    assert emu.faults.fired[case.fault.name] == 1
    assert requests == expect.requests
    assert applied == (expected_applied if call.writes else 0)
    assert len(waits) == requests - 1  # one wait before each retry
    if isinstance(case.fault, RateLimited):
        assert waits == [2.0]  # Retry-After honoured
    if not call.idempotent:
        # Never twice: what is stored is what was applied, at most one record.
        assert call.stored(emu, ids) == applied <= 1


# -------------------------------------------------------------- faults that persist


async def test_a_creating_call_retries_503_until_the_limit_and_creates_nothing(
    zyntro_emulator: Emulator, make_client: ClientFactory, waits: RecordedWaits
) -> None:
    contact = zyntro_emulator.add_contact(fields={"firstName": "Jane"})
    zyntro_emulator.faults.add(ServerFailure(503), endpoint=ADD_NOTES)

    with pytest.raises(ServerError) as excinfo:
        await make_client().notes.add(contact.contact_id, "never")

    assert (excinfo.value.code, excinfo.value.status) == ("HTTP_503", 503)
    assert zyntro_emulator.request_counts[ADD_NOTES] == 4  # 1 + max_retries
    assert len(waits) == 3
    assert zyntro_emulator.notes == []


async def test_persistent_429_raises_rate_limit_error_with_retry_after(
    zyntro_emulator: Emulator, make_client: ClientFactory, waits: RecordedWaits
) -> None:
    contact = zyntro_emulator.add_contact(fields={"firstName": "Jane"})
    zyntro_emulator.faults.add(RateLimited(retry_after=3), endpoint=ADD_COMMS)

    with pytest.raises(RateLimitError) as excinfo:
        await make_client().comms.log(contact.contact_id, "sms", "Hello")

    assert (excinfo.value.code, excinfo.value.retry_after) == ("RATE_LIMITED", 3.0)
    assert waits == [3.0, 3.0, 3.0]
    assert zyntro_emulator.comms == []


async def test_retry_after_is_capped(
    zyntro_emulator: Emulator, make_client: ClientFactory, waits: RecordedWaits
) -> None:
    contact = zyntro_emulator.add_contact(fields={"firstName": "Jane"})
    zyntro_emulator.faults.add(RateLimited(retry_after=3600), endpoint=FETCH_CONTACT, times=1)
    policy = RetryPolicy(
        budget=None, sleep=waits.sleep, retry_after_cap=5.0, retry_after_spread=0.0
    )

    await make_client(retry_policy=policy).contacts.fetch(contact.contact_id)

    assert waits == [5.0]


async def test_an_idempotent_call_reset_every_time_gives_up_without_calling_it_ambiguous(
    zyntro_emulator: Emulator, make_client: ClientFactory
) -> None:
    zyntro_emulator.faults.add(ResetAfterApply(), endpoint=ADD_CONTACTS)

    with pytest.raises(APIConnectionError) as excinfo:
        await make_client().contacts.upsert(Contact(first_name="Jane", primary_email=EMAIL))

    assert not isinstance(excinfo.value, AmbiguousOutcomeError)
    assert zyntro_emulator.applied[ADD_CONTACTS] == 4  # applied by every attempt...
    assert len(_contacts_with_email(zyntro_emulator)) == 1  # ...converging on one contact


async def test_an_idempotent_call_that_always_times_out_raises_api_timeout_error(
    zyntro_emulator: Emulator, make_client: ClientFactory, waits: RecordedWaits
) -> None:
    contact = zyntro_emulator.add_contact(fields={"firstName": "Jane"})
    zyntro_emulator.faults.add(Stall(STALL, then="drop"), endpoint=FETCH_CONTACT)
    zy = make_client(
        timeout=TIMEOUT, retry_policy=RetryPolicy(max_retries=1, budget=None, sleep=waits.sleep)
    )

    with pytest.raises(APITimeoutError):
        await zy.contacts.fetch(contact.contact_id)

    assert len(waits) == 1
    await eventually(lambda: zyntro_emulator.request_counts[FETCH_CONTACT] == 2)


async def test_a_delete_whose_first_attempt_was_applied_reports_success(
    zyntro_emulator: Emulator, make_client: ClientFactory
) -> None:
    zy = make_client()
    contact = zyntro_emulator.add_contact(fields={"firstName": "Jane"})
    link = await zy.attachments.add_link(contact.contact_id, name="Deck", url="https://a.co/d")
    zyntro_emulator.faults.add(ResetAfterApply(), endpoint=MANAGE_ATTACHMENTS, times=1)

    result = await zy.attachments.delete(link.att_id)

    # The retry found it gone: that is the first attempt's doing, not an error.
    assert (result.action, result.att_id) == ("deleted", link.att_id)
    assert [r.messages for r in zyntro_emulator.requests[-1:]] == [("Attachment not found",)]
    assert zyntro_emulator.applied_detail[MANAGE_ATTACHMENTS, "deleted"] == 1


async def test_an_upsert_by_an_unknown_contact_id_never_creates_twice(
    zyntro_emulator: Emulator, make_client: ClientFactory
) -> None:
    zyntro_emulator.faults.add(ResetAfterApply(), endpoint=ADD_CONTACTS, times=1)
    unknown_id = "00000000-0000-4000-8000-00000000abcd"

    # Either outcome is honest: success, or AmbiguousOutcomeError. Two contacts are not.
    with contextlib.suppress(AmbiguousOutcomeError):
        await make_client().contacts.upsert(
            Contact(first_name="Jane", primary_email=EMAIL),
            lookup_by="contact_id",
            contact_id=unknown_id,
        )

    assert zyntro_emulator.applied_detail[ADD_CONTACTS, "created"] == 1
    assert len(zyntro_emulator.contacts) == 1


# ------------------------------------------------------ refused: provably not applied


async def test_a_creating_call_is_retried_when_the_connection_was_refused(
    zyntro_emulator: Emulator, waits: RecordedWaits
) -> None:
    contact = zyntro_emulator.add_contact(fields={"firstName": "Jane"})
    port = int(zyntro_emulator.base_url.rsplit(":", 1)[1])
    await zyntro_emulator.stop()

    async def come_back_then_wait(seconds: float) -> None:
        # The server is back on its port by the time the retry is made.
        await waits.sleep(seconds)
        await zyntro_emulator.start(host="127.0.0.1", port=port)

    policy = RetryPolicy(budget=None, sleep=come_back_then_wait)
    creds = zyntro_emulator.credentials
    async with ZyntroClient(
        api_key=creds.api_key,
        developer_secret=creds.developer_secret,
        org_id=creds.org_id,
        member_id=creds.member_id,
        base_url=f"http://127.0.0.1:{port}",
        retry_policy=policy,
    ) as zy:
        note = await zy.notes.add(contact.contact_id, "Sent when the server was back")

    assert len(waits) == 1
    (stored,) = zyntro_emulator.notes
    assert stored.note_id == note.note_id
    assert zyntro_emulator.request_counts[ADD_NOTES] == 1  # the refused attempt never arrived


# ------------------------------------------------------------------ the retry budget


async def test_the_client_wide_budget_stops_a_retry_storm(
    zyntro_emulator: Emulator, make_client: ClientFactory, waits: RecordedWaits
) -> None:
    contact = zyntro_emulator.add_contact(fields={"firstName": "Jane"})
    zyntro_emulator.faults.add(ServerFailure(503))
    budget = RetryBudget(ratio=0.0, initial=2.0, refill_per_second=0.0)
    zy = make_client(retry_policy=RetryPolicy(max_retries=3, budget=budget, sleep=waits.sleep))

    for _ in range(3):
        with pytest.raises(ServerError):
            await zy.contacts.fetch(contact.contact_id)

    # Two retries in all, not three per call: 3 first attempts + 2 retries.
    assert zyntro_emulator.request_counts[FETCH_CONTACT] == 5
    assert len(waits) == 2
