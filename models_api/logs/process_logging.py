"""Every other logger of the process writes the service's JSON lines, through one redaction.

gunicorn's loggers (`gunicorn.error`, `gunicorn.access`), Flask's app logger and werkzeug's
keep their levels but their records are written by `CloudLoggingFormatter` instead of their
own handlers: a `logging.Filter` on each logger writes the record and stops it. A filter on a
logger survives gunicorn replacing that logger's handlers when it configures itself. Records
of any other logger reach the root handler installed here; Python warnings and exceptions
that escape a thread or the main program are logged, not printed.
"""

from __future__ import annotations

import logging
import sys
import threading
from types import TracebackType

from flask import Flask

from models_api.logs.structured_log import CloudLoggingFormatter, JsonLineHandler

SERVER_LOGGERS = ("gunicorn.error", "gunicorn.access", "werkzeug")
_uncaught = logging.getLogger("models_api.uncaught")


class WriteAsJsonLine(logging.Filter):
    """Writes each record as one JSON line and keeps it from the logger's own handlers."""

    def __init__(self) -> None:
        super().__init__()
        self._handler = JsonLineHandler(CloudLoggingFormatter())

    def filter(self, record: logging.LogRecord) -> bool:
        self._handler.handle(record)
        return False


def configure_server_logging(app: Flask) -> None:
    """Route the server's, Flask's and every other logger to JSON lines (idempotent)."""
    for logger in [*map(logging.getLogger, SERVER_LOGGERS), app.logger]:
        if not any(isinstance(f, WriteAsJsonLine) for f in logger.filters):
            logger.addFilter(WriteAsJsonLine())
    root = logging.getLogger()
    if not any(isinstance(h, JsonLineHandler) for h in root.handlers):
        root.addHandler(JsonLineHandler(CloudLoggingFormatter()))
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread


def _log_uncaught(
    kind: type[BaseException], error: BaseException, trace: TracebackType | None
) -> None:
    _uncaught.critical("uncaught %s", kind.__name__, exc_info=(kind, error, trace))


def _log_uncaught_in_thread(hook: threading.ExceptHookArgs) -> None:
    if hook.exc_value is None or hook.exc_type is SystemExit:
        return
    _uncaught.error(
        "uncaught %s in a thread",
        hook.exc_type.__name__,
        exc_info=(hook.exc_type, hook.exc_value, hook.exc_traceback),
    )
