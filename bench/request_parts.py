"""The parts of one request of ours, each run alone: what `count_instructions.py --parts` counts.

Each part is called on the objects main.py built (the handler's own authenticator, catalog,
logger...) with the environ of a warm request: a valid key the instance knows, the cached
catalog, no query string. The handler's private attributes are read here on purpose: this file
measures how the handler is put together, so it changes with it.

Each part's count is net of the cost of calling it (a section that calls an empty lambda).
Parts that are not called alone are derived: the server (gunicorn) is the whole request minus
the WSGI app, the fast path's dispatch is the WSGI app minus `respond`, and what `respond` spends
outside the parts named below (clock readings, the outcome record, try/finally) is its glue.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from models_api.handler import ModelsHandler, model_filter_for, route_for
from models_api.http import semantics as http
from models_api.http.content_coding import negotiate
from models_api.http.fast_path import ModelsFastPath
from models_api.http.request_context import client_address, request_id_for
from models_api.logs.structured_log import enter_request, leave_request

Environ = dict[str, Any]

# (section, part name in the table, what it gives users); in the order of the request path.
PARTS = [
    ("request_id", "request id", "X-Request-Id on every answer and log line"),
    ("log_context", "request id for warnings", "warnings and errors carry the request id"),
    ("routing", "routing", "/models, /models/{id}, the function root"),
    ("throttle", "client address, throttle check prepared", "429 for addresses that keep failing"),
    ("authentication", "authentication (known key)", "the contract: 401 without a valid key"),
    ("catalog", "catalog lookup (cached)", "the catalog, no Firestore read per request"),
    ("coding", "content coding, no Accept-Encoding", "br/gzip bodies, precompressed"),
    ("coding_br", "content coding, `gzip, br`", "(the same part for a compressing client)"),
    ("conditional", "ETag / If-None-Match", "304 without a body when nothing changed"),
    ("headers", "headers", "caching, Vary, nosniff, CORS, Content-Length"),
    ("access_log", "access log line", "see below: request id, auth kind and key prefix..."),
]
_INSIDE_RESPOND = [section for section, _, _ in PARTS if section != "coding_br"]


def part_sections(
    handler: ModelsHandler, fast_path: ModelsFastPath, environ: Environ
) -> dict[str, Callable[[], object]]:
    """Section name -> a call of that part alone (plus `flask`, `respond`)."""
    hops = handler._trusted_proxy_hops  # noqa: SLF001
    snapshot = handler._catalog.current()  # noqa: SLF001
    representation = snapshot.list_representation(model_filter_for(environ))
    variant = representation.variants["identity"]
    principal = handler._authenticator.authenticate(environ)  # noqa: SLF001
    origins = handler._allowed_origins  # noqa: SLF001
    request_id = request_id_for(environ)
    compressing = {**environ, "HTTP_ACCEPT_ENCODING": "gzip, br"}

    def flask_path() -> None:
        for _ in fast_path.framework(dict(environ), _ignore_start_response):
            pass

    def headers() -> None:
        reply = http.Reply(
            200,
            variant.body,
            [("ETag", variant.etag), ("Cache-Control", http.SUCCESS_CACHE_CONTROL)],
            http.SUCCESS_VARY,
        )
        reply.headers.append(("Content-Type", http.JSON_CONTENT_TYPE))
        http.finish_headers(reply, environ, request_id, origins)

    return {
        "call": lambda: None,  # what calling a part costs here: subtracted from each part
        "flask": flask_path,
        "respond": lambda: handler.respond(dict(environ)),
        "request_id": lambda: request_id_for(environ),
        "log_context": lambda: leave_request(enter_request(request_id)),
        "routing": lambda: route_for(environ.get("PATH_INFO") or "/"),
        # A known key never consults the throttle: the request only prepares its check.
        "throttle": lambda: partial(handler._throttle.check, client_address(environ, hops)),  # noqa: SLF001
        "authentication": lambda: handler._authenticator.authenticate(environ),  # noqa: SLF001
        "catalog": lambda: handler._catalog.current().list_representation(  # noqa: SLF001
            model_filter_for(environ)
        ),
        "coding": lambda: negotiate(environ.get("HTTP_ACCEPT_ENCODING"), representation.variants),
        "coding_br": lambda: negotiate(
            compressing.get("HTTP_ACCEPT_ENCODING"), representation.variants
        ),
        "conditional": lambda: http.etag_matches(environ.get("HTTP_IF_NONE_MATCH"), variant.etag),
        "headers": headers,
        "access_log": lambda: handler._request_logger.log(  # noqa: SLF001
            environ, 200, 0.000123, request_id, principal, None, len(variant.body)
        ),
    }


def _ignore_start_response(status: str, headers: list[Any], exc_info: Any = None) -> None:
    return None


def print_parts_table(service: dict[str, float], static: dict[str, float]) -> None:
    """The table of docs/performance.md: each part's instructions and share of the request."""
    whole = service["request"]
    rows: list[tuple[str, float, str]] = [
        (
            "server: gunicorn (parse, environ, write)",
            service["request"] - service["app"],
            "",
        ),
        ("WSGI fast path (dispatch, status line)", service["app"] - service["respond"], ""),
    ]
    inside = 0.0
    for section, name, gives in PARTS:
        alone = service[section] - service["call"]
        rows.append((name, alone, gives))
        if section in _INSIDE_RESPOND:
            inside += alone
    rows.append(("handler glue (clocks, outcome, try/finally)", service["respond"] - inside, ""))
    print(f"\nparts of one request of ours (k instructions; % of {whole / 1000:.1f} k):")
    print("| part | k instr. | share | what it gives users |")
    print("| --- | ---: | ---: | --- |")
    for name, count, gives in rows:
        print(f"| {name} | {count / 1000:.1f} | {100 * count / whole:.1f} % | {gives} |")
    print(f"| **whole request** | **{whole / 1000:.1f}** | 100 % | |")
    flask_app = service["flask"]
    print(
        f"\nfor reference: the same request through functions-framework's Flask app (the path "
        f"the fast path skips): {flask_app / 1000:.1f} k in the WSGI app, against "
        f"{service['app'] / 1000:.1f} k; the static-bytes app: {static['app'] / 1000:.1f} k "
        f"in the WSGI app, {static['request'] / 1000:.1f} k per request through gunicorn"
    )
