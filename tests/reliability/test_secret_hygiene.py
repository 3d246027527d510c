"""The api_key and developer_secret appear nowhere but in the request bodies sent.

A whole import runs with everything turned up: DEBUG logging on the root logger (aiohttp's
loggers included), failing requests of every kind (NOT_OWNER from the emulator, injected
faults, a server that echoes the request body back in every place it can), a journal and
an export. Then every artefact is searched for the two secret values: log records, each
error's formatted traceback with its whole chain of causes, the reprs of the client, its
configuration, the results and errors, pickled errors, every journal row, every export line,
the emulator's request log, what was printed, and every file written under the temporary
directory and the working directory. The count of hits must be zero.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import pickle
import secrets
import sqlite3
import tempfile
import traceback
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from aiohttp import web

import zyntro_async._tracing
from zyntro_async import Contact, ZyntroClient
from zyntro_async.bulk import AddLink, AddNote, ContactBundle, ItemResult, LogComms, UpsertContact
from zyntro_async.testing import Emulator, Malformed, ResetAfterApply, ServerFailure

from ._hostile import RawRequest, RawServer, Responder, http_response
from .conftest import API_KEY, DEVELOPER_SECRET, SECRETS, ClientFactory, fast_policy


def leaks(text: str, secrets: tuple[str, ...]) -> list[str]:
    """The secrets found in ``text``, and any 12-character piece of one (a cut-off copy)."""
    found = []
    for secret in secrets:
        pieces = {secret[i : i + 12] for i in range(len(secret) - 11)}
        if secret in text or any(piece in text for piece in pieces):
            found.append(secret)
    return found


def chain(error: BaseException | None) -> Iterator[BaseException]:
    """``error`` and the exceptions behind it, as a traceback (or Sentry, or logging) shows
    them: ``__cause__``, and ``__context__`` unless ``raise ... from`` suppressed it."""
    seen: set[int] = set()
    stack = [error]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack.append(current.__cause__)
        if not current.__suppress_context__:
            stack.append(current.__context__)


def describe_results(results: list[ItemResult]) -> Iterator[tuple[str, str]]:
    for result in results:
        for item in (result, *result.children):
            yield f"repr(result {item.index})", repr(item)
            for link in chain(item.error):
                yield f"str({type(link).__name__})", str(link)
                yield f"repr({type(link).__name__})", repr(link)
                yield f"args({type(link).__name__})", repr(link.args)
            if item.error is not None:
                formatted = "".join(
                    traceback.format_exception(
                        type(item.error), item.error, item.error.__traceback__
                    )
                )
                yield f"traceback of item {item.index}", formatted
                try:
                    pickled = pickle.dumps(item.error)
                except Exception:  # some causes cannot be pickled: not what this test is about
                    pass
                else:
                    yield f"pickle of item {item.index}", pickled.decode("latin-1")


def journal_rows(path: Path) -> Iterator[tuple[str, str]]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        for row in conn.execute("SELECT * FROM outcomes"):
            yield f"journal row {row[0]}", repr(row)


def files_under(*roots: Path) -> Iterator[tuple[str, str]]:
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file():
                yield f"file {path}", path.read_bytes().decode("latin-1")


@pytest.fixture
def scratch_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A working directory and a temporary directory that only this test writes to."""
    work = tmp_path / "work"
    temp = tmp_path / "temp"
    work.mkdir()
    temp.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    return work, temp


