"""One JSON line per event on stdout, in the shape Cloud Logging parses.

Access lines are written in batches (see `AccessLogWriter`); warnings and errors from
`logging` are written at once. Every write is whole lines, so concurrent threads and
gunicorn workers never interleave within a line.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import re
import select
import threading
import time
from collections.abc import Callable
from json.encoder import encode_basestring_ascii as _quote
from typing import Any

from models_api.principal import Principal

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


class AccessLogWriter:
    """Access lines on a file descriptor: at once when quiet, in batches when busy.

    A write is a system call, which makes the thread give up the GIL and, under load, queue
    behind the other request threads to get it back: one write per request cost about 10 % of
    throughput in `make bench`. So when the previous line came less than `busy_gap_seconds`
    ago a line only joins a batch, and a small background thread writes the batch
    `max_wait_seconds` after its first line. Should that thread fall behind, the request that
    finds more than `max_waiting_bytes` waiting, or the oldest line waiting four times
    `max_wait_seconds`, writes the batch itself. A line after a quiet spell is written at once
    by its request: where CPU is only allocated while requests run (Cloud Run, Cloud
    Functions) the background thread may have to wait for the next request, so only the last
    lines of a burst can be late (each carries its own timestamp). Each write holds whole lines
    and at most `max_write_bytes` (PIPE_BUF; a longer line goes alone), so the lines of several
    gunicorn workers sharing one pipe never interleave.
    """

    def __init__(
        self,
        fd: int,
        max_write_bytes: int = select.PIPE_BUF,
        max_wait_seconds: float = 0.05,
        busy_gap_seconds: float = 0.01,
        max_waiting_bytes: int = 64 * 1024,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._fd = fd
        self._max_write_bytes = max_write_bytes
        self._max_wait_seconds = max_wait_seconds
        self._busy_gap_seconds = busy_gap_seconds
        self._max_waiting_bytes = max_waiting_bytes
        self._clock = clock
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        # In a forked worker: what waited belongs to the parent, and threads do not survive.
        self._lock = threading.Lock()
        self._waiting: list[bytes] = []
        self._waiting_bytes = 0
        self._waiting_since = 0.0
        self._last_line_at = float("-inf")
        self._backstop_due = threading.Event()
        self._backstop: threading.Thread | None = None

    def __call__(self, line: str) -> None:
        data = (line + "\n").encode("utf-8", "replace")
        now = self._clock()
        with self._lock:
            busy = now - self._last_line_at < self._busy_gap_seconds
            self._last_line_at = now
            if not self._waiting:
                self._waiting_since = now
            self._waiting.append(data)
            self._waiting_bytes += len(data)
            if (
                busy
                and self._waiting_bytes <= self._max_waiting_bytes
                and now - self._waiting_since < 4 * self._max_wait_seconds
            ):
                if len(self._waiting) == 1:
                    self._arm_backstop()
                return
            batch = self._take()
        self._write(batch)

    def flush(self) -> None:
        """Write whatever waits (at exit)."""
        with self._lock:
            batch = self._take()
        self._write(batch)

    def _take(self) -> list[bytes]:
        batch, self._waiting, self._waiting_bytes = self._waiting, [], 0
        return batch

    def _arm_backstop(self) -> None:
        if self._backstop is None:
            self._backstop = threading.Thread(
                target=self._run_backstop, name="access-log-backstop", daemon=True
            )
            self._backstop.start()
        self._backstop_due.set()

    def _run_backstop(self) -> None:
        due = self._backstop_due  # this process's; a fork gives the child a new one
        while True:
            due.wait()
            due.clear()
            time.sleep(self._max_wait_seconds)
            self.flush()

    def _write(self, lines: list[bytes]) -> None:
        chunk: list[bytes] = []
        size = 0
        for line in lines:
            if chunk and size + len(line) > self._max_write_bytes:
                self._write_chunk(chunk)
                chunk, size = [], 0
            chunk.append(line)
            size += len(line)
        if chunk:
            self._write_chunk(chunk)

    def _write_chunk(self, chunk: list[bytes]) -> None:
        try:
            _write_all(self._fd, b"".join(chunk))
        except OSError:
            pass  # stdout is gone: there is nowhere left to say so


stdout_access_log = AccessLogWriter(1)
atexit.register(stdout_access_log.flush)


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
        auth_failure: str | None,
        response_size: int,
    ) -> None:
        method = str(environ.get("REQUEST_METHOD", ""))
        raw_path = str(environ.get("PATH_INFO", ""))[:512]
        severity = "ERROR" if status >= 500 else _SEVERITY.get(status, "INFO")
        seconds, nanos = divmod(self._wall_clock_ns(), 1_000_000_000)
        line = (
            f'{{"severity":"{severity}","message":{_quote(f"{method} {raw_path} {status}")},'
            f'"timestamp":{{"seconds":{seconds},"nanos":{nanos}}},'
            f'"httpRequest":{{"requestMethod":{_quote(method)},"requestUrl":{_quote(raw_path)},'
            f'"status":{status},"responseSize":"{response_size}",'
            f'"userAgent":{_quote(str(environ.get("HTTP_USER_AGENT", ""))[:256])},'
            f'"remoteIp":{_quote(str(environ.get("REMOTE_ADDR", "")))},'
            f'"latency":"{latency_seconds:.6f}s"}},"request_id":{_quote(request_id)},'
            f'"pid":{_pid},"firestore_reads_total":{self._read_count()}'
        )
        if principal is not None:
            line += (
                f',"auth":{{"kind":{_quote(principal.kind)},"subject":{_quote(principal.subject)}}}'
            )
        if auth_failure is not None:
            line += f',"auth_failure":{_quote(auth_failure)}'
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


class CloudLoggingFormatter(logging.Formatter):
    """Formats standard `logging` records (warnings, errors) as Cloud Logging JSON lines."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "severity": record.levelname if record.levelname != "WARN" else "WARNING",
            "message": record.getMessage(),
            "logger": record.name,
        }
        if record.exc_info:
            entry["stack_trace"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class _StdoutLineHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            write_to_stdout(self.format(record))
        except Exception:  # noqa: BLE001 - logging must never break a request
            self.handleError(record)


def configure_service_logging() -> None:
    """Send the `models_api` loggers to stdout as JSON lines (idempotent)."""
    service_logger = logging.getLogger("models_api")
    if any(isinstance(h, _StdoutLineHandler) for h in service_logger.handlers):
        return
    handler = _StdoutLineHandler()
    handler.setFormatter(CloudLoggingFormatter())
    service_logger.addHandler(handler)
    service_logger.setLevel(logging.INFO)
    service_logger.propagate = False
