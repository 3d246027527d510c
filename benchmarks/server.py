"""A minimal stand-in for the Zyntro API, run in its own process during benchmarks.

The server answers every documented endpoint with the documented success envelope and
nothing else: no validation, no state. It exists so that the client side of a benchmark
is the only thing being measured, which is why it

- consumes request bodies in chunks straight off the socket and discards them, so a
  341 MB base64 upload costs the server no memory (and never trips ``client_max_size``);
- adds a fixed per-request latency (``--latency-ms``), one listening port per latency,
  so latency-bound and CPU-bound scenarios can share one server process;
- keeps counters (requests, body bytes, largest body, its own CPU time) behind
  ``GET /_stats`` so the harness can check that every client sent the same bytes and
  see whether the server, rather than the client, was the bottleneck;
- remembers the last small body per endpoint (``GET /_last/{action}``) so hand-written
  baselines can post byte-for-byte what the SDK posts.

Run it as ``python -m benchmarks.server --latency-ms 0 --latency-ms 50``; it prints one
JSON line ``{"ports": {"0": 41235, "50": 41236}}`` once listening and stops when its
standard input closes (so it never outlives the harness) or on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Callable

from aiohttp import web

__all__ = ["ServerStats", "build_app", "main"]

# Bodies up to this size are kept for /_last; larger ones are only counted.
_REMEMBER_LIMIT = 64 * 1024
_JSON = "application/json"


def _uuid_from(counter: int) -> str:
    """Return a UUID-shaped opaque id derived from ``counter`` (cheap, unique per process)."""
    h = f"{counter:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _envelope(data: dict[str, object]) -> bytes:
    """Return the documented success envelope around ``data``, encoded."""
    return json.dumps({"status": "success", "data": data}, separators=(",", ":")).encode()


def _contact_response(n: int) -> bytes:
    return _envelope(
        {
            "action": "created",
            "message": "Contact created successfully",
            "entity_id": _uuid_from(n | (1 << 127)),
            "contact_id": _uuid_from(n),
            "entity_action": "created",
        }
    )


def _attachment_response(n: int) -> bytes:
    return _envelope(
        {
            "action": "inserted",
            "att_id": _uuid_from(n),
            "message": "Attachment created successfully",
        }
    )


def _note_response(n: int) -> bytes:
    return _envelope(
        {
            "note_id": _uuid_from(n),
            "contact_id": _uuid_from(n | (1 << 126)),
            "note_content": "benchmark note",
            "note_editable": 0,
            "note_visibility": 0,
        }
    )


def _comms_response(n: int) -> bytes:
    return _envelope({"ch_id": n, "message": "Communication history logged successfully"})


def _fetch_response(n: int) -> bytes:
    return _envelope(
        {
            "contact_id": _uuid_from(n),
            "first_name": "Jane",
            "last_name": "Smith",
            "email": "jane@example.com",
            "contact_status": "Active",
        }
    )


# action -> builder of the success body; unknown actions get a generic success.
_RESPONSES: dict[str, Callable[[int], bytes]] = {
    "addContactsFull": _contact_response,
    "manageAttachments": _attachment_response,
    "addNotestoContact": _note_response,
    "addCommsHistory": _comms_response,
    "fetchContact": _fetch_response,
}


class ServerStats:
    """Counters shared by every listening port of the process."""

    def __init__(self) -> None:
        self.ids = itertools.count(1)
        self.last: dict[str, bytes] = {}
        self.reset()

    def reset(self) -> None:
        """Zero the counters and restart the CPU clock."""
        self.requests = 0
        self.body_bytes = 0
        self.max_body = 0
        self.cpu_start = time.process_time()
        self.wall_start = time.perf_counter()

    def snapshot(self) -> dict[str, float | int]:
        """Return the counters plus CPU seconds and wall seconds since the last reset."""
        return {
            "requests": self.requests,
            "body_bytes": self.body_bytes,
            "max_body": self.max_body,
            "cpu_s": time.process_time() - self.cpu_start,
            "wall_s": time.perf_counter() - self.wall_start,
        }


def build_app(latency_s: float, stats: ServerStats) -> web.Application:
    """Return an application answering ``POST /apis/v2/public/{module}/{action}``.

    Args:
        latency_s: seconds to wait after the body is consumed and before answering.
        stats: counters shared with the other ports of this process.

    Returns:
        The aiohttp application.
    """

    async def api(request: web.Request) -> web.Response:
        action = request.match_info["action"]
        size = 0
        kept: list[bytes] = []
        # readany() hands over whatever the parser has buffered: the cheapest way to
        # drain a body chunk by chunk without ever holding more than one chunk.
        while chunk := await request.content.readany():
            size += len(chunk)
            if size <= _REMEMBER_LIMIT:
                kept.append(chunk)
        if size <= _REMEMBER_LIMIT:
            stats.last[action] = b"".join(kept)
        stats.requests += 1
        stats.body_bytes += size
        stats.max_body = max(stats.max_body, size)
        if latency_s > 0:
            await asyncio.sleep(latency_s)
        build = _RESPONSES.get(action)
        n = next(stats.ids)
        body = build(n) if build is not None else _envelope({"message": "ok"})
        return web.Response(body=body, content_type=_JSON)

    async def get_stats(request: web.Request) -> web.Response:
        return web.json_response(stats.snapshot())

    async def reset_stats(request: web.Request) -> web.Response:
        stats.reset()
        return web.json_response({"reset": True})

    async def last_body(request: web.Request) -> web.Response:
        body = stats.last.get(request.match_info["action"])
        if body is None:
            raise web.HTTPNotFound
        return web.Response(body=body, content_type=_JSON)

    app = web.Application()
    app.router.add_post("/apis/v2/public/{module}/{action}", api)
    app.router.add_get("/_stats", get_stats)
    app.router.add_post("/_reset", reset_stats)
    app.router.add_get("/_last/{action}", last_body)
    return app


async def _serve(latencies_ms: list[int], host: str) -> None:
    stats = ServerStats()
    runners: list[web.AppRunner] = []
    ports: dict[str, int] = {}
    for latency in latencies_ms:
        runner = web.AppRunner(build_app(latency / 1000, stats), access_log=None)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, 0))
        # A deep backlog: 256 clients connecting at once must not hit SYN retries,
        # which would show up as one-second stalls in the client's numbers.
        sock.listen(4096)
        sock.setblocking(False)
        await web.SockSite(runner, sock, backlog=4096).start()
        ports[str(latency)] = sock.getsockname()[1]
        runners.append(runner)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # Standard input closing means the harness is gone: stop with it.
    stdin = sys.stdin.fileno()
    loop.add_reader(stdin, lambda: None if os.read(stdin, 4096) else stop.set())

    print(json.dumps({"ports": ports}), flush=True)
    try:
        await stop.wait()
    finally:
        for runner in runners:
            await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve until stopped."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--latency-ms",
        type=int,
        action="append",
        help="added latency per request; repeat for one port per value (default: 0)",
    )
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    asyncio.run(_serve(args.latency_ms or [0], args.host))


if __name__ == "__main__":
    main()
