"""The settings of a bulk run, checked once when the run starts."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Literal

import attrs

from zyntro_async.bulk._journal import Journal
from zyntro_async.bulk._report import Progress

__all__ = ["DEFAULT_MAX_INFLIGHT_BYTES", "RunOptions"]

DEFAULT_MAX_INFLIGHT_BYTES = 256 * 1024 * 1024


def _check_concurrency(_: object, __: attrs.Attribute[int], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"concurrency must be an int >= 1, got {value!r}")


def _check_max_per_second(
    _: object, __: attrs.Attribute[float | None], value: float | None
) -> None:
    if value is not None and (isinstance(value, bool) or not value > 0):
        raise ValueError(f"max_per_second must be a number > 0, got {value!r}")


def _check_rate_limit_stall(_: object, __: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and (isinstance(value, bool) or not value > 0):
        raise ValueError(f"rate_limit_stall must be a number of seconds > 0, got {value!r}")


def _check_max_pause(_: object, __: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ValueError(f"max_pause must be a number of seconds >= 0, got {value!r}")


def _check_on_long_pause(_: object, __: attrs.Attribute[str], value: str) -> None:
    if value not in ("wait", "stop"):
        raise ValueError(f"on_long_pause must be 'wait' or 'stop', got {value!r}")


def _check_max_failures(_: object, __: attrs.Attribute[int | None], value: int | None) -> None:
    if value is not None and value < 0:
        raise ValueError(f"max_failures must be >= 0, got {value!r}")


def _check_total(_: object, __: attrs.Attribute[int | None], value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ValueError(f"total must be an int >= 0 (the items the input yields), got {value!r}")


@attrs.frozen
class RunOptions:
    """The settings of one run: what ``run`` and ``stream`` take as keyword arguments.

    Built once per call (checking every value, the error naming the field); see
    :meth:`Bulk.run` for what each one means.
    """

    concurrency: int = attrs.field(default=16, validator=_check_concurrency)
    max_per_second: float | None = attrs.field(default=None, validator=_check_max_per_second)
    max_inflight_bytes: int = DEFAULT_MAX_INFLIGHT_BYTES
    journal: str | os.PathLike[str] | Journal | None = None
    retry_unknown: bool = False
    retry_changed: bool = False
    fail_fast: bool = False
    max_failures: int | None = attrs.field(default=None, validator=_check_max_failures)
    on_progress: Callable[[Progress], object] | None = None
    progress_interval: float = 0.5
    breaker_threshold: int | None = 25
    rate_limit_stall: float | None = attrs.field(default=600.0, validator=_check_rate_limit_stall)
    max_pause: float = attrs.field(default=300.0, validator=_check_max_pause)
    on_long_pause: Literal["wait", "stop"] = attrs.field(
        default="wait", validator=_check_on_long_pause
    )
    total: int | None = attrs.field(default=None, validator=_check_total)

    @property
    def workers(self) -> int:
        """Items held at once: one per request slot, plus a few with a journal.

        A bundle keeps its slots busy on its own (its children queue for them). Items
        looking up the journal (in a thread) hold no slot meanwhile: a few more of them
        keep every slot busy. More items than that would only queue for the slots, and
        handing a slot from one task to another is not free.
        """
        if self.journal is None:
            return self.concurrency
        return self.concurrency + max(2, self.concurrency // 4)
