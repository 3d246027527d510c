"""OpenTelemetry: one CLIENT span per call, a run span per bulk run, nothing secret in them.

The SDK's in-memory exporter collects the spans. The global tracer provider can be set once
per process, so it is set once here with a sampler these tests switch on: the rest of the
suite runs with it off (non-recording spans, nothing kept).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from aioresponses import aioresponses

pytest.importorskip("opentelemetry.sdk")

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind, StatusCode
from opentelemetry.util.types import Attributes

from zyntro_async import Contact, NotFoundError
from zyntro_async.bulk import UpsertContact

from ._helpers import ADD_CONTACTS, CONTACT_RESULT_DATA, DOC_CREDENTIALS, error, success, url
from .conftest import ClientFactory

CONTACT = Contact(first_name="Jane", primary_email="jane@acme.com")


class Switch(Sampler):
    """Records only while ``on``: the provider stays installed for the whole process."""

    on = False

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: Any = None,
    ) -> SamplingResult:
        decision = Decision.RECORD_AND_SAMPLE if self.on else Decision.DROP
        return SamplingResult(decision, attributes if self.on else None)

    def get_description(self) -> str:
        return "Switch"


SWITCH = Switch()
EXPORTER = InMemorySpanExporter()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider(sampler=SWITCH)
        provider.add_span_processor(SimpleSpanProcessor(EXPORTER))
        trace.set_tracer_provider(provider)
    EXPORTER.clear()
    SWITCH.on = True
    try:
        yield EXPORTER
    finally:
        SWITCH.on = False
        EXPORTER.clear()


def call_spans(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.kind is SpanKind.CLIENT]


async def test_a_call_is_one_client_span_with_the_http_conventions(
    spans: InMemorySpanExporter, make_client: ClientFactory, mocked: aioresponses
) -> None:
    mocked.post(url(ADD_CONTACTS), payload=success(CONTACT_RESULT_DATA))
    tracer = trace.get_tracer("test")
    async with make_client() as zy:
        with tracer.start_as_current_span("outer") as outer:
            await zy.contacts.upsert(CONTACT)
    [span] = call_spans(spans)
    assert span.name == "zyntro crm/addContactsFull"
    assert span.kind is SpanKind.CLIENT
    attributes = dict(span.attributes or {})
    assert attributes["http.request.method"] == "POST"
    assert attributes["server.address"] == "app.zyntrohq.com"
    assert attributes["server.port"] == 443
    assert attributes["url.full"] == url(ADD_CONTACTS)
    assert attributes["http.response.status_code"] == 200
    assert attributes["zyntro.attempts"] == 1
    assert "http.request.resend_count" not in attributes
    assert span.status.status_code is StatusCode.UNSET
    assert span.parent is not None
    assert span.parent.span_id == outer.get_span_context().span_id


async def test_retries_are_counted_on_the_one_span(
    spans: InMemorySpanExporter, make_client: ClientFactory, mocked: aioresponses
) -> None:
    mocked.post(url(ADD_CONTACTS), status=503, headers={"Retry-After": "1"})
    mocked.post(url(ADD_CONTACTS), payload=success(CONTACT_RESULT_DATA))
    async with make_client(max_retries=2) as zy:
        await zy.contacts.upsert(CONTACT)
    [span] = call_spans(spans)
    attributes = dict(span.attributes or {})
    assert attributes["zyntro.attempts"] == 2
    assert attributes["http.request.resend_count"] == 1
    [event] = span.events
    assert event.name == "zyntro.retry"
    assert dict(event.attributes or {})["http.response.status_code"] == 503
    assert span.status.status_code is StatusCode.UNSET


async def test_a_failed_call_has_an_error_status_and_type(
    spans: InMemorySpanExporter, make_client: ClientFactory, mocked: aioresponses
) -> None:
    mocked.post(url(ADD_CONTACTS), payload=error("Contact does not exist"))
    async with make_client() as zy:
        with pytest.raises(NotFoundError):
            await zy.contacts.update(CONTACT)
    [span] = call_spans(spans)
    assert span.status.status_code is StatusCode.ERROR
    attributes = dict(span.attributes or {})
    assert attributes["error.type"] == "NotFoundError"
    assert attributes["zyntro.error.code"] == "NOT_FOUND"
    assert span.status.description is None  # no message text: it is the server's


async def test_a_bulk_run_span_parents_its_calls_and_counts_outcomes(
    spans: InMemorySpanExporter, make_client: ClientFactory, mocked: aioresponses
) -> None:
    mocked.post(url(ADD_CONTACTS), payload=success(CONTACT_RESULT_DATA))
    mocked.post(url(ADD_CONTACTS), payload=error("Invalid email format"))
    mocked.post(url(ADD_CONTACTS), payload=success(CONTACT_RESULT_DATA))
    items = [
        UpsertContact(Contact(first_name=f"J{i}", primary_email=f"j{i}@acme.com")) for i in range(3)
    ]
    async with make_client() as zy:
        report = await zy.bulk.run(items, concurrency=1)
    assert (report.succeeded, report.failed) == (2, 1)
    [run] = [s for s in spans.get_finished_spans() if s.name == "zyntro bulk.run"]
    calls = call_spans(spans)
    assert len(calls) == 3
    assert all(c.parent is not None and c.parent.span_id == run.context.span_id for c in calls)
    attributes = dict(run.attributes or {})
    assert attributes["zyntro.bulk.total"] == 3
    assert attributes["zyntro.bulk.succeeded"] == 2
    assert attributes["zyntro.bulk.failed"] == 1
    assert attributes["zyntro.bulk.unknown"] == 0
    assert attributes["zyntro.bulk.skipped"] == 0
    assert attributes["zyntro.bulk.concurrency"] == 1


async def test_no_span_carries_a_credential_or_a_body(
    spans: InMemorySpanExporter, make_client: ClientFactory, mocked: aioresponses
) -> None:
    echoed = {**CONTACT_RESULT_DATA, "message": f"echo {DOC_CREDENTIALS!r}"}
    mocked.post(url(ADD_CONTACTS), payload=success(echoed))
    mocked.post(url(ADD_CONTACTS), payload=error(f"bad key {DOC_CREDENTIALS['api_key']}"))
    async with make_client() as zy:
        await zy.contacts.upsert(CONTACT)
        with pytest.raises(Exception, match="redacted"):
            await zy.contacts.upsert(CONTACT)
    exported = "".join(s.to_json() for s in spans.get_finished_spans())
    assert len(call_spans(spans)) == 2
    for secret in (DOC_CREDENTIALS["api_key"], DOC_CREDENTIALS["developer_secret"]):
        assert secret not in exported
    assert "jane@acme.com" not in exported  # nor the request body
    json.loads("[" + ",".join(s.to_json() for s in spans.get_finished_spans()) + "]")


def test_without_opentelemetry_no_observer_is_installed() -> None:
    script = textwrap.dedent(
        """
        import asyncio, sys

        class Block:
            def find_spec(self, name, path=None, target=None):
                if name == "opentelemetry" or name.startswith("opentelemetry."):
                    raise ImportError("blocked for the test")

        sys.meta_path.insert(0, Block())
        from zyntro_async import ZyntroClient
        from zyntro_async._tracing import TracingSwitch, run_span, tracing_observer

        zy = ZyntroClient(api_key="k" * 12, developer_secret="s" * 12, org_id="o")
        assert zy._observer is None, zy._observer
        assert tracing_observer("https://x.example") is None
        assert TracingSwitch.for_client("https://x.example") is None
        with run_span(concurrency=1, journal=False) as span:
            span.set_counts({"succeeded": 1})
        assert not any(m.startswith("opentelemetry") for m in sys.modules)
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout.strip() == "ok", done.stderr


