"""What a benchmark run measures: its sections, sizes and scenarios (no processes, no verdicts).

:data:`FULL` and :data:`QUICK` size every section; :data:`SECTIONS` names them in the order
they run (``python -m benchmarks --only NAME``). The rate-limit section's scenarios are data
too (:class:`LimitScenario`), so the harness (:mod:`benchmarks.processes`) and the verdicts
(:mod:`benchmarks.verdicts`) read the same description.
"""

from __future__ import annotations

import attrs

__all__ = [
    "CLIENTS",
    "FULL",
    "QUICK",
    "REQUESTS_PER_BUNDLE",
    "SECTIONS",
    "LimitPhase",
    "LimitScenario",
    "Plan",
    "limit_scenarios",
]

# The parts of a run, in order; ``python -m benchmarks --only NAME`` runs some of them.
SECTIONS = ("overhead", "latency", "bulk", "attachments", "bundles", "ratelimit", "cli")
# Clients of the request-level comparisons, rotated each round so none always goes first.
CLIENTS = ("aiohttp", "sdk", "httpx")
REQUESTS_PER_BUNDLE = 4  # the contact, two notes, one file


@attrs.frozen
class Plan:
    """Sizes of one benchmark run (:data:`FULL` or :data:`QUICK`)."""

    name: str
    overhead_count: int
    overhead_rounds: int
    overhead_max_seconds: float
    latency_seconds: float
    latency_rounds: int
    bulk_counts: tuple[int, ...]
    big_file_mb: int
    bundle_count: int
    # Rate limits: each scenario sends about this many seconds' worth of items at the limit.
    limit_seconds: float
    # The window quota's size: (requests, window seconds).
    quota: tuple[int, float]
    # The limit-change scenario: seconds at the full rate, halved, then restored.
    limit_change_phase_s: float
    cli_rows: int
    cli_rounds: int
    overhead_concurrency: int = 64
    latency_ms: int = 50
    latency_concurrency: tuple[int, ...] = (16, 64, 256)
    bulk_concurrency: int = 64
    many_files: int = 32
    many_file_mb: int = 8
    many_concurrency: int = 8
    small_file_kb: int = 8
    # httpx's pool costs O(connections) per request: above this it only slows the run.
    httpx_max_concurrency: int = 256
    bundle_concurrency: int = 64
    limit_concurrency: int = 64
    limit_latency_ms: int = 20
    limit_rate: float = 300.0
    limit_burst: int = 60
    limit_cap: int = 8
    # How often the client samples the emulator's counters (the chart's resolution).
    limit_sample_s: float = 0.25
    cli_concurrency: int = 64
    worker_timeout_s: float = 600.0

    @property
    def quick(self) -> bool:
        """Whether this is the reduced plan."""
        return self.name == "quick"


FULL = Plan(
    name="full",
    overhead_count=8_000,
    overhead_rounds=6,
    overhead_max_seconds=5.0,
    latency_seconds=2.0,
    latency_rounds=2,
    bulk_counts=(2_000, 20_000, 200_000),
    big_file_mb=256,
    bundle_count=2_000,
    limit_seconds=20.0,
    quota=(100, 10.0),
    limit_change_phase_s=10.0,
    cli_rows=50_000,
    cli_rounds=3,
)
QUICK = Plan(
    name="quick",
    overhead_count=2_000,
    overhead_rounds=2,
    overhead_max_seconds=1.5,
    latency_seconds=0.5,
    latency_rounds=1,
    bulk_counts=(2_000, 10_000),
    big_file_mb=64,
    bundle_count=300,
    many_files=16,
    httpx_max_concurrency=64,
    limit_seconds=6.0,
    quota=(50, 2.0),
    limit_change_phase_s=5.0,
    cli_rows=10_000,
    cli_rounds=2,
)


@attrs.frozen
class LimitPhase:
    """One stretch of a limit-change scenario: from ``at`` seconds, this token bucket.

    Attributes:
        at: seconds after the run's first request.
        rate: the bucket's sustained requests per second.
        burst: the bucket's capacity.
    """

    at: float
    rate: float
    burst: int


