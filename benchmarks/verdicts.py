"""Verdicts: raw figures in, table rows out, each with its target and PASS/FAIL.

Pure functions of the results dict (no processes, no I/O), so a saved run can be judged
again (``python -m benchmarks --from-json``) and the rules are unit-tested.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

import attrs

from benchmarks.plan import CLIENTS, REQUESTS_PER_BUNDLE, SECTIONS, LimitPhase, Plan

__all__ = ["Row", "build_rows", "limit_figures"]

Result = dict[str, Any]


@attrs.frozen
class Row:
    """One figure of the results table.

    Attributes:
        section: heading the row is grouped under.
        metric: what was measured.
        value: the figure, or None when it could not be measured.
        unit: how to print it (``x`` for ratios).
        target: the goal as text, empty for informational rows.
        passed: verdict against the target; None when there is none (or it does not apply).
        note: context, e.g. why a target does not apply.
    """

    section: str
    metric: str
    value: float | None
    unit: str
    target: str = ""
    passed: bool | None = None
    note: str = ""

    @property
    def status(self) -> str:
        """``PASS``, ``FAIL``, ``n/a`` (target not applicable), ``ERROR`` or empty."""
        if self.value is None:
            return "ERROR" if self.target else ""
        if self.passed is None:
            return "n/a" if self.target else ""
        return "PASS" if self.passed else "FAIL"


def _median(results: list[Result], key: str) -> float | None:
    values = [r[key] for r in results if "error" not in r and key in r]
    return statistics.median(values) if values else None


def _paired_ratio(numerators: list[Result], denominators: list[Result], key: str) -> float | None:
    """Median over rounds of ``numerator[key] / denominator[key]`` within the same round."""
    ratios = [
        top[key] / bottom[key]
        for top, bottom in zip(numerators, denominators, strict=True)
        if "error" not in top and "error" not in bottom and bottom.get(key)
    ]
    return statistics.median(ratios) if ratios else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _at_least(value: float | None, goal: float) -> bool | None:
    return None if value is None else value >= goal


def _at_most(value: float | None, goal: float) -> bool | None:
    return None if value is None else value <= goal


def _get(result: Result | None, key: str) -> float | None:
    if result is None or "error" in result:
        return None
    value = result.get(key)
    return float(value) if isinstance(value, (int, float)) else None


def _error_note(*results: Result | list[Result] | None) -> str:
    for result in results:
        for one in result if isinstance(result, list) else [result]:
            if one is not None and "error" in one:
                return str(one["error"])[:120]
    return ""


def _count(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def build_rows(plan: Plan, runs: Result) -> list[Row]:
    """Turn raw runs into table rows with targets and verdicts (for the sections run)."""
    builders = {
        "overhead": _overhead_rows,
        "latency": _latency_rows,
        "bulk": _bulk_rows,
        "attachments": _attachment_rows,
        "bundles": _bundle_rows,
        "ratelimit": _ratelimit_rows,
        "cli": _cli_rows,
    }
    quick = " [quick]" if plan.quick else ""
    rows: list[Row] = []
    for section in SECTIONS:
        if section in runs:
            rows += builders[section](plan, runs[section], quick)
    return rows


def _overhead_rows(plan: Plan, over: Result, quick: str) -> list[Row]:
    rows: list[Row] = []
    c = plan.overhead_concurrency
    section = (
        f"Per-request overhead: contacts.upsert, 0 ms, c={c}, "
        f"{plan.overhead_count:,} req x {plan.overhead_rounds} rounds (median){quick}"
    )
    rps = {client: _median(over[client], "per_second") for client in CLIENTS}
    cpu = {client: _median(over[client], "cpu_us_per_item") for client in CLIENTS}
    server_util = _median([r.get("server", {}) for r in over["aiohttp"]], "cpu_utilisation")
    names = {"aiohttp": "raw aiohttp (floor)", "httpx": "httpx.AsyncClient", "sdk": "SDK"}
    for client in ("aiohttp", "httpx", "sdk"):
        capped = any(r.get("capped") for r in over[client])
        note = _error_note(over[client]) or (
            f"stopped after {plan.overhead_max_seconds:.0f} s per round" if capped else ""
        )
        rows.append(Row(section, f"{names[client]}: requests/s", rps[client], "/s", note=note))
    # Ratios are taken within each round (the clients ran back to back), then the median
    # across rounds: slow drifts of a shared machine cancel out.
    sdk_vs_raw = _paired_ratio(over["sdk"], over["aiohttp"], "per_second")
    rows.append(
        Row(
            section,
            "SDK / raw aiohttp throughput",
            sdk_vs_raw,
            "x",
            ">= 0.95x",
            _at_least(sdk_vs_raw, 0.95),
            f"server CPU {server_util:.0%} busy during the raw runs" if server_util else "",
        )
    )
    rows.append(
        Row(section, "httpx / raw aiohttp throughput",
            _paired_ratio(over["httpx"], over["aiohttp"], "per_second"), "x")
    )  # fmt: skip
    for client in ("aiohttp", "httpx", "sdk"):
        rows.append(Row(section, f"{names[client]}: client CPU per request", cpu[client], "us"))
    sdk_cpu = _paired_ratio(over["sdk"], over["aiohttp"], "cpu_us_per_item")
    rows.append(
        Row(section, "SDK / raw aiohttp CPU per request", sdk_cpu, "x", "<= 1.15x",
            _at_most(sdk_cpu, 1.15))
    )  # fmt: skip

    return rows


def _latency_rows(plan: Plan, latency: Result, quick: str) -> list[Row]:
    rows: list[Row] = []
    section = (
        f"Latency-bound throughput: bulk.run of upserts, {plan.latency_ms} ms latency, "
        f"vs Little's law{quick}"
    )
    for conc, by_client in latency.items():
        bound = int(conc) / (plan.latency_ms / 1000)
        raw = _median(by_client["aiohttp"], "per_second")
        sdk = _median(by_client["sdk"], "per_second")
        httpx_rps = _median(by_client["httpx"], "per_second")
        rows.append(Row(section, f"c={conc}: Little's law bound", bound, "/s"))
        rows.append(Row(section, f"c={conc}: raw aiohttp / bound", _ratio(raw, bound), "x"))
        skipped = "" if by_client["httpx"] else "not run at this concurrency in a --quick run"
        rows.append(
            Row(section, f"c={conc}: httpx / bound", _ratio(httpx_rps, bound), "x", note=skipped)
        )
        # Where raw aiohttp reaches the bound, the SDK must reach 0.9 of it; where even raw
        # aiohttp falls short (client and server share two cores), the bound that applies
        # is what raw aiohttp achieved.
        raw_reaches = raw is None or raw >= 0.9 * bound
        reference = bound if raw_reaches else raw
        sdk_ratio = _ratio(sdk, reference)
        note = _error_note(by_client["sdk"])
        if not note:
            note = (
                f"SDK = {_ratio(sdk, bound) or 0:.2f} of the bound"
                if raw_reaches
                else f"raw aiohttp reaches only {_ratio(raw, bound):.2f} of the bound; "
                f"SDK = {_ratio(sdk, bound) or 0:.2f} of the bound"
            )
        rows.append(
            Row(
                section,
                f"c={conc}: SDK bulk.run / min(bound, raw aiohttp)",
                sdk_ratio,
                "x",
                ">= 0.90x",
                _at_least(sdk_ratio, 0.9),
                note,
            )
        )

    return rows


def _bulk_rows(plan: Plan, bulk: Result, quick: str) -> list[Row]:
    rows: list[Row] = []
    counts = sorted(int(n) for n in bulk)
    small, large = counts[0], counts[-1]
    section = (
        f"Bulk overhead and memory: bulk.run vs naive gather+semaphore, 0 ms, "
        f"c={plan.bulk_concurrency}{quick}"
    )
    if plan.quick:
        section += f" ({_count(large)} items instead of 200k)"
    big_bulk, big_naive = bulk[str(large)]["bulk"], bulk[str(large)]["naive"]
    bulk_rate, naive_rate = _get(big_bulk, "per_second"), _get(big_naive, "per_second")
    rows.append(Row(section, f"bulk.run, {_count(large)} items: items/s", bulk_rate, "/s",
                    note=_error_note(big_bulk)))  # fmt: skip
    rows.append(Row(section, f"naive gather, {_count(large)} items: items/s", naive_rate, "/s",
                    note=_error_note(big_naive)))  # fmt: skip
    rows.append(
        Row(section, "bulk / naive throughput", _ratio(bulk_rate, naive_rate), "x", ">= 0.90x",
            _at_least(_ratio(bulk_rate, naive_rate), 0.9))
    )  # fmt: skip
    rows.append(
        Row(section, "bulk / naive CPU per item",
            _ratio(_get(big_bulk, "cpu_us_per_item"), _get(big_naive, "cpu_us_per_item")), "x")
    )  # fmt: skip
    for n in counts:
        for client, name in (("bulk", "bulk.run"), ("naive", "naive gather")):
            rows.append(
                Row(section, f"{name}, {_count(n)} items: peak RSS above baseline",
                    _get(bulk[str(n)][client], "rss_above_baseline_mb"), "MB")
            )  # fmt: skip
    growth = None
    low = _get(bulk[str(small)]["bulk"], "rss_peak_mb")
    high = _get(bulk[str(large)]["bulk"], "rss_peak_mb")
    if low is not None and high is not None:
        growth = high - low
    rows.append(
        Row(section, f"bulk.run peak RSS growth, {_count(small)} -> {_count(large)} items",
            growth, "MB", "<= 20 MB", _at_most(growth, 20.0))
    )  # fmt: skip

    return rows


def _attachment_rows(plan: Plan, att: Result, quick: str) -> list[Row]:
    rows: list[Row] = []
    section = f"Attachments: base64 streamed in the JSON body, 0 ms{quick}"
    if plan.quick:
        section += (
            f" ({plan.big_file_mb} MB file instead of 256 MB, "
            f"{plan.many_files} files instead of 32)"
        )
    limit = _get(att["base64_limit"], "mb_per_second")
    single = f"one {plan.big_file_mb} MB file"
    batch = f"{plan.many_files} x {plan.many_file_mb} MB, c={plan.many_concurrency}"
    rows.append(Row(section, "base64.b64encode in memory (the limit)", limit, "MB/s"))
    for key, what, is_sdk in (
        ("single_sdk", f"SDK add_file, {single}", True),
        ("single_naive", f"naive read+b64+json, {single}", False),
        ("many_sdk", f"SDK bulk AddFile, {batch}", True),
        ("many_naive", f"naive, {batch}", False),
    ):
        result = att[key]
        rate = _get(result, "mb_per_second")
        rows.append(Row(section, f"{what}: MB/s", rate, "MB/s", note=_error_note(result)))
        rows.append(Row(section, f"{what}: MB/s / base64 limit", _ratio(rate, limit), "x"))
        rss = _get(result, "rss_above_baseline_mb")
        if key == "single_sdk":
            rows.append(Row(section, f"{what}: peak RSS above baseline", rss, "MB", "< 64 MB",
                            None if rss is None else rss < 64))  # fmt: skip
        else:
            rows.append(Row(section, f"{what}: peak RSS above baseline", rss, "MB"))
        stall = _get(result, "max_stall_ms")
        note = ""
        if stall is not None:
            note = (
                f"idle-loop control {_get(result, 'idle_max_stall_ms') or 0:.1f} ms; "
                f"{int(_get(result, 'stalls_over_20ms') or 0)} gaps > 20 ms"
            )
        if is_sdk:
            rows.append(Row(section, f"{what}: longest event-loop stall", stall, "ms", "< 20 ms",
                            None if stall is None else stall < 20, note))  # fmt: skip
            rows.append(
                Row(section, f"{what}: stall during the process's first (small) upload",
                    _get(result, "warmup_max_stall_ms"), "ms",
                    note="one-time costs: lazy imports, worker thread start")
            )  # fmt: skip
        else:
            rows.append(Row(section, f"{what}: longest event-loop stall", stall, "ms", note=note))

    return rows


def _bundle_rows(plan: Plan, bundles: Result, quick: str) -> list[Row]:
    rows: list[Row] = []
    section = (
        f"Bundles: contact + 2 notes + 1 {plan.small_file_kb} KB file, {plan.latency_ms} ms, "
        f"c={plan.bundle_concurrency}, {plan.bundle_count:,} bundles{quick}"
    )
    sdk_bps = _get(bundles["sdk"], "per_second")
    raw_bps = _get(bundles["aiohttp"], "per_second")
    ideal = plan.bundle_concurrency / (REQUESTS_PER_BUNDLE * plan.latency_ms / 1000)
    rows.append(Row(section, "SDK bulk.run: bundles/s", sdk_bps, "/s",
                    note=_error_note(bundles["sdk"])))  # fmt: skip
    rows.append(Row(section, "hand-written raw aiohttp: bundles/s", raw_bps, "/s",
                    note=_error_note(bundles["aiohttp"])))  # fmt: skip
    rows.append(Row(section, "SDK / raw aiohttp", _ratio(sdk_bps, raw_bps), "x"))
    rows.append(
        Row(section, "ideal: c requests in flight / (4 requests x latency)", ideal, "/s",
            note="concurrency counts requests, children included (bulk.run's definition)")
    )  # fmt: skip
    return rows


# --------------------------------------------------------------------------- rate limits

# #12's targets: settled goodput, share of 429s, and no item lost to rate limiting.
GOODPUT_TARGET = 0.95
SHARE_429_TARGET = 0.02


def _applied_at(samples: list[list[float]], t: float) -> float:
    """The emulator's applied count at ``t`` s into the run, interpolated between samples."""
    previous = samples[0]
    for sample in samples:
        if sample[0] >= t:
            span = sample[0] - previous[0]
            if span <= 0:
                return float(sample[1])
            return previous[1] + (sample[1] - previous[1]) * (t - previous[0]) / span
        previous = sample
    return float(samples[-1][1])


