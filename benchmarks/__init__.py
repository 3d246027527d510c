"""Benchmarks of zyntro_async against hand-written aiohttp and httpx clients.

Run ``python -m benchmarks [--quick] [--only SECTION] [--json PATH] [--chart PATH]``.

- :mod:`benchmarks.plan`: the sections, their sizes (full and quick) and the rate-limit
  scenarios, as data.
- :mod:`benchmarks.processes`: the processes and the order of runs: a minimal aiohttp.web
  server (:mod:`benchmarks.server`) playing the Zyntro API, emulators with real rate limits
  (``zyntro-async emulator`` and :mod:`benchmarks.limit_server`), worker processes running
  the client side (:mod:`benchmarks.scenarios`, :mod:`benchmarks.limited`), and the CLI
  (:mod:`benchmarks.cli_loop`) against a raw aiohttp loop (:mod:`benchmarks.raw_import`).
- :mod:`benchmarks.verdicts`: raw figures into table rows with targets and PASS/FAIL.
- :mod:`benchmarks.suite`: one run, composing the three; :mod:`benchmarks.report`: the
  table, JSON and charts.

Every server binds 127.0.0.1 and runs in a process apart from the client it serves.
"""
