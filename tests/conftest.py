"""Suite-wide settings.

Hypothesis' per-example deadline measures wall time, which a loaded 2-core CI machine
cannot promise; correctness, not speed, is what the property tests check (speed lives in
benchmarks/), so the deadline is off everywhere.
"""

from __future__ import annotations

from hypothesis import settings

settings.register_profile("zyntro", deadline=None)
settings.load_profile("zyntro")
