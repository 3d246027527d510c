"""``zyntro-async emulator``: run the Zyntro API emulator as a process.

It prints ready-to-paste ``export`` lines, one per variable, the names the SDK and the
``import`` command read, then serves until SIGINT or SIGTERM and exits 0::

    export ZYNTRO_API_KEY=UYUJH-DEMO-...
    export ZYNTRO_DEVELOPER_SECRET=zdk_demo_...
    export ZYNTRO_ORG_ID=...
    export ZYNTRO_MEMBER_ID=...
    export ZYNTRO_BRAND_ID=1
    export ZYNTRO_BASE_URL=http://127.0.0.1:41233

``--env-file PATH`` also writes them as a dotenv file, ``--json`` prints one JSON line
under the API's field names instead (for scripts), and at exit a second one,
``{"stats": {...}}`` (``Emulator.stats()``: requests, applied, rate-limited, statuses);
the same counts are served live at ``GET /_emulator/stats``. ``--latency``, ``--fault`` and the
rate-limit flags (``--rate``/``--burst``, ``--max-concurrent``, ``--quota``,
``--retry-after``, ``--limit-scope``, ``--clock-skew``) shape how it answers. With
``--log``, each request is described on standard error (credentials redacted).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shlex
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zyntro_async.cli._loop import run as run_loop

if TYPE_CHECKING:
    from zyntro_async.testing import EmulatorCredentials, FaultRule, Limit

__all__ = ["add_parser", "environment", "run"]

_ENV_NAMES = (
    ("ZYNTRO_API_KEY", "api_key"),
    ("ZYNTRO_DEVELOPER_SECRET", "developer_secret"),
    ("ZYNTRO_ORG_ID", "org_id"),
    ("ZYNTRO_MEMBER_ID", "member_id"),
    ("ZYNTRO_BRAND_ID", "brand_id"),
)


def _argument_type(parse: Any, what: str) -> Any:
    """An argparse ``type=`` that turns a parser's ``ValueError`` into a usage error."""

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"{what}: {exc}") from None

    return convert


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise ValueError(f"must be > 0, got {text}")
    return value


def _clock_skew(text: str) -> float:
    """A signed duration: ``1h`` (the server's clock ahead of this machine's), ``-90s``."""
    from zyntro_async.testing._limits import parse_duration

    sign, rest = (-1.0, text[1:]) if text.startswith("-") else (1.0, text.removeprefix("+"))
    return sign * parse_duration(rest)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(f"must be >= 1, got {text}")
    return value


def _retry_after(text: str) -> str | int:
    if text in ("none", "seconds", "exact", "date"):
        return text
    if text.isdigit():
        return int(text)
    raise ValueError(f"use none, seconds, exact, date or a whole number of seconds, got {text!r}")


