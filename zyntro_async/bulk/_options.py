"""The settings of a bulk run, checked once when the run starts."""

from __future__ import annotations

import os
from collections.abc import Callable

import attrs

from zyntro_async.bulk._journal import Journal
from zyntro_async.bulk._report import Progress

__all__ = ["DEFAULT_MAX_INFLIGHT_BYTES", "RunOptions"]

DEFAULT_MAX_INFLIGHT_BYTES = 256 * 1024 * 1024


def _check_concurrency(_: object, __: attrs.Attribute[int], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"concurrency must be an int >= 1, got {value!r}")


def _check_max_failures(_: object, __: attrs.Attribute[int | None], value: int | None) -> None:
    if value is not None and value < 0:
        raise ValueError(f"max_failures must be >= 0, got {value!r}")


@attrs.frozen
class RunOptions:
    """The settings of one run: what ``run`` and ``stream`` take as keyword arguments.

    Built once per call (checking ``concurrency`` and ``max_failures``); see
    :meth:`Bulk.run` for what each one means.
    """

    concurrency: int = attrs.field(default=16, validator=_check_concurrency)
    max_per_second: float | None = None
    max_inflight_bytes: int = DEFAULT_MAX_INFLIGHT_BYTES
    journal: str | os.PathLike[str] | Journal | None = None
    retry_unknown: bool = False
    retry_changed: bool = False
    fail_fast: bool = False
    max_failures: int | None = attrs.field(default=None, validator=_check_max_failures)
    on_progress: Callable[[Progress], object] | None = None
    progress_interval: float = 0.5
    breaker_threshold: int | None = 25

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
