"""The service takes no request body: a request that carries one is refused from its headers.

`body_refusal` decides from the WSGI environ alone (the body is never read): 405 for a method
other than GET, HEAD and OPTIONS, 400 for framing the service does not accept
(Transfer-Encoding, Expect, a Content-Length that is not a plain decimal number), else 413.
Why the body is never read: docs/reliability.md#slow-clients-and-request-bodies.
"""

from __future__ import annotations

import re

from models_api.errors import ApiError, BadRequest, ContentTooLarge, MethodNotAllowed
from models_api.http.semantics import ALLOWED_METHODS, Environ

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_PLAIN_LENGTH = re.compile(r"[1-9][0-9]{0,17}")


def carries_body(environ: Environ) -> bool:
    """Whether the request announces a body, or framing that could carry one."""
    return (
        environ.get("CONTENT_LENGTH", "") not in ("", "0")
        or "HTTP_TRANSFER_ENCODING" in environ
        or "HTTP_EXPECT" in environ
    )


def body_refusal(environ: Environ) -> ApiError | None:
    """The error that answers a request carrying a body, or None when it carries none."""
    if not carries_body(environ):
        return None
    if environ.get("REQUEST_METHOD") not in _READ_METHODS:
        return MethodNotAllowed(headers={"Allow": ALLOWED_METHODS})
    length = str(environ.get("CONTENT_LENGTH", ""))
    if "HTTP_TRANSFER_ENCODING" in environ or "HTTP_EXPECT" in environ:
        return BadRequest("Malformed request framing: this API takes no request body.")
    if not _PLAIN_LENGTH.fullmatch(length):
        return BadRequest("Malformed Content-Length: this API takes no request body.")
    return ContentTooLarge()
