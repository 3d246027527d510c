"""What the harness tells a worker to run, and the fixed identities every client sends.

Kept apart from :mod:`benchmarks.scenarios` so the harness process can describe work
without importing the SDK or any HTTP client itself.
"""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["CONTACT_ID", "CREDENTIALS", "Spec", "fallback_upsert_template"]

CREDENTIALS: dict[str, str] = {
    "api_key": "BENCH-0000000000000-000000000000-00000",
    "developer_secret": "zdk_benchmark_secret",
    "org_id": "42cc1aca-3aa5-4339-98d2-480b5b89937b",
    "member_id": "f2470c7f-60b1-4491-b117-8ba0e3e2a53b",
}
# The contact every attachment upload targets (the benchmark server keeps no state).
CONTACT_ID = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"


@attrs.frozen
class Spec:
    """What one worker process should run.

    Attributes:
        scenario: key into :data:`benchmarks.scenarios.SCENARIOS`.
        base_url: the benchmark server, e.g. ``http://127.0.0.1:41235``.
        count: items (requests, contacts, bundles) in the measured phase.
        concurrency: requests (or bulk items) in flight.
        warmup: items sent before measuring, to open connections and warm caches.
        paths: files to upload (attachment scenarios).
        template: the JSON body the SDK sends for one upsert, for baselines to copy.
        small_file: the small attachment of each bundle.
        max_seconds: stop starting new requests after this long (0: no limit); the
            figures then cover the requests that completed.
        options: scenario-specific settings, JSON-ready (the rate-limit scenarios: the
            emulator's ``credentials`` and the sampling interval ``sample_s``).
    """

    scenario: str
    base_url: str
    count: int = 0
    concurrency: int = 1
    warmup: int = 0
    paths: tuple[str, ...] = ()
    template: dict[str, Any] = attrs.field(factory=dict)
    small_file: str = ""
    max_seconds: float = 0.0
    options: dict[str, Any] = attrs.field(factory=dict)


def fallback_upsert_template() -> dict[str, Any]:
    """Return the documented addContactsFull body, for when the SDK's own cannot be captured."""
    return {
        **CREDENTIALS,
        "mode": "upsert",
        "lookup_by": "email",
        "skip_entity": False,
        "contact": {"firstName": "User0", "primaryEmail": "user0@bench.example"},
    }
