"""One JSON line per event on stdout, in the shape Cloud Logging parses.

Lines are written with a single os.write so concurrent threads and gunicorn workers never
interleave within a line, and nothing waits in a buffer if the instance is stopped.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable
from typing import Any

from flask import Request

from models_api.principal import Principal

_CLOUD_TRACE = re.compile(r"([0-9a-fA-F]{32})(?:/(\d+))?")
_TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}")


def write_to_stdout(line: str) -> None:
    os.write(1, (line + "\n").encode("utf-8", "replace"))


class RequestLogger:
    """Writes the access log line of each request. Never receives a key or a token."""

    def __init__(
        self,
        project_id: str,
        sink: Callable[[str], None] = write_to_stdout,
        read_count: Callable[[], int] = lambda: 0,
    ):
        self._project_id = project_id
        self._sink = sink
        self._read_count = read_count

    def log(
        self,
        request: Request,
        status: int,
        latency_seconds: float,
        request_id: str,
        principal: Principal | None,
        auth_failure: str | None,
        response_size: int,
    ) -> None:
        severity = "ERROR" if status >= 500 else "WARNING" if status in (401, 429) else "INFO"
        entry: dict[str, Any] = {
            "severity": severity,
            "message": f"{request.method} {request.path} {status}",
            "httpRequest": {
                "requestMethod": request.method,
                "requestUrl": request.path[:512],
                "status": status,
                "responseSize": str(response_size),
                "userAgent": request.headers.get("User-Agent", "")[:256],
                "remoteIp": request.remote_addr or "",
                "latency": f"{latency_seconds:.6f}s",
            },
            "request_id": request_id,
            "pid": os.getpid(),  # gunicorn forks workers after the app is built
            "firestore_reads_total": self._read_count(),
        }
        if principal is not None:
            entry["auth"] = {"kind": principal.kind, "subject": principal.subject}
        if auth_failure is not None:
            entry["auth_failure"] = auth_failure
        entry.update(self._trace_fields(request))
        self._sink(json.dumps(entry, ensure_ascii=False))

    def _trace_fields(self, request: Request) -> dict[str, Any]:
        trace_id = span_id = None
        match = _CLOUD_TRACE.match(request.headers.get("X-Cloud-Trace-Context", ""))
        if match:
            trace_id, span_id = match.group(1).lower(), match.group(2)
        else:
            match = _TRACEPARENT.fullmatch(request.headers.get("traceparent", "").strip())
            if match:
                trace_id, span_id = match.group(1), str(int(match.group(2), 16))
        if trace_id is None:
            return {}
        fields = {"logging.googleapis.com/trace": f"projects/{self._project_id}/traces/{trace_id}"}
        if span_id:
            fields["logging.googleapis.com/spanId"] = span_id
        return fields


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
