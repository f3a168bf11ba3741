from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from typing import Any

import pytest

from models_api.auth.principal import Principal
from models_api.logs.structured_log import (
    CloudLoggingFormatter,
    RequestLogger,
    enter_request,
    leave_request,
)


def _log_one(environ: dict[str, str], **kwargs: object) -> dict[str, object]:
    lines: list[str] = []
    logger = RequestLogger(
        "proj",
        sink=lines.append,
        read_count=lambda: 7,
        wall_clock_ns=lambda: 1_764_000_000_123_456_789,
    )
    arguments: dict[str, object] = {
        "status": 200,
        "latency_seconds": 0.0012,
        "request_id": "rid",
        "principal": None,
        "refusal": None,
        "response_size": 10,
    }
    arguments.update(kwargs)
    logger.log({"REQUEST_METHOD": "GET", "PATH_INFO": "/models", **environ}, **arguments)  # type: ignore[arg-type]
    (line,) = lines
    entry: dict[str, object] = json.loads(line)
    return entry


def test_a_success_line_has_the_cloud_logging_shape() -> None:
    entry = _log_one(
        {"HTTP_USER_AGENT": "sdk/1.0", "REMOTE_ADDR": "10.0.0.1"},
        principal=Principal(kind="api_key", subject="inf_abcdefgh"),
    )

    assert entry["severity"] == "INFO"
    assert entry["httpRequest"] == {
        "requestMethod": "GET",
        "requestUrl": "/models",
        "status": 200,
        "responseSize": "10",
        "userAgent": "sdk/1.0",
        "remoteIp": "10.0.0.1",
        "latency": "0.001200s",
    }
    assert entry["auth"] == {"kind": "api_key", "subject": "inf_abcdefgh"}
    assert entry["firestore_reads_total"] == 7


