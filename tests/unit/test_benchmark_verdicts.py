"""The benchmarks' verdict rules: pure functions of recorded figures, no processes.

``benchmarks/`` is not part of the installed package; these tests run from a checkout
(``python -m pytest`` puts the working directory on the path) and are skipped elsewhere.
"""

from __future__ import annotations

from typing import Any

import pytest

verdicts = pytest.importorskip("benchmarks.verdicts")
plan = pytest.importorskip("benchmarks.plan")
report = pytest.importorskip("benchmarks.report")


def _run(samples: list[list[float]], **overrides: Any) -> dict[str, Any]:
    """A ``bulk_limited`` result whose counters end at the last sample."""
    last = samples[-1]
    result = {
        "count": int(last[1]),
        "succeeded": int(last[1]),
        "elapsed_s": last[0],
        "applied": last[1],
        "rate_limited": last[2],
        "requests": last[3],
        "samples": samples,
        "statuses": {"succeeded": int(last[1])},
        "errors": {},
        "stopped": "",
    }
    return {**result, **overrides}


def test_goodput_over_the_run_and_over_its_second_half() -> None:
    # 100/s for the first 5 s, then 300/s for 5 s, against a 300/s limit.
    samples = [[0.0, 0, 0, 0], [5.0, 500, 10, 510], [10.0, 2000, 20, 2020]]
    figures = verdicts.limit_figures(_run(samples), 300.0)
    assert figures["goodput"] == pytest.approx(2000 / 10 / 300)
    assert figures["settled"] == pytest.approx(1.0)
    assert figures["share_429"] == pytest.approx(20 / 2020)
    assert figures["not_succeeded"] == 0


def test_the_settled_rate_interpolates_between_samples() -> None:
    # The midpoint (4 s) falls between samples at 2 s and 8 s.
    samples = [[0.0, 0, 0, 0], [2.0, 200, 0, 200], [8.0, 800, 0, 800]]
    figures = verdicts.limit_figures(_run(samples), 100.0)
    assert figures["settled"] == pytest.approx(1.0)


