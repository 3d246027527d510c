"""A server that misbehaves gets a typed error, never a crash, a hang or a leak.

Each mode below is a way a server (or a proxy in front of it) can answer badly. For every
one, an idempotent call (``contacts.upsert``, retried) and a creating call (``notes.add``,
never repeated once possibly applied) raise the documented :class:`ZyntroError` subclass:
an answer a creating call cannot read is an :class:`AmbiguousOutcomeError` (the request
reached the server, which may have applied it), with the parsing error as its cause. And a
50-item bulk run accounts for every item exactly once.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Callable
from typing import Any

import attrs
import psutil
import pytest

from zyntro_async import (
    AmbiguousOutcomeError,
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    CircuitOpenError,
    Contact,
    MalformedResponseError,
    NotFoundError,
    RateLimitError,
    ServerError,
    ZyntroError,
)
from zyntro_async.bulk import (
    AddLink,
    AddNote,
    BulkAbortedError,
    ContactBundle,
    ItemResult,
    LogComms,
    Status,
    UpsertContact,
)

from ._hostile import (
    RawRequest,
    RawServer,
    Responder,
    drip,
    http_response,
    reply,
    send_gzip_bomb,
    stream_body,
)
from .conftest import ClientFactory

MiB = 1024 * 1024
CONTACT = Contact(first_name="Jane", primary_email="jane@acme.com")
CONTACT_OK = {"status": "success", "data": {"contact_id": "c-1", "action": "created"}}
HTML = "<html><head><title>Oops</title></head><body><h1>Something broke</h1></body></html>"


def closes_mid_body() -> Responder:
    async def respond(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        writer.write(http_response(200, b'{"status": "success", "da', content_length=1000))
        await writer.drain()

    return respond


def closes_without_answer() -> Responder:
    async def respond(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        return None

    return respond


def resets_without_answer() -> Responder:
    async def respond(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        # SO_LINGER 0: close() sends a TCP RST instead of a FIN.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    return respond


def raw_bytes(data: bytes) -> Responder:
    async def respond(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        writer.write(data)
        await writer.drain()

    return respond


Errors = type[ZyntroError] | tuple[type[ZyntroError], ...]


@attrs.frozen
class Mode:
    """A misbehaviour: how to answer, and the error each kind of call must raise."""

    respond: Callable[[], Responder]
    idempotent: Errors
    creating: Errors
    overrides: dict[str, Any] = attrs.field(factory=dict)
    bulk_concurrency: int = 25
    bulk_items: int = 50


SLOW = {"timeout": 0.4, "max_retries": 1}
SMALL_CAP = {"max_response_bytes": 64 * 1024}
NO_RETRY = {"max_retries": 0}
DRIP_BODY = b'{"status": "success", "data": {"contact_id": "c-1"}}'

MODES: dict[str, Mode] = {
    "html page with 200": Mode(
        lambda: reply(200, HTML, content_type="text/html"),
        MalformedResponseError,
        AmbiguousOutcomeError,
    ),
    "html page with 500": Mode(
        lambda: reply(500, HTML, content_type="text/html"), ServerError, AmbiguousOutcomeError
    ),
    "html page with 502 labelled as JSON": Mode(
        lambda: reply(502, HTML), ServerError, AmbiguousOutcomeError
    ),
    "html page with 503": Mode(
        lambda: reply(503, HTML, content_type="text/html"), ServerError, ServerError
    ),
    "empty body with 200": Mode(
        lambda: reply(200, b""), MalformedResponseError, AmbiguousOutcomeError
    ),
    "empty body without content type": Mode(
        lambda: reply(200, b"", content_type=None), MalformedResponseError, AmbiguousOutcomeError
    ),
    "truncated JSON": Mode(
        lambda: reply(200, b'{"status": "success", "data": {"contact_id": "a1'),
        MalformedResponseError,
        AmbiguousOutcomeError,
    ),
    "data is a string": Mode(
        lambda: reply(200, {"status": "success", "data": "oops"}),
        MalformedResponseError,
        MalformedResponseError,  # "success": applied, but the answer is unusable
    ),
    "data is null": Mode(
        lambda: reply(200, {"status": "success", "data": None}),
        MalformedResponseError,
        MalformedResponseError,  # "success": applied, but the answer is unusable
    ),
    "data of the wrong types": Mode(
        lambda: reply(200, {"status": "success", "data": {"contact_id": [1], "note_id": {}}}),
        MalformedResponseError,
        MalformedResponseError,  # "success": applied, but the answer is unusable
    ),
    "error data of non-strings": Mode(
        lambda: reply(200, {"status": "error", "data": [1, None, {"a": 1}]}),
        MalformedResponseError,
        AmbiguousOutcomeError,
    ),
    "error data an empty list": Mode(
        lambda: reply(200, {"status": "error", "data": []}),
        MalformedResponseError,
        AmbiguousOutcomeError,
    ),
    "status missing": Mode(
        lambda: reply(200, {"data": {"contact_id": "c-1", "note_id": "n-1"}}),
        MalformedResponseError,
        AmbiguousOutcomeError,
    ),
    "status unknown": Mode(
        lambda: reply(200, {"status": "ok", "data": {}}),
        MalformedResponseError,
        AmbiguousOutcomeError,
    ),
    "top-level array": Mode(
        lambda: reply(200, [1, 2, 3]), MalformedResponseError, AmbiguousOutcomeError
    ),
    "nested 100k levels deep": Mode(
        lambda: reply(200, b"[" * 100_000 + b"]" * 100_000),
        MalformedResponseError,
        AmbiguousOutcomeError,
    ),
    "an integer of 10k digits": Mode(
        lambda: reply(200, b'{"status": "success", "data": {"ch_id": 1' + b"0" * 10_000 + b"}}"),
        MalformedResponseError,
        AmbiguousOutcomeError,
    ),
    "valid envelope as text/plain": Mode(
        lambda: reply(200, CONTACT_OK, content_type="text/plain"),
        MalformedResponseError,
        AmbiguousOutcomeError,
    ),
    "non-UTF-8 bytes": Mode(
        lambda: reply(200, b'{"status": "success", "data": {"contact_id": "\xff\xfe\x80"}}'),
        MalformedResponseError,
        AmbiguousOutcomeError,
    ),
    "UTF-16 JSON": Mode(
        lambda: reply(
            200,
            '{"status": "success", "data": {"contact_id": "c-1"}}'.encode("utf-16"),
            content_type="application/json; charset=utf-16",
        ),
        MalformedResponseError,
        AmbiguousOutcomeError,
    ),
    "HTTP 204 no content": Mode(lambda: reply(204, b"", content_type=None), APIError, APIError),
    "HTTP 404 html": Mode(
        lambda: reply(404, HTML, content_type="text/html"), NotFoundError, NotFoundError
    ),
    "HTTP 401 envelope": Mode(
        lambda: reply(401, {"status": "error", "data": ["Invalid API Key"]}),
        AuthenticationError,
        AuthenticationError,
    ),
    "429 with an absurd Retry-After": Mode(
        lambda: reply(
            429, {"status": "error", "data": ["Slow down"]}, headers={"Retry-After": "99999999"}
        ),
        RateLimitError,
        RateLimitError,
        NO_RETRY,
        # Every answer a 429 and no patience: each item fails at its first 429 while the
        # governor slows the run down (slow start, then ever gentler polling), so fewer
        # items keep it within the test's minute.
        bulk_items=20,
    ),
    "429 with a garbage Retry-After": Mode(
        lambda: reply(429, HTML, content_type="text/html", headers={"Retry-After": "soon-ish"}),
        RateLimitError,
        RateLimitError,
        NO_RETRY,
        bulk_items=20,  # as above
    ),
    "gigantic declared body": Mode(
        lambda: stream_body(200 * MiB, declare_length=True),
        MalformedResponseError,
        AmbiguousOutcomeError,
        SMALL_CAP,
    ),
    "gigantic chunked body": Mode(
        lambda: stream_body(200 * MiB, declare_length=False),
        MalformedResponseError,
        AmbiguousOutcomeError,
        SMALL_CAP,
    ),
    "gzip bomb": Mode(
        lambda: send_gzip_bomb(256 * MiB),
        # Refused by our cap or by aiohttp's decompression limit, whichever comes first.
        (MalformedResponseError, APIConnectionError),
        (MalformedResponseError, AmbiguousOutcomeError),
        {**SMALL_CAP, **NO_RETRY},
        bulk_concurrency=4,
        bulk_items=20,  # each attempt inflates up to 32 MiB before it is refused: CPU-bound
    ),
    "slow drip of the body": Mode(
        lambda: drip(http_response(200, b"", content_length=len(DRIP_BODY)), DRIP_BODY),
        APITimeoutError,
        AmbiguousOutcomeError,
        SLOW,
        bulk_concurrency=50,
    ),
    "slow drip of the status line": Mode(
        lambda: drip(b"", http_response(200, DRIP_BODY)),
        APITimeoutError,
        AmbiguousOutcomeError,
        SLOW,
        bulk_concurrency=50,
    ),
    "closed in the middle of the body": Mode(
        closes_mid_body, APIConnectionError, AmbiguousOutcomeError
    ),
    "closed without answering": Mode(
        closes_without_answer, APIConnectionError, AmbiguousOutcomeError
    ),
    "reset without answering": Mode(
        resets_without_answer, APIConnectionError, AmbiguousOutcomeError
    ),
    "garbage status line": Mode(
        lambda: raw_bytes(b"HTTP/1.1 abc def\r\n\r\n"), APIConnectionError, AmbiguousOutcomeError
    ),
    "not HTTP at all": Mode(
        lambda: raw_bytes(b"SSH-2.0-OpenSSH_9.6\r\n\r\n"),
        APIConnectionError,
        AmbiguousOutcomeError,
    ),
    "a 200 kB header line": Mode(
        lambda: raw_bytes(b"HTTP/1.1 200 OK\r\nX-Junk: " + b"a" * 200_000 + b"\r\n\r\n"),
        APIConnectionError,
        AmbiguousOutcomeError,
    ),
    "broken chunked encoding": Mode(
        lambda: raw_bytes(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"
        ),
        APIConnectionError,
        AmbiguousOutcomeError,
    ),
}


def _check(error: BaseException, expected: Errors) -> None:
    assert isinstance(error, ZyntroError), f"untyped {type(error).__name__}: {error}"
    classes = expected if isinstance(expected, tuple) else (expected,)
    # Exact classes: an AmbiguousOutcomeError is an APIConnectionError, but a caller deciding
    # whether to retry needs to know which one it got.
    assert type(error) in classes, f"expected {classes}, got {type(error).__name__}: {error}"


@pytest.mark.parametrize("mode", MODES.values(), ids=MODES.keys())
async def test_an_idempotent_call_gets_a_typed_error(
    mode: Mode, make_client: ClientFactory
) -> None:
    async with RawServer(mode.respond()) as server:
        zy = make_client(server.base_url, **mode.overrides)
        with pytest.raises(ZyntroError) as excinfo:
            await zy.contacts.upsert(CONTACT)
    _check(excinfo.value, mode.idempotent)


@pytest.mark.parametrize("mode", MODES.values(), ids=MODES.keys())
async def test_a_creating_call_gets_a_typed_error(mode: Mode, make_client: ClientFactory) -> None:
    async with RawServer(mode.respond()) as server:
        zy = make_client(server.base_url, **mode.overrides)
        with pytest.raises(ZyntroError) as excinfo:
            await zy.notes.add("c-1", "Met at the fair")
    _check(excinfo.value, mode.creating)
    if isinstance(excinfo.value, AmbiguousOutcomeError):
        # Sent once, never repeated: a retry could have created a duplicate.
        assert len(server.requests) == 1


def mixed_operations(n: int) -> list[Any]:
    """``n`` operations of every kind, creating and idempotent, bundles included."""
    ops: list[Any] = []
    for i in range(n):
        kind = i % 5
        if kind == 0:
            ops.append(UpsertContact(Contact(first_name=f"P{i}", primary_email=f"p{i}@acme.com")))
        elif kind == 1:
            ops.append(AddNote(contact_id="c-1", note=f"note {i}"))
        elif kind == 2:
            ops.append(AddLink(contact_id="c-1", name=f"link {i}", url=f"https://acme.com/{i}"))
        elif kind == 3:
            ops.append(LogComms(contact_id="c-1", comms_type="call", data=f"call {i}"))
        else:
            ops.append(
                ContactBundle(
                    Contact(first_name=f"B{i}", primary_email=f"b{i}@acme.com"),
                    notes=[AddNote(contact_id=None, note=f"bundle note {i}")],
                    comms=[LogComms(contact_id=None, comms_type="email", data=f"mail {i}")],
                )
            )
    return ops


@pytest.mark.parametrize("mode", MODES.values(), ids=MODES.keys())
async def test_a_bulk_run_accounts_for_every_item(
    mode: Mode, make_client: ClientFactory, tmp_path: Any
) -> None:
    n = mode.bulk_items
    ops = mixed_operations(n)
    seen: list[ItemResult] = []
    async with RawServer(mode.respond()) as server:
        zy = make_client(server.base_url, **mode.overrides)
        run = zy.bulk.run(
            ops, concurrency=mode.bulk_concurrency, breaker_threshold=None, on_result=seen.append
        )
        # A stalled run must fail here, not hang the suite (Retry-After: 99999999 did).
        report = await asyncio.wait_for(run, timeout=60)
    assert report.total == n
    assert sorted(result.index for result in seen) == list(range(n))
    assert report.succeeded == 0
    # "failed" promises "not applied": only a definite refusal earns it. An unreadable
    # answer, a cut connection or a 500 may hide a success, so those items are "unknown".
    definite = not any(
        issubclass(cls, MalformedResponseError | APIConnectionError)
        for cls in (mode.creating if isinstance(mode.creating, tuple) else (mode.creating,))
    )
    expected = Status.FAILED if definite else Status.UNKNOWN
    for result in seen:
        assert isinstance(result.error, ZyntroError), result
        assert result.status is expected, result
        for child in result.children:
            assert child.status is Status.SKIPPED
    assert report.export(tmp_path / "attention.jsonl") == n


async def test_a_200_mb_chunked_answer_is_refused_without_being_buffered(
    make_client: ClientFactory,
) -> None:
    sent = [0]
    process = psutil.Process()
    peak = [process.memory_info().rss]
    baseline = peak[0]

    async def sample() -> None:
        while True:
            peak[0] = max(peak[0], process.memory_info().rss)
            await asyncio.sleep(0.005)

    async with RawServer(stream_body(200 * MiB, declare_length=False, sent=sent)) as server:
        zy = make_client(server.base_url)  # the default cap: 16 MiB
        sampler = asyncio.ensure_future(sample())
        try:
            with pytest.raises(MalformedResponseError, match="max_response_bytes"):
                await zy.contacts.upsert(CONTACT)
        finally:
            sampler.cancel()
            await asyncio.gather(sampler, return_exceptions=True)
        assert len(server.requests) == 1  # refused, not retried
    assert sent[0] < 64 * MiB  # the client stopped reading long before the end
    assert peak[0] - baseline < 96 * MiB


async def test_a_200_mb_declared_answer_is_refused_before_reading_it(
    make_client: ClientFactory,
) -> None:
    sent = [0]
    async with RawServer(stream_body(200 * MiB, declare_length=True, sent=sent)) as server:
        zy = make_client(server.base_url)
        with pytest.raises(MalformedResponseError, match="exceeds max_response_bytes"):
            await zy.contacts.upsert(CONTACT)
    assert sent[0] < 32 * MiB


async def test_a_slow_drip_is_cut_by_the_attempt_timeout(make_client: ClientFactory) -> None:
    sent = [0]
    head = http_response(200, b"", content_length=len(DRIP_BODY))
    async with RawServer(drip(head, DRIP_BODY, interval=0.2, sent=sent)) as server:
        zy = make_client(server.base_url, timeout=0.5, max_retries=0)
        with pytest.raises(APITimeoutError):
            await zy.contacts.upsert(CONTACT)
        given_up_after = sent[0]
    # The attempt ended while the body was still dripping, not after all of it.
    assert given_up_after < len(DRIP_BODY) // 2


async def test_a_slow_drip_stops_at_the_call_deadline_across_retries(
    make_client: ClientFactory,
) -> None:
    respond = drip(b"", http_response(200, DRIP_BODY))
    async with RawServer(respond) as server:
        zy = make_client(server.base_url, timeout=0.4, deadline=1.0, max_retries=10)
        with pytest.raises(APITimeoutError):
            await zy.contacts.upsert(CONTACT)
        attempts = len(server.requests)
    # The deadline, not max_retries, ended it: 0.4 s attempts fit at most 3 times in 1.0 s.
    assert 1 <= attempts <= 3


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("where", ["another host", "same host, other path"])
async def test_a_redirect_is_never_followed(
    status: int, where: str, make_client: ClientFactory
) -> None:
    async with RawServer(reply(200, CONTACT_OK)) as other:
        location = (
            f"{other.base_url}/apis/v2/public/crm/addContactsFull"
            if where == "another host"
            else "/steal/credentials"
        )
        respond = reply(status, b"", content_type=None, headers={"Location": location})
        async with RawServer(respond) as server:
            zy = make_client(server.base_url)
            with pytest.raises(APIError) as excinfo:
                await zy.contacts.upsert(CONTACT)
    assert excinfo.value.code == f"HTTP_{status}"
    assert len(server.requests) == 1  # neither followed nor retried
    assert server.requests[0].path == "/apis/v2/public/crm/addContactsFull"
    # The credentials in the body never reached the other listener: it saw no connection.
    assert other.connections == 0
    assert bytes(other.received) == b""


def not_unicode_answers() -> Responder:
    """Answers carrying text that is not valid Unicode, a different one each time."""
    answers = [
        http_response(200, b'{"status": "error", "data": ["bad \\ud800 input"]}'),
        http_response(200, b'{"status": "error", "data": "lone \\udfff"}'),
        http_response(400, b'{"status": "error", "data": ["\\udcff"]}'),
        http_response(200, b"<html>\xff\xfe</html>", content_type="text/\xff\xfe"),
        http_response(200, b'{"status": "\\ud800", "data": {}}'),
    ]
    counter = [0]

    async def respond(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        writer.write(answers[counter[0] % len(answers)])
        counter[0] += 1
        await writer.drain()

    return respond


async def test_server_text_that_is_not_unicode_still_reaches_journal_and_export(
    make_client: ClientFactory, tmp_path: Any
) -> None:
    ops = mixed_operations(25)
    async with RawServer(not_unicode_answers()) as server:
        zy = make_client(server.base_url, max_retries=0)
        report = await zy.bulk.run(
            ops, concurrency=5, journal=tmp_path / "run.journal", breaker_threshold=None
        )
    assert report.total == len(ops)
    lines = report.export(tmp_path / "attention.jsonl")
    assert lines == len(ops)
    (tmp_path / "attention.jsonl").read_text(encoding="utf-8")  # valid UTF-8 throughout


async def test_a_run_the_circuit_breaker_stops_still_accounts_for_every_item_pulled(
    make_client: ClientFactory,
) -> None:
    pulled = [0]

    def items() -> Any:
        for op in mixed_operations(400):
            pulled[0] += 1
            yield op

    seen: list[ItemResult] = []
    async with RawServer(closes_without_answer()) as server:
        zy = make_client(server.base_url, max_retries=0)
        with pytest.raises(BulkAbortedError) as excinfo:
            await asyncio.wait_for(
                zy.bulk.run(items(), concurrency=8, on_result=seen.append), timeout=60
            )
    report = excinfo.value.report
    assert isinstance(excinfo.value.reason, CircuitOpenError)
    assert pulled[0] < 400  # it stopped pulling
    assert report.total == pulled[0]
    assert sorted(result.index for result in seen) == list(range(pulled[0]))
    # Nothing that was never sent is reported as possibly applied.
    for result in seen:
        if result.attempts == 0:
            assert result.status is Status.SKIPPED
