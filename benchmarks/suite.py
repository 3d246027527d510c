"""The benchmark plan, how it is run, and the targets its figures are judged against.

:func:`run_suite` starts the benchmark server (:mod:`benchmarks.server`) in its own process,
runs every scenario of :mod:`benchmarks.scenarios` in a fresh worker process, interleaving
the clients of each comparison so machine noise hits them alike, and turns the raw
figures into :class:`Row` objects: one per number in the final table, each with its
target and verdict.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import Any

import attrs

from benchmarks._measure import MB, machine_info
from benchmarks._spec import Spec, fallback_upsert_template

__all__ = [
    "FULL",
    "QUICK",
    "SECTIONS",
    "BenchServer",
    "Plan",
    "Row",
    "build_rows",
    "run_suite",
    "sdk_available",
]

_ROOT = Path(__file__).resolve().parent.parent
Result = dict[str, Any]
Progress = Callable[[str], None]

# The parts of a run, in order; ``python -m benchmarks --only NAME`` runs some of them.
SECTIONS = ("overhead", "latency", "bulk", "attachments", "bundles")


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
)


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


# --------------------------------------------------------------------------- processes


class BenchServer:
    """The benchmark server process, one port per latency."""

    def __init__(self, latencies_ms: tuple[int, ...]) -> None:
        self.latencies_ms = latencies_ms
        self.ports: dict[int, int] = {}
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> BenchServer:
        command = [sys.executable, "-m", "benchmarks.server"]
        for latency in self.latencies_ms:
            command += ["--latency-ms", str(latency)]
        self._process = subprocess.Popen(
            command, cwd=_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            self.__exit__()
            raise RuntimeError("benchmark server did not start")
        self.ports = {int(k): v for k, v in json.loads(line)["ports"].items()}
        return self

    def __exit__(self, *exc_info: object) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        assert process.stdin is not None
        process.stdin.close()  # the server stops when its stdin closes
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def url(self, latency_ms: int) -> str:
        """Base URL of the port that adds ``latency_ms``."""
        return f"http://127.0.0.1:{self.ports[latency_ms]}"

    def _request(self, path: str, *, post: bool = False) -> bytes:
        port = next(iter(self.ports.values()))
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}{path}", method="POST" if post else "GET"
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body: bytes = response.read()
        return body

    def reset(self) -> None:
        """Zero the server's counters."""
        self._request("/_reset", post=True)

    def stats(self) -> Result:
        """The server's counters since the last reset."""
        stats: Result = json.loads(self._request("/_stats"))
        return stats

    def last_body(self, action: str) -> bytes | None:
        """The last small body the server received for ``action``."""
        try:
            return self._request(f"/_last/{action}")
        except OSError:
            return None


class Worker:
    """One worker process (:mod:`benchmarks._worker`): send it specs, read back results."""

    def __init__(self) -> None:
        # Closed in close(): the worker outlives any single with-block.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115
        self._process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks._worker"],
            cwd=_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        self._buffer = b""
        self.alive = True

    def run(self, spec: Spec, timeout_s: float) -> Result:
        """Run one scenario; a crash or a timeout becomes ``{"error": ...}``."""
        process = self._process
        assert process.stdin is not None
        try:
            process.stdin.write((json.dumps(attrs.asdict(spec)) + "\n").encode())
            process.stdin.flush()
        except BrokenPipeError:
            return self._dead("the worker process died")
        line = self._readline(timeout_s)
        if line is None:
            return self._dead(
                f"timed out after {timeout_s:.0f} s"
                if process.poll() is None
                else f"the worker process died (exit status {process.returncode})"
            )
        result: Result = json.loads(line)
        return result

    def _readline(self, timeout_s: float) -> bytes | None:
        assert self._process.stdout is not None
        fd = self._process.stdout.fileno()
        deadline = time.monotonic() + timeout_s
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], remaining)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    return None
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def _dead(self, reason: str) -> Result:
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        stderr = self.stderr_tail()
        self.close()
        return {"error": reason, "stderr": stderr}

    def stderr_tail(self, limit: int = 4000) -> str:
        """The end of what the worker wrote to standard error."""
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")[-limit:]

    def close(self) -> None:
        """Stop the worker (closing its standard input ends it)."""
        if not self.alive:
            return
        self.alive = False
        process = self._process
        assert process.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            process.stdin.close()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
        self._stderr.close()