def add_parser(subparsers: argparse._SubParsersAction[Any]) -> argparse.ArgumentParser:
    """Register the ``emulator`` subcommand.

    Args:
        subparsers: The top-level parser's subparsers.

    Returns:
        The subcommand's parser.
    """
    from zyntro_async.testing._faults import parse_fault
    from zyntro_async.testing._limits import parse_duration, parse_quota

    parser: argparse.ArgumentParser = subparsers.add_parser(
        "emulator",
        help="run a local emulator of the Zyntro API",
        description=(
            "Serve an in-process emulator of the documented Zyntro API, seeded with a "
            "demo account. Prints 'export ZYNTRO_...=...' lines to paste into a shell, "
            "then serves until interrupted."
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
    output = parser.add_argument_group("output")
    output.add_argument(
        "--env-file",
        type=Path,
        metavar="PATH",
        help="also write the ZYNTRO_* variables to PATH as a dotenv file",
    )
    output.add_argument(
        "--json",
        action="store_true",
        help=(
            "print one JSON line under the API's field names (plus base_url) instead, "
            'and one {"stats": ...} line at exit'
        ),
    )
    faults = parser.add_argument_group("latency and faults")
    faults.add_argument(
        "--latency",
        type=_argument_type(parse_duration, "--latency"),
        metavar="DURATION",
        help="add this delay to every request: 20ms, 0.5s or seconds (0.02)",
    )
    faults.add_argument(
        "--fault",
        action="append",
        default=[],
        type=_argument_type(parse_fault, "--fault"),
        metavar="KIND[:P]",
        help=(
            "inject a fault with probability P (default 1), repeatable: 500, 502, 503, "
            "504, 429[=SECONDS], reset-before, reset-after, "
            "malformed[=truncated|html|wrong_shape|empty], stall[=SECONDS]; "
            "e.g. --fault 503:0.05"
        ),
    )
    limits = parser.add_argument_group(
        "rate limits", "answer 429 before applying, as a real service does"
    )
    limits.add_argument(
        "--rate",
        type=_argument_type(_positive_float, "--rate"),
        metavar="PER_SECOND",
        help="token bucket: sustained requests per second",
    )
    limits.add_argument(
        "--burst",
        type=_argument_type(_positive_int, "--burst"),
        metavar="N",
        help="token bucket: requests admitted back to back from a full bucket (default 1)",
    )
    limits.add_argument(
        "--max-concurrent",
        type=_argument_type(_positive_int, "--max-concurrent"),
        metavar="N",
        help="concurrency cap: 429 for a request arriving while N are in flight",
    )
    limits.add_argument(
        "--quota",
        type=_argument_type(parse_quota, "--quota"),
        metavar="N/WINDOW",
        help="window quota: N requests per fixed window, e.g. 100/10s or 1000/1m",
    )
    limits.add_argument(
        "--sliding",
        action="store_true",
        help="count --quota over a sliding window (any span of WINDOW) instead of fixed ones",
    )
    limits.add_argument(
        "--retry-after",
        type=_argument_type(_retry_after, "--retry-after"),
        default="seconds",
        metavar="STYLE",
        help=(
            "Retry-After of a limit's 429: none, seconds (the real wait, rounded up), "
            "exact (the real wait to the millisecond), date (an HTTP date) or a fixed "
            "number of seconds (default: seconds)"
        ),
    )
    limits.add_argument(
        "--clock-skew",
        type=_argument_type(_clock_skew, "--clock-skew"),
        default=0.0,
        metavar="DURATION",
        help=(
            "run the server's clock this far ahead of this machine's, as a server whose "
            "clock was never synced does: its Date header and the HTTP dates in "
            "Retry-After, e.g. 1h, or --clock-skew=-90s for behind (default: 0)"
        ),
    )
    limits.add_argument(
        "--limit-scope",
        choices=("credential", "global"),
        default="global",
        help="count per api_key or across every caller (default: %(default)s)",
    )
    parser.set_defaults(run=run)
    return parser


def _fault_rules(args: argparse.Namespace) -> list[FaultRule]:
    """The fault rules the flags ask for.

    Args:
        args: Parsed arguments.

    Returns:
        ``--latency`` as a :class:`Latency` rule, then each ``--fault``.
    """
    from zyntro_async.testing import FaultRule, Latency

    rules: list[FaultRule] = list(args.fault)
    if args.latency:
        rules.insert(0, FaultRule(Latency(ms=args.latency * 1000)))
    return rules


def _limits_from(args: argparse.Namespace) -> list[Limit]:
    """The rate limits the flags ask for.

    Args:
        args: Parsed arguments.

    Returns:
        A token bucket, a concurrency cap and a window quota, each when asked for.

    Raises:
        ValueError: ``--burst`` without ``--rate``, ``--sliding`` without ``--quota``.
    """
    from zyntro_async.testing import ConcurrencyCap, TokenBucket, WindowQuota

    common: dict[str, Any] = {"scope": args.limit_scope, "retry_after": args.retry_after}
    limits: list[Limit] = []
    if args.burst is not None and args.rate is None:
        raise ValueError("--burst needs --rate")
    if args.rate is not None:
        limits.append(TokenBucket(rate=args.rate, burst=args.burst or 1, **common))
    if args.max_concurrent is not None:
        limits.append(ConcurrencyCap(max_in_flight=args.max_concurrent, **common))
    if args.quota is not None:
        count, window = args.quota
        limits.append(WindowQuota(limit=count, window=window, sliding=args.sliding, **common))
    elif args.sliding:
        raise ValueError("--sliding needs --quota")
    return limits


def environment(credentials: EmulatorCredentials, base_url: str) -> dict[str, str]:
    """The ``ZYNTRO_*`` variables that point the SDK and the CLI at an emulator.

    Args:
        credentials: The demo account's credentials.
        base_url: Where the emulator serves.

    Returns:
        Variable name to value, in the order they are printed.
    """
    fields = credentials.as_dict()
    env = {name: fields[field] for name, field in _ENV_NAMES}
    env["ZYNTRO_BASE_URL"] = base_url
    return env


def run(args: argparse.Namespace) -> int:
    """Run the emulator until SIGINT or SIGTERM.

    Args:
        args: Parsed arguments (see :func:`add_parser`).

    Returns:
        The exit status: 0 after a signal, 2 on a usage error or when the address
        cannot be bound.
    """
    try:
        limits = _limits_from(args)
    except ValueError as exc:
        print(f"zyntro-async emulator: {exc}", file=sys.stderr)
        return 2
    try:
        run_loop(_serve(args, faults=_fault_rules(args), limits=limits))
    except OSError as exc:
        print(f"zyntro-async emulator: cannot listen on {args.host}:{args.port}: {exc}",
              file=sys.stderr)  # fmt: skip
        return 2
    except KeyboardInterrupt:  # platforms without loop signal handlers
        pass
    return 0


async def _serve(args: argparse.Namespace, *, faults: list[FaultRule], limits: list[Limit]) -> None:
    from zyntro_async.testing import Emulator, RequestRecord

    def describe(record: RequestRecord) -> None:
        status = record.http_status if record.http_status is not None else "reset"
        detail = "; ".join(record.messages)
        names = f" faults={','.join(record.faults)}" if record.faults else ""
        print(
            f"#{record.seq} {record.method} {record.endpoint} from {record.peer}: "
            f"{status} {record.outcome}{names} {detail}".rstrip(),
            file=sys.stderr,
            flush=True,
        )

    skew = args.clock_skew
    emulator = Emulator.demo(
        seed=args.seed,
        faults=faults,
        limits=limits,
        on_request=describe if args.log else None,
        wall_clock=(lambda: time.time() + skew) if skew else time.time,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Not available on Windows: there Ctrl-C raises KeyboardInterrupt instead.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    try:
        base_url = await emulator.start(host=args.host, port=args.port)
        env = environment(emulator.credentials, base_url)
        if args.env_file is not None:
            args.env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
        if args.json:
            print(json.dumps({**emulator.credentials.as_dict(), "base_url": base_url}))
        else:
            print("".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items()), end="")
        sys.stdout.flush()
        print(f"# Zyntro emulator serving at {base_url}; Ctrl-C stops it", file=sys.stderr)
        await stop.wait()
        stats = emulator.stats()
        if args.json:  # scripts (benchmarks) read what was served from the last line
            print(json.dumps({"stats": stats}), flush=True)
        else:
            print(
                f"# served {stats['requests']} requests: {stats['applied']} applied, "
                f"{stats['rate_limited']} refused by a rate limit",
                file=sys.stderr,
            )
    finally:
        await emulator.close()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signum)
