"""``zyntro_async.__all__`` is the public surface: sorted, complete, and nothing else.

Like httpx's test of the same name. Submodules (``zyntro_async.models``, ``.bulk``, ...) and
the ``annotations`` feature of ``from __future__ import annotations`` are attributes of the
package but not names it exports, so they are left out of the comparison.
"""

from __future__ import annotations
import __future__

import types

import zyntro_async

INCLUDED_PRIVATE_MEMBERS = {"__version__"}


def public_names() -> list[str]:
    return sorted(
        name
        for name, value in vars(zyntro_async).items()
        if (not name.startswith("_") or name in INCLUDED_PRIVATE_MEMBERS)
        and not isinstance(value, types.ModuleType | __future__._Feature)
    )


def test_all_is_sorted() -> None:
    assert zyntro_async.__all__ == sorted(zyntro_async.__all__)


def test_all_exports_exactly_the_public_names() -> None:
    assert zyntro_async.__all__ == public_names()


def test_every_exported_name_exists() -> None:
    for name in zyntro_async.__all__:
        assert getattr(zyntro_async, name) is not None


def test_the_contract_names_are_exported() -> None:
    # DESIGN.md fixes these names; the surface may grow but never lose one.
    contract = {
        "ZyntroClient",
        "Contact",
        "Entity",
        "ContactResult",
        "ContactRecord",
        "Note",
        "AttachmentResult",
        "CommsResult",
        "ZyntroError",
        "APIError",
        "AuthenticationError",
        "PermissionDeniedError",
        "NotFoundError",
        "InvalidRequestError",
        "StorageError",
        "RateLimitError",
        "ServerError",
        "APIConnectionError",
        "APITimeoutError",
        "MalformedResponseError",
        "RequestValidationError",
        "AmbiguousOutcomeError",
        "BulkAbortedError",
        "CircuitOpenError",
        "JournalError",
    }
    assert contract <= set(zyntro_async.__all__)


def test_bulk_errors_are_the_same_classes_everywhere() -> None:
    import zyntro_async.bulk

    assert zyntro_async.bulk.BulkAbortedError is zyntro_async.BulkAbortedError
    assert issubclass(zyntro_async.JournalError, zyntro_async.ZyntroError)
    err = zyntro_async.JournalError("journal is locked", path="run.journal")
    assert err.path.name == "run.journal"


def test_every_exception_descends_from_zyntro_error() -> None:
    for name in zyntro_async.__all__:
        value = getattr(zyntro_async, name)
        if isinstance(value, type) and issubclass(value, BaseException):
            assert issubclass(value, zyntro_async.ZyntroError), name


def test_the_error_tree_is_the_documented_one() -> None:
    z = zyntro_async
    for cls in (
        z.AuthenticationError,
        z.PermissionDeniedError,
        z.NotFoundError,
        z.InvalidRequestError,
        z.StorageError,
        z.RateLimitError,
        z.ServerError,
    ):
        assert issubclass(cls, z.APIError)
    assert issubclass(z.APITimeoutError, z.APIConnectionError)
    assert issubclass(z.AmbiguousOutcomeError, z.APIConnectionError)
    assert issubclass(z.RequestValidationError, ValueError)
    assert not issubclass(z.APIConnectionError, z.APIError)
    assert not issubclass(z.MalformedResponseError, z.APIError | z.APIConnectionError)