class Runner:
    """Runs specs in workers and attaches the server's view of each run.

    Scenarios given a ``worker`` name share that long-lived worker (request-level
    comparisons: start-up paid once); the others get a fresh process each (anything
    measuring memory).
    """

    def __init__(
        self, server: BenchServer, plan: Plan, progress: Progress, sdk_missing: str | None
    ):
        self.server = server
        self.plan = plan
        self.progress = progress
        self.sdk_missing = sdk_missing
        self._workers: dict[str, Worker] = {}

    def __call__(self, spec: Spec, label: str, *, worker: str | None = None) -> Result:
        """Run ``spec`` (in the named shared worker, or a fresh one) and return its figures."""
        if self.sdk_missing and spec.scenario in _SDK_SCENARIOS:
            return {"error": f"SDK not importable ({self.sdk_missing})"}
        self.progress(label)
        if worker is None:
            process = Worker()
        else:
            process = self._workers.get(worker) or Worker()
            if not process.alive:
                process = Worker()
            self._workers[worker] = process
        self.server.reset()
        try:
            result = process.run(spec, self.plan.worker_timeout_s)
        finally:
            if worker is None:
                process.close()
        if "error" in result:
            self.progress(f"  ! {label}: {result['error']}")
            return result
        peak = result.get("rss_peak_mb")
        if isinstance(peak, (int, float)) and peak > _SETTLE_AFTER_MB:
            # A process that just gave back a gigabyte perturbs the next one's figures for a
            # few seconds (on a VM the freed memory goes back to the host): event-loop
            # stalls of 30+ ms that have nothing to do with the code measured next.
            self.progress(f"  letting the machine settle after a {peak:,.0f} MB process")
            time.sleep(_SETTLE_SECONDS)
        stats = self.server.stats()
        requests = stats["requests"] or 1
        result["server"] = {
            **stats,
            "body_bytes_per_request": stats["body_bytes"] / requests,
            "cpu_utilisation": stats["cpu_s"] / max(stats["wall_s"], 1e-9),
        }
        return result

    def close(self) -> None:
        """Stop the shared workers."""
        for process in self._workers.values():
            process.close()
        self._workers.clear()


