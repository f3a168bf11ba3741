"""The request path: body refusal -> route -> method -> authenticate -> catalog -> respond.

Every refusal (401, 429, 503) gets its reason in the request's access line (`refusal`);
docs/logs.md#why-a-request-was-refused lists them.

The per-address failure throttle guards only the one check that costs a Firestore read (an API
key the instance does not know): known keys and browser tokens are answered whatever it says.

This is the only place where exceptions become HTTP responses.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from flask import Request, Response
from werkzeug.wrappers import Request as WsgiRequest

from models_api.auth.authentication import Authenticator
from models_api.auth.principal import Principal
from models_api.auth.throttle import AuthFailureThrottle
from models_api.catalog.cache import CatalogCache, ModelFilter
from models_api.catalog.model_schema import (
    MODALITIES,
    MODEL_ID,
    OWNED_BY,
    OWNED_BY_RULE,
    PROVIDERS,
)
from models_api.errors import (
    ApiError,
    BackendUnavailable,
    BadRequest,
    DependencyMisconfigured,
    Gone,
    InternalError,
    MethodNotAllowed,
    NotFound,
    ServiceUnavailable,
    TokenKeysUnavailable,
    Unauthenticated,
)
from models_api.http import semantics as http
from models_api.http.content_coding import IDENTITY, negotiate
from models_api.http.flask_glue import reply_response
from models_api.http.request_body import body_refusal
from models_api.http.request_context import client_address, request_id_for
from models_api.logs.structured_log import RequestLogger, enter_request, leave_request

logger = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = "5"
_BOOLEANS = {"true": True, "false": False}
_LIST_PATHS = ("/", "/models", "/models/")


@dataclass(frozen=True)
class Route:
    """What the path asks for: the list (model_id None) or one model."""

    model_id: str | None


_LIST_ROUTE = Route(model_id=None)


def serves_path(path: str) -> bool:
    """Whether `path` is answered by this handler (every other path is the framework's)."""
    return path in _LIST_PATHS or path.startswith("/models/")


def route_for(path: str) -> Route:
    """Accept the function's root (Cloud Functions URL) and /models (Cloud Run URL)."""
    if path in _LIST_PATHS:
        return _LIST_ROUTE
    if path.startswith("/models/"):
        model_id = path[len("/models/") :]
        if MODEL_ID.fullmatch(model_id):
            return Route(model_id=model_id)
    raise NotFound("No such path. The catalog is at /models and /models/{id}.")


_NO_FILTER = ModelFilter()


def model_filter_for(environ: http.Environ) -> ModelFilter:
    """Parse the optional filters; a bad value is a 400 that names the parameter."""
    if not environ.get("QUERY_STRING"):
        return _NO_FILTER
    args = WsgiRequest(environ).args  # werkzeug's parsing, as Flask's request.args

    def single(name: str) -> str | None:
        values = args.getlist(name)
        if len(values) > 1:
            raise BadRequest(f"Query parameter '{name}' may be given once.")
        return values[0] if values else None

    provider = single("provider")
    if provider is not None and provider not in PROVIDERS:
        raise BadRequest(
            f"Query parameter 'provider' must be one of: {', '.join(PROVIDERS)} "
            "(the route; filter by maker with 'owned_by')."
        )
    owned_by = single("owned_by")
    if owned_by is not None and not OWNED_BY.fullmatch(owned_by):
        raise BadRequest(
            f"Query parameter 'owned_by' must be a maker's slug ({OWNED_BY_RULE}), e.g. google."
        )
    modalities: dict[str, str | None] = {}
    for name in ("input_modality", "output_modality"):
        raw = single(name)
        if raw is not None and raw not in MODALITIES:
            raise BadRequest(f"Query parameter '{name}' must be one of: {', '.join(MODALITIES)}.")
        modalities[name] = raw
    flags: dict[str, bool | None] = {}
    for name in ("supports_tools", "supports_vision"):
        raw = single(name)
        if raw is not None and raw not in _BOOLEANS:
            raise BadRequest(f"Query parameter '{name}' must be 'true' or 'false'.")
        flags[name] = None if raw is None else _BOOLEANS[raw]
    return ModelFilter(
        provider=provider,
        supports_tools=flags["supports_tools"],
        supports_vision=flags["supports_vision"],
        owned_by=owned_by,
        input_modality=modalities["input_modality"],
        output_modality=modalities["output_modality"],
    )


class ModelsHandler:
    """The functions-framework HTTP target, with every dependency injected."""

    def __init__(
        self,
        *,
        authenticator: Authenticator,
        catalog: CatalogCache,
        throttle: AuthFailureThrottle,
        request_logger: RequestLogger,
        allowed_origins: frozenset[str],
        trusted_proxy_hops: int,
        clock: Callable[[], float] = time.perf_counter,
    ):
        self._authenticator = authenticator
        self._catalog = catalog
        self._throttle = throttle
        self._request_logger = request_logger
        self._allowed_origins = allowed_origins
        self._trusted_proxy_hops = trusted_proxy_hops
        self._clock = clock

    def __call__(self, request: Request) -> Response:
        """The functions-framework target (requests the WSGI fast path leaves to Flask)."""
        return reply_response(self.respond(request.environ))

    def respond(self, environ: http.Environ) -> http.Reply:
        """The whole answer to one request, every header included; its access line is written."""
        started = self._clock()
        request_id = request_id_for(environ)
        outcome = _Outcome()
        reply = None
        scope = enter_request(request_id)  # warnings and errors below carry the request id
        try:
            reply = self._reply(environ, request_id, outcome)
            http.finish_headers(reply, environ, request_id, self._allowed_origins)
            return reply
        finally:  # one line per request, whatever happened
            leave_request(scope)
            self._request_logger.log(
                environ,
                reply.status if reply is not None else 500,
                self._clock() - started,
                request_id,
                outcome.principal,
                outcome.refusal,
                len(reply.body) if reply is not None else 0,
            )

    def _reply(self, environ: http.Environ, request_id: str, outcome: _Outcome) -> http.Reply:
        try:
            return self._dispatch(environ, outcome)
        except ApiError as error:
            outcome.refusal = error.reason
            return http.error_reply(error, request_id)
        except BackendUnavailable as error:
            logger.warning("answering 503: %s", error)
            what = "token keys" if isinstance(error, TokenKeysUnavailable) else outcome.stage
            outcome.refusal = f"{what} unavailable: {error}"
            unavailable = ServiceUnavailable(
                error.public_message, headers={"Retry-After": RETRY_AFTER_SECONDS}
            )
            return http.error_reply(unavailable, request_id)
        except DependencyMisconfigured as error:
            logger.error("misconfigured dependency: %s", error)
            return http.error_reply(InternalError(), request_id)
        except Exception:
            logger.exception("unhandled error")
            return http.error_reply(InternalError(), request_id)

    def _dispatch(self, environ: http.Environ, outcome: _Outcome) -> http.Reply:
        refusal = body_refusal(environ)  # on any path: no route takes a body
        if refusal is not None:
            raise refusal
        route = route_for(environ.get("PATH_INFO") or "/")
        method = environ.get("REQUEST_METHOD")
        if method == "OPTIONS":
            return http.preflight_reply(environ, self._allowed_origins)
        if method not in ("GET", "HEAD"):
            raise MethodNotAllowed(headers={"Allow": http.ALLOWED_METHODS})

        address = client_address(environ, self._trusted_proxy_hops)
        try:
            outcome.principal = self._authenticator.authenticate(
                environ, partial(self._throttle.check, address)
            )
        except (Unauthenticated, ServiceUnavailable):  # refused, or unread (lookup budget spent)
            self._throttle.record_failure(address)
            raise

        outcome.stage = "catalog"
        snapshot = self._catalog.current()
        if route.model_id is None:
            representation = snapshot.list_representation(model_filter_for(environ))
        else:
            found = snapshot.model_representation(route.model_id)
            if found is None:
                retired = snapshot.retirement(route.model_id)
                if retired is not None:
                    retired_on = retired.retirement_date
                    raise Gone(
                        route.model_id,
                        retired.replacement,
                        retired_on.isoformat() if retired_on is not None else None,
                    )
                raise NotFound(f"No model with id '{route.model_id}' in the catalog.")
            representation = found
        coding = negotiate(environ.get("HTTP_ACCEPT_ENCODING"), representation.variants)
        variant = representation.variants[coding]
        headers = [("ETag", variant.etag), ("Cache-Control", http.SUCCESS_CACHE_CONTROL)]
        if route.model_id is not None:
            headers.extend(snapshot.model_headers(route.model_id))
        if http.etag_matches(environ.get("HTTP_IF_NONE_MATCH"), variant.etag):
            return http.Reply(304, b"", headers, http.SUCCESS_VARY)
        headers.append(("Content-Type", http.JSON_CONTENT_TYPE))
        if coding != IDENTITY:
            headers.append(("Content-Encoding", coding))
        return http.Reply(200, variant.body, headers, http.SUCCESS_VARY)


class _Outcome:
    """What the request turned out to be, for its log line."""

    __slots__ = ("principal", "refusal", "stage")

    def __init__(self) -> None:
        self.principal: Principal | None = None
        self.refusal: str | None = None  # why the request was refused (401, 429, 503)
        self.stage = "key store"  # what a backend failure makes unavailable
