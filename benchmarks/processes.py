"""The processes of a run: the benchmark server, emulators, workers, and the order of runs.

Every scenario runs in a worker process (:mod:`benchmarks._worker`) apart from the server
it talks to, so client and server never share an event loop or a GIL. The section drivers
here decide what runs in which process and in which order: the clients of a comparison are
interleaved round by round, so machine noise hits them alike.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import select
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs

from benchmarks._measure import MB
from benchmarks._spec import CREDENTIALS, Spec
from benchmarks.plan import CLIENTS, LimitScenario, Plan, limit_scenarios

__all__ = [
    "BenchServer",
    "EmulatorProcess",
    "Runner",
    "Worker",
    "attachment_files",
    "attachment_runs",
    "bulk_runs",
    "bundle_runs",
    "cli_runs",
    "latency_runs",
    "overhead_runs",
    "ratelimit_runs",
    "sdk_available",
]

ROOT = Path(__file__).resolve().parent.parent
Result = dict[str, Any]
Progress = Callable[[str], None]


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
            command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
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
            cwd=ROOT,
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

    def __call__(
        self, spec: Spec, label: str, *, worker: str | None = None, counters: bool = True
    ) -> Result:
        """Run ``spec`` (in the named shared worker, or a fresh one) and return its figures.

        With ``counters`` (the default) the benchmark server's counters are reset before
        and attached after; scenarios against another server (an emulator) turn it off.
        """
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
        if counters:
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
        if not counters:
            return result
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
def attachment_files(plan: Plan) -> Iterator[dict[str, Any]]:
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


_SETTLE_AFTER_MB = 512  # a scenario whose peak RSS was above this...
_SETTLE_SECONDS = 5.0  # ...is followed by this pause before the next one
_SDK_SCENARIOS = {"probe_sdk", "upsert_sdk", "bulk_upserts", "naive_gather_upserts"} | {
    "upload_sdk",
    "bundles_sdk",
    "bulk_limited",
    "calibrate_limited",
}


def _rotations(rounds: int) -> Iterator[tuple[int, tuple[str, ...]]]:
    for r in range(rounds):
        shift = r % len(CLIENTS)
        yield r, CLIENTS[shift:] + CLIENTS[:shift]


def overhead_runs(plan: Plan, url: str, template: dict[str, Any], run: Runner) -> Result:
    scenario = {"aiohttp": "upsert_aiohttp", "sdk": "upsert_sdk", "httpx": "upsert_httpx"}
    out: dict[str, list[Result]] = {client: [] for client in CLIENTS}
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


def latency_runs(plan: Plan, url: str, template: dict[str, Any], run: Runner) -> Result:
    scenario = {"aiohttp": "upsert_aiohttp", "sdk": "bulk_upserts", "httpx": "upsert_httpx"}
    out: Result = {}
    for c in plan.latency_concurrency:
        bound = c / (plan.latency_ms / 1000)
        count = int(bound * plan.latency_seconds)
        out[str(c)] = {client: [] for client in CLIENTS}
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


def bulk_runs(plan: Plan, url: str, run: Runner) -> Result:
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


def attachment_runs(
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


def bundle_runs(
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


# --------------------------------------------------------------------------- rate limits


class EmulatorProcess:
    """An emulator in its own process that prints its credentials as one JSON line.

    ``zyntro-async emulator ... --json`` (limits fixed at start) or
    :mod:`benchmarks.limit_server` (limits changing on a schedule): both print
    ``{"api_key": ..., "base_url": ...}`` when ready and ``{"stats": ...}`` when stopped
    by SIGTERM.
    """

    def __init__(self, command: list[str]) -> None:
        self.command = command
        self.credentials: dict[str, str] = {}
        self.base_url = ""
        self.final_stats: Result = {}
        self._process: subprocess.Popen[str] | None = None
        self._stderr: Any = None

    def __enter__(self) -> EmulatorProcess:
        # Its banner and any traceback go to a file: read back only if it fails to start.
        self._stderr = tempfile.TemporaryFile()  # closed in __exit__
        self._process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            self._stderr.seek(0)
            stderr = self._stderr.read().decode(errors="replace")[-500:]
            self.__exit__()
            raise RuntimeError(f"the emulator did not start: {' '.join(self.command)}: {stderr}")
        ready = json.loads(line)
        self.base_url = ready.pop("base_url")
        self.credentials = ready
        return self

    def __exit__(self, *exc_info: object) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            out, _ = process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            out, _ = process.communicate()
        self._stderr.close()
        for line in out.splitlines():
            with contextlib.suppress(ValueError):
                self.final_stats = json.loads(line).get("stats", self.final_stats)


def emulator_command(flags: Sequence[str]) -> list[str]:
    """``zyntro-async emulator --json`` with ``flags``, its limits global unless they say
    otherwise (for :class:`EmulatorProcess`)."""
    scope = [] if "--limit-scope" in flags else ["--limit-scope", "global"]
    command = [sys.executable, "-m", "zyntro_async.cli", "emulator", "--port", "0", "--json"]
    return [*command, *scope, *flags]


def calibration_spec(base_url: str, cap: int, options: Result, seconds: float) -> Spec:
    """``calibrate_limited`` at exactly ``cap`` in flight for ``seconds``: what a cap of
    that many lets through back to back, the limit its runs are judged against."""
    return Spec(
        "calibrate_limited",
        base_url,
        count=10**9,  # stopped by max_seconds
        concurrency=cap,
        warmup=cap,
        max_seconds=seconds,
        options=options,
    )


def _emulator_command(plan: Plan, scenario: LimitScenario) -> list[str]:
    if scenario.phases:
        command = [sys.executable, "-m", "benchmarks.limit_server"]
        command += ["--latency-ms", str(plan.limit_latency_ms)]
        command += ["--retry-after", scenario.retry_after]
        for phase in scenario.phases:
            command += ["--phase", f"{phase.at:g}:{phase.rate:g}:{phase.burst}"]
        return command
    latency = f"{plan.limit_latency_ms}ms"
    return emulator_command(
        ["--latency", latency, "--retry-after", scenario.retry_after, *scenario.flags]
    )


def ratelimit_runs(plan: Plan, run: Runner) -> Result:
    """Run every scenario of :func:`benchmarks.plan.limit_scenarios`, each against its own
    emulator process.

    Returns:
        ``{scenario key: worker result + "scenario" (its description) + "emulator_stats"}``;
        an emulator that does not start gives that scenario an ``error`` alone.
    """
    out: Result = {}
    for scenario in limit_scenarios(plan):
        try:
            result = _limited_run(plan, scenario, run)
        except RuntimeError as exc:  # the emulator did not start
            run.progress(f"  ! {scenario.title}: {exc}")
            result = {"error": str(exc)[:300]}
        out[scenario.key] = {**result, "scenario": attrs.asdict(scenario)}
    return out


def _limited_run(plan: Plan, scenario: LimitScenario, run: Runner) -> Result:
    """One scenario: start its emulator, calibrate a concurrency cap, run bulk.run, stop.

    A concurrency cap is first calibrated: the SDK at exactly ``cap`` requests in flight
    measures the rate the cap allows, the reference for its goodput.
    """
    c = plan.limit_concurrency
    result: Result = {}
    with EmulatorProcess(_emulator_command(plan, scenario)) as emulator:
        options = {"credentials": emulator.credentials, "sample_s": plan.limit_sample_s}
        if scenario.kind == "concurrency_cap":
            calibration = calibration_spec(
                emulator.base_url, plan.limit_cap, options, min(2.0, plan.limit_seconds / 2)
            )
            result["calibration"] = run(
                calibration,
                f"rate limit: {plan.limit_cap} requests in flight back to back (calibration)",
                counters=False,
            )
        spec = Spec(
            "bulk_limited",
            emulator.base_url,
            count=scenario.count,
            concurrency=c,
            # A run stuck far below the limit must not hold up the section.
            max_seconds=1.5 * scenario.seconds + 5,
            options=options,
        )
        label = f"rate limit: {scenario.title}: bulk.run of {scenario.count:,} upserts, c={c}"
        result.update(run(spec, label, counters=False))
    result["emulator_stats"] = emulator.final_stats
    return result


# --------------------------------------------------------------------------- CLI import


def _contacts_only(source: Path, bad_lines: set[int], target: Path) -> int:
    """Copy each good line's contact (with its key) from ``source``; return how many."""
    rows = 0
    with source.open(encoding="utf-8") as lines, target.open("w", encoding="utf-8") as out:
        for number, line in enumerate(lines, start=1):
            if number in bad_lines or not line.strip():
                continue
            item = json.loads(line)
            out.write(json.dumps({"key": item["key"], "contact": item["contact"]}) + "\n")
            rows += 1
    return rows


