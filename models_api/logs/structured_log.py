"""One JSON line per event on stdout, in the shape Cloud Logging parses, credentials redacted.

Each line is written with one `write` of the whole line, so concurrent threads and workers do
not interleave within a line. Every value that could carry a credential passes through
`redaction.redact_credentials`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from json.encoder import encode_basestring_ascii as _quote
from typing import Any

from models_api.auth.principal import Principal
from models_api.logs.redaction import redact_credentials

_CLOUD_TRACE = re.compile(r"([0-9a-fA-F]{32})(?:/(\d+))?")
_TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}")
_SEVERITY = {401: "WARNING", 429: "WARNING"}
_pid = os.getpid()  # refreshed in each forked worker: gunicorn forks after the app is built


def _remember_pid() -> None:
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_remember_pid)


def write_to_stdout(line: str) -> None:
    _write_all(1, (line + "\n").encode("utf-8", "replace"))


def _write_all(fd: int, data: bytes) -> None:
    written = os.write(fd, data)
    if written < len(data):  # rare: a signal or a full non-blocking pipe
        view = memoryview(data)[written:]
        while view:
            view = view[os.write(fd, view) :]


class RequestLogger:
    """Writes the access log line of each request. Never receives a key or a token.

    The line is one f-string with each variable value escaped by the json module's C quoting,
    rather than json.dumps of a dict: it is written on every request.
    """

    def __init__(
        self,
        project_id: str,
        sink: Callable[[str], None] = write_to_stdout,
        read_count: Callable[[], int] = lambda: 0,
        wall_clock_ns: Callable[[], int] = time.time_ns,
    ):
        self._trace_prefix = f"projects/{project_id}/traces/"
        self._sink = sink
        self._read_count = read_count
        self._wall_clock_ns = wall_clock_ns

    def log(
        self,
        environ: dict[str, Any],
        status: int,
        latency_seconds: float,
        request_id: str,
        principal: Principal | None,
        refusal: str | None,
        response_size: int,
    ) -> None:
        method = str(environ.get("REQUEST_METHOD", ""))
        # A key or token sent in the path or user agent must not reach the log.
        # Redacted before it is cut: a cut key would no longer look like one.
        raw_path = redact_credentials(str(environ.get("PATH_INFO", "")))[:512]
        user_agent = redact_credentials(str(environ.get("HTTP_USER_AGENT", "")))[:256]
        severity = "ERROR" if status >= 500 else _SEVERITY.get(status, "INFO")
        seconds, nanos = divmod(self._wall_clock_ns(), 1_000_000_000)
        line = (
            f'{{"severity":"{severity}","message":{_quote(f"{method} {raw_path} {status}")},'
            f'"timestamp":{{"seconds":{seconds},"nanos":{nanos}}},'
            f'"httpRequest":{{"requestMethod":{_quote(method)},"requestUrl":{_quote(raw_path)},'
            f'"status":{status},"responseSize":"{response_size}",'
            f'"userAgent":{_quote(user_agent)},'
            f'"remoteIp":{_quote(str(environ.get("REMOTE_ADDR", "")))},'
            f'"latency":"{latency_seconds:.6f}s"}},"request_id":{_quote(request_id)},'
            f'"pid":{_pid},"firestore_reads_total":{self._read_count()}'
        )
        if principal is not None:
            line += (
                f',"auth":{{"kind":{_quote(principal.kind)},'
                f'"subject":{_quote(redact_credentials(principal.subject))}}}'
            )
        if refusal is not None:
            quoted = _quote(refusal)
            line += f',"refusal":{quoted}'
            if status == 401:  # the auth_failures metric's field (its reason label)
                line += f',"auth_failure":{quoted}'
        if "HTTP_X_CLOUD_TRACE_CONTEXT" in environ or "HTTP_TRACEPARENT" in environ:
            line += "".join(self._trace_parts(environ))
        self._sink(line + "}")

    def _trace_parts(self, environ: dict[str, Any]) -> list[str]:
        trace_id = span_id = None
        match = _CLOUD_TRACE.match(str(environ.get("HTTP_X_CLOUD_TRACE_CONTEXT", "")))
        if match:
            trace_id, span_id = match.group(1).lower(), match.group(2)
        else:
            match = _TRACEPARENT.fullmatch(str(environ.get("HTTP_TRACEPARENT", "")).strip())
            if match:
                trace_id, span_id = match.group(1), str(int(match.group(2), 16))
        if trace_id is None:
            return []
        parts = [',"logging.googleapis.com/trace":', _quote(self._trace_prefix + trace_id)]
        if span_id:
            parts += [',"logging.googleapis.com/spanId":', _quote(span_id)]
        return parts


# The request the current thread is serving: warnings and errors logged while serving it carry
# its id, so they can be matched to its access line (gthread serves one request per thread at
# a time; a context variable also stays right if a request ever hands work to another context).
_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def enter_request(request_id: str) -> Token[str | None]:
    """Lines logged from here until `leave_request` belong to the request `request_id`.

    A plain set and reset (not a context manager): it runs on every request.
    """
    return _request_id.set(request_id)


def leave_request(scope: Token[str | None]) -> None:
    _request_id.reset(scope)


@contextmanager
def request_scope(request_id: str) -> Iterator[None]:
    """`enter_request`/`leave_request` as a block, for paths that are not every request's."""
    scope = enter_request(request_id)
    try:
        yield
    finally:
        leave_request(scope)


class CloudLoggingFormatter(logging.Formatter):
    """Formats standard `logging` records (warnings, errors) as Cloud Logging JSON lines.

    Each carries the worker's `pid` and, when logged while serving a request, its `request_id`.
    """

    def format(self, record: logging.LogRecord) -> str:
        seconds, nanos = divmod(int(record.created * 1_000_000_000), 1_000_000_000)
        entry: dict[str, Any] = {
            "severity": record.levelname if record.levelname != "WARN" else "WARNING",
            "message": redact_credentials(record.getMessage()),
            "logger": record.name,
            "timestamp": {"seconds": seconds, "nanos": nanos},
            "pid": _pid,
        }
        request_id = _request_id.get()
        if request_id is not None:
            entry["request_id"] = request_id
        if record.exc_info:
            entry["stack_trace"] = redact_credentials(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["stack_trace"] = redact_credentials(record.exc_text)
        return json.dumps(entry, ensure_ascii=False)


class JsonLineHandler(logging.Handler):
    """Writes each record to stdout as one line (the service's JSON when given its formatter)."""

    def __init__(self, formatter: logging.Formatter | None = None) -> None:
        super().__init__()
        if formatter is not None:
            self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            write_to_stdout(self.format(record))
        except Exception:  # noqa: BLE001 - logging must never break a request
            self.handleError(record)


def configure_service_logging() -> None:
    """Send the `models_api` loggers to stdout as JSON lines (idempotent)."""
    service_logger = logging.getLogger("models_api")
    if any(isinstance(h, JsonLineHandler) for h in service_logger.handlers):
        return
    service_logger.addHandler(JsonLineHandler(CloudLoggingFormatter()))
    service_logger.setLevel(logging.INFO)
    service_logger.propagate = False
