"""The baseline of the CLI scenario: a hand-written aiohttp import loop on asyncio.

Usage: ``python -m benchmarks.raw_import FILE --base-url URL --template PATH [--concurrency N]``.

Reads the JSONL file line by line, builds each contact's ``addContactsFull`` body from the
SDK's own upsert body (``--template``, captured by the harness) and posts it, ``N`` at a
time, checking each response's envelope: what a careful user would write without the SDK.
Run as its own process, so its figure includes interpreter start-up like the CLI's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import aiohttp

__all__ = ["main"]

_HEADERS = {"Content-Type": "application/json"}


async def _import(path: Path, base_url: str, template: dict[str, Any], concurrency: int) -> int:
    url = f"{base_url}/apis/v2/public/crm/addContactsFull"
    sent = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        with path.open(encoding="utf-8") as lines:

            async def worker() -> None:
                nonlocal sent
                for line in lines:  # one shared iterator: each line goes to one worker
                    if not line.strip():
                        continue
                    contact = json.loads(line)["contact"]
                    body = json.dumps({**template, "contact": contact}, separators=(",", ":"))
                    async with session.post(url, data=body.encode(), headers=_HEADERS) as response:
                        response.raise_for_status()
                        payload = await response.json()
                    if payload.get("status") != "success":
                        raise RuntimeError(f"unexpected response: {payload!r:.200}")
                    sent += 1

            await asyncio.gather(*(worker() for _ in range(concurrency)))
    return sent


def main(argv: list[str] | None = None) -> int:
    """Import the file and print ``{"sent": N}``.

    Returns:
        0.
    """
    parser = argparse.ArgumentParser(prog="python -m benchmarks.raw_import", description=__doc__)
    parser.add_argument("file", type=Path)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--template", type=Path, required=True)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args(argv)
    template = json.loads(args.template.read_text())
    sent = asyncio.run(_import(args.file, args.base_url, template, args.concurrency))
    print(json.dumps({"sent": sent}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
