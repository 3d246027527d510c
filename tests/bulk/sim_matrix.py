"""The governor against a matrix of simulated limits: the check to run before changing it.

``python -m tests.bulk.sim_matrix`` runs every scenario below on each seed and each
latency jitter, in virtual time (see ``_sim.py``), and prints the rows that miss #12's
targets: settled goodput (the run's second half) at least 0.95 of the limit, at most 2% of
requests refused, every item succeeded. ``--out FILE`` keeps the rows as JSON;
``--compare BASE.json`` prints what moved against an earlier run of the matrix, and the
totals a change is judged by.

A rule that helps one limit often costs another (a cap and a token bucket look alike at a
search's 429), and one seed's run can swing by a tenth either way. So a change is judged
over the whole matrix, on several seeds, and at two jitters: 0.2, the simulation's default,
and 0.9, where latency varies about as much as the client sees it vary over real sockets
on a loaded machine (a cap of 20 at 100 ms answering HTTP dates settles at 0.86 of its rate
there, on average over six seeds, 0.79 at worst; at 0.79 over real sockets; at 0.92 with a
jitter of 0.2). Each request spends 0.9 of its round trip inside the server
(``SERVER_SHARE``), as over loopback sockets: at the simulation's default of 0.8, a cap
holds a slot for less of it and lets a fifth more through, and caps of 30 and 50 at
150 ms that settled at 0.98-1.00 here settled at 0.81-0.90 over real sockets.

To compare with the code of another commit, run the matrix in a worktree of it with
``--out``, then here with ``--compare``::

    git worktree add /tmp/base HEAD~1
    (cd /tmp/base && python -m tests.bulk.sim_matrix --out /tmp/base.json)
    python -m tests.bulk.sim_matrix --compare /tmp/base.json

The whole matrix (78 scenarios, 2 seeds, 2 jitters) takes a minute or two on two cores.

``--long`` runs ten simulated minutes of each kind of limit instead (``long_scenarios``),
its settled goodput counted from the third minute on: what shows only after minutes of
learning and probing (a quota counted, then taken for something else).
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import attrs

# #12's targets, as the benchmark's rate-limit rows judge them (settled goodput at least
# this share of the limit, 429s at most this share of requests).
from benchmarks.verdicts import GOODPUT_TARGET, SHARE_429_TARGET

from ._sim import (
    ConcurrencyCap,
    RetryAfterStyle,
    Server,
    SlidingQuota,
    TokenBucket,
    WindowQuota,
    simulate,
)

STYLES: tuple[RetryAfterStyle, ...] = ("none", "exact", "http-date", 0.0, 1.0)
PAUSING: tuple[RetryAfterStyle, ...] = ("exact", "http-date", 1.0)  # each 429 pauses the run
# Of each round trip, the share a request spends inside the server, as over loopback sockets
# (see simulate): where a cap holds its slot for less, it lets through more than its rate.
SERVER_SHARE = 0.9


@attrs.frozen
class Scenario:
    """One limit, met by ``items`` upserts at 64 workers, ``latency`` seconds away.

    ``settle_from``: where the settled goodput is counted from, in seconds of the run
    (``None``: its second half).
    """

    name: str
    server: Callable[[], Server]
    items: int
    latency: float
    settle_from: float | None = None


@attrs.frozen
class Row:
    """What one run of a scenario did, on one seed at one jitter."""

    scenario: str
    seed: int
    jitter: float
    whole: float  # goodput over the whole run, as a fraction of the limit
    settled: float  # ... over its second half
    refused: float  # 429s as a fraction of requests
    lost: int  # items not succeeded

    @property
    def key(self) -> tuple[str, int, float]:
        return (self.scenario, self.seed, self.jitter)

    @property
    def misses(self) -> bool:
        """Whether the run misses one of #12's targets."""
        return self.settled < GOODPUT_TARGET or self.refused > SHARE_429_TARGET or self.lost > 0


def _style_name(style: RetryAfterStyle) -> str:
    return style if isinstance(style, str) else f"{style:g}"


def _scenario(
    kind: str,
    make: Callable[[RetryAfterStyle], Server],
    items: int,
    latency: float,
    style: RetryAfterStyle,
) -> Scenario:
    """``kind`` (a limit's name) at ``latency``, answering its 429s in ``style``."""
    name = f"{kind} {latency * 1000:g}ms, {_style_name(style)}"
    return Scenario(name, functools.partial(make, style), items, latency)


