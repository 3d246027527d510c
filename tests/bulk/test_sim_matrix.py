"""The simulated matrix the governor is checked against before a change (sim_matrix.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from . import sim_matrix
from ._sim import ConcurrencyCap, simulate
from .sim_matrix import Row, compare, run_one, scenarios, summary

SMALL = "cap 4 50ms, http-date"  # 1,600 items: a fraction of a second of simulation


def test_every_scenario_has_its_own_name_and_every_limit_each_style() -> None:
    names = [scenario.name for scenario in scenarios()]
    assert len(names) == len(set(names)), "run_one finds a scenario by its name"
    for kind in ("quota", "sliding", "bucket", "cap"):
        for style in ("none", "exact", "http-date", "0", "1"):
            assert any(n.startswith(kind) and n.endswith(f", {style}") for n in names), (
                kind,
                style,
            )


def test_the_long_runs_last_minutes_and_are_settled_from_their_third() -> None:
    long = sim_matrix.long_scenarios()
    names = [scenario.name for scenario in long]
    assert len(names) == len(set(names))
    assert not set(names) & {scenario.name for scenario in scenarios()}
    for scenario in long:
        assert scenario.name.endswith(", 10 min")
        assert scenario.settle_from == sim_matrix.LONG_SETTLED
    assert any(", seconds, 10 min" in name and name.startswith("quota") for name in names)


def test_a_long_run_counts_its_settled_goodput_from_where_it_is_told() -> None:
    long = next(s for s in sim_matrix.long_scenarios() if s.name.startswith("quota 100/10s"))
    assert sim_matrix._settled_from(long, 600.0) == 120.0
    assert sim_matrix._settled_from(long, 100.0) == 50.0  # a run shorter than that: its half
    assert sim_matrix._settled_from(scenarios()[0], 600.0) == 300.0
    row = run_one(long.name, seed=1, jitter=0.2)  # 6,000 items: a second of simulation
    assert row.lost == 0
    assert 0.9 < row.settled < 1.1


def test_a_run_is_the_same_on_the_same_seed_and_moves_with_another() -> None:
    first = run_one(SMALL, seed=1, jitter=0.9)
    assert first == run_one(SMALL, seed=1, jitter=0.9)
    assert first.lost == 0
    assert 0.3 < first.settled < 1.3
    assert 0.0 <= first.refused < 0.2
    assert first.key != run_one(SMALL, seed=2, jitter=0.9).key


def _row(settled: float, refused: float = 0.01, seed: int = 1, lost: int = 0) -> Row:
    return Row(
        "cap 8 20ms, none", seed, 0.2, whole=settled, settled=settled, refused=refused, lost=lost
    )


@pytest.mark.parametrize(
    ("row", "misses"),
    [
        (_row(0.95), False),
        (_row(0.949), True),
        (_row(1.0, refused=0.021), True),
        (_row(1.0, lost=1), True),
    ],
)
def test_a_run_misses_when_any_target_of_the_issue_is_missed(row: Row, misses: bool) -> None:
    assert row.misses is misses


def test_compare_names_what_moved_and_counts_the_runs_missing_a_target() -> None:
    base = [_row(0.90, seed=1), _row(0.99, seed=2), _row(0.97, seed=3)]
    new = [_row(0.97, seed=1), _row(0.99, seed=2), _row(0.96, refused=0.03, seed=3)]
    text = compare(base, new)
    lines = text.splitlines()
    assert len(lines) == 3, text  # seed 1 (goodput) and seed 3 (429s) moved; then the total
    assert "seed 1" in lines[0]
    assert "0.900 -> 0.970" in lines[0]
    assert "seed 3" in lines[1]
    assert "1.00% -> 3.00%" in lines[1]
    assert "missing a target 1 -> 1" in lines[2]
    assert "no run in common" in compare(base, [_row(0.9, seed=9)])


def test_the_summary_lists_the_runs_that_miss_and_the_share_that_does() -> None:
    text = summary([_row(0.90, seed=1), _row(0.99, seed=2)])
    assert "seed 1" in text
    assert "seed 2" not in text
    assert "1 of 2 runs miss a target" in text


def test_the_command_writes_rows_that_compare_with_themselves(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "rows.json"
    argv = ["--only", SMALL, "--seeds", "1", "--jitter", "0.2", "--jobs", "1", "--out", str(out)]
    assert sim_matrix.main(argv) == 0
    rows = sim_matrix.load(out)
    assert [row.scenario for row in rows] == [SMALL]
    assert json.loads(out.read_text())[0]["seed"] == 1
    assert sim_matrix.main([*argv[:-2], "--compare", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "1 runs: missing a target" in printed
    assert "mean settled +0.0000" in printed


@pytest.mark.parametrize("share", [0.8, 0.9, 1.0])
def test_a_request_holds_a_cap_s_slot_for_its_server_share_of_the_round_trip(
    share: float,
) -> None:
    # A cap counts a request only while it is inside the server: the less of the round trip
    # that is, the more a cap of the same size lets through (at 0.8, a pace a quarter over
    # cap / latency when the round trips line up). Over loopback sockets it is 0.9 of it or
    # more, and the matrix simulates that (SERVER_SHARE).
    class Timed(ConcurrencyCap):
        def __init__(self) -> None:
            super().__init__(8, 0.05, "none")
            self.entered: list[float] = []
            self.inside_for: list[float] = []

        def admit(self, now: float) -> tuple[bool, float | None]:
            accepted, retry_after = super().admit(now)
            if accepted:
                self.entered.append(now)
            return accepted, retry_after

        def leave(self, now: float) -> None:
            super().leave(now)
            self.inside_for.append(now - self.entered.pop(0))

    cap = Timed()
    result = simulate(cap, items=400, workers=4, latency=0.05, jitter=0.0, server_share=share)
    assert result.succeeded == 400
    assert cap.inside_for
    assert all(t == pytest.approx(share * 0.05) for t in cap.inside_for)
    assert sim_matrix.SERVER_SHARE == 0.9


def test_a_server_share_outside_the_round_trip_is_refused() -> None:
    for share in (0.0, 1.5):
        with pytest.raises(ValueError, match="server_share"):
            simulate(ConcurrencyCap(8, 0.05, "none"), items=1, workers=1, server_share=share)
