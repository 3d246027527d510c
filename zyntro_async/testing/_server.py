"""The emulator's HTTP side: aiohttp.web handlers, rate limits and fault rendering.

:class:`ApiServer` turns each ``POST /apis/v2/public/{module}/{action}`` into one
answer: it reads the body (streamed, large strings spilled to disk), asks the rate
limiter and the fault injector what happens to the request, applies it through the
rules when it should, renders the answer (an envelope, an HTML error page, a malformed
body or a reset connection) and logs one :class:`~._log.RequestRecord`.

Per request, in order: body read → rate limits (a refused request is answered 429 and
never applied) → faults drawn → latency → answer → log.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import ipaddress
import json
import logging
import socket
import struct
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import attrs
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.streams import StreamReader

import zyntro_async.testing._messages as msg
from zyntro_async.testing._bodies import CHUNK_SIZE, BodyError, SpilledString, parse_json_stream
from zyntro_async.testing._faults import (
    FaultDecision,
    FaultInjector,
    Malformed,
    RateLimited,
    ResetAfterApply,
    ResetBeforeApply,
    ServerFailure,
    Stall,
)
from zyntro_async.testing._limits import Admission, RateLimiter
from zyntro_async.testing._log import RequestLog, RequestRecord, summarize_body
from zyntro_async.testing._messages import ENDPOINTS, Rejected
from zyntro_async.testing._rules import CrmRules

__all__ = ["API_PREFIX", "STATS_PATH", "ApiServer"]

logger = logging.getLogger("zyntro_async.testing")

API_PREFIX = "/apis/v2/public"
STATS_PATH = "/_emulator/stats"
"""``GET`` it for :meth:`ApiServer.stats` as JSON (not an API endpoint; never logged)."""

_HTML_STATUS_TEXT = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
                     504: "Gateway Timeout"}  # fmt: skip


@attrs.define
class _Answer:
    """How a request ends: a response, or a reset connection."""

    status: int | None
    outcome: str
    payload: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = attrs.Factory(dict)
    messages: tuple[str, ...] = ()
    applied: bool = False


@attrs.frozen
class _ReceivedBody:
    """An API call's body as read: parsed (with its spilled strings) or why not."""

    body: Any = None
    spilled: tuple[SpilledString, ...] = ()
    problem: Literal["not_json", "disconnected"] | None = None


def _envelope(status: int, outcome: str, messages: Sequence[str], **headers: str) -> _Answer:
    payload = json.dumps({"status": "error", "data": list(messages)}).encode()
    return _Answer(status, outcome, payload, headers=dict(headers), messages=tuple(messages))


def _too_many_requests(outcome: str, retry_after: str | None) -> _Answer:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return _envelope(429, outcome, [msg.TOO_MANY_REQUESTS], **headers)