def sdk_available() -> str | None:
    """Return None if the SDK's client imports, else the reason it does not.

    Only the core is checked: a missing or broken ``zyntro_async.bulk`` shows up as an
    error on the bulk rows alone, and every other figure is still measured.
    """
    # Imported here, not at the top: the harness must still run (and say why the SDK rows
    # are missing) while the SDK is broken or half-written. Workers import it themselves.
    try:
        import zyntro_async

        _ = zyntro_async.ZyntroClient, zyntro_async.Contact
    except (ImportError, AttributeError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _write_random_file(path: Path, size: int) -> None:
    chunk = 1 * MB
    with path.open("wb") as file:
        for offset in range(0, size, chunk):
            file.write(os.urandom(min(chunk, size - offset)))


@contextlib.contextmanager
def _attachment_files(plan: Plan) -> Iterator[dict[str, Any]]:
    """Create the upload files (random bytes) in a temporary directory, then delete them."""
    with tempfile.TemporaryDirectory(prefix="zyntro-bench-files-") as tmp:
        root = Path(tmp)
        big = root / "big-upload.pdf"
        _write_random_file(big, plan.big_file_mb * MB)
        many = []
        for i in range(plan.many_files):
            path = root / f"file-{i:03d}.pdf"
            _write_random_file(path, plan.many_file_mb * MB)
            many.append(str(path))
        small = root / "card.pdf"
        _write_random_file(small, plan.small_file_kb * 1024)
        yield {"big": str(big), "many": tuple(many), "small": str(small)}


# --------------------------------------------------------------------------- the run


def run_suite(plan: Plan, progress: Progress, *, only: Collection[str] = SECTIONS) -> Result:
    """Run the scenarios of ``plan`` and return raw runs, table rows and machine info.

    Args:
        plan: sizes to run with.
        progress: called with one line of text before each step.
        only: the sections to run (:data:`SECTIONS`; all by default).

    Returns:
        A JSON-ready dict: ``machine``, ``plan``, ``sdk``, ``runs``, ``rows``, ``summary``.
    """
    started = time.perf_counter()
    load_before = [round(x, 2) for x in os.getloadavg()]
    sdk_missing = sdk_available()
    runs: Result = {}
    with BenchServer((0, plan.latency_ms)) as server:
        fast, slow = server.url(0), server.url(plan.latency_ms)
        run = Runner(server, plan, progress, sdk_missing)
        try:
            # The exact body the SDK sends, so the baselines post the same bytes.
            runs["probe"] = run(Spec("probe_sdk", fast), "probe: capture the SDK's upsert body")
            template = fallback_upsert_template()
            captured = server.last_body("addContactsFull")
            if "error" not in runs["probe"] and captured:
                template = json.loads(captured)
            runs["probe"]["template_from_sdk"] = captured is not None
            runs["probe"]["template_keys"] = sorted(template)

            if "overhead" in only:
                runs["overhead"] = _overhead(plan, fast, template, run)
            if "latency" in only:
                runs["latency"] = _latency(plan, slow, template, run)
            run.close()
            if "bulk" in only:
                runs["bulk"] = _bulk(plan, fast, run)
            if "attachments" in only or "bundles" in only:
                progress("writing upload files (random bytes)")
                with _attachment_files(plan) as files:
                    if "attachments" in only:
                        runs["attachments"] = _attachments(plan, fast, template, files, run)
                    if "bundles" in only:
                        runs["bundles"] = _bundles(plan, slow, template, files["small"], run)
        finally:
            run.close()

    rows = build_rows(plan, runs)
    verdicts = [row.passed for row in rows if row.target and row.value is not None]
    machine = machine_info()
    machine["load_average_before"] = load_before
    return {
        "machine": machine,
        "plan": attrs.asdict(plan),
        "sections": [section for section in SECTIONS if section in runs],
        "sdk": {"importable": sdk_missing is None, "reason": sdk_missing},
        "elapsed_s": time.perf_counter() - started,
        "runs": runs,
        "rows": [{**attrs.asdict(row), "status": row.status} for row in rows],
        "summary": {
            "passed": verdicts.count(True),
            "failed": verdicts.count(False),
            "errors": sum(1 for row in rows if row.status == "ERROR"),
        },
    }


_REQUESTS_PER_BUNDLE = 4  # the contact, two notes, one file
_SETTLE_AFTER_MB = 512  # a scenario whose peak RSS was above this...
_SETTLE_SECONDS = 5.0  # ...is followed by this pause before the next one
_SDK_SCENARIOS = {"probe_sdk", "upsert_sdk", "bulk_upserts", "naive_gather_upserts"} | {
    "upload_sdk",
    "bundles_sdk",
}
# Clients of the request-level comparisons, rotated each round so none always goes first.
_CLIENTS = ("aiohttp", "sdk", "httpx")


def _rotations(rounds: int) -> Iterator[tuple[int, tuple[str, ...]]]:
    for r in range(rounds):
        shift = r % len(_CLIENTS)
        yield r, _CLIENTS[shift:] + _CLIENTS[:shift]


def _overhead(plan: Plan, url: str, template: dict[str, Any], run: Runner) -> Result:
    scenario = {"aiohttp": "upsert_aiohttp", "sdk": "upsert_sdk", "httpx": "upsert_httpx"}
    out: dict[str, list[Result]] = {client: [] for client in _CLIENTS}
    c = plan.overhead_concurrency
    for r, order in _rotations(plan.overhead_rounds):
        for client in order:
            spec = Spec(
                scenario[client],
                url,
                count=plan.overhead_count,
                concurrency=c,
                warmup=c * 8,
                template=template,
                max_seconds=plan.overhead_max_seconds,
            )
            label = f"per-request overhead, 0 ms, c={c}: {client} (round {r + 1})"
            out[client].append(run(spec, label, worker=client))
    return out


def _latency(plan: Plan, url: str, template: dict[str, Any], run: Runner) -> Result:
    scenario = {"aiohttp": "upsert_aiohttp", "sdk": "bulk_upserts", "httpx": "upsert_httpx"}
    out: Result = {}
    for c in plan.latency_concurrency:
        bound = c / (plan.latency_ms / 1000)
        count = int(bound * plan.latency_seconds)
        out[str(c)] = {client: [] for client in _CLIENTS}
        for r, order in _rotations(plan.latency_rounds):
            for client in order:
                if client == "httpx" and c > plan.httpx_max_concurrency:
                    continue
                spec = Spec(
                    scenario[client],
                    url,
                    count=count,
                    concurrency=c,
                    warmup=c,
                    template=template,
                    max_seconds=plan.latency_seconds * 2,
                )
                label = f"latency-bound, {plan.latency_ms} ms, c={c}: {client} (round {r + 1})"
                out[str(c)][client].append(run(spec, label, worker=client))
    return out


def _bulk(plan: Plan, url: str, run: Runner) -> Result:
    out: Result = {}
    c = plan.bulk_concurrency
    for count in plan.bulk_counts:
        out[str(count)] = {
            client: run(
                Spec(scenario, url, count=count, concurrency=c, warmup=c * 4),
                f"bulk vs naive gather, {count:,} items, c={c}: {client}",
            )
            for client, scenario in (("bulk", "bulk_upserts"), ("naive", "naive_gather_upserts"))
        }
    return out


def _attachments(
    plan: Plan,
    url: str,
    template: dict[str, Any],
    files: dict[str, Any],
    run: Runner,
) -> Result:
    big = (files["big"],)
    many = files["many"]
    small = files["small"]
    size = f"{plan.big_file_mb} MB"
    batch = f"{plan.many_files} x {plan.many_file_mb} MB, c={plan.many_concurrency}"
    c = plan.many_concurrency
    return {
        "base64_limit": run(Spec("base64_limit", url, paths=big), f"base64.b64encode of {size}"),
        "single_sdk": run(
            Spec("upload_sdk", url, paths=big, small_file=small), f"upload {size}: SDK"
        ),
        "single_naive": run(
            Spec("upload_naive", url, paths=big, template=template, small_file=small),
            f"upload {size}: naive",
        ),
        "many_sdk": run(
            Spec("upload_sdk", url, paths=many, concurrency=c, small_file=small), f"{batch}: SDK"
        ),
        "many_naive": run(
            Spec(
                "upload_naive", url, paths=many, concurrency=c, template=template, small_file=small
            ),
            f"{batch}: naive",
        ),
    }


def _bundles(
    plan: Plan,
    url: str,
    template: dict[str, Any],
    small_file: str,
    run: Runner,
) -> Result:
    c = plan.bundle_concurrency
    return {
        client: run(
            Spec(
                scenario,
                url,
                count=plan.bundle_count,
                concurrency=c,
                warmup=c,
                small_file=small_file,
                template=template,
            ),
            f"bundles (contact + 2 notes + 1 file), {plan.latency_ms} ms, c={c}: {client}",
        )
        for client, scenario in (("sdk", "bundles_sdk"), ("aiohttp", "bundles_aiohttp"))
    }


# --------------------------------------------------------------------------- verdicts


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
    rps = {client: _median(over[client], "per_second") for client in _CLIENTS}
    cpu = {client: _median(over[client], "cpu_us_per_item") for client in _CLIENTS}
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
            ">= 0.90x",
            _at_least(sdk_vs_raw, 0.9),
            f"server CPU {server_util:.0%} busy during the raw runs" if server_util else "",
        )
    )
    rows.append(
        Row(section, "httpx / raw aiohttp throughput",
            _paired_ratio(over["httpx"], over["aiohttp"], "per_second"), "x")
    )  # fmt: skip
    for client in ("aiohttp", "httpx", "sdk"):
        rows.append(Row(section, f"{names[client]}: client CPU per request", cpu[client], "us"))
    rows.append(
        Row(section, "SDK / raw aiohttp CPU per request",
            _paired_ratio(over["sdk"], over["aiohttp"], "cpu_us_per_item"), "x")
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
    ideal = plan.bundle_concurrency / (_REQUESTS_PER_BUNDLE * plan.latency_ms / 1000)
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