def _quota_run(
    clock_start: float, quota: int = 100, window: float = 10.0, seconds: float = 50.0
) -> dict[str, Any]:
    """A quota of ``quota`` per ``window`` s, each window's count taken in its first fifth
    (the run's first window: from when it began), sampled every 0.5 s for ``seconds``; the
    samples began at ``clock_start`` on the emulator's clock, where windows open at
    multiples of ``window``."""
    first = int(clock_start // window)
    samples = []
    for i in range(int(seconds / 0.5) + 1):
        t = i * 0.5
        clock = clock_start + t
        opened = int(clock // window)
        since = clock - max(opened * window, clock_start)  # into this window, for the run
        accepted = (opened - first) * quota + min(quota, round(quota * 5 * since / window))
        samples.append([t, accepted, 0, accepted])
    return _run(samples, clock_start=clock_start)


@pytest.mark.parametrize("offset", [0.0, 2.5, 5.0, 7.5])
def test_a_quota_is_settled_over_whole_windows_wherever_they_fall(offset: float) -> None:
    # Every window accepts its 100: 1.0 of the limit, whether the second half (25-50 s)
    # holds two window starts or three. Over the half itself it read 0.8 to 1.2.
    result = _quota_run(1_000.0 + offset)

    figures = verdicts.limit_figures(result, 10.0, window=10.0)
    plain = verdicts.limit_figures(result, 10.0)

    assert figures["settled"] == pytest.approx(1.0)
    assert figures["settled_windows"] in (1, 2)
    assert "settled_windows" not in plain  # not told the window: the half itself...
    assert plain["settled"] in (pytest.approx(0.8), pytest.approx(1.2))  # ...in steps


def test_a_quota_run_without_its_clock_or_a_whole_window_is_settled_over_the_half() -> None:
    samples = [[0.0, 0, 0, 0], [5.0, 50, 0, 50], [8.0, 80, 0, 80]]
    # No clock recorded (an older result): the half itself.
    assert "settled_windows" not in verdicts.limit_figures(_run(samples), 10.0, window=10.0)
    # A second half (4-8 s) that holds no whole 10-second window: the half itself.
    short = verdicts.limit_figures(_run(samples, clock_start=0.0), 10.0, window=10.0)
    assert "settled_windows" not in short
    assert short["settled"] == pytest.approx(1.0)


def test_phases_are_judged_against_their_own_limit() -> None:
    phases = (plan.LimitPhase(0.0, 300.0, 60), plan.LimitPhase(10.0, 150.0, 30))
    samples = [[0.0, 0, 0, 0], [10.0, 3000, 0, 3000], [15.0, 3600, 0, 3600], [20.0, 4350, 0, 4400]]
    figures = verdicts.limit_figures(_run(samples), 300.0, phases)
    first, second = figures["phases"]
    assert first["goodput"] == pytest.approx(1.0)
    assert second["goodput"] == pytest.approx(1350 / 10 / 150)
    assert second["settled"] == pytest.approx(750 / 5 / 150)
    assert figures["mean_limit"] == pytest.approx(225.0)
    assert figures["goodput"] == pytest.approx(4350 / 20 / 225)


def _rows(result: dict[str, Any], scenario: Any) -> dict[str, Any]:
    import attrs

    runs = {scenario.key: {**result, "scenario": attrs.asdict(scenario)}}
    rows = verdicts.build_rows(plan.QUICK, {"ratelimit": runs})
    return {row.metric.split(": ", 1)[1]: row for row in rows}


def test_a_run_at_the_limit_passes_every_target() -> None:
    scenario = plan.limit_scenarios(plan.QUICK)[0]
    samples = [[0.0, 0, 0, 0], [3.0, 900, 5, 905], [6.0, 1800, 10, 1810]]
    rows = _rows(_run(samples), scenario)
    assert {row.status for row in rows.values()} == {"PASS"}


def test_failed_items_and_many_429s_fail_their_targets() -> None:
    scenario = plan.limit_scenarios(plan.QUICK)[0]
    samples = [[0.0, 0, 0, 0], [3.0, 900, 500, 1400], [6.0, 1700, 900, 2600]]
    result = _run(
        samples,
        count=1800,
        succeeded=1700,
        statuses={"succeeded": 1700, "failed": 100},
        errors={"RateLimitError": 100},
    )
    rows = _rows(result, scenario)
    share = next(row for metric, row in rows.items() if metric.startswith("429s"))
    lost = next(row for metric, row in rows.items() if metric.startswith("items not"))
    assert share.status == "FAIL"
    assert lost.status == "FAIL"
    assert lost.value == 100
    assert "100 RateLimitError" in lost.note


def test_a_concurrency_cap_is_judged_against_its_calibrated_rate() -> None:
    scenario = next(s for s in plan.limit_scenarios(plan.QUICK) if s.kind == "concurrency_cap")
    samples = [[0.0, 0, 0, 0], [3.0, 900, 0, 900], [6.0, 1800, 0, 1800]]
    # 300/s is 0.75 of the ideal 400/s, but all that 8 requests in flight achieve here.
    rows = _rows(_run(samples, calibration={"per_second": 300.0}), scenario)
    settled = next(row for metric, row in rows.items() if metric.startswith("goodput settled"))
    assert settled.value == pytest.approx(1.0)
    assert settled.status == "PASS"


def test_a_window_quota_row_is_settled_over_whole_windows_and_says_how_many() -> None:
    scenario = next(s for s in plan.limit_scenarios(plan.QUICK) if s.kind == "window_quota")
    quota, window = plan.QUICK.quota
    assert scenario.window == window
    # Its second half (10-20 s) holds five window starts or six as the windows fall; over
    # the whole windows in it, each accepting its count, it is at the limit.
    rows = _rows(_quota_run(100.5, quota, window, seconds=20.0), scenario)
    settled = next(row for metric, row in rows.items() if metric.startswith("goodput settled"))
    assert settled.value == pytest.approx(1.0)
    assert "whole windows" in settled.note


def test_a_run_that_errored_is_reported_not_judged() -> None:
    scenario = plan.limit_scenarios(plan.QUICK)[0]
    rows = _rows({"error": "the worker process died"}, scenario)
    assert [row.status for row in rows.values()] == ["ERROR"]


def test_the_rate_series_is_a_windowed_difference() -> None:
    samples = [[0.0, 0], [0.5, 50], [1.0, 100], [1.5, 250]]
    times, rates = report.rate_series(samples, window_s=1.0)
    # From the first full window on: no spike from a fraction of a window.
    assert times == [1.0, 1.5]
    assert rates == pytest.approx([100.0, 200.0])


def test_every_limit_kind_and_retry_after_style_is_planned() -> None:
    scenarios = plan.limit_scenarios(plan.QUICK)
    kinds = {(s.kind, s.retry_after) for s in scenarios}
    for kind in ("token_bucket", "concurrency_cap", "window_quota"):
        assert {(kind, style) for style in ("none", "seconds", "date")} <= kinds
    assert ("limit_change", "seconds") in kinds
    assert len({s.key for s in scenarios}) == len(scenarios)
