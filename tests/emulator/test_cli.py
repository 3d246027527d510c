"""``zyntro-async emulator`` as a process: export lines, flags, serves, exits 0 on a signal."""

from __future__ import annotations

import argparse
import asyncio
import email.utils
import importlib.util
import json
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from zyntro_async.cli import _emulator_cmd
from zyntro_async.testing import (
    ConcurrencyCap,
    Emulator,
    FaultRule,
    Latency,
    ResetAfterApply,
    ServerFailure,
    TokenBucket,
    WindowQuota,
)

from ._raw import TIMEOUT

# The whole command line needs the import subcommand too, written alongside this one;
# the "direct" entry registers only the emulator subcommand, so it runs regardless.
DIRECT = (
    "import argparse, sys\n"
    "from zyntro_async.cli import _emulator_cmd\n"
    "parser = argparse.ArgumentParser()\n"
    "_emulator_cmd.add_parser(parser.add_subparsers())\n"
    "args = parser.parse_args(sys.argv[1:])\n"
    "sys.exit(args.run(args))\n"
)
HAVE_FULL_CLI = importlib.util.find_spec("zyntro_async.cli._import_cmd") is not None
ENV_NAMES = [
    "ZYNTRO_API_KEY",
    "ZYNTRO_DEVELOPER_SECRET",
    "ZYNTRO_ORG_ID",
    "ZYNTRO_MEMBER_ID",
    "ZYNTRO_BRAND_ID",
    "ZYNTRO_BASE_URL",
]
FETCH = "/apis/v2/public/crm/fetchContact"
DOC_CONTACT_ID = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"


def command(entry: str, *args: str) -> list[str]:
    if entry == "module":
        return [sys.executable, "-m", "zyntro_async.cli", "emulator", *args]
    return [sys.executable, "-c", DIRECT, "emulator", *args]


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    _emulator_cmd.add_parser(parser.add_subparsers())
    return parser.parse_args(["emulator", *argv])


def parse_exports(lines: list[bytes]) -> dict[str, str]:
    env = {}
    for line in lines:
        text = line.decode().rstrip("\n")
        assert text.startswith("export "), text
        name, _, value = text.removeprefix("export ").partition("=")
        env[name] = value
    return env


@asynccontextmanager
async def running(*args: str, entry: str = "direct") -> AsyncIterator[asyncio.subprocess.Process]:
    """The command as a subprocess; killed at the end if it has not stopped by then."""
    proc = await asyncio.create_subprocess_exec(
        *command(entry, "--port", "0", *args),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.communicate(), timeout=30)
            except asyncio.TimeoutError:
                proc.kill()
                await proc.communicate()


async def read_exports(proc: asyncio.subprocess.Process) -> dict[str, str]:
    assert proc.stdout is not None
    lines = [
        await asyncio.wait_for(proc.stdout.readline(), timeout=30) for _ in range(len(ENV_NAMES))
    ]
    return parse_exports(lines)


def fetch_body(env: dict[str, str]) -> dict[str, str]:
    return {
        "api_key": env["ZYNTRO_API_KEY"],
        "developer_secret": env["ZYNTRO_DEVELOPER_SECRET"],
        "org_id": env["ZYNTRO_ORG_ID"],
        "brand_id": env["ZYNTRO_BRAND_ID"],
        "member_id": env["ZYNTRO_MEMBER_ID"],
        "contact_id": DOC_CONTACT_ID,
    }


@pytest.mark.parametrize(
    ("entry", "signum"),
    [
        # The real entry point when the whole command line is there, else the direct one.
        ("module" if HAVE_FULL_CLI else "direct", signal.SIGTERM),
        ("direct", signal.SIGINT),
    ],
)
async def test_emulator_subcommand_prints_export_lines(entry: str, signum: signal.Signals) -> None:
    seed = "ci" if signum == signal.SIGINT else "demo"
    async with running("--log", "--seed", seed, entry=entry) as proc:
        env = await read_exports(proc)

        assert list(env) == ENV_NAMES
        assert env["ZYNTRO_BASE_URL"].startswith("http://127.0.0.1:")
        assert not env["ZYNTRO_BASE_URL"].endswith(":0")
        creds = Emulator.demo(seed=seed).credentials
        assert env["ZYNTRO_API_KEY"] == creds.api_key
        assert env["ZYNTRO_MEMBER_ID"] == creds.member_id
        async with (
            aiohttp.ClientSession(timeout=TIMEOUT) as session,
            session.post(env["ZYNTRO_BASE_URL"] + FETCH, json=fetch_body(env)) as resp,
        ):
            payload = await resp.json()
        assert payload == {"status": "error", "data": ["Contact does not exist"]}

        proc.send_signal(signum)
        _, stderr = await asyncio.wait_for(proc.communicate(), timeout=30)
        assert proc.returncode == 0, stderr.decode()
        assert b"crm/fetchContact" in stderr  # --log
        assert env["ZYNTRO_API_KEY"].encode() not in stderr


