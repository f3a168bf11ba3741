"""Cloud Functions gen2 / Cloud Run entry point: the functions-framework HTTP target `models`.

Only wiring lives here. Settings are read at import so a misconfigured instance fails to
start with a clear message instead of answering requests.
"""

import os

import functions_framework
from flask import Request, Response, current_app, has_app_context

from models_api import build_models_handler
from models_api.config import Settings
from models_api.flask_glue import adapt_framework_app
from models_api.graceful_shutdown import install as drain_connections_on_sigterm
from models_api.malloc_arenas import limit_malloc_arenas
from models_api.wsgi_fast_path import install_fast_path

limit_malloc_arenas(os.environ)  # before any thread starts: workers inherit it when forked
_handle = build_models_handler(Settings.from_env(os.environ))
drain_connections_on_sigterm()  # gunicorn starts after this module is imported

if has_app_context():  # functions-framework imports this module inside its app's context
    adapt_framework_app(current_app)
    install_fast_path(current_app, _handle)  # our requests skip Flask (wsgi_fast_path.py)


@functions_framework.http
def models(request: Request) -> Response:
    """GET /models: the model catalog. See openapi.yaml."""
    return _handle(request)