def test_trace_from_traceparent_and_from_cloud_trace_context() -> None:
    w3c = _log_one({"HTTP_TRACEPARENT": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"})
    google = _log_one({"HTTP_X_CLOUD_TRACE_CONTEXT": "0AF7651916CD43DD8448EB211C80319C/7;o=1"})

    assert (
        w3c["logging.googleapis.com/trace"]
        == "projects/proj/traces/0af7651916cd43dd8448eb211c80319c"
    )
    assert w3c["logging.googleapis.com/spanId"] == str(int("b7ad6b7169203331", 16))
    assert google["logging.googleapis.com/trace"] == w3c["logging.googleapis.com/trace"]
    assert google["logging.googleapis.com/spanId"] == "7"


def test_hostile_values_stay_one_valid_json_line() -> None:
    entry = _log_one(
        {"PATH_INFO": '/models/"}\n{"severity":"ERROR"', "HTTP_USER_AGENT": "\x00\xff\u2028"},
        status=401,
        refusal="unknown api key inf_abcdefgh",
    )

    assert entry["severity"] == "WARNING"
    assert entry["httpRequest"]["requestUrl"].startswith('/models/"}\n')  # type: ignore[index]
    assert entry["refusal"] == entry["auth_failure"] == "unknown api key inf_abcdefgh"


@pytest.mark.parametrize(("status", "severity"), [(429, "WARNING"), (503, "ERROR"), (403, "INFO")])
def test_every_refusal_carries_its_reason_and_only_a_401_an_auth_failure(
    status: int, severity: str
) -> None:
    entry = _log_one({}, status=status, refusal="the reason")

    assert entry["refusal"] == "the reason"
    assert "auth_failure" not in entry
    assert entry["severity"] == severity


def test_each_line_carries_the_time_of_its_request() -> None:
    # Lines may be written in batches: Cloud Logging takes the time from this field.
    entry = _log_one({})

    assert entry["timestamp"] == {"seconds": 1_764_000_000, "nanos": 123_456_789}


def _formatted_lines(log: Callable[[logging.Logger], None]) -> list[dict[str, Any]]:
    """What the service's formatter makes of the records `log` emits."""
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Collect()
    handler.setFormatter(CloudLoggingFormatter())
    logger = logging.getLogger("tests.structured_log")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        log(logger)
    finally:
        logger.removeHandler(handler)
    return [json.loads(line) for line in lines]


def test_warnings_and_errors_carry_the_request_id_and_pid_of_their_request() -> None:
    def log(logger: logging.Logger) -> None:
        logger.warning("before any request")
        scope = enter_request("rid-1")
        logger.warning("answering 503: %s", "down")
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            logger.exception("unhandled error")
        leave_request(scope)
        logger.error("after the request")

    before, warning, error, after = _formatted_lines(log)

    assert warning["request_id"] == error["request_id"] == "rid-1"
    assert warning["severity"] == "WARNING" and warning["message"] == "answering 503: down"
    assert "RuntimeError: boom" in error["stack_trace"]
    assert "request_id" not in before and "request_id" not in after
    assert {line["pid"] for line in (before, warning, error, after)} == {os.getpid()}


def test_concurrent_requests_each_log_their_own_id() -> None:
    barrier = threading.Barrier(2)

    def serve(request_id: str, logger: logging.Logger) -> None:
        scope = enter_request(request_id)
        barrier.wait(timeout=5)  # both requests are inside their scope at once
        logger.warning("from %s", request_id)
        leave_request(scope)

    def log(logger: logging.Logger) -> None:
        threads = [threading.Thread(target=serve, args=(rid, logger)) for rid in ("a", "b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    lines = _formatted_lines(log)

    assert sorted((line["message"], line["request_id"]) for line in lines) == [
        ("from a", "a"),
        ("from b", "b"),
    ]


def test_credentials_in_the_path_or_user_agent_never_reach_the_line() -> None:
    from models_api.keys.key_format import generate_api_key
    from tests.support.firebase_tokens import TokenIssuer

    key, token = generate_api_key(), TokenIssuer("proj").app_check_token()
    entry = _log_one(
        {"PATH_INFO": f"/models/{key}", "HTTP_USER_AGENT": f"bot Bearer {token}"}, status=404
    )

    line = json.dumps(entry)
    assert key not in line and key[12:20] not in line and token.split(".")[1] not in line
    assert entry["message"] == f"GET /models/{key[:12]}[REDACTED] 404"  # the display prefix
    assert entry["httpRequest"]["userAgent"] == "bot Bearer [REDACTED JWT]"  # type: ignore[index]


def test_a_credential_sent_as_request_id_is_replaced() -> None:
    from models_api.http.request_context import request_id_for
    from models_api.keys.key_format import generate_api_key

    key = generate_api_key()

    assert request_id_for({"HTTP_X_REQUEST_ID": key}) != key
    assert request_id_for({"HTTP_X_REQUEST_ID": "corr-1"}) == "corr-1"


def test_warnings_are_redacted_too() -> None:
    from models_api.keys.key_format import generate_api_key

    key = generate_api_key()
    record = logging.LogRecord("models_api.x", logging.WARNING, __file__, 1, "saw %s", (key,), None)

    assert key not in CloudLoggingFormatter().format(record)


def test_a_bearer_token_of_any_shape_and_a_traceback_are_redacted() -> None:
    from models_api.keys.key_format import generate_api_key

    key = generate_api_key()
    try:
        raise ValueError(f"bad path /models/{key} with Authorization: Bearer opaque-secret-1")
    except ValueError as error:
        record = logging.LogRecord(
            "gunicorn.error", logging.ERROR, __file__, 1, "Error handling request %s",
            (f"/models/{key}",), (type(error), error, error.__traceback__),
        )  # fmt: skip
    entry = json.loads(CloudLoggingFormatter().format(record))

    assert key not in json.dumps(entry) and "opaque-secret-1" not in json.dumps(entry)
    assert "Bearer [REDACTED]" in entry["stack_trace"]


def test_server_loggers_write_json_lines_through_the_filter(
    capfd: Any,
) -> None:
    from models_api.keys.key_format import generate_api_key
    from models_api.logs.process_logging import WriteAsJsonLine

    key = generate_api_key()
    logger = logging.getLogger("gunicorn.error.test-filter")
    logger.addFilter(WriteAsJsonLine())
    plain = logging.StreamHandler()  # what gunicorn installs: it must not see the record
    logger.addHandler(plain)
    scope = enter_request("rid-7")
    try:
        logger.error("Error handling request /models/%s", key)
    finally:
        leave_request(scope)
        logger.removeHandler(plain)

    out, err = capfd.readouterr()
    (line,) = out.splitlines()
    entry = json.loads(line)
    assert err == "" and key not in line
    assert (entry["request_id"], entry["logger"]) == ("rid-7", "gunicorn.error.test-filter")
