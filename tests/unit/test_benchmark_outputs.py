"""Where ``python -m benchmarks`` writes its figures and charts: no processes, no measuring.

A partial run (``--only``) never replaces the full run's files, which the README's table and
charts come from. ``benchmarks/`` is not part of the installed package; these tests run from
a checkout and are skipped elsewhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

cli = pytest.importorskip("benchmarks.__main__")

RESULTS = {"sections": [], "summary": {"failed": 0, "errors": 0}}


@pytest.fixture
def written(monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Run nothing; record where the figures and both charts would go."""
    paths: dict[str, Path] = {}

    def record(name: str, drawn: bool) -> Any:
        def write(_results: object, path: Path) -> bool:
            paths[name] = path
            return drawn

        return write

    monkeypatch.setattr(cli, "run_suite", lambda *_args, **_kwargs: RESULTS)
    monkeypatch.setattr(cli.report, "print_table", lambda _results: None)
    monkeypatch.setattr(cli.report, "write_json", record("json", True))
    monkeypatch.setattr(cli.report, "draw_chart", record("chart", False))
    monkeypatch.setattr(cli.report, "draw_ratelimit_chart", record("ratelimit", True))
    return paths


def test_a_full_run_writes_the_committed_files(written: dict[str, Path]) -> None:
    assert cli.main([]) == 0

    assert written["json"].name == "latest.json"
    assert written["chart"].name == "chart.png"
    assert written["ratelimit"].name == "ratelimit.png"


def test_a_partial_run_writes_beside_them_under_its_own_name(written: dict[str, Path]) -> None:
    cli.main(["--only", "ratelimit", "--only", "cli"])

    assert written["json"].name == "only-ratelimit-cli.json"
    assert written["ratelimit"].name == "only-ratelimit-cli.png"
    assert written["ratelimit"].parent == written["json"].parent


def test_a_chart_asked_for_is_drawn_where_asked(written: dict[str, Path], tmp_path: Path) -> None:
    cli.main(["--only", "ratelimit", "--chart", str(tmp_path / "mine.png")])

    assert written["chart"] == tmp_path / "mine.png"
    assert written["ratelimit"] == tmp_path / "ratelimit.png"