async def test_env_file_and_json_line(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    async with running("--json", "--env-file", str(env_file)) as proc:
        assert proc.stdout is not None
        info = json.loads(await asyncio.wait_for(proc.stdout.readline(), timeout=30))
        async with (
            aiohttp.ClientSession(timeout=TIMEOUT) as session,
            session.post(info["base_url"] + FETCH, json={"contact_id": "x"}) as resp,
        ):
            assert resp.status == 200
        proc.send_signal(signal.SIGTERM)
        rest, _ = await asyncio.wait_for(proc.communicate(), timeout=30)

    stats = json.loads(rest.decode().splitlines()[-1])["stats"]
    assert (stats["requests"], stats["applied"], stats["status_counts"]) == (1, 0, {"200": 1})

    assert list(info) == ["api_key", "developer_secret", "org_id", "brand_id", "member_id",
                          "base_url"]  # fmt: skip
    lines = env_file.read_text().splitlines()
    assert [line.partition("=")[0] for line in lines] == ENV_NAMES
    assert f"ZYNTRO_API_KEY={info['api_key']}" in lines
    assert f"ZYNTRO_BASE_URL={info['base_url']}" in lines


async def second_answer(*flags: str) -> tuple[Mapping[str, str], Any]:
    """Serve with ``flags``; the headers and body of the second of two requests (the first
    must succeed)."""
    async with running(*flags) as proc:
        env = await read_exports(proc)
        url = env["ZYNTRO_BASE_URL"] + FETCH
        async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
            async with session.post(url, json=fetch_body(env)) as first:
                assert first.status == 200
            async with session.post(url, json=fetch_body(env)) as second:
                assert second.status == 429
                return second.headers, await second.json()


async def test_rate_flag_answers_429_with_the_chosen_retry_after() -> None:
    # One request per 1000 s: the second request is refused whatever the machine's speed.
    headers, body = await second_answer("--rate", "0.001", "--burst", "1", "--retry-after", "7")
    assert headers["Retry-After"] == "7"
    assert body == {"status": "error", "data": ["Too many requests"]}


def test_limit_flags_build_the_limits() -> None:
    args = parse(
        "--rate", "300", "--burst", "50", "--max-concurrent", "8", "--quota", "100/10s",
        "--retry-after", "date", "--limit-scope", "credential",
    )  # fmt: skip

    assert _emulator_cmd._limits_from(args) == [
        TokenBucket(rate=300, burst=50, scope="credential", retry_after="date"),
        ConcurrencyCap(max_in_flight=8, scope="credential", retry_after="date"),
        WindowQuota(limit=100, window=10, scope="credential", retry_after="date"),
    ]
    assert _emulator_cmd._limits_from(parse("--rate", "5", "--retry-after", "0")) == [
        TokenBucket(rate=5, burst=1, retry_after=0)
    ]
    assert _emulator_cmd._limits_from(parse("--retry-after", "none")) == []
    assert _emulator_cmd._limits_from(
        parse("--quota", "1000/10s", "--sliding", "--retry-after", "exact")
    ) == [WindowQuota(limit=1000, window=10, sliding=True, retry_after="exact")]
    assert _emulator_cmd._limits_from(parse("--quota", "300/1m", "--sliding")) == [
        WindowQuota(limit=300, window=60, sliding=True)
    ]


def test_clock_skew_is_a_signed_duration() -> None:
    assert parse("--clock-skew", "1h").clock_skew == 3600.0
    assert parse("--clock-skew", "+90s").clock_skew == 90.0
    assert parse("--clock-skew=-90s").clock_skew == -90.0  # "=": argparse reads "-90s" as a flag
    assert parse().clock_skew == 0.0


async def test_clock_skew_moves_the_date_and_the_retry_after_dates_together() -> None:
    # A server whose clock is an hour ahead: both its Date and the date its 429 names.
    headers, _ = await second_answer(
        "--quota", "1/1h", "--retry-after", "date", "--clock-skew", "1h"
    )
    served = email.utils.parsedate_to_datetime(headers["Date"]).timestamp()
    until = email.utils.parsedate_to_datetime(headers["Retry-After"]).timestamp()
    assert 3590 <= served - time.time() <= 3610
    assert 0 < until - served <= 3601


def test_latency_and_fault_flags_build_the_rules() -> None:
    args = parse("--latency", "20ms", "--fault", "503:0.05", "--fault", "reset-after:0.01")

    assert _emulator_cmd._fault_rules(args) == [
        FaultRule(Latency(ms=20)),
        FaultRule(ServerFailure(503), probability=0.05),
        FaultRule(ResetAfterApply(), probability=0.01),
    ]
    assert _emulator_cmd._fault_rules(parse("--latency", "0.5")) == [FaultRule(Latency(ms=500))]


@pytest.mark.parametrize(
    "argv",
    [
        ("--rate", "0"),
        ("--burst", "0", "--rate", "1"),
        ("--quota", "100"),
        ("--quota", "x/10s"),
        ("--latency", "fast"),
        ("--fault", "404"),
        ("--fault", "503:lots"),
        ("--retry-after", "soon"),
        ("--max-concurrent", "0"),
        ("--limit-scope", "user"),
        ("--clock-skew", "soon"),
        ("--clock-skew", "+"),
    ],
)
def test_bad_flags_are_usage_errors(
    argv: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        parse(*argv)
    assert exc.value.code == 2
    assert argv[0] in capsys.readouterr().err


def test_burst_without_rate_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    args = parse("--burst", "5")
    assert args.run(args) == 2
    assert "--burst needs --rate" in capsys.readouterr().err


def test_sliding_without_a_quota_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    args = parse("--sliding", "--rate", "5")
    assert args.run(args) == 2
    assert "--sliding needs --quota" in capsys.readouterr().err


def test_port_in_use_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        args = parse("--port", str(port))

        assert args.run(args) == 2

    captured = capsys.readouterr()
    assert captured.out == ""
    assert "cannot listen" in captured.err


def test_defaults() -> None:
    args = parse()
    assert (args.host, args.port, args.seed, args.log) == ("127.0.0.1", 0, "demo", False)
    assert (args.rate, args.max_concurrent, args.quota, args.latency) == (None, None, None, None)
    assert (args.retry_after, args.limit_scope, args.fault) == ("seconds", "global", [])
    assert args.run is _emulator_cmd.run
