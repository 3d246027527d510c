"""Instruments used inside a benchmark worker: peak memory, CPU time, event-loop stalls.

Everything here measures the *current* process only. Each scenario runs in a fresh worker
process, so one scenario's peak memory can never leak into another's figure, and the
server's CPU time (another process) is never counted as client CPU.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import re
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from importlib import metadata

import psutil

__all__ = [
    "Heartbeat",
    "PeakRSS",
    "Stopwatch",
    "current_rss",
    "machine_info",
]

MB = 1024 * 1024
_STATUS = "/proc/self/status"
_CLEAR_REFS = "/proc/self/clear_refs"


def current_rss() -> int:
    """Return the resident set size of this process in bytes."""
    return int(psutil.Process().memory_info().rss)


def _vm_hwm() -> int | None:
    """Return the kernel's peak-RSS counter (VmHWM) in bytes, or None if unavailable."""
    try:
        with open(_STATUS) as status:
            kb = re.search(r"VmHWM:\s+(\d+)", status.read())
    except OSError:
        return None
    return int(kb.group(1)) * 1024 if kb else None


def _reset_vm_hwm() -> bool:
    """Reset the kernel's peak-RSS counter to the current RSS (Linux >= 4.0)."""
    try:
        with open(_CLEAR_REFS, "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


class PeakRSS:
    """Peak resident memory of this process while the ``with`` block runs.

    On Linux the kernel's own high-water mark is reset on entry and read on exit: exact,
    and free of any sampling thread that would compete for the GIL and distort the
    event-loop stall figure measured at the same time. Elsewhere a psutil thread samples
    RSS every millisecond.

    Attributes:
        baseline: RSS on entry, in bytes.
        peak: highest RSS seen inside the block, in bytes.
        method: ``"VmHWM"`` or ``"psutil-sampling"``.
    """

    def __init__(self, interval_s: float = 0.001) -> None:
        self.interval_s = interval_s
        self.baseline = 0
        self.peak = 0
        self.method = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def above_baseline(self) -> int:
        """Peak minus baseline, in bytes."""
        return max(0, self.peak - self.baseline)

    def __enter__(self) -> PeakRSS:
        self.baseline = current_rss()
        if _reset_vm_hwm() and _vm_hwm() is not None:
            self.method = "VmHWM"
        else:
            self.method = "psutil-sampling"
            self.peak = self.baseline
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
        else:
            self.peak = max(_vm_hwm() or 0, current_rss())

    def _sample(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.peak = max(self.peak, current_rss())


class Stopwatch:
    """Wall-clock and process-CPU time of a block (CPU of this process only)."""

    def __init__(self) -> None:
        self.wall = 0.0
        self.cpu = 0.0

    @contextlib.contextmanager
    def running(self) -> Iterator[Stopwatch]:
        """Time the body of the ``with`` statement."""
        wall0, cpu0 = time.perf_counter(), time.process_time()
        try:
            yield self
        finally:
            self.wall = time.perf_counter() - wall0
            self.cpu = time.process_time() - cpu0


class Heartbeat:
    """An asyncio task that sleeps 1 ms in a loop and records the longest gap it sees.

    A gap much longer than the sleep means something held the event loop: that is the
    stall every other request and timer on the loop would have suffered. ``long_gaps``
    counts the gaps over ``long_gap_s``.
    """

    def __init__(self, period_s: float = 0.001, long_gap_s: float = 0.020) -> None:
        self.period_s = period_s
        self.long_gap_s = long_gap_s
        self.max_gap = 0.0
        self.long_gaps = 0
        self.beats = 0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(self.period_s)
            now = time.perf_counter()
            gap = now - last
            self.max_gap = max(self.max_gap, gap)
            self.long_gaps += gap > self.long_gap_s
            self.beats += 1
            last = now

    async def __aenter__(self) -> Heartbeat:
        self._task = asyncio.get_running_loop().create_task(self._run())
        # Let it take its first timestamp before the measured work starts.
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


def machine_info() -> dict[str, object]:
    """Describe the machine and interpreter the numbers were measured on."""
    info: dict[str, object] = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }
    info["memory_gb"] = round(psutil.virtual_memory().total / 1024**3, 1)
    for name in ("aiohttp", "httpx", "zyntro_async"):
        info[f"{name}_version"] = _version_of(name)
    return info


def _cpu_model() -> str:
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as cpuinfo:
        found = re.search(r"model name\s*:\s*(.+)", cpuinfo.read())
        if found:
            return found.group(1).strip()
    return platform.processor() or "unknown"


def _version_of(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        pass
    # A source checkout that is not pip-installed still knows its own version.
    try:
        module = __import__(f"{distribution}._version", fromlist=["__version__"])
    except ImportError:
        return None
    version = getattr(module, "__version__", None)
    return str(version) if version is not None else None