class ApiServer:
    """Serves the rules over HTTP, with the limiter, the faults and the log around them.

    Args:
        rules: The endpoints' rules (and through them the store).
        faults: The fault injector.
        limits: The rate limiter.
        log: The request log.
        storage_dir: Called to get the directory for spilled strings.
        spill_threshold: JSON strings longer than this many bytes are spilled to disk.
    """

    def __init__(
        self,
        *,
        rules: CrmRules,
        faults: FaultInjector,
        limits: RateLimiter,
        log: RequestLog,
        storage_dir: Callable[[], Path],
        spill_threshold: int,
    ) -> None:
        self._rules = rules
        self._faults = faults
        self._limits = limits
        self._log = log
        self._storage_dir = storage_dir
        self._spill_threshold = spill_threshold
        self._runner: web.AppRunner | None = None
        self._closing: asyncio.Event | None = None
        self.base_url: str | None = None
        # Bodies the body-first middleware read, by request, until its handler returns
        # (not the request's own storage: aiohttp 3.14 warns for a str key there, and its
        # RequestKey does not exist in 3.13).
        self._received: dict[int, _ReceivedBody] = {}

    # --------------------------------------------------------------- serving

    def make_app(self) -> web.Application:
        """Return an ``aiohttp.web.Application`` serving the API.

        Returns:
            The application.
        """
        # Uploads are streamed to disk, never read whole: no size limit is needed.
        app = web.Application(client_max_size=1 << 62, middlewares=[self._read_body_first])
        app.router.add_route("*", API_PREFIX + "/{module}/{action}", self._handle_api)
        app.router.add_route("GET", STATS_PATH, self._handle_stats)
        app.router.add_route("*", "/{tail:.*}", self._handle_unknown)
        return app

    async def start(self, *, host: str, port: int) -> str:
        """Start serving (see ``Emulator.start``).

        Returns:
            The base URL.

        Raises:
            RuntimeError: Already serving.
        """
        if self._runner is not None:
            raise RuntimeError(f"the emulator is already serving at {self.base_url}")
        self._closing = asyncio.Event()
        # A short shutdown timeout: stalled requests must not hold up a test's teardown.
        runner = web.AppRunner(self.make_app(), access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        bound_host, bound_port = runner.addresses[0][:2]
        self.base_url = _url_for(bound_host, bound_port)
        return self.base_url

    async def stop(self) -> None:
        """Stop serving (idempotent); in-flight stalls end at once."""
        runner, self._runner = self._runner, None
        self.base_url = None
        if runner is None:
            return
        if self._closing is not None:
            self._closing.set()
        await runner.cleanup()

    def stats(self) -> dict[str, Any]:
        """The counts a benchmark needs, e.g. from an emulator in another process.

        Returns:
            ``requests`` (all), ``applied`` (took effect: goodput), ``rate_limited``
            (refused by a limit), ``status_counts`` (by HTTP status, ``"reset"`` for reset
            connections; ``"429"`` includes the ``RateLimited`` fault), ``in_flight``,
            and per endpoint ``requests_by_endpoint`` and ``applied_by_endpoint``.
        """
        log = self._log
        return {
            "requests": sum(log.by_endpoint.values()),
            "applied": sum(self._rules.store.applied.values()),
            "rate_limited": sum(log.rate_limited.values()),
            "status_counts": {
                ("reset" if status is None else str(status)): count
                for status, count in sorted(log.by_status.items(), key=lambda kv: str(kv[0]))
            },
            "in_flight": self._limits.in_flight(),
            "requests_by_endpoint": dict(log.by_endpoint),
            "applied_by_endpoint": dict(self._rules.store.applied),
        }

    # -------------------------------------------------------------- handling

    async def _handle_stats(self, _request: web.Request) -> web.StreamResponse:
        return web.json_response(self.stats())

    @web.middleware
    async def _read_body_first(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Read an API call's body before anything else runs for it (see ``_receive_body``)."""
        if request.method != "POST" or request.match_info.get("module") is None:
            return await handler(request)
        key = id(request)
        self._received[key] = await self._receive_body(request)
        try:
            return await handler(request)
        finally:
            self._received.pop(key, None)

    async def _receive_body(self, request: web.Request) -> _ReceivedBody:
        """Read and parse the body at once, as bytes arrive, so none wait unread.

        A real server applies a request whose body arrived whole, whatever the client does
        next (it may have been killed right after its last byte). aiohttp marks a body with
        the disconnect as soon as the connection drops and from then on hands out none of
        the bytes it still holds, so a body left unread until then would be lost. Parsing
        awaits nothing but the next bytes, and the disconnect is only noticed when the
        loop next polls the socket, after the reader has taken what had arrived: read
        first, before any middleware, latency or fault, a body that arrived whole is read
        whole. Only a body cut short, whose end the HTTP parser never saw, is lost.
        """
        try:
            body, spilled = await parse_json_stream(
                _received_body(request.content),
                spill_dir=self._storage_dir(),
                threshold=self._spill_threshold,
            )
        except BodyError:
            return _ReceivedBody(problem="not_json")
        except (ConnectionError, HttpProcessingError):
            return _ReceivedBody(problem="disconnected")
        return _ReceivedBody(body=body, spilled=tuple(spilled))

    async def _handle_unknown(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        endpoint = path[len(API_PREFIX) + 1 :] if path.startswith(API_PREFIX + "/") else path
        answer = _envelope(404, "rejected", [msg.UNKNOWN_ENDPOINT.format(endpoint=endpoint)])
        return self._respond(request, endpoint=endpoint, answer=answer, started=time.monotonic())

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        started = time.monotonic()
        endpoint = f"{request.match_info['module']}/{request.match_info['action']}"
        if endpoint not in ENDPOINTS:
            answer = _envelope(404, "rejected", [msg.UNKNOWN_ENDPOINT.format(endpoint=endpoint)])
            return self._respond(request, endpoint=endpoint, answer=answer, started=started)
        if request.method != "POST":
            answer = _envelope(
                405,
                "rejected",
                [msg.METHOD_NOT_ALLOWED.format(method=request.method)],
                Allow="POST",
            )
            return self._respond(request, endpoint=endpoint, answer=answer, started=started)

        not_an_object = _envelope(400, "rejected", [msg.NOT_A_JSON_OBJECT])
        received = self._received.get(id(request))
        if received is None:  # an app without the middleware (a test's own)
            received = await self._receive_body(request)
        if received.problem == "not_json":
            return self._respond(request, endpoint=endpoint, answer=not_an_object, started=started)
        if received.problem == "disconnected":
            # The client went away (or broke the framing) before its body was complete:
            # a real server cannot apply half a request, and there is no one to answer.
            gone = _Answer(None, "disconnected")
            return self._respond(request, endpoint=endpoint, answer=gone, started=started)
        body, spilled = received.body, received.spilled
        admission: Admission | None = None
        try:
            if not isinstance(body, dict):
                return self._respond(
                    request, endpoint=endpoint, answer=not_an_object, started=started
                )
            api_key = body.get("api_key")
            admission = self._limits.admit(api_key if isinstance(api_key, str) else None)
            # Faults are drawn for well-formed requests, in arrival order; a request a
            # limit refused still takes its latency, never a terminal fault.
            decision = self._faults.decide(endpoint, latency_only=not admission.admitted)
            if decision.latency_ms:
                await self._wait(decision.latency_ms / 1000)
            body = _materialize_text(body)
            if admission.admitted:
                answer = await self._answer(request, endpoint, body, decision)
            else:
                answer = _too_many_requests("rate_limited", admission.retry_after)
            return self._respond(
                request,
                endpoint=endpoint,
                answer=answer,
                started=started,
                decision=decision,
                admission=admission,
                body=body,
            )
        finally:
            if admission is not None:
                admission.release()
            for spill in spilled:
                spill.path.unlink(missing_ok=True)

    async def _answer(
        self,
        request: web.Request,
        endpoint: str,
        body: dict[str, Any],
        decision: FaultDecision,
    ) -> _Answer:
        fault = decision.fault
        if isinstance(fault, RateLimited):
            return _too_many_requests("fault", str(int(fault.retry_after)))
        if isinstance(fault, ResetBeforeApply):
            return _Answer(None, "fault")
        if isinstance(fault, ServerFailure):
            applied = fault.apply and (await self._apply(endpoint, body, request.remote)).applied
            answer = _failure_body(fault)
            answer.applied = applied
            return answer
        if isinstance(fault, ResetAfterApply):
            result = await self._apply(endpoint, body, request.remote)
            return _Answer(None, "fault", messages=result.messages, applied=result.applied)
        if isinstance(fault, Stall):
            interrupted = await self._wait(fault.seconds)
            if interrupted or fault.then == "drop":
                return _Answer(None, "fault")
            result = await self._apply(endpoint, body, request.remote)
            if fault.then == "apply":
                return _Answer(None, "fault", messages=result.messages, applied=result.applied)
            return result
        if isinstance(fault, Malformed):
            applied = fault.apply and (await self._apply(endpoint, body, request.remote)).applied
            answer = _malformed_body(fault)
            answer.applied = applied
            return answer
        return await self._apply(endpoint, body, request.remote)

    async def _apply(self, endpoint: str, body: dict[str, Any], peer: str | None) -> _Answer:
        applied = self._rules.store.applied
        before = applied[endpoint]
        try:
            data = await self._rules.handle(endpoint, body, peer)
        except Rejected as rejected:
            return _envelope(200, "error", rejected.messages)
        except Exception as exc:
            # A bug in the emulator, not an API answer: make it loud and visible.
            logger.exception("emulator failed on %s", endpoint)
            answer = _envelope(500, "internal_error", [msg.INTERNAL_ERROR.format(error=repr(exc))])
            answer.applied = applied[endpoint] != before
            return answer
        payload = json.dumps({"status": "success", "data": data}).encode()
        return _Answer(200, "success", payload, applied=applied[endpoint] != before)

    async def _wait(self, seconds: float) -> bool:
        """Sleep, but wake up when the emulator stops; returns ``True`` if it stopped."""
        closing = self._closing
        if closing is None:  # served through make_app() by someone else
            await asyncio.sleep(seconds)
            return False
        try:
            await asyncio.wait_for(closing.wait(), timeout=seconds)
        except asyncio.TimeoutError:
            return False
        return True

    def _respond(
        self,
        request: web.Request,
        *,
        endpoint: str,
        answer: _Answer,
        started: float,
        decision: FaultDecision | None = None,
        admission: Admission | None = None,
        body: Any = None,
    ) -> web.StreamResponse:
        names = decision.names if decision is not None else ()
        if admission is not None and admission.limit is not None:
            names = (*names, admission.limit.name)
        record = RequestRecord(
            seq=self._log.next_seq(),
            method=request.method,
            endpoint=endpoint,
            peer=request.remote,
            http_status=answer.status,
            outcome=answer.outcome,
            messages=answer.messages,
            applied=answer.applied,
            faults=names,
            body=summarize_body(body) if isinstance(body, dict) else {},
            duration=time.monotonic() - started,
        )
        self._log.append(record)
        if answer.status is None:
            _reset_connection(request)
            # Never sent: the transport is gone. aiohttp notices and moves on.
            return web.Response(status=500)
        headers = answer.headers
        wall_clock = self._limits.wall_clock
        if wall_clock is not time.time:
            # A server's Date and the dates in its Retry-After come from one clock (aiohttp
            # writes Date from this machine's otherwise).
            headers = {**headers, "Date": email.utils.formatdate(wall_clock(), usegmt=True)}
        return web.Response(
            status=answer.status,
            body=answer.payload,
            content_type=answer.content_type,
            headers=headers,
        )


def _url_for(host: str, port: int) -> str:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return f"http://{host}:{port}"
    if address.is_unspecified:  # bound to all interfaces: reach it through loopback
        address = ipaddress.ip_address("::1" if address.version == 6 else "127.0.0.1")
    return f"http://[{address}]:{port}" if address.version == 6 else f"http://{address}:{port}"


async def _received_body(content: StreamReader) -> AsyncIterator[bytes]:
    """Yield the request body in chunks.

    Args:
        content: The request's body stream.

    Yields:
        The body's bytes, chunk by chunk.

    Raises:
        ConnectionError: The client left before the whole body was read.
    """
    while chunk := await content.read(CHUNK_SIZE):
        yield chunk


def _reset_connection(request: web.Request) -> None:
    """Close the connection with a TCP RST, so the client sees "connection reset"."""
    transport = request.transport
    if transport is None or transport.is_closing():
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            # SO_LINGER with a zero timeout turns close() into a reset.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


def _materialize_text(body: dict[str, Any]) -> dict[str, Any]:
    """Turn spilled strings back into text, except ``file_data`` (decoded from disk)."""

    def convert(value: Any) -> Any:
        if isinstance(value, SpilledString):
            return value.read_text()
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, list):
            return [convert(v) for v in value]
        return value

    return {k: (v if k == "file_data" else convert(v)) for k, v in body.items()}


def _failure_body(fault: ServerFailure) -> _Answer:
    text = _HTML_STATUS_TEXT[fault.status]
    if fault.body == "envelope":
        return _envelope(fault.status, "fault", [text])
    html = (
        f"<html><head><title>{fault.status} {text}</title></head><body>"
        f"<center><h1>{fault.status} {text}</h1></center><hr><center>nginx</center>"
        "</body></html>\n"
    )
    return _Answer(fault.status, "fault", html.encode(), content_type="text/html")


def _malformed_body(fault: Malformed) -> _Answer:
    if fault.kind == "truncated":
        return _Answer(200, "fault", b'{"status": "success", "data": {"contact_id": "a1b2')
    if fault.kind == "html":
        html = b"<html><body><h1>Welcome to nginx!</h1></body></html>\n"
        return _Answer(200, "fault", html, content_type="text/html")
    if fault.kind == "wrong_shape":
        return _Answer(200, "fault", b'{"ok": true, "result": null}')
    return _Answer(200, "fault", b"")
