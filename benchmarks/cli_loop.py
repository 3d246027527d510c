"""Run the ``zyntro-async`` CLI on a chosen event loop: ``python -m benchmarks.cli_loop LOOP ARGS``.

``LOOP`` is ``asyncio`` or ``uvloop``. For ``uvloop`` the uvloop event-loop policy is
installed before the CLI starts, so its ``asyncio.run`` gets a uvloop loop whether or not
the CLI picks uvloop itself. For ``asyncio`` uvloop is made unimportable first, so a CLI
that uses uvloop "when installed" falls back to the standard loop: the two runs differ by
the loop alone.
"""

from __future__ import annotations

import asyncio
import sys

__all__ = ["main"]


def main(argv: list[str]) -> int:
    """Run the CLI with ``argv[1:]`` on the loop ``argv[0]`` names.

    Returns:
        The CLI's exit status (2 for an unknown loop).
    """
    loop, *cli_args = argv
    if loop == "uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    elif loop == "asyncio":
        sys.modules["uvloop"] = None  # type: ignore[assignment]  # import uvloop -> ImportError
    else:
        print(f"unknown loop {loop!r}: use asyncio or uvloop", file=sys.stderr)
        return 2
    from zyntro_async.cli import main as cli_main

    return cli_main(cli_args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
