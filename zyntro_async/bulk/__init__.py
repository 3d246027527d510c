"""Bulk imports: many operations, bounded concurrency, one outcome per item, resumable.

::

    from zyntro_async.bulk import AddNote, ContactBundle

    items = (
        ContactBundle(Contact(first_name=r.first, primary_email=r.email),
                      notes=[AddNote(contact_id=None, note=r.note)])
        for r in rows  # any iterable or async iterable, pulled lazily
    )
    report = await zy.bulk.run(items, concurrency=32, journal="import.journal")
    report.export("needs-attention.jsonl")
"""

from __future__ import annotations

from zyntro_async.bulk._format import line_from_op, op_from_line
from zyntro_async.bulk._governor import (
    GovernorPhase,
    GovernorState,
    LearnedLimit,
    LongRetryAfterError,
    RateGovernor,
    RateLimitStalledError,
    RateLimitStopError,
)
from zyntro_async.bulk._item_observer import ItemObserver
from zyntro_async.bulk._ops import (
    AddFile,
    AddLink,
    AddNote,
    ContactBundle,
    InvalidItem,
    LogComms,
    Operation,
    RequestOperation,
    UpsertContact,
)
from zyntro_async.bulk._report import BulkReport, ItemResult, Progress, Status
from zyntro_async.bulk._runner import Bulk, BulkAbortedError, RunOptions, cancelled_report
from zyntro_async.bulk._same_key import SharedKey

__all__ = [
    "AddFile",
    "AddLink",
    "AddNote",
    "Bulk",
    "BulkAbortedError",
    "BulkReport",
    "ContactBundle",
    "GovernorPhase",
    "GovernorState",
    "InvalidItem",
    "ItemObserver",
    "ItemResult",
    "LearnedLimit",
    "LogComms",
    "LongRetryAfterError",
    "Operation",
    "Progress",
    "RateGovernor",
    "RateLimitStalledError",
    "RateLimitStopError",
    "RequestOperation",
    "RunOptions",
    "SharedKey",
    "Status",
    "UpsertContact",
    "cancelled_report",
    "line_from_op",
    "op_from_line",
]