@pytest.fixture
def everything_logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    for name in ("aiohttp", "aiohttp.client", "aiohttp.internal", "asyncio", "zyntro_async"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def log_texts(caplog: pytest.LogCaptureFixture) -> Iterator[tuple[str, str]]:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    for record in caplog.records:
        yield f"log {record.name}", formatter.format(record) + repr(record.args)


def import_items(contact_id: str, other_member: str) -> list[Any]:
    items: list[Any] = []
    for i in range(40):
        kind = i % 5
        if kind == 0:
            items.append(UpsertContact(Contact(first_name="U", primary_email=f"u{i}@acme.com")))
        elif kind == 1:
            # Someone else's contact: "The API only supports notes being added by the member
            # that owns the contact." (NOT_OWNER)
            items.append(AddNote(contact_id=contact_id, note=f"n{i}", member_id=other_member))
        elif kind == 2:
            items.append(AddLink(contact_id=contact_id, name=f"l{i}", url=f"https://a.io/{i}"))
        elif kind == 3:
            items.append(LogComms(contact_id=contact_id, comms_type="call", data=f"c{i}"))
        else:
            items.append(
                ContactBundle(
                    Contact(first_name="B", primary_email=f"b{i}@acme.com"),
                    notes=[AddNote(contact_id=None, note=f"bn{i}")],
                )
            )
    return items


def assert_clean(sources: list[tuple[str, str]], secrets: tuple[str, ...]) -> None:
    hits = [(where, found) for where, text in sources if (found := leaks(text, secrets))]
    assert not hits, f"{len(hits)} leak(s), first in: {[where for where, _ in hits[:5]]}"


async def test_an_import_against_the_emulator_leaks_no_credential(
    scratch_dirs: tuple[Path, Path],
    everything_logged: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    work, temp = scratch_dirs
    emu = Emulator.demo(seed=API_KEY)  # fresh, random credentials
    creds = emu.credentials
    secrets = (creds.api_key, creds.developer_secret)
    owner = emu.add_contact(fields={"firstName": "Owner", "primaryEmail": "owner@acme.com"})
    emu.faults.add(ServerFailure(500, apply=True), probability=0.15)
    emu.faults.add(ResetAfterApply(), probability=0.1)
    emu.faults.add(Malformed("html"), probability=0.1)
    results: list[ItemResult] = []
    async with emu.serve(), emu.client(retry_policy=fast_policy(2)) as zy:
        report = await zy.bulk.run(
            import_items(owner.contact_id, creds.other_members[0]),
            concurrency=8,
            journal=work / "import.journal",
            breaker_threshold=None,
            on_result=results.append,
        )
        client_reprs = [repr(zy), repr(zy.config), str(zy.config), repr(zy.retry_policy)]
    written = report.export(work / "attention.jsonl")
    await emu.close()
    assert written > 0
    assert any(r.code == "NOT_OWNER" for r in results), "the NOT_OWNER path did not run"
    assert sum(emu.faults.fired.values()) > 0

    sources: list[tuple[str, str]] = [("client", text) for text in client_reprs]
    sources += list(describe_results(results))
    sources += [("report", repr(report)), ("summary", report.summary())]
    sources += list(journal_rows(work / "import.journal"))
    sources += [("export", line) for line in (work / "attention.jsonl").read_text().splitlines()]
    sources += [("emulator log", repr(emu.requests))]
    sources += list(log_texts(everything_logged))
    captured = capsys.readouterr()
    sources += [("stdout", captured.out), ("stderr", captured.err)]
    sources += list(files_under(work, temp))
    assert_clean(sources, secrets)


def echo_responder() -> Responder:
    """Echo the request (credentials and all) back, a different way each time."""
    counter = [0]

    def variants(body: bytes) -> list[bytes]:
        text = body.decode()
        data = json.loads(body)
        padded = " " * 150 + "x" * 60 + API_KEY + " " * 300  # a credential at the cut
        return [
            http_response(200, body, content_type="text/html"),
            http_response(500, body, content_type="text/plain"),
            http_response(400, body),
            http_response(429, body, headers={"Retry-After": API_KEY}),
            http_response(200, json.dumps({"status": "error", "data": [text]}).encode()),
            http_response(200, json.dumps({"status": "error", "data": text}).encode()),
            http_response(200, json.dumps({"status": API_KEY, "data": data}).encode()),
            http_response(200, json.dumps({"status": "success", "data": data}).encode()),
            http_response(
                200, json.dumps({"status": "success", "data": {"note_id": data}}).encode()
            ),
            http_response(200, body, content_type=f"text/{API_KEY}"),
            http_response(200, body, content_type=f"application/{DEVELOPER_SECRET}"),
            http_response(502, padded.encode(), content_type="text/html"),
            http_response(200, padded.encode(), content_type="text/html"),
            http_response(302, body, headers={"Location": f"http://127.0.0.1:9/{API_KEY}"}),
            http_response(200, body, reason=API_KEY),
            f"HTTP/1.1 200 OK\r\nX-{API_KEY}\r\n\r\n".encode(),
            f"HTTP/1.1 {API_KEY}\r\n\r\n".encode(),
            f"{DEVELOPER_SECRET} {API_KEY}\r\n\r\n".encode(),
            http_response(200, body[: len(body) // 2], content_length=len(body)),
        ]

    async def respond(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        options = variants(request.body)
        writer.write(options[counter[0] % len(options)])
        counter[0] += 1
        await writer.drain()

    return respond


ECHO_VARIANTS = 19


async def test_an_import_against_an_echoing_server_leaks_no_credential(
    scratch_dirs: tuple[Path, Path],
    everything_logged: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    make_client: ClientFactory,
) -> None:
    work, temp = scratch_dirs
    results: list[ItemResult] = []
    async with RawServer(echo_responder()) as server:
        zy: ZyntroClient = make_client(server.base_url, retry_policy=fast_policy(1))
        report = await zy.bulk.run(
            import_items("c-1", "m-2"),
            concurrency=4,
            journal=work / "import.journal",
            breaker_threshold=None,
            on_result=results.append,
        )
        client_reprs = [repr(zy), repr(zy.config), str(zy.config)]
        # Every echo variant was answered at least once.
        assert len(server.requests) >= ECHO_VARIANTS
        # The server did receive the secrets: the scan below would notice a broken scan.
        assert API_KEY.encode() in server.requests[0].body
    report.export(work / "attention.jsonl")
    assert report.succeeded == 0

    sources: list[tuple[str, str]] = [("client", text) for text in client_reprs]
    sources += list(describe_results(results))
    sources += [("report", repr(report))]
    sources += list(journal_rows(work / "import.journal"))
    sources += [("export", line) for line in (work / "attention.jsonl").read_text().splitlines()]
    sources += list(log_texts(everything_logged))
    captured = capsys.readouterr()
    sources += [("stdout", captured.out), ("stderr", captured.err)]
    sources += list(files_under(work, temp))
    assert_clean(sources, SECRETS)


def test_the_leak_scan_finds_a_leak() -> None:
    """The scanner itself works: a whole secret and a cut-off piece are both found."""
    assert leaks(f"x {API_KEY} y", SECRETS) == [API_KEY]
    assert leaks(f"...{DEVELOPER_SECRET[:14]}", SECRETS) == [DEVELOPER_SECRET]
    assert leaks("nothing here", SECRETS) == []


# ---- success answers that echo the request, with credentials JSON and URLs escape ------

# Characters a JSON encoder escapes (``"``, ``\``, ``/`` for some, non-ASCII with
# ensure_ascii) and a URL encoder quotes: before, 13 of 21 characters of such a key leaked.
ESCAPY_KEY = 'KEY"q\\u/é+&%' + secrets.token_hex(6)
ESCAPY_SECRET = "zdk/+ &" + secrets.token_hex(8) + '"é'


def spellings(secret: str) -> list[str]:
    """The forms an echo may take: as is, JSON-escaped (three ways), percent-encoded."""
    escaped = json.dumps(secret)[1:-1]
    return [
        secret,
        escaped,
        json.dumps(secret, ensure_ascii=False)[1:-1],
        escaped.replace("/", "\\/"),
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
    ]


def scan(sources: list[tuple[str, str]], *secret_values: str) -> None:
    forms = tuple(form for secret in secret_values for form in spellings(secret))
    assert_clean(sources, forms)


async def echo_success(request: web.Request) -> web.Response:
    """Answer every call with success, quoting the request body in several places."""
    text = (await request.read()).decode()
    endpoint = request.path.rsplit("/", 2)[-2:]
    action = endpoint[-1]
    if action == "addContactsFull":
        data: Any = {
            "action": "created",
            "contact_id": "c-1",
            "entity_action": "none",
            "entity_id": None,
            "message": text,
            "echo": {"url": quote(text)},
        }
    elif action == "addNotestoContact":
        data = {
            "note_id": "n-1",
            "contact_id": "c-1",
            "note_content": text,
            "note_editable": 0,
            "note_visibility": 1,
            "raw": [text, quote_plus(text)],
        }
    elif action == "manageAttachments":
        data = {"action": "inserted", "att_id": "a-1", "message": quote(text)}
    else:  # comms: an error quoting the body, so the item is in the export too
        return web.json_response({"status": "error", "data": [f"Invalid data: {text}"]})
    return web.json_response({"status": "success", "data": data})


@pytest.fixture
async def echo_server() -> AsyncIterator[str]:
    runner = web.ServerRunner(web.Server(echo_success))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def test_a_success_echo_of_escaped_credentials_reaches_nothing(
    scratch_dirs: tuple[Path, Path],
    everything_logged: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    make_client: ClientFactory,
    echo_server: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    otel_sdk = pytest.importorskip("opentelemetry.sdk.trace")
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = otel_sdk.TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(zyntro_async._tracing, "_tracer", lambda: provider.get_tracer("t"))

    work, temp = scratch_dirs
    events: list[Any] = []
    hooks = {"request": [events.append], "response": [events.append], "retry": [events.append]}
    zy = make_client(
        echo_server, api_key=ESCAPY_KEY, developer_secret=ESCAPY_SECRET, event_hooks=hooks
    )
    items = [
        ContactBundle(
            Contact(first_name="E", primary_email=f"e{i}@acme.com"),
            notes=[AddNote(contact_id=None, note=f"note {i}")],
            attachments=[AddLink(contact_id=None, name="deck", url="https://a.io/d")],
            comms=[LogComms(contact_id=None, comms_type="call", data=f"c{i}")],
        )
        for i in range(3)
    ]
    items += [LogComms(contact_id="c-1", comms_type="call", data="top-level")]
    results: list[ItemResult] = []
    report = await zy.bulk.run(
        items, journal=work / "echo.journal", on_result=results.append, breaker_threshold=None
    )
    direct = [
        await zy.contacts.upsert(Contact(first_name="D", primary_email="d@acme.com")),
        await zy.notes.add("c-1", "direct"),
        await zy.attachments.add_link("c-1", name="x", url="https://a.io/x"),
    ]
    await zy.aclose()
    report.export(work / "attention.jsonl")
    assert report.failed > 0  # the comms: the export has lines

    sources: list[tuple[str, str]] = [("direct result", repr(r)) for r in direct]
    sources += [
        ("direct result extra", repr(vars(r) if hasattr(r, "__dict__") else r)) for r in direct
    ]
    sources += list(describe_results(results))
    sources += [("report", repr(report))]
    sources += list(journal_rows(work / "echo.journal"))
    sources += [("journal bytes", (work / "echo.journal").read_bytes().decode("latin-1"))]
    sources += [("export", (work / "attention.jsonl").read_text())]
    sources += [("hook event", repr(event)) for event in events]
    sources += [("span", span.to_json()) for span in exporter.get_finished_spans()]
    sources += list(log_texts(everything_logged))
    captured = capsys.readouterr()
    sources += [("stdout", captured.out), ("stderr", captured.err)]
    sources += list(files_under(work, temp))
    assert len(events) > 0
    assert len(exporter.get_finished_spans()) > 0
    scan(sources, ESCAPY_KEY, ESCAPY_SECRET)
    # The echo really was there, scrubbed: the note's content says so.
    assert "[redacted]" in direct[1].note_content


def test_the_spelling_scan_finds_an_escaped_leak() -> None:
    leaked = json.dumps({"m": ESCAPY_KEY})  # "KEY\"q\\u/\u00e9+..." on the wire
    with pytest.raises(AssertionError):
        scan([("x", leaked)], ESCAPY_KEY)
    with pytest.raises(AssertionError):
        scan([("x", quote(ESCAPY_SECRET, safe=""))], ESCAPY_SECRET)
