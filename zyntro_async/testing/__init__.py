"""Test against Zyntro without Zyntro: an in-process emulator of the documented API.

:class:`Emulator` serves ``POST /apis/v2/public/crm/...`` on a loopback port from
in-memory state, enforcing the documented rules (credentials, IP whitelist, org and
member scoping, note ownership, upsert lookup, custom fields, MIME allow-list, base64),
with injectable faults, real rate limits (token bucket, concurrency cap, window quota;
see :mod:`zyntro_async.testing._limits`) and a request log::

    from zyntro_async.testing import Emulator, ResetAfterApply, TokenBucket

    emu = Emulator.demo(limits=[TokenBucket(rate=300, burst=50, scope="credential")])
    emu.faults.add(ResetAfterApply(), endpoint="crm/addNotestoContact", times=1)
    async with emu.serve() as base_url:
        ...
    assert emu.applied["crm/addNotestoContact"] == 1

With pytest, the ``zyntro_emulator`` and ``zyntro_client`` fixtures (see
:mod:`zyntro_async.testing.plugin`) do the serving and cleanup.
"""

from __future__ import annotations

from zyntro_async.testing._demo import DEFAULT_CUSTOM_FIELDS, EmulatorCredentials
from zyntro_async.testing._emulator import Emulator
from zyntro_async.testing._faults import (
    Fault,
    FaultInjector,
    FaultRule,
    Latency,
    Malformed,
    RateLimited,
    ResetAfterApply,
    ResetBeforeApply,
    ServerFailure,
    Stall,
)
from zyntro_async.testing._limits import (
    Admission,
    ConcurrencyCap,
    Limit,
    RateLimiter,
    TokenBucket,
    WindowQuota,
)
from zyntro_async.testing._log import RequestRecord
from zyntro_async.testing._messages import EMULATOR_MESSAGES
from zyntro_async.testing._rules import ALLOWED_FILE_TYPES, ENDPOINTS
from zyntro_async.testing._state import (
    DeveloperKey,
    Org,
    StoredAttachment,
    StoredComms,
    StoredContact,
    StoredEntity,
    StoredNote,
    User,
)

__all__ = [
    "ALLOWED_FILE_TYPES",
    "DEFAULT_CUSTOM_FIELDS",
    "EMULATOR_MESSAGES",
    "ENDPOINTS",
    "Admission",
    "ConcurrencyCap",
    "DeveloperKey",
    "Emulator",
    "EmulatorCredentials",
    "Fault",
    "FaultInjector",
    "FaultRule",
    "Latency",
    "Limit",
    "Malformed",
    "Org",
    "RateLimited",
    "RateLimiter",
    "RequestRecord",
    "ResetAfterApply",
    "ResetBeforeApply",
    "ServerFailure",
    "Stall",
    "StoredAttachment",
    "StoredComms",
    "StoredContact",
    "StoredEntity",
    "StoredNote",
    "TokenBucket",
    "User",
    "WindowQuota",
]