# make_dataset.py repeats its deliberately bad JSONL lines every this many lines.
_DATASET_PERIOD = 300


def _bad_lines(folder: Path, rows: int) -> set[int]:
    """The line numbers make_dataset.py made bad on purpose (the CLI refuses them).

    Its ``.zyntro-example.json`` lists the first few and how many there are; they repeat
    every :data:`_DATASET_PERIOD` lines, which the count confirms.
    """
    marks = json.loads((folder / ".zyntro-example.json").read_text())["contacts.jsonl"]
    pattern = [n for n in marks["lines"] if n <= _DATASET_PERIOD]
    bad = {
        start + n for start in range(0, rows, _DATASET_PERIOD) for n in pattern if start + n <= rows
    }
    if len(bad) != marks["refused"]:
        raise RuntimeError(
            f"make_dataset.py marks {marks['refused']} bad lines, the pattern gives {len(bad)}"
        )
    return bad


def _make_dataset(rows: int, folder: Path, target: Path) -> int:
    """Write ``rows`` lines with make_dataset.py into ``folder``; keep the good contacts.

    Returns:
        How many lines ``target`` holds.
    """
    generate = [sys.executable, str(ROOT / "examples" / "make_dataset.py")]
    subprocess.run(
        [*generate, "--rows", str(rows), "--out", str(folder)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return _contacts_only(folder / "contacts.jsonl", _bad_lines(folder, rows), target)


def _timed_process(command: list[str], env: dict[str, str]) -> Result:
    """Run ``command`` to completion; its wall time and CPU time (user + system)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    completed = subprocess.run(
        command, check=False, cwd=ROOT, env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    result: Result = {"wall_s": wall, "cpu_s": cpu, "exit_status": completed.returncode}
    if completed.returncode != 0:
        result["error"] = f"exit status {completed.returncode}: {completed.stderr[-300:]}"
    return result


def _uvloop_available() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


def cli_runs(
    plan: Plan, server: BenchServer, url: str, template: dict[str, Any], progress: Progress
) -> Result:
    """Time ``zyntro-async import FILE --no-journal`` (on asyncio, and on uvloop when it is
    installed) and a raw aiohttp import loop on asyncio, each a whole process, round by round.

    The file is ``examples/make_dataset.py --rows N`` reduced to each good line's contact (the
    raw loop sends one ``addContactsFull`` per line; the bundles' notes and files would need a
    second implementation of the import format to compare fairly).

    Returns:
        ``rows``, ``uvloop`` (whether it ran), ``startup_s`` (each client's start-up and exit
        on an empty file) and per client a list of results (``per_second``,
        ``per_second_after_startup``, ``cpu_us_per_item``, the server's request count).
    """
    clients = ["raw_aiohttp", "cli_asyncio"] + (["cli_uvloop"] if _uvloop_available() else [])
    out: Result = {"uvloop": "cli_uvloop" in clients, **{client: [] for client in clients}}
    with tempfile.TemporaryDirectory(prefix="zyntro-bench-cli-") as tmp:
        root = Path(tmp)
        progress(f"CLI import: generating {plan.cli_rows:,} rows (examples/make_dataset.py)")
        data = root / "contacts.jsonl"
        out["rows"] = rows = _make_dataset(plan.cli_rows, root / "data", data)
        template_path = root / "template.json"
        template_path.write_text(json.dumps(template))
        env = {
            **os.environ,
            "ZYNTRO_API_KEY": CREDENTIALS["api_key"],
            "ZYNTRO_DEVELOPER_SECRET": CREDENTIALS["developer_secret"],
            "ZYNTRO_ORG_ID": CREDENTIALS["org_id"],
            "ZYNTRO_MEMBER_ID": CREDENTIALS["member_id"],
            "ZYNTRO_BRAND_ID": str(template.get("brand_id", "1")),
            "ZYNTRO_BASE_URL": url,
        }
        c = str(plan.cli_concurrency)
        empty = root / "empty.jsonl"
        empty.write_text("")

        def command(client: str, path: Path) -> list[str]:
            if client == "raw_aiohttp":
                return [
                    *(sys.executable, "-m", "benchmarks.raw_import", str(path)),
                    *("--base-url", url, "--template", str(template_path), "--concurrency", c),
                ]
            loop = client.removeprefix("cli_")
            cli = ["import", str(path), "--no-journal", "--quiet", "--concurrency", c]
            return [sys.executable, "-m", "benchmarks.cli_loop", loop, *cli]

        # Start-up and exit alone (an empty file): the part of each figure no row pays for.
        startup = {
            client: _timed_process(command(client, empty), env)["wall_s"] for client in clients
        }
        out["startup_s"] = startup
        for r in range(plan.cli_rounds):
            shift = r % len(clients)
            for client in clients[shift:] + clients[:shift]:
                progress(f"CLI import of {rows:,} contacts, c={c}: {client} (round {r + 1})")
                server.reset()
                result = _timed_process(command(client, data), env)
                sent = int(server.stats()["requests"])
                result.update(
                    rows=rows,
                    server_requests=sent,
                    per_second=rows / result["wall_s"],
                    per_second_after_startup=rows / max(result["wall_s"] - startup[client], 1e-9),
                    cpu_us_per_item=result["cpu_s"] / rows * 1e6,
                )
                if sent != rows and "error" not in result:
                    result["error"] = f"the server received {sent} requests for {rows} rows"
                if "error" in result:
                    progress(f"  ! {client}: {result['error']}")
                out[client].append(result)
    return out
