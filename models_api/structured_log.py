"""One JSON line per event on stdout, in the shape Cloud Logging parses.

Access lines go through a background writer (see `BackgroundLineWriter`); warnings and errors
from `logging` are written at once. Every write is whole lines, so concurrent threads and
gunicorn workers never interleave within a line.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import queue
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
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class BackgroundLineWriter:
    """Writes lines to a file descriptor from one background thread, several lines per write.

    A request thread only puts its line on a queue. A system call there would release the
    GIL, and under load getting it back means waiting behind the other request threads: in
    `make bench` that one write per request cost about 10 % of throughput and most of the p50.
    Each write holds whole lines and at most PIPE_BUF bytes (a longer line goes alone), so
    lines from several gunicorn workers sharing one pipe never interleave. `close` (run at
    exit) writes what is still queued; a process killed outright loses only its last moments.
    """

    _STOP = b""

    def __init__(
        self, fd: int, max_write_bytes: int = select.PIPE_BUF, linger_seconds: float = 0.05
    ):
        self._fd = fd
        self._linger_seconds = linger_seconds
        self._max_write_bytes = max_write_bytes
        self._queue: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        os.register_at_fork(after_in_child=self._after_fork)

    def __call__(self, line: str) -> None:
        self._queue.put((line + "\n").encode("utf-8", "replace"))
        if self._thread is None:
            self._start()

    def close(self, timeout: float = 5.0) -> None:
        """Write everything queued so far; the writer thread ends (a later line restarts it)."""
        with self._start_lock:
            thread, self._thread = self._thread, None
            if thread is not None:
                self._queue.put(self._STOP)
                thread.join(timeout)
            else:
                self._write(self._drain([]))

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="log-writer", daemon=True)
                self._thread.start()

    def _after_fork(self) -> None:
        # Threads do not survive fork; the queue's content belongs to the parent.
        self._queue = queue.SimpleQueue()
        self._thread = None
        self._start_lock = threading.Lock()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first != self._STOP:
                time.sleep(self._linger_seconds)  # let a batch gather: one wake-up, many lines
            lines = self._drain([first])
            if self._STOP in lines:
                self._write([line for line in lines if line != self._STOP])
                return
            self._write(lines)

    def _drain(self, lines: list[bytes]) -> list[bytes]:
        while True:
            try:
                lines.append(self._queue.get_nowait())
            except queue.Empty:
                return lines

    def _write(self, lines: list[bytes]) -> None:
        batch: list[bytes] = []
        size = 0
        for line in lines:
            if batch and size + len(line) > self._max_write_bytes:
                self._write_batch(batch)
                batch, size = [], 0
            batch.append(line)
            size += len(line)
        if batch:
            self._write_batch(batch)

    def _write_batch(self, batch: list[bytes]) -> None:
        try:
            _write_all(self._fd, b"".join(batch))
        except OSError:
            pass  # stdout is gone: there is nowhere left to say so


stdout_lines = BackgroundLineWriter(1)
atexit.register(stdout_lines.close)


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
    ):
        self._trace_prefix = f"projects/{project_id}/traces/"
        self._sink = sink
        self._read_count = read_count

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
        line = (
            f'{{"severity":"{severity}","message":{_quote(f"{method} {raw_path} {status}")},'
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
