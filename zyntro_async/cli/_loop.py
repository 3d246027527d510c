"""The CLI's event loop: uvloop when it is installed (the ``speed`` extra), else asyncio's.

uvloop runs the same import with less CPU per request. ``ZYNTRO_NO_UVLOOP=1`` keeps the
standard loop (to compare, or to rule uvloop out when something misbehaves). Only the CLI
chooses a loop: a program using the SDK runs it on whatever loop it runs itself.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine, Mapping
from typing import Any, TypeVar

__all__ = ["ENV_NO_UVLOOP", "EventLoopChoice", "choose_loop", "describe_running_loop", "run"]

T = TypeVar("T")

ENV_NO_UVLOOP = "ZYNTRO_NO_UVLOOP"
_NO = frozenset({"", "0", "false", "no", "off"})


class EventLoopChoice:
    """Which loop the CLI runs on, and why (``--verbose`` says it).

    Attributes:
        uvloop: the uvloop module to run on, or ``None`` for asyncio's loop.
        reason: one line for ``--verbose``, e.g. ``"uvloop 0.21.0"``.
    """

    __slots__ = ("reason", "uvloop")

    def __init__(self, uvloop: Any, reason: str) -> None:
        self.uvloop = uvloop
        self.reason = reason


def choose_loop(environ: Mapping[str, str] | None = None) -> EventLoopChoice:
    """uvloop when importable and not switched off by ``ZYNTRO_NO_UVLOOP``, else asyncio.

    Args:
        environ: the environment to read (``os.environ`` when ``None``).

    Returns:
        The choice, with the reason ``--verbose`` prints.
    """
    env = os.environ if environ is None else environ
    if env.get(ENV_NO_UVLOOP, "").strip().lower() not in _NO:
        return EventLoopChoice(None, f"asyncio ({ENV_NO_UVLOOP} is set)")
    try:
        import uvloop
    except ImportError:
        return EventLoopChoice(None, "asyncio (uvloop is not installed)")
    return EventLoopChoice(uvloop, f"uvloop {getattr(uvloop, '__version__', '?')}")


def describe_running_loop(choice: EventLoopChoice) -> str:
    """What the running loop is, for ``--verbose``: ``"uvloop 0.21.0"``, ``"asyncio (...)"``.

    Args:
        choice: what was chosen (its reason explains an asyncio loop).

    Returns:
        One line naming the running loop's kind.
    """
    kind = type(asyncio.get_running_loop()).__module__.partition(".")[0]
    if kind == "uvloop":
        return choice.reason if choice.uvloop is not None else "uvloop"
    return choice.reason if choice.uvloop is None else kind


def run(main: Coroutine[Any, Any, T], choice: EventLoopChoice | None = None) -> T:
    """Run ``main`` to completion on a new loop of the chosen kind, like ``asyncio.run``.

    Args:
        main: the coroutine to run.
        choice: the loop to use (:func:`choose_loop` when ``None``).

    Returns:
        What ``main`` returns.
    """
    chosen = choose_loop() if choice is None else choice
    if chosen.uvloop is None:
        return asyncio.run(main)
    # uvloop.run is asyncio.run with uvloop's loop factory on every Python version.
    result: T = chosen.uvloop.run(main)
    return result
