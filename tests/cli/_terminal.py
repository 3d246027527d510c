"""Running ``zyntro-async`` on a pseudo-terminal, as a person at a terminal would."""

from __future__ import annotations

import os
import select
import subprocess
import time
from collections.abc import Mapping, Sequence

TERMINAL_TIMEOUT = 60


def run_on_terminal(command: Sequence[str], env: Mapping[str, str]) -> tuple[int, str]:
    """Run ``command`` with a pseudo-terminal as its stdin, stdout and stderr.

    Returns:
        The exit status and everything written to the terminal.
    """
    import pty

    controller, terminal = pty.openpty()
    with subprocess.Popen(
        list(command), stdin=terminal, stdout=terminal, stderr=terminal, env=dict(env)
    ) as proc:
        os.close(terminal)
        chunks = []
        deadline = time.monotonic() + TERMINAL_TIMEOUT
        try:
            while time.monotonic() < deadline:
                ready, _, _ = select.select([controller], [], [], 1.0)
                if not ready:
                    continue
                try:
                    chunk = os.read(controller, 65536)
                except OSError:  # EIO: the process closed the terminal
                    break
                if not chunk:
                    break
                chunks.append(chunk)
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    os.close(controller)
    return proc.returncode, b"".join(chunks).decode(errors="replace")
