"""Where the import command keeps its journal, and what an earlier run of it already did.

The journal of ``zyntro-async import FILE`` is derived from the input file, so running the
same command again resumes it (see :func:`default_journal_path`); the resume line counts
what an earlier run finished (:func:`journal_done`).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sqlite3
from pathlib import Path

__all__ = ["JOURNAL_SUFFIX", "default_journal_path", "journal_done", "journal_path"]

JOURNAL_SUFFIX = ".zyntro-journal"


def journal_path(args: argparse.Namespace, source: Path) -> Path | None:
    """The journal this run uses: ``--journal``, none, or the default derived from the input.

    With ``--emulator`` there is no default journal: each run imports into a new, empty
    emulator, so there is nothing a rerun could duplicate, and a journal would instead make
    it skip (as "already done") everything the previous, discarded emulator received.

    Args:
        args: The parsed arguments (``journal``, ``no_journal``, ``emulator``).
        source: The input file.

    Returns:
        The path, or ``None`` for no journal.
    """
    if args.no_journal:
        return None
    if args.journal is not None:
        return Path(args.journal)
    if args.emulator:
        return None
    return default_journal_path(source)


def default_journal_path(source: Path, *, environ: dict[str, str] | None = None) -> Path:
    """``FILE.zyntro-journal`` beside the input, or one in the user's state folder.

    The state folder (``$XDG_STATE_HOME/zyntro-async/journals``, else
    ``~/.local/state/zyntro-async/journals``) is used when the input's folder is not
    writable; the name there carries a hash of the input's absolute path, so two inputs
    with the same name in different folders get different journals.

    Args:
        source: The input file.
        environ: The environment (default: ``os.environ``).

    Returns:
        The journal's path (its folder is created if needed).
    """
    environ = dict(os.environ) if environ is None else environ
    beside = source.with_name(source.name + JOURNAL_SUFFIX)
    folder = source.parent
    if os.access(folder, os.W_OK | os.X_OK) and (not beside.exists() or os.access(beside, os.W_OK)):
        return beside
    state = (environ.get("XDG_STATE_HOME") or "").strip()
    base = Path(state) if state and Path(state).is_absolute() else Path.home() / ".local" / "state"
    digest = hashlib.sha256(str(source.resolve()).encode()).hexdigest()[:16]
    journals = base / "zyntro-async" / "journals"
    journals.mkdir(parents=True, exist_ok=True)
    return journals / f"{source.name}-{digest}.journal"


# A bundle's child keys are the bundle's key + "/notes/0", "/attachments/1", "/comms/2".
_DONE_QUERY = """
SELECT COUNT(*) FROM outcomes AS item
WHERE item.status = 'succeeded'
  AND item.key NOT GLOB '*/notes/[0-9]*'
  AND item.key NOT GLOB '*/attachments/[0-9]*'
  AND item.key NOT GLOB '*/comms/[0-9]*'
  AND NOT EXISTS (
      SELECT 1 FROM outcomes AS child
      WHERE child.key > item.key || '/' AND child.key < item.key || '0'
        AND child.status != 'succeeded'
  )
"""


def journal_done(path: Path) -> int | None:
    """How many items an existing journal records as done (and all their children).

    Args:
        path: The journal file.

    Returns:
        The count, or ``None`` when there is no earlier run to resume (no file, an empty
        file, or one that cannot be read: the run itself then reports what is wrong).
    """
    try:
        if not path.is_file() or path.stat().st_size == 0:
            return None
        conn = sqlite3.connect(path, timeout=5)
    except (OSError, sqlite3.Error):
        return None
    try:
        if conn.execute("SELECT 1 FROM outcomes LIMIT 1").fetchone() is None:
            return None
        row = conn.execute(_DONE_QUERY).fetchone()
        return int(row[0])
    except sqlite3.Error:
        return None
    finally:
        conn.close()