def _applied_by(samples: list[list[float]], t: float) -> float:
    """The emulator's applied count at the last sample at or before ``t`` s into the run.

    At a quota's window boundary the count jumps as the new window opens: interpolated, part
    of that jump would count before the boundary.
    """
    applied = float(samples[0][1])
    for sample in samples:
        if sample[0] > t:
            break
        applied = float(sample[1])
    return applied


def _whole_windows(
    samples: list[list[float]], start: float, end: float, window: float, clock_start: float
) -> tuple[float, int] | None:
    """Requests accepted per second over the whole quota windows within ``[start, end]``,
    and how many windows; ``None`` when not one fits.

    The windows are aligned to multiples of ``window`` on the emulator's clock, which read
    ``clock_start`` when the run's samples began.
    """
    first = math.ceil((clock_start + start) / window - 1e-9)
    last = math.floor((clock_start + end) / window + 1e-9)
    if last <= first:
        return None
    opened, closed = first * window - clock_start, last * window - clock_start
    accepted = _applied_by(samples, closed) - _applied_by(samples, opened)
    return accepted / (closed - opened), last - first


def _accepted_rate(samples: list[list[float]], start: float, end: float) -> float | None:
    """Requests accepted per second between ``start`` and ``end`` s (None: empty span)."""
    if end <= start:
        return None
    return (_applied_at(samples, end) - _applied_at(samples, start)) / (end - start)


