"""``zyntro-async emulator``: run the Zyntro API emulator as a process.

It prints one JSON line on standard output, the demo credentials under the API's field
names plus ``base_url``, so a script can start it and read where to connect::

    {"api_key": "UYUJH-DEMO-...", "developer_secret": "zdk_demo_...", "org_id": "...",
     "brand_id": "1", "member_id": "...", "base_url": "http://127.0.0.1:41233"}

then serves until SIGINT or SIGTERM and exits 0. With ``--log``, each request is
described on standard error (credentials redacted).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction[Any]) -> argparse.ArgumentParser:
    """Register the ``emulator`` subcommand.

    Args:
        subparsers: The top-level parser's subparsers.

    Returns:
        The subcommand's parser.
    """
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "emulator",
        help="run a local emulator of the Zyntro API",
        description=(
            "Serve an in-process emulator of the documented Zyntro API, seeded with a "
            "demo account. Prints one JSON line with the credentials and base_url, then "
            "serves until interrupted."
        ),
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default: %(default)s; keep it on loopback)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=0,
        help="port to bind (default: 0, a free port; the one chosen is printed)",
    )
    parser.add_argument(
        "--seed",
        default="demo",
        help="seed the demo credentials, ids and faults derive from (default: %(default)s)",
    )
    parser.add_argument(
        "--log",
        action="store_true",
        help="describe each request on standard error",
    )
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the emulator until SIGINT or SIGTERM.

    Args:
        args: Parsed arguments (``host``, ``port``, ``seed``, ``log``).

    Returns:
        The exit status: 0 after a signal, 2 when the address cannot be bound.
    """
    try:
        asyncio.run(_serve(host=args.host, port=args.port, seed=args.seed, log=args.log))
    except OSError as exc:
        print(f"zyntro-async emulator: cannot listen on {args.host}:{args.port}: {exc}",
              file=sys.stderr)  # fmt: skip
        return 2
    except KeyboardInterrupt:  # platforms without loop signal handlers
        pass
    return 0


async def _serve(*, host: str, port: int, seed: str, log: bool) -> None:
    from zyntro_async.testing import Emulator, RequestRecord

    def describe(record: RequestRecord) -> None:
        status = record.http_status if record.http_status is not None else "reset"
        detail = "; ".join(record.messages)
        faults = f" faults={','.join(record.faults)}" if record.faults else ""
        print(
            f"#{record.seq} {record.method} {record.endpoint} from {record.peer}: "
            f"{status} {record.outcome}{faults} {detail}".rstrip(),
            file=sys.stderr,
            flush=True,
        )

    emulator = Emulator.demo(seed=seed, on_request=describe if log else None)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Not available on Windows: there Ctrl-C raises KeyboardInterrupt instead.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    try:
        base_url = await emulator.start(host=host, port=port)
        line = {**emulator.credentials.as_dict(), "base_url": base_url}
        print(json.dumps(line), flush=True)
        await stop.wait()
    finally:
        await emulator.close()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signum)
