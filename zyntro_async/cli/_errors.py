"""The command line's own error: a file or flags that cannot be used as asked."""

from __future__ import annotations

__all__ = ["ImportUsageError"]


class ImportUsageError(Exception):
    """The file cannot be imported as asked (wrong format, unknown columns, bad mapping, ...).

    Raised before anything is sent; the command line exits with status 2.
    """
