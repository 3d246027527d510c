"""Presenting results: the console table, the JSON file, the chart and a Markdown table.

Every function here takes the dict returned by :func:`benchmarks.suite.run_suite` (or the
same dict read back from ``latest.json``), so a chart or table can be redrawn from a saved
run without measuring again: ``python -m benchmarks --from-json PATH``.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "draw_chart",
    "draw_ratelimit_chart",
    "format_value",
    "markdown_table",
    "print_table",
    "rate_series",
    "write_json",
]

Result = dict[str, Any]


def format_value(value: float | None, unit: str) -> str:
    """Format one figure for display (``x`` ratios, rates, sizes, durations)."""
    if value is None:
        return "-"
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "/s":
        return f"{value:,.0f}/s"
    if unit == "us":
        return f"{value:,.0f} us"
    if unit in ("MB", "ms"):
        return f"{value:,.1f} {unit}"
    if unit == "%":
        return f"{value:.1%}"
    if unit == "items":
        return f"{value:,.0f}"
    if unit == "MB/s":
        return f"{value:,.0f} MB/s"
    return f"{value:,.3g} {unit}".strip()


def _sections(results: Result) -> Iterator[tuple[str, list[Result]]]:
    current: str | None = None
    rows: list[Result] = []
    for row in results["rows"]:
        if row["section"] != current:
            if current is not None:
                yield current, rows
            current, rows = row["section"], []
        rows.append(row)
    if current is not None:
        yield current, rows


def _machine_line(results: Result) -> str:
    m = results["machine"]
    return (
        f"{m['processor']}, {m['cpu_count']} CPUs, {m.get('memory_gb', '?')} GB RAM, "
        f"{m['platform']}, {m['implementation']} {m['python']}, aiohttp {m['aiohttp_version']}, "
        f"httpx {m['httpx_version']}; {m['timestamp']}"
    )


def _summary_line(results: Result) -> str:
    s = results["summary"]
    plan = results["plan"]["name"]
    return (
        f"{s['passed']} targets passed, {s['failed']} failed, {s['errors']} not measured "
        f"({plan} run, {results['elapsed_s']:.0f} s)"
    )


def print_table(results: Result) -> None:
    """Print every figure with its target and verdict (rich if installed, plain otherwise)."""
    # rich and matplotlib are optional at run time: plain text and no chart without them.
    try:
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table
    except ImportError:
        _print_plain(results)
        return
    console = Console()
    if not console.is_terminal:
        # Piped or captured (nox, CI): do not squeeze the table into 80 columns.
        console = Console(width=200)
    style = {"PASS": "bold green", "FAIL": "bold red", "ERROR": "bold red", "n/a": "yellow"}
    table = Table(title="zyntro_async benchmarks", show_lines=False, expand=False)
    for name, justify in (
        ("Metric", "left"),
        ("Value", "right"),
        ("Target", "left"),
        ("Result", "center"),
        ("Note", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for section, rows in _sections(results):
        table.add_section()
        table.add_row(f"[bold cyan]{escape(section)}[/]", "", "", "", "")
        for row in rows:
            status = row["status"]
            table.add_row(
                "  " + escape(row["metric"]),
                format_value(row["value"], row["unit"]),
                escape(row["target"]),
                f"[{style.get(status, '')}]{status}[/]" if status else "",
                escape(row["note"]),
            )
    console.print(table)
    console.print(escape(_machine_line(results)), style="dim")
    console.print(escape(_summary_line(results)), style="bold")


def _print_plain(results: Result) -> None:
    lines = []
    for section, rows in _sections(results):
        lines.append("")
        lines.append(section)
        for row in rows:
            value = format_value(row["value"], row["unit"])
            line = f"  {row['metric']:<62} {value:>14}  {row['target']:<28} {row['status']:<5}"
            lines.append(f"{line} {row['note']}".rstrip())
    lines.append("")
    lines.append(_machine_line(results))
    lines.append(_summary_line(results))
    print("\n".join(lines))


def markdown_table(results: Result) -> str:
    """Return the table as GitHub Markdown (the README's Performance section)."""
    out = ["| Metric | Value | Target | Result |", "|---|---:|---|:---:|"]
    for section, rows in _sections(results):
        out.append(f"| **{section}** | | | |")
        for row in rows:
            out.append(
                f"| {row['metric']} | {format_value(row['value'], row['unit'])} "
                f"| {row['target'].replace('>=', '≥').replace('<=', '≤')} | {row['status']} |"
            )
    out.append("")
    out.append(f"Measured on: {_machine_line(results)}.")
    return "\n".join(out)


def write_json(results: Result, path: Path) -> None:
    """Write the results (machine info, plan, raw runs, rows) as indented JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, sort_keys=False) + "\n")


def _median(results: list[Result] | Result, key: str) -> float | None:
    items = results if isinstance(results, list) else [results]
    values = [r[key] for r in items if "error" not in r and key in r]
    return statistics.median(values) if values else None


def _short_count(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def _pyplot() -> Any:
    """matplotlib's pyplot on the file-only backend, or None when it is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def _save(plt: Any, fig: Any, path: Path, *, dpi: int) -> None:
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


def draw_chart(results: Result, path: Path) -> bool:
    """Draw throughput vs concurrency, memory vs items and upload memory/stalls to a PNG.

    Returns:
        False (and draws nothing) if matplotlib is not installed, or the run measured only
        some sections (``--only``).
    """
    plt = _pyplot()
    if plt is None:
        return False

    runs, plan = results["runs"], results["plan"]
    if any(section not in runs for section in ("latency", "bulk", "attachments")):
        return False  # a partial run (--only): nothing to draw the whole picture from
    fig, (ax_rate, ax_mem, ax_att) = plt.subplots(1, 3, figsize=(18, 5.6))
    colours = {"sdk": "tab:blue", "aiohttp": "tab:orange", "httpx": "tab:green"}
    labels = {"sdk": "SDK bulk.run", "aiohttp": "raw aiohttp", "httpx": "httpx"}

    # Throughput vs concurrency at the configured latency.
    concurrency = sorted(int(c) for c in runs["latency"])
    latency_s = plan["latency_ms"] / 1000
    ax_rate.plot(
        concurrency,
        [c / latency_s for c in concurrency],
        "k--",
        label=f"Little's law (c / {plan['latency_ms']} ms)",
    )
    for client in ("aiohttp", "httpx", "sdk"):
        points = [(c, _median(runs["latency"][str(c)][client], "per_second")) for c in concurrency]
        xs = [c for c, v in points if v is not None]
        ys = [v for _, v in points if v is not None]
        ax_rate.plot(xs, ys, "o-", color=colours[client], label=labels[client])
    ax_rate.set_xscale("log", base=2)
    ax_rate.set_yscale("log")
    ax_rate.set_xticks(concurrency, [str(c) for c in concurrency])
    ax_rate.set_xlabel("concurrency (requests in flight)")
    ax_rate.set_ylabel("upserts per second")
    ax_rate.set_title(f"Throughput vs concurrency ({plan['latency_ms']} ms server latency)")
    ax_rate.grid(True, which="both", alpha=0.3)
    ax_rate.legend()

    # Peak RSS vs number of items.
    counts = sorted(int(n) for n in runs["bulk"])
    for client, colour, label in (
        ("bulk", "tab:blue", "SDK bulk.run (lazy generator)"),
        ("naive", "tab:red", "naive asyncio.gather + semaphore"),
    ):
        points = [
            (n, _median(runs["bulk"][str(n)][client], "rss_above_baseline_mb")) for n in counts
        ]
        xs = [n for n, v in points if v is not None]
        ys = [v for _, v in points if v is not None]
        ax_mem.plot(xs, ys, "o-", color=colour, label=label)
    ax_mem.set_xscale("log")
    ax_mem.set_xticks(counts, [_short_count(n) for n in counts])
    ax_mem.minorticks_off()
    ax_mem.set_xlabel("items (lazily generated UpsertContact)")
    ax_mem.set_ylabel("peak RSS above baseline (MB)")
    ax_mem.set_title("Memory vs items (contact upserts, 0 ms)")
    ax_mem.grid(True, which="both", alpha=0.3)
    ax_mem.legend()

    # Attachments: peak RSS (bars) and longest loop stall (annotations).
    att = runs["attachments"]
    groups = [
        (f"1 x {plan['big_file_mb']} MB", "single"),
        (f"{plan['many_files']} x {plan['many_file_mb']} MB", "many"),
    ]
    width = 0.38
    for offset, (impl, colour, label) in enumerate(
        (("sdk", "tab:blue", "SDK (streamed)"), ("naive", "tab:red", "naive (in memory)"))
    ):
        positions = [i + (offset - 0.5) * width for i in range(len(groups))]
        heights = [_median(att[f"{g}_{impl}"], "rss_above_baseline_mb") or 0.0 for _, g in groups]
        bars = ax_att.bar(positions, heights, width, color=colour, label=label)
        for bar, (_, g) in zip(bars, groups, strict=True):
            stall = _median(att[f"{g}_{impl}"], "max_stall_ms")
            if stall is not None:
                ax_att.annotate(
                    f"{bar.get_height():,.0f} MB\nstall {stall:,.0f} ms",
                    (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center",
                    va="bottom",
                    fontsize=8,
                )
    ax_att.margins(y=0.15)  # room for the labels above the tallest bar
    ax_att.set_xticks(range(len(groups)), [name for name, _ in groups])
    ax_att.set_ylabel("peak RSS above baseline (MB)")
    ax_att.set_title("Attachment upload: memory and longest event-loop stall")
    ax_att.grid(True, axis="y", alpha=0.3)
    ax_att.legend()

    m = results["machine"]
    fig.suptitle(
        f"zyntro_async benchmarks ({plan['name']} run) - {m['cpu_count']} CPUs, "
        f"Python {m['python']}, {m['timestamp']}"
    )
    _save(plt, fig, path, dpi=110)
    return True


def rate_series(
    samples: list[list[float]], window_s: float = 1.0
) -> tuple[list[float], list[float]]:
    """Accepted requests per second over time, from the emulator's sampled counters.

    Args:
        samples: ``[t, applied, ...]`` rows, ``t`` in seconds from the run's start.
        window_s: each point is the rate over the last ``window_s`` seconds (or since the
            start), which smooths the sampling's granularity.

    Returns:
        Times and rates, one pair per sample from ``window_s`` on (earlier, a rate over a
        fraction of the window would show the opening burst as a spike).
    """
    times: list[float] = []
    rates: list[float] = []
    for i, (t, applied, *_) in enumerate(samples):
        if t < window_s:
            continue
        j = i
        while j > 0 and t - samples[j][0] < window_s:
            j -= 1
        span = t - samples[j][0]
        if span > 0:
            times.append(t)
            rates.append((applied - samples[j][1]) / span)
    return times, rates


def draw_ratelimit_chart(results: Result, path: Path) -> bool:
    """Draw the accepted rate over time of the rate-limit section's runs to a PNG.

    Three panels: the token bucket under each ``Retry-After`` style, against its limit; the
    concurrency cap and window quota as a fraction of their limits; and the limit-change run
    against its changing limit.

    Returns:
        False (and draws nothing) if matplotlib is not installed or the section did not run.
    """
    plt = _pyplot()
    if plt is None:
        return False
    runs = results["runs"].get("ratelimit")
    if not runs:
        return False
    plan = results["plan"]
    fig, (ax_bucket, ax_other, ax_change) = plt.subplots(1, 3, figsize=(18, 5.6))
    ok = {key: run for key, run in runs.items() if "samples" in run}

    ax_bucket.axhline(plan["limit_rate"], color="k", linestyle="--", label="the limit")
    for run in ok.values():
        if run["scenario"]["kind"] == "token_bucket":
            style = run["scenario"]["retry_after"]
            ax_bucket.plot(*rate_series(run["samples"]), label=f"Retry-After: {style}")
    ax_bucket.set_title(
        f"Token bucket {plan['limit_rate']:g}/s, burst {plan['limit_burst']}: accepted rate"
    )
    ax_bucket.set_ylabel("requests accepted per second (1 s window)")

    ax_other.axhline(1.0, color="k", linestyle="--", label="the limit")
    for key, run in ok.items():
        scenario = run["scenario"]
        if scenario["kind"] not in ("concurrency_cap", "window_quota"):
            continue
        limit = scenario["rate"]
        calibrated = run.get("calibration", {}).get("per_second")
        if scenario["kind"] == "concurrency_cap" and calibrated:
            limit = calibrated
        window = 1.0 if scenario["kind"] == "concurrency_cap" else plan["quota"][1]
        times, rates = rate_series(run["samples"], window)
        ax_other.plot(times, [r / limit for r in rates], label=key.replace("_", " "))
    ax_other.set_ylim(0, 2)
    ax_other.set_title("Concurrency cap and window quota: accepted rate / limit")
    ax_other.set_ylabel("fraction of the limit")

    for run in ok.values():
        phases = run["scenario"].get("phases")
        if not phases:
            continue
        end = run["elapsed_s"]
        steps_t = [p["at"] for p in phases] + [end]
        steps_r = [p["rate"] for p in phases] + [phases[-1]["rate"]]
        ax_change.step(steps_t, steps_r, where="post", color="k", linestyle="--",
                       label="the limit")  # fmt: skip
        ax_change.plot(*rate_series(run["samples"]), color="tab:blue", label="accepted")
        times, refused = rate_series([[t, r] for t, _, r, *_ in run["samples"]])
        ax_change.plot(times, refused, color="tab:red", alpha=0.6, label="429s")
    ax_change.set_title("Token bucket halved, then restored: accepted rate")
    ax_change.set_ylabel("requests per second (1 s window)")

    for ax in (ax_bucket, ax_other, ax_change):
        ax.set_xlabel("seconds since the run started")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    m = results["machine"]
    fig.suptitle(
        f"bulk.run at c={plan['limit_concurrency']}, no max_per_second, against emulator "
        f"limits it is not told ({plan['name']} run, {m['timestamp']})"
    )
    _save(plt, fig, path, dpi=100)
    return True
