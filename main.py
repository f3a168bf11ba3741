"""Cloud Functions gen2 / Cloud Run entry points, from one source upload:

- `models`: GET /models, the model catalog (the service);
- `drift_check`: the daily drift check (a second function, invoked by Cloud Scheduler).

Only wiring lives here. Each function's platform sets FUNCTION_TARGET to its entry point, and
only that target's settings are read, at import, so a misconfigured instance fails to start
with a clear message instead of answering requests (unset: `models`, as for a local run).
The server is functions-framework's own, configured through the environment only
(docs/architecture.md#the-server).
"""

import json
import os

import functions_framework
from flask import Request, Response, current_app, has_app_context

from models_api.errors import ConfigError

_TARGET = os.environ.get("FUNCTION_TARGET") or "models"
# gunicorn trusts forwarding headers (SCRIPT_NAME among them) from the peers this names, by
# default loopback; functions-framework imports gunicorn after this module. Unset: no peer.
os.environ.setdefault("FORWARDED_ALLOW_IPS", "")

if _TARGET == "drift_check":
    from drift_check.app import build_drift_check
    from drift_check.settings import DriftSettings

    _run_drift_check = build_drift_check(DriftSettings.from_env(os.environ))
elif _TARGET == "models":
    from models_api import build_models_handler
    from models_api.config import Settings
    from models_api.http.fast_path import install_fast_path
    from models_api.http.flask_glue import adapt_framework_app
    from models_api.logs.process_logging import configure_server_logging

    _handle = build_models_handler(Settings.from_env(os.environ))

    if has_app_context():  # functions-framework imports this module inside its app's context
        adapt_framework_app(current_app)
        configure_server_logging(current_app)
        install_fast_path(current_app, _handle)  # our requests and every body skip Flask
else:
    raise ConfigError(f"FUNCTION_TARGET {_TARGET!r}: this source serves models or drift_check.")


@functions_framework.http
def models(request: Request) -> Response:
    """GET /models: the model catalog. See openapi.yaml."""
    return _handle(request)


@functions_framework.http
def drift_check(request: Request) -> Response:
    """POST (Cloud Scheduler): one drift check; 200 when it completed, 500 when it could not."""
    if request.method != "POST":
        return Response(status=405, headers={"Allow": "POST"})
    outcome = _run_drift_check()
    body = json.dumps(outcome.summary())
    return Response(body, status=200 if outcome.complete else 500, mimetype="application/json")
