"""Rows of an Excel workbook (``.xlsx``), streamed with openpyxl (the ``xlsx`` extra).

The workbook is opened read-only, so rows are read as they are used and a large sheet is
never held in memory. Cells become the text a CSV export would hold: numbers without a
spurious ``.0`` (a phone number typed as a number stays ``15551234567``), dates in ISO
format, booleans as ``true``/``false``.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from zyntro_async.cli._errors import ImportUsageError

__all__ = ["cell_text", "open_sheet"]

_INSTALL_HINT = "pip install 'zyntro-async[xlsx]'"


def cell_text(value: object) -> str:
    """One cell's value as text.

    Args:
        value: What openpyxl read.

    Returns:
        ``""`` for an empty cell, else the value as a CSV export would write it.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


@contextmanager
def open_sheet(path: Path, sheet: str | None) -> Iterator[Iterator[tuple[int, list[str]]]]:
    """Open one sheet of a workbook and yield its rows lazily.

    Args:
        path: The ``.xlsx`` file.
        sheet: The sheet's name, or ``None`` for the first sheet.

    Yields:
        An iterator of ``(row number, cells as text)``, from row 1 (the header).

    Raises:
        ImportUsageError: openpyxl is not installed, the file is not a workbook, or it
            has no sheet named ``sheet`` (the message lists those it has).
    """
    try:
        import openpyxl  # type: ignore[import-untyped,unused-ignore]
        from openpyxl.utils.exceptions import (  # type: ignore[import-untyped,unused-ignore]
            InvalidFileException,
        )
    except ImportError:
        raise ImportUsageError(
            f"reading {path.name} needs openpyxl, from the xlsx extra: {_INSTALL_HINT}; "
            "or save the sheet as CSV (UTF-8)"
        ) from None
    try:
        workbook: Any = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
        raise ImportUsageError(f"{path.name} is not a readable .xlsx workbook: {exc}") from exc
    try:
        if sheet is None:
            worksheet = workbook.worksheets[0]
        elif sheet in workbook.sheetnames:
            worksheet = workbook[sheet]
        else:
            names = ", ".join(map(repr, workbook.sheetnames))
            raise ImportUsageError(f"--sheet {sheet!r}: {path.name} has the sheets {names}")
        yield (
            (number, [cell_text(value) for value in values])
            for number, values in enumerate(worksheet.iter_rows(values_only=True), start=1)
        )
    finally:
        workbook.close()
