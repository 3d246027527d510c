"""``ZYNTRO_LOG=debug|info``: the SDK's log on stderr without configuring logging.

Like ``OPENAI_LOG`` and ``STRIPE_LOG``: set the variable, run the program, read stderr. The
handler goes on the ``zyntro_async`` logger, once per process, when the first client is
built. What is logged never holds a credential or a body: the transport logs endpoints,
statuses, sizes and timings, and errors are scrubbed before they exist.

At ``info`` each attempt's outcome is one line (:class:`LogObserver`); ``debug`` adds the
transport's own detail.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping

from zyntro_async._errors import ConfigurationError
from zyntro_async._observe import Attempt, AttemptResult

__all__ = ["ENV_LOG", "LogObserver", "install_env_log_handler", "log_observer"]

ENV_LOG = "ZYNTRO_LOG"
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO}
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

logger = logging.getLogger("zyntro_async")


class _EnvHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler ``ZYNTRO_LOG`` installs (a class of its own so it is found again)."""


def install_env_log_handler(environ: Mapping[str, str] | None = None) -> None:
    """Honour ``ZYNTRO_LOG``: a stderr handler on the ``zyntro_async`` logger, once.

    Raises:
        ConfigurationError: the variable holds something else than ``debug`` or ``info``.
    """
    env = os.environ if environ is None else environ
    value = (env.get(ENV_LOG) or "").strip().lower()
    if not value:
        return
    level = _LEVELS.get(value)
    if level is None:
        raise ConfigurationError(f"{ENV_LOG} must be 'debug' or 'info', got {value[:20]!r}")
    if any(isinstance(h, _EnvHandler) for h in logger.handlers):
        return
    # Resolved now, not at import: pytest's capsys and redirections replace sys.stderr.
    handler = _EnvHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(_FORMAT))
    logger.addHandler(handler)
    if logger.level == logging.NOTSET or logger.level > level:
        logger.setLevel(level)


class LogObserver:
    """One INFO line per attempt: endpoint, attempt, status or failure, and what follows."""

    wants_last_byte = False  # it never needs the moment before a body's last byte

    async def before_attempt(self, attempt: Attempt) -> None:
        """Nothing to do before an attempt."""

    async def before_last_byte(self, attempt: Attempt) -> None:
        """Nothing to do before the last byte."""

    def after_attempt(self, result: AttemptResult) -> None:
        """Log the attempt's outcome (never its body: the error is already scrubbed)."""
        if not logger.isEnabledFor(logging.INFO):
            return
        attempt = result.attempt
        outcome = f"HTTP {result.status}" if result.status is not None else "no answer"
        if result.error is not None:
            outcome += f", {type(result.error).__name__}: {result.error}"
        if result.retry_in is not None:
            logger.info(
                "%s attempt %d: %s; retrying in %.3fs",
                attempt.endpoint,
                attempt.number,
                outcome,
                result.retry_in,
            )
        else:
            logger.info(
                "%s attempt %d: %s (%.1f ms)",
                attempt.endpoint,
                attempt.number,
                outcome,
                result.elapsed * 1000,
            )


def log_observer() -> LogObserver | None:
    """A :class:`LogObserver` when the ``zyntro_async`` logger shows INFO, else ``None``.

    Decided when the client is built, so a client without logging pays nothing per call.
    """
    return LogObserver() if logger.isEnabledFor(logging.INFO) else None
