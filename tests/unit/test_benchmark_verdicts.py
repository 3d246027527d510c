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