@attrs.frozen
class LimitScenario:
    """One run of ``zy.bulk.run`` against one emulator process with one rate limit.

    Attributes:
        key: unique name, used in the results (``token_bucket/none``).
        kind: ``token_bucket``, ``concurrency_cap``, ``window_quota`` or ``limit_change``.
        retry_after: the emulator's ``--retry-after`` (``none``, ``seconds``, ``date``, ``0``...).
        flags: the emulator CLI's limit flags (empty for ``limit_change``, which runs
            :mod:`benchmarks.limit_server` instead).
        rate: the limit in requests per second (for a concurrency cap, the ideal
            ``cap / latency``; the verdict uses a measured calibration instead).
        count: items to send.
        seconds: how long sending them takes at the limit.
        title: how the table names it.
        phases: the limit-change schedule.
        window: a window quota's window in seconds (``None`` for other limits): its
            settled goodput is counted over whole windows (see ``verdicts.limit_figures``).
    """

    key: str
    kind: str
    retry_after: str
    flags: tuple[str, ...]
    rate: float
    count: int
    seconds: float
    title: str
    phases: tuple[LimitPhase, ...] = ()
    window: float | None = None


# Retry-After styles per limit kind: a concurrency cap's "seconds" already announces 1 s
# (a service cannot know when a slot frees), and 0/1 are what lazy services send whatever
# the real wait; a quota's window is long enough that only its real end makes sense.
_STYLES = {
    "token_bucket": ("none", "seconds", "date", "0", "1"),
    "concurrency_cap": ("none", "seconds", "date", "0"),
    "window_quota": ("none", "seconds", "date"),
}


_STYLE_NAMES = {"none": "no Retry-After", "seconds": "Retry-After in seconds", "date": "HTTP date"}


def limit_scenarios(plan: Plan) -> tuple[LimitScenario, ...]:
    """Every scenario of the ``ratelimit`` section, in the order they run.

    Args:
        plan: the sizes.

    Returns:
        Token bucket, concurrency cap and window quota for each Retry-After style, then the
        limit change (the bucket halved, then restored).
    """
    seconds = plan.limit_seconds
    cap_rate = plan.limit_cap / (plan.limit_latency_ms / 1000)
    quota_count, window = plan.quota
    quota_rate = quota_count / window
    # A quota run covers several windows, else one lucky window start decides the figure.
    quota_seconds = max(seconds, 5 * window)
    kinds = {
        "token_bucket": (
            ("--rate", f"{plan.limit_rate:g}", "--burst", str(plan.limit_burst)),
            plan.limit_rate,
            seconds,
            f"token bucket {plan.limit_rate:g}/s burst {plan.limit_burst}",
        ),
        "concurrency_cap": (
            ("--max-concurrent", str(plan.limit_cap)),
            cap_rate,
            seconds,
            f"concurrency cap {plan.limit_cap}",
        ),
        "window_quota": (
            ("--quota", f"{quota_count}/{window:g}s"),
            quota_rate,
            quota_seconds,
            f"quota {quota_count} per {window:g} s",
        ),
    }
    out = [
        LimitScenario(
            f"{kind}/{style}",
            kind,
            style,
            flags,
            rate,
            int(rate * duration),
            duration,
            f"{name}, {_STYLE_NAMES.get(style, 'Retry-After: ' + style)}",
            window=window if kind == "window_quota" else None,
        )
        for kind, (flags, rate, duration, name) in kinds.items()
        for style in _STYLES[kind]
    ]
    phase = plan.limit_change_phase_s
    full, half = plan.limit_rate, plan.limit_rate / 2
    phases = (
        LimitPhase(0.0, full, plan.limit_burst),
        LimitPhase(phase, half, plan.limit_burst // 2),
        LimitPhase(2 * phase, full, plan.limit_burst),
    )
    count = int(sum(p.rate for p in phases) * phase)
    title = f"token bucket {full:g}/s, halved, then restored, Retry-After in seconds"
    out.append(
        LimitScenario(
            "limit_change/seconds",
            "limit_change",
            "seconds",
            (),
            full,
            count,
            3 * phase,
            title,
            phases,
        )
    )
    return tuple(out)