def limit_figures(
    result: Result,
    limit_rate: float,
    phases: tuple[LimitPhase, ...] = (),
    window: float | None = None,
) -> dict[str, Any]:
    """The figures #12 judges a run against a rate limit by.

    Args:
        result: one ``bulk_limited`` result: ``elapsed_s``, ``count``, ``succeeded``,
            ``applied``, ``rate_limited``, ``requests`` and ``samples`` (``[t, applied,
            rate_limited, requests]`` from the emulator, ``t`` from the run's start), and
            ``clock_start`` (the emulator's clock at ``t`` = 0).
        limit_rate: the limit in requests per second.
        phases: for a limit that changed during the run, its schedule.
        window: a window quota's window, in seconds. Its settled goodput is counted over
            the whole windows in the run's second half (``settled_windows`` says how many),
            not over the half itself: a fixed window's count comes in steps as windows
            open, and a span of 25 s holds two or three of them depending on where it
            starts (0.85-1.12 over three full runs). Over the half itself if not one whole
            window fits, or the run recorded no ``clock_start``.

    Returns:
        ``goodput`` (accepted per second over the whole run / the limit), ``settled``
        (the same over the run's second half), ``share_429`` (429s / requests),
        ``not_succeeded`` (items), and with ``phases`` a ``phases`` list of
        ``{"rate", "goodput", "settled"}`` (settled: the phase's second half) plus
        ``mean_limit`` (the time-weighted limit the whole-run goodput is judged against).
    """
    elapsed = float(result["elapsed_s"])
    samples = sorted(result["samples"]) or [[0.0, 0, 0, 0], [elapsed, result["applied"], 0, 0]]
    figures: dict[str, Any] = {
        "not_succeeded": int(result["count"]) - int(result["succeeded"]),
        "share_429": result["rate_limited"] / result["requests"] if result["requests"] else None,
    }
    mean_limit = limit_rate
    if phases:
        spans = []
        for i, phase in enumerate(phases):
            end = phases[i + 1].at if i + 1 < len(phases) else elapsed
            end = min(end, elapsed)
            if end <= phase.at:
                break
            middle = (phase.at + end) / 2
            whole = _accepted_rate(samples, phase.at, end)
            settled = _accepted_rate(samples, middle, end)
            spans.append(
                {
                    "rate": phase.rate,
                    "start": phase.at,
                    "end": end,
                    "goodput": None if whole is None else whole / phase.rate,
                    "settled": None if settled is None else settled / phase.rate,
                }
            )
        figures["phases"] = spans
        covered = sum(p["end"] - p["start"] for p in spans)
        if covered > 0:
            mean_limit = sum(p["rate"] * (p["end"] - p["start"]) for p in spans) / covered
        figures["mean_limit"] = mean_limit
    whole = _accepted_rate(samples, 0.0, elapsed)
    settled = _accepted_rate(samples, elapsed / 2, elapsed)
    clock_start = result.get("clock_start")
    if window and clock_start is not None:
        counted = _whole_windows(samples, elapsed / 2, elapsed, window, float(clock_start))
        if counted is not None:
            settled, figures["settled_windows"] = counted
    figures["goodput"] = None if whole is None else whole / mean_limit
    figures["settled"] = None if settled is None else settled / limit_rate
    return figures


