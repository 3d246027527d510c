"""``zyntro-async emulator`` as a process: one JSON line, serves, exits 0 on a signal."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import signal
import socket
import sys

import aiohttp
import pytest

from zyntro_async.cli import _emulator_cmd
from zyntro_async.testing import Emulator

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


def command(entry: str, *args: str) -> list[str]:
    if entry == "module":
        return [sys.executable, "-m", "zyntro_async.cli", "emulator", *args]
    return [sys.executable, "-c", DIRECT, "emulator", *args]


@pytest.mark.parametrize(
    ("entry", "signum"),
    [
        # The real entry point when the whole command line is there, else the direct one.
        ("module" if HAVE_FULL_CLI else "direct", signal.SIGTERM),
        ("direct", signal.SIGINT),
    ],
)
async def test_emulator_subcommand(entry: str, signum: signal.Signals) -> None:
    seed = "ci" if signum == signal.SIGINT else "demo"
    proc = await asyncio.create_subprocess_exec(
        *command(entry, "--port", "0", "--log", "--seed", seed),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=30)
        info = json.loads(line)
        assert list(info) == [
            "api_key",
            "developer_secret",
            "org_id",
            "brand_id",
            "member_id",
            "base_url",
        ]
        assert info["base_url"].startswith("http://127.0.0.1:")
        assert not info["base_url"].endswith(":0")
        expected = Emulator.demo(seed=seed).credentials.as_dict()
        assert {k: info[k] for k in expected} == expected

        body = {k: v for k, v in info.items() if k != "base_url"}
        body["contact_id"] = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
        async with (
            aiohttp.ClientSession(timeout=TIMEOUT) as session,
            session.post(f"{info['base_url']}/apis/v2/public/crm/fetchContact", json=body) as resp,
        ):
            payload = await resp.json()
        assert payload == {"status": "error", "data": ["Contact does not exist"]}

        proc.send_signal(signum)
        _, stderr = await asyncio.wait_for(proc.communicate(), timeout=30)
        assert proc.returncode == 0, stderr.decode()
        assert b"crm/fetchContact" in stderr  # --log
        assert info["api_key"].encode() not in stderr
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.communicate()


def test_port_in_use_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        parser = argparse.ArgumentParser()
        _emulator_cmd.add_parser(parser.add_subparsers())
        args = parser.parse_args(["emulator", "--port", str(port)])

        assert args.run(args) == 2

    captured = capsys.readouterr()
    assert captured.out == ""
    assert "cannot listen" in captured.err


def test_defaults() -> None:
    parser = argparse.ArgumentParser()
    _emulator_cmd.add_parser(parser.add_subparsers())
    args = parser.parse_args(["emulator"])
    assert (args.host, args.port, args.seed, args.log) == ("127.0.0.1", 0, "demo", False)
    assert args.run is _emulator_cmd.run