def scenarios() -> list[Scenario]:
    """The matrix: each kind of limit, each ``Retry-After`` style, 5-200 ms away."""
    found = [
        _scenario(kind, make, items, latency, style)
        for style in STYLES
        for kind, make, items, latency in (
            ("quota 100/10s", lambda st: WindowQuota(100, 10.0, st), 500, 0.02),
            ("quota 500/5s", lambda st: WindowQuota(500, 5.0, st), 3000, 0.05),
            ("bucket 300/60", lambda st: TokenBucket(300, 60, st), 6000, 0.02),
            ("bucket 100/20", lambda st: TokenBucket(100, 20, st), 2000, 0.05),
            ("bucket 250/50", lambda st: TokenBucket(250, 50, st), 5000, 0.2),
            ("cap 8", lambda st: ConcurrencyCap(8, 0.02, st), 8000, 0.02),
            ("cap 50", lambda st: ConcurrencyCap(50, 0.15, st), 6000, 0.15),
            # A log of admissions: frees up as it was spent, one at a time (a minute's work).
            ("sliding 1000/10s", lambda st: SlidingQuota(1000, 10.0, st), 6000, 0.05),
        )
    ]
    found += [
        _scenario("bucket 300/60", lambda st: TokenBucket(300, 60, st), 6000, 0.02, 30.0),
        _scenario("cap 8", lambda st: ConcurrencyCap(8, 0.02, st), 8000, 0.02, 30.0),
        _scenario("bucket 100/10", lambda st: TokenBucket(100, 10, st), 2000, 0.05, "http-date"),
        _scenario("bucket 200/5", lambda st: TokenBucket(200, 5, st), 4000, 0.005, 1.0),
        _scenario("cap 16", lambda st: ConcurrencyCap(16, 0.005, st), 30000, 0.005, 1.0),
        _scenario("cap 4", lambda st: ConcurrencyCap(4, 0.05, st), 1600, 0.05, "http-date"),
        # The emulator's default style: the wait in whole seconds, rounded up.
        _scenario("quota 100/10s", lambda st: WindowQuota(100, 10.0, st), 500, 0.02, "seconds"),
        _scenario(
            "sliding 1000/10s", lambda st: SlidingQuota(1000, 10.0, st), 6000, 0.05, "seconds"
        ),
        # Where README's "What does not hold" says the governor falls short, or did.
        _scenario("quota 60/1s", lambda st: WindowQuota(60, 1.0, st), 1800, 0.02, 1.0),
        _scenario("bucket 100/1", lambda st: TokenBucket(100, 1, st), 3000, 0.02, "none"),
        _scenario("bucket 2/2", lambda st: TokenBucket(2, 2, st), 60, 0.03, "exact"),
        _scenario("cap 1", lambda st: ConcurrencyCap(1, 0.05, st), 600, 0.05, "none"),
        _scenario("cap 1", lambda st: ConcurrencyCap(1, 0.1, st), 300, 0.1, "http-date"),
        # Bursts of 2% of a second, each 429 pausing the run, 50-100 ms away.
        _scenario("bucket 300/6", lambda st: TokenBucket(300, 6, st), 9000, 0.05, "seconds"),
        _scenario("bucket 500/10", lambda st: TokenBucket(500, 10, st), 15000, 0.05, "http-date"),
        _scenario("bucket 200/4", lambda st: TokenBucket(200, 4, st), 6000, 0.1, "seconds"),
        # A cap one under the run's 64 workers: it refuses only when all are out at once,
        # 1% of the answers, each 429 pausing the run (taken for strays: 0.07 of it on two
        # seeds of three; 1.00 since its 429s try a window, see README, "A rare 429 that
        # pauses the run tries a window one under what was out").
        _scenario("cap 63", lambda st: ConcurrencyCap(63, 0.05, st), 38000, 0.05, 1.0),
    ]
    # Far away, each 429 pausing the run: 30 s of work at the limit each.
    for style in PAUSING:
        for cap, latency in ((8, 0.1), (20, 0.1), (16, 0.15), (32, 0.2)):
            make = functools.partial(_cap, cap, latency)
            found.append(_scenario(f"cap {cap}", make, round(cap / latency * 30), latency, style))
        for rate, burst, latency in ((200, 200, 0.1), (150, 150, 0.05), (300, 60, 0.1)):
            make = functools.partial(_bucket, rate, burst)
            found.append(_scenario(f"bucket {rate}/{burst}", make, rate * 30, latency, style))
    return found


