from __future__ import annotations

import json

from models_api.principal import Principal
from models_api.structured_log import RequestLogger


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
        "auth_failure": None,
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
        auth_failure="unknown api key inf_abcdefgh",
    )

    assert entry["severity"] == "WARNING"
    assert entry["httpRequest"]["requestUrl"].startswith('/models/"}\n')  # type: ignore[index]
    assert entry["auth_failure"] == "unknown api key inf_abcdefgh"


def test_each_line_carries_the_time_of_its_request() -> None:
    # Lines may be written in batches: Cloud Logging takes the time from this field.
    entry = _log_one({})

    assert entry["timestamp"] == {"seconds": 1_764_000_000, "nanos": 123_456_789}
