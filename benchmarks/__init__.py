"""Benchmarks of zyntro_async against hand-written aiohttp and httpx clients.

Run ``python -m benchmarks [--quick] [--json PATH] [--chart PATH]``. A minimal aiohttp.web
server (:mod:`benchmarks.server`) plays the Zyntro API in a separate process on 127.0.0.1;
every scenario (:mod:`benchmarks.scenarios`) runs in a fresh worker process; the plan and
its targets live in :mod:`benchmarks.suite`, presentation in :mod:`benchmarks.report`.
"""