def _outcome_note(result: Result) -> str:
    """What became of the items that did not succeed, and why the run stopped, if it did."""
    parts = [f"{n:,} {status}" for status, n in result.get("statuses", {}).items()]
    errors = result.get("errors", {})
    if errors:
        parts.append("errors: " + ", ".join(f"{n:,} {name}" for name, n in errors.items()))
    if result.get("stopped"):
        parts.append(str(result["stopped"]))
    return "; ".join(parts)[:200]


def _limit_rate(result: Result, scenario: Result) -> tuple[float, str]:
    """The limit a run is judged against, and how it was found."""
    if scenario["kind"] != "concurrency_cap":
        return float(scenario["rate"]), f"limit {scenario['rate']:,.0f}/s"
    calibrated = _get(result.get("calibration"), "per_second")
    if calibrated is None:
        return float(scenario["rate"]), f"calibration failed: ideal {scenario['rate']:,.0f}/s"
    return calibrated, f"limit {calibrated:,.0f}/s (calibrated; ideal {scenario['rate']:,.0f}/s)"


def _ratelimit_rows(plan: Plan, runs: Result, quick: str) -> list[Row]:
    rows: list[Row] = []
    section = (
        f"Unannounced rate limit: bulk.run of upserts, c={plan.limit_concurrency}, no "
        f"max_per_second, emulator in its own process, {plan.limit_latency_ms} ms latency{quick}"
    )
    goal = f">= {GOODPUT_TARGET:.2f}x"
    for key, result in runs.items():
        scenario = result.get("scenario", {})
        title = str(scenario.get("title", key))
        if "error" in result or "samples" not in result:
            rows.append(Row(section, f"{title}: settled goodput / limit", None, "x", goal,
                            note=_error_note(result) or "no samples"))  # fmt: skip
            continue
        limit, how = _limit_rate(result, scenario)
        phases = tuple(LimitPhase(**p) for p in scenario.get("phases", ()))
        figures = limit_figures(result, limit, phases, scenario.get("window"))
        if "calibration" in result:
            rows.append(
                Row(section, f"{title}: {plan.limit_cap} requests in flight back to back "
                    "(the cap's real limit)", _get(result["calibration"], "per_second"), "/s",
                    note=_error_note(result["calibration"]) or how)
            )  # fmt: skip
        if phases:
            rows.append(
                Row(section, f"{title}: goodput / time-weighted limit, whole run",
                    figures["goodput"], "x",
                    note=f"limit {', then '.join(f'{p.rate:g}/s' for p in phases)}, "
                    f"changing every {plan.limit_change_phase_s:g} s")
            )  # fmt: skip
            for i, phase in enumerate(figures["phases"]):
                halved = i > 0 and phase["rate"] < phases[i - 1].rate
                rows.append(
                    Row(section, f"{title}: phase {i + 1} ({phase['rate']:g}/s), settled "
                        "(2nd half of the phase) / limit", phase["settled"], "x",
                        goal if halved else "", _at_least(phase["settled"], GOODPUT_TARGET)
                        if halved else None,
                        f"whole phase {phase['goodput'] or 0:.2f}x"
                        + ("" if halved or i == 0 else "; no target: found again by probing"))
                )  # fmt: skip
        else:
            windows = figures.get("settled_windows")
            counted = f"; over {windows} whole window{'s' * (windows != 1)}" if windows else ""
            rows.append(
                Row(section, f"{title}: goodput settled (2nd half) / limit", figures["settled"],
                    "x", goal, _at_least(figures["settled"], GOODPUT_TARGET),
                    f"whole run {figures['goodput'] or 0:.2f}x; {how}{counted}")
            )  # fmt: skip
        share = figures["share_429"]
        rows.append(
            Row(section, f"{title}: 429s / requests", share, "%", f"<= {SHARE_429_TARGET:.0%}",
                _at_most(share, SHARE_429_TARGET), f"{result['requests']:,} requests")
        )  # fmt: skip
        lost = figures["not_succeeded"]
        rows.append(
            Row(section, f"{title}: items not succeeded (of {result['count']:,})", lost,
                "items", "= 0", lost == 0, _outcome_note(result))
        )  # fmt: skip
    return rows