# The long runs' styles: the emulator's default (whole seconds) among them, whose pauses
# eat into a quota's next window.
LONG_STYLES: tuple[RetryAfterStyle, ...] = ("none", "seconds", "exact", "http-date", 1.0)
LONG_SECONDS = 600.0  # each long run's work, at the limit
LONG_SETTLED = 120.0  # its steady state is counted from here on


def long_scenarios() -> list[Scenario]:
    """Ten simulated minutes of each kind of limit, judged from their third minute on.

    An import of a million rows meets its limit for hours; the matrix's runs last 20-60 s.
    What shows only once a limit has been learned and probed for minutes shows here: a
    quota counted over whole windows, later taken for a token bucket by two of the spans
    between its pauses, or for a cap by a window run out with more in flight than the
    rest, was held at 0.90-0.94 of it for good (see the CHANGELOG). Each run counts its
    settled goodput from ``LONG_SETTLED`` on. About 15 minutes on two cores.
    """
    found = []
    for style in LONG_STYLES:
        for kind, make, rate, latency in (
            ("bucket 300/60", lambda st: TokenBucket(300, 60, st), 300.0, 0.02),
            ("bucket 100/20", lambda st: TokenBucket(100, 20, st), 100.0, 0.05),
            ("bucket 50/5", lambda st: TokenBucket(50, 5, st), 50.0, 0.1),
            ("cap 8", lambda st: ConcurrencyCap(8, 0.02, st), 400.0, 0.02),
            ("cap 30", lambda st: ConcurrencyCap(30, 0.15, st), 200.0, 0.15),
            ("quota 100/10s", lambda st: WindowQuota(100, 10.0, st), 10.0, 0.02),
            ("quota 500/5s", lambda st: WindowQuota(500, 5.0, st), 100.0, 0.05),
            ("quota 1000/60s", lambda st: WindowQuota(1000, 60.0, st), 1000 / 60, 0.05),
            ("sliding 1000/10s", lambda st: SlidingQuota(1000, 10.0, st), 100.0, 0.05),
        ):
            scenario = _scenario(kind, make, round(rate * LONG_SECONDS), latency, style)
            found.append(
                attrs.evolve(scenario, name=f"{scenario.name}, 10 min", settle_from=LONG_SETTLED)
            )
    return found


def _cap(cap: int, latency: float, style: RetryAfterStyle) -> Server:
    return ConcurrencyCap(cap, latency, style)


def _bucket(rate: float, burst: float, style: RetryAfterStyle) -> Server:
    return TokenBucket(rate, burst, style)


def run_one(name: str, seed: int, jitter: float) -> Row:
    """Run the scenario called ``name`` once (in a worker process: scenarios hold lambdas)."""
    scenario = next(s for s in (*scenarios(), *long_scenarios()) if s.name == name)
    server = scenario.server()
    result = simulate(
        server,
        items=scenario.items,
        workers=64,
        latency=scenario.latency,
        seed=seed,
        jitter=jitter,
        server_share=SERVER_SHARE,
    )
    end = result.duration
    return Row(
        scenario=name,
        seed=seed,
        jitter=jitter,
        whole=round(result.goodput(server, 0.0, end), 3),
        settled=round(result.goodput(server, _settled_from(scenario, end), end), 3),
        refused=round(result.refused_fraction, 4),
        lost=result.items - result.succeeded,
    )


def _settled_from(scenario: Scenario, end: float) -> float:
    if scenario.settle_from is None or scenario.settle_from >= end:
        return end / 2
    return scenario.settle_from


def run_matrix(
    names: Sequence[str], seeds: Sequence[int], jitters: Sequence[float], jobs: int
) -> list[Row]:
    """Every scenario in ``names`` on every seed and jitter, ``jobs`` processes at once."""
    runs = [(name, seed, jitter) for jitter in jitters for name in names for seed in seeds]
    if jobs <= 1:
        return [run_one(*run) for run in runs]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(run_one, *zip(*runs, strict=True)))


def dump(rows: Iterable[Row], path: Path) -> None:
    path.write_text(json.dumps([attrs.asdict(row) for row in rows], indent=0) + "\n")


def load(path: Path) -> list[Row]:
    return [Row(**row) for row in json.loads(path.read_text())]