def test_without_a_tracer_provider_calls_pay_nothing_until_one_is_set() -> None:
    # A fresh process: opentelemetry-api is importable, but no provider is configured yet.
    script = textwrap.dedent(
        """
        import asyncio, sys
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        import zyntro_async._transport as transport
        from zyntro_async import Contact
        from zyntro_async._tracing import TracingObserver, TracingSwitch, tracing_observer
        from zyntro_async.testing import Emulator

        made = []
        real_call = transport.Call
        transport.Call = lambda *a, **k: made.append(1) or real_call(*a, **k)
        now = [0.0]
        JANE = Contact(first_name="Jane", primary_email="jane@acme.example")

        async def main():
            emulator = Emulator.demo()
            async with emulator.serve(host="127.0.0.1", port=0):
                zy = emulator.client()
                zy._tracing = TracingSwitch(zy.config.base_url, clock=lambda: now[0])
                await zy.contacts.upsert(JANE)
                assert zy._observer is None
                assert tracing_observer("https://x.example") is None
                assert made == [], made

                exporter = InMemorySpanExporter()
                provider = TracerProvider()
                provider.add_span_processor(SimpleSpanProcessor(exporter))
                trace.set_tracer_provider(provider)
                await zy.contacts.upsert(JANE)
                assert exporter.get_finished_spans() == ()  # asked again only after 1 s
                now[0] += 1.0
                await zy.contacts.upsert(JANE)
                assert isinstance(zy._observer, TracingObserver)
                [span] = exporter.get_finished_spans()
                assert span.name == "zyntro crm/addContactsFull"
                # A client built now traces from its first call.
                other = emulator.client()
                await other.contacts.upsert(JANE)
                assert len(exporter.get_finished_spans()) == 2
                await other.aclose()
                await zy.aclose()

        asyncio.run(main())
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout.strip() == "ok", done.stderr


def test_a_no_op_tracer_switches_nothing_on_and_is_asked_again_after_a_while(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import zyntro_async._tracing as tracing

    now = [0.0]
    tracers: list[Any] = [trace.NoOpTracer()]
    monkeypatch.setattr(tracing, "_tracer", lambda: tracers[-1])
    switch = tracing.TracingSwitch("https://x.example", recheck_seconds=5.0, clock=lambda: now[0])
    assert switch.current() is None
    tracers.append(TracerProvider().get_tracer("t"))  # a recording tracer from now on
    now[0] = 4.9
    assert switch.current() is None  # the "no" of t=0 still holds
    now[0] = 5.0
    observer = switch.current()
    assert isinstance(observer, tracing.TracingObserver)
    tracers.append(trace.NoOpTracer())
    now[0] = 100.0
    assert switch.current() is observer  # once on, it stays on