# --------------------------------------------------------------------------- CLI


def _cli_rows(plan: Plan, cli: Result, quick: str) -> list[Row]:
    rows: list[Row] = []
    section = (
        f"CLI import throughput: zyntro-async import of {cli.get('rows', 0):,} contacts "
        f"(JSONL), --no-journal, c={plan.cli_concurrency}, 0 ms, whole process (median of "
        f"{plan.cli_rounds}){quick}"
    )
    names = {
        "raw_aiohttp": "raw aiohttp import loop on asyncio",
        "cli_asyncio": "CLI on asyncio",
        "cli_uvloop": "CLI on uvloop",
    }
    startup = cli.get("startup_s", {})
    for client, name in names.items():
        results = cli.get(client)
        note = (
            f"start-up and exit on an empty file: {startup[client]:.2f} s"
            if client in startup
            else "uvloop is not installed"
        )
        rows.append(Row(section, f"{name}: items/s", _median(results or [], "per_second"), "/s",
                        note=_error_note(results) or note))  # fmt: skip
    raw = cli.get("raw_aiohttp", [])
    for client in ("cli_asyncio", "cli_uvloop"):
        if not cli.get(client):
            continue
        for key, what in (
            ("per_second", "items/s"),
            ("per_second_after_startup", "items/s after start-up"),
            ("cpu_us_per_item", "CPU per item"),
        ):
            rows.append(
                Row(section, f"{names[client]} / raw aiohttp on asyncio: {what}",
                    _paired_ratio(cli[client], raw, key), "x")
            )  # fmt: skip
    return rows
