"""Cold-start baseline: a bare functions-framework hello."""

import functions_framework
from flask import Request


@functions_framework.http
def models(request: Request) -> str:
    return "ok"
