"""Baseline (a): the same server stack returning precomputed bytes — the limit of the stack.

BENCH_STATIC_BODY names a file holding the exact body our service returns, so both
responses have the same size and content type.
"""

import os
from pathlib import Path

import functions_framework
from flask import Request, Response

_BODY = Path(os.environ["BENCH_STATIC_BODY"]).read_bytes()


@functions_framework.http
def models(request: Request) -> Response:
    return Response(_BODY, status=200, mimetype="application/json")