def summary(rows: Sequence[Row]) -> str:
    """The rows that miss a target, then how many do, per jitter."""
    lines = []
    for row in sorted(rows, key=lambda r: r.key):
        if row.misses:
            lines.append(
                f"{row.scenario:32s} seed {row.seed} jitter {row.jitter:g}: settled "
                f"{row.settled:.3f} (whole {row.whole:.3f}), {row.refused:.1%} 429s"
                + (f", {row.lost} lost" if row.lost else "")
            )
    for jitter in sorted({row.jitter for row in rows}):
        at = [row for row in rows if row.jitter == jitter]
        lines.append(
            f"jitter {jitter:g}: {sum(row.misses for row in at)} of {len(at)} runs miss a "
            f"target; mean settled {statistics.fmean(r.settled for r in at):.3f}, whole "
            f"{statistics.fmean(r.whole for r in at):.3f}, 429s "
            f"{statistics.fmean(r.refused for r in at):.2%}"
        )
    return "\n".join(lines)


def compare(base: Sequence[Row], rows: Sequence[Row], threshold: float = 0.05) -> str:
    """What moved from ``base`` to ``rows``: runs whose goodput moved by ``threshold`` or
    more (or 429s by a tenth of it, or that lost items), then the totals, per jitter, over
    the runs both hold."""
    before = {row.key: row for row in base}
    pairs = [
        (before[row.key], row) for row in sorted(rows, key=lambda r: r.key) if row.key in before
    ]
    lines = []
    for old, new in pairs:
        if (
            abs(new.settled - old.settled) >= threshold
            or abs(new.whole - old.whole) >= threshold
            or abs(new.refused - old.refused) >= threshold / 10
            or new.lost != old.lost
        ):
            lines.append(
                f"{new.scenario:32s} seed {new.seed} jitter {new.jitter:g}: settled "
                f"{old.settled:.3f} -> {new.settled:.3f}, whole {old.whole:.3f} -> "
                f"{new.whole:.3f}, 429s {old.refused:.2%} -> {new.refused:.2%}"
                + (f", lost {old.lost} -> {new.lost}" if new.lost != old.lost else "")
            )
    for jitter in sorted({new.jitter for _, new in pairs}):
        at = [(old, new) for old, new in pairs if new.jitter == jitter]
        lines.append(
            f"jitter {jitter:g}, {len(at)} runs: missing a target "
            f"{sum(old.misses for old, _ in at)} -> {sum(new.misses for _, new in at)}; "
            f"mean settled {statistics.fmean(n.settled - o.settled for o, n in at):+.4f}, "
            f"whole {statistics.fmean(n.whole - o.whole for o, n in at):+.4f}, 429s "
            f"{statistics.fmean(n.refused - o.refused for o, n in at):+.3%}"
        )
    if not pairs:
        lines.append("no run in common with the base (other seeds, jitters or scenarios)")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bulk.sim_matrix", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--seeds", default="1,2", help="comma-separated (default: 1,2)")
    parser.add_argument("--jitter", default="0.2,0.9", help="comma-separated (default: 0.2,0.9)")
    parser.add_argument("--only", default="", help="run the scenarios whose name has this text")
    parser.add_argument(
        "--long",
        action="store_true",
        help="ten simulated minutes of each limit instead, settled from the third minute on",
    )
    parser.add_argument("--jobs", type=int, default=2, help="processes at once (default: 2)")
    parser.add_argument("--out", type=Path, help="write the rows here, as JSON")
    parser.add_argument("--compare", type=Path, help="a JSON file of an earlier run to compare")
    parser.add_argument(
        "--threshold", type=float, default=0.05, help="the goodput move worth a line (0.05)"
    )
    args = parser.parse_args(argv)
    chosen = long_scenarios() if args.long else scenarios()
    names = [s.name for s in chosen if args.only in s.name]
    if not names:
        parser.error(f"no scenario's name has {args.only!r}")
    seeds = [int(seed) for seed in args.seeds.split(",")]
    jitters = [float(jitter) for jitter in args.jitter.split(",")]
    rows = run_matrix(names, seeds, jitters, args.jobs)
    if args.out:
        dump(rows, args.out)
    print(summary(rows))
    if args.compare:
        print(f"\nagainst {args.compare}:")
        print(compare(load(args.compare), rows, args.threshold))
    return 0


if __name__ == "__main__":
    sys.exit(main())
