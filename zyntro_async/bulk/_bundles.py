"""Bundle fan-out: a contact first, then its notes, attachments and comms in parallel.

The bundle's contact is upserted; as soon as its id is known the children start, each
under the run's limits. Whatever happens (the contact fails, the run stops before or
while the children run), every child ends with a result: those that did not run are
``skipped``, all made by :func:`skip_children`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence

import anyio
import attrs

from zyntro_async.bulk._ops import ContactBundle, RequestOperation
from zyntro_async.bulk._report import ItemResult, Status

__all__ = ["RunOp", "run_bundle", "skip_children"]

# The engine's way to run one request operation: (index, key, op, contact_id, holder).
# On cancellation it leaves the result so far in ``holder`` before re-raising.
RunOp = Callable[
    [int, str, RequestOperation, "str | None", list[ItemResult]], Awaitable[ItemResult]
]


def skip_children(
    index: int,
    key: str,
    bundle: ContactBundle,
    done: Sequence[ItemResult | None] = (),
    *,
    reason: BaseException | None = None,
) -> tuple[ItemResult, ...]:
    """Every child's result: the one in ``done`` at its position, else ``skipped``.

    Args:
        index: the bundle's input position.
        key: the bundle's key (a child's is ``{key}/notes/0`` and the like).
        bundle: the bundle.
        done: results of the children that ran, ``None`` for the others.
        reason: why the others were skipped (the contact's error), if any.
    """
    results: list[ItemResult] = []
    for position, child in enumerate(bundle.children):
        result = done[position] if position < len(done) else None
        if result is None:
            result = ItemResult(
                index=index,
                key=f"{key}/{bundle.child_label(position)}",
                op=child,
                status=Status.SKIPPED,
                error=reason,
            )
        results.append(result)
    return tuple(results)


async def run_bundle(
    run_op: RunOp, index: int, key: str, bundle: ContactBundle, holder: list[ItemResult]
) -> ItemResult:
    """Run a bundle: its contact, then its children in parallel.

    Returns:
        The contact's result, with ``op=bundle`` and every child's result in ``children``.

    Raises:
        Cancelled: the run stopped; ``holder`` then holds the bundle's result so far.
    """
    started = time.monotonic()
    parent_holder: list[ItemResult] = []
    try:
        parent = await run_op(index, key, bundle.parent, None, parent_holder)
    except anyio.get_cancelled_exc_class():
        if parent_holder:
            children = skip_children(index, key, bundle)
            holder.append(attrs.evolve(parent_holder[0], op=bundle, children=children))
        raise
    if parent.status is not Status.SUCCEEDED:
        children = skip_children(index, key, bundle, reason=parent.error)
        return attrs.evolve(parent, op=bundle, children=children)
    contact_id = parent.value.contact_id
    ops = bundle.children
    results: list[ItemResult | None] = [None] * len(ops)

    async def run_child(position: int) -> None:
        child_holder: list[ItemResult] = []
        child_key = f"{key}/{bundle.child_label(position)}"
        try:
            results[position] = await run_op(
                index, child_key, ops[position], contact_id, child_holder
            )
        except anyio.get_cancelled_exc_class():
            if child_holder:
                results[position] = child_holder[0]
            raise

    try:
        async with anyio.create_task_group() as tg:
            for position in range(len(ops)):
                tg.start_soon(run_child, position)
    except anyio.get_cancelled_exc_class():
        # Children the cancellation caught before they started are skipped.
        children = skip_children(index, key, bundle, results)
        holder.append(attrs.evolve(parent, op=bundle, children=children))
        raise
    children = skip_children(index, key, bundle, results)
    return attrs.evolve(parent, op=bundle, children=children, elapsed=time.monotonic() - started)
