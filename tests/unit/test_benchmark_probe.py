"""``python -m benchmarks.probe_limit``: a rate limit of one's choosing, met over real sockets.

The flag parsing is pure; the last two tests start the emulator in its own process (bound to
127.0.0.1, stopped by the probe) and run ``zy.bulk.run`` against it, a few seconds each.
``benchmarks/`` is not part of the installed package: skipped where it cannot be imported.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

probe_limit = pytest.importorskip("benchmarks.probe_limit")


@pytest.mark.parametrize(
    ("flags", "ideal", "window"),
    [
        (["--rate", "300", "--burst", "60"], 300.0, None),
        (["--quota", "100/10s", "--retry-after", "date"], 10.0, 10.0),
        (["--max-concurrent", "20", "--latency", "100ms"], 200.0, None),
        (["--rate", "50", "--max-concurrent", "8", "--latency", "20ms"], 50.0, None),
        (["--rate", "300", "--quota", "600/10s"], 60.0, 10.0),
    ],
)
def test_the_limit_is_read_from_the_emulators_own_flags(
    flags: list[str], ideal: float, window: float | None
) -> None:
    limit = probe_limit.nominal_limit(flags)
    assert limit.ideal == pytest.approx(ideal)
    assert limit.window == window


@pytest.mark.parametrize(
    ("flags", "why"),
    [
        (["--latency", "5ms"], "no rate limit"),
        (["--max-concurrent", "4"], "needs --latency"),
        (["--rate", "-3"], "not flags of zyntro-async emulator"),
        (["--no-such-flag"], "not flags of zyntro-async emulator"),
    ],
)
def test_flags_that_set_no_limit_are_refused_with_the_reason(flags: list[str], why: str) -> None:
    with pytest.raises(ValueError, match=why):
        probe_limit.nominal_limit(flags)


def test_the_emulator_limits_globally_unless_told_otherwise() -> None:
    command = probe_limit.emulator_command(["--rate", "10"])
    assert command[-4:] == ["--limit-scope", "global", "--rate", "10"]
    told = probe_limit.emulator_command(["--rate", "10", "--limit-scope", "credential"])
    assert told.count("--limit-scope") == 1
    assert told[-2:] == ["--limit-scope", "credential"]


def test_a_bucket_is_met_over_real_sockets_and_judged_by_its_rate(tmp_path: Path) -> None:
    out = tmp_path / "runs.json"
    argv = ["--items", "300", "--concurrency", "16", "--max-seconds", "60", "--json", str(out)]
    flags = ["--rate", "200", "--burst", "20", "--latency", "5ms", "--retry-after", "none"]
    assert probe_limit.main([*argv, "--", *flags]) == 0
    (run,) = json.loads(out.read_text())
    figures = run["figures"]
    assert run["limit"] == 200.0
    assert run["calibrated"] is None
    assert figures["not_succeeded"] == 0
    assert run["result"]["rate_limited"] >= 1  # 300 at 16 in flight run a 20-burst out
    assert 0.3 < figures["goodput"] < 1.3
    assert "limit 200.0/s: settled" in probe_limit.describe(run)


def test_a_cap_is_judged_by_what_that_many_in_flight_get_through() -> None:
    run = probe_limit.probe(
        ["--max-concurrent", "2", "--latency", "20ms", "--retry-after", "0"],
        items=200,
        concurrency=16,
        max_seconds=60,
    )
    assert run["ideal"] == pytest.approx(100.0)
    assert run["calibrated"] is not None
    assert run["limit"] == run["calibrated"] <= 100.0
    assert run["figures"]["not_succeeded"] == 0
    assert "measured back to back; ideal 100.0/s" in probe_limit.describe(run)
