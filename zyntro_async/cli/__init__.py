"""The ``zyntro-async`` command line.

Subcommands live in their own modules, each exposing ``add_parser(subparsers)`` and
``run(args) -> int``:

- ``import`` (:mod:`zyntro_async.cli._import_cmd`): bulk import of CSV or JSONL files.
- ``emulator`` (:mod:`zyntro_async.cli._emulator_cmd`): run the embedded emulator as a process.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["build_parser", "main"]

EXIT_OK = 0
EXIT_ITEMS_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # SIGINT (Ctrl-C): 128 + 2
EXIT_TERMINATED = 143  # SIGTERM: 128 + 15


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level argument parser with every subcommand registered."""
    from zyntro_async._version import __version__
    from zyntro_async.cli import _emulator_cmd, _import_cmd

    parser = argparse.ArgumentParser(
        prog="zyntro-async",
        description="Bulk import into Zyntro, and a local emulator of the Zyntro API.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    _import_cmd.add_parser(subparsers)
    _emulator_cmd.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``zyntro-async`` script; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    status: int = args.run(args)
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
