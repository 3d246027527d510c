"""``zyntro-async import`` and rate limits: the flags reach the run, the summary advises."""

from __future__ import annotations

import argparse
import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

from zyntro_async.bulk import BulkAbortedError, BulkReport, LongRetryAfterError, Status
from zyntro_async.cli import _import_cmd, build_parser
from zyntro_async.cli._readers import ImportReader


class _RecordingClient:
    """A client whose run records its options and ends with the report it is given."""

    def __init__(self, report: BulkReport, error: BaseException | None = None) -> None:
        self.config = argparse.Namespace(base_url="https://crm.example")
        self.bulk = self
        self.options: dict[str, Any] = {}
        self._report = report
        self._error = error

    async def run(self, items: Any, **options: Any) -> BulkReport:
        self.options = options
        for _ in items:  # the run pulls everything
            pass
        if self._error is not None:
            raise self._error
        return self._report

    async def aclose(self) -> None:
        pass


def _import(path: Path, client: _RecordingClient, *flags: str) -> int:
    args = build_parser().parse_args(["import", str(path), "--no-journal", "--quiet", *flags])
    args.journal = None
    reader = ImportReader(path, "jsonl")
    return asyncio.run(_import_cmd._import(args, reader, client, None))  # type: ignore[arg-type]


def test_the_pacing_flags_reach_the_run(good_jsonl: Path) -> None:
    report = BulkReport()
    report.counts[Status.SUCCEEDED] = 8
    client = _RecordingClient(report)

    _import(
        good_jsonl,
        client,
        "--max-per-second=250",
        "--max-pause=60",
        "--on-long-pause=stop",
        "--rate-limit-stall=120",
    )

    assert client.options["max_per_second"] == 250
    assert client.options["max_pause"] == 60
    assert client.options["on_long_pause"] == "stop"
    assert client.options["rate_limit_stall"] == 120


def test_the_defaults_wait_out_long_pauses(good_jsonl: Path) -> None:
    client = _RecordingClient(BulkReport())
    _import(good_jsonl, client)
    assert client.options["on_long_pause"] == "wait"
    assert client.options["max_pause"] == 300
    assert client.options["rate_limit_stall"] == 600


def test_the_run_is_told_how_many_items_the_file_holds(good_jsonl: Path) -> None:
    # The file is read as the run goes (no len()); its count, done in a thread, reaches the
    # run as ``total``: the pacing probes a first limit sooner where enough is left.
    client = _RecordingClient(BulkReport())
    _import(good_jsonl, client)
    assert client.options["total"] == 8


def test_a_count_that_takes_long_does_not_hold_the_run_back(
    good_jsonl: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    released = threading.Event()

    def slow_count(self: ImportReader, *, cancelled: threading.Event | None = None) -> int:
        released.wait(5)
        return 8

    monkeypatch.setattr(ImportReader, "count", slow_count)
    monkeypatch.setattr(_import_cmd, "_COUNT_WAIT", 0.05)
    client = _RecordingClient(BulkReport())
    try:
        assert _import(good_jsonl, client) == 0
    finally:
        released.set()
    assert client.options["total"] is None  # started without it


@pytest.mark.parametrize(
    "flags", [["--on-long-pause=later"], ["--max-pause=-1"], ["--rate-limit-stall=0"]]
)
def test_bad_pacing_flags_are_usage_errors(good_jsonl: Path, flags: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["import", str(good_jsonl), *flags])
    assert exit_.value.code == 2


def test_the_summary_says_the_rate_to_pass_next_time(
    good_jsonl: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = BulkReport(rate_limited=17, settled_rate=48.5)
    report.counts[Status.SUCCEEDED] = 8

    status = _import(good_jsonl, _RecordingClient(report))

    assert status == 0
    out = capsys.readouterr().out
    assert "settled at 48.5 requests/s" in out
    assert "next time pass --max-per-second 48.5" in out


def test_a_run_stopped_by_a_long_retry_after_says_why(
    good_jsonl: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reason = LongRetryAfterError(3_480, 300)
    report = BulkReport(rate_limited=1)
    report.counts[Status.SUCCEEDED] = 3
    report.counts[Status.SKIPPED] = 5
    stopped = BulkAbortedError("stopped", report=report, reason=reason)

    status = _import(good_jsonl, _RecordingClient(report, stopped))

    assert status == 1
    out = capsys.readouterr().out
    assert "stopped early: rate limited: the API asks to wait 58 min" in out
