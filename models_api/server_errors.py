"""The server's own answers, as whole HTTP/1.1 messages in the JSON error envelope.

Requests the app never sees (malformed, too large, too slow) are answered by the gunicorn
worker (serving_worker.py) with the same body and headers as the handler's errors, then the
connection is closed. gunicorn's own answers would be text/html.
"""

from __future__ import annotations

from http import HTTPStatus

from gunicorn.http import errors as parse_errors

from models_api.errors import ApiError, BadRequest, HeaderFieldsTooLarge, InternalError
from models_api.http.semantics import error_reply, finish_headers

_NO_ORIGINS: frozenset[str] = frozenset()
# Parse errors that are the application's fault (a header it tried to send), not the client's.
_APP_FAULTS = (
    parse_errors.ConfigurationProblem,
    parse_errors.InvalidResponseHeader,
    parse_errors.InvalidResponseHeaderName,
)


def error_for_parse_failure(error: BaseException) -> ApiError:
    """What a failure to read a request becomes: 431 for limits, 400 for the rest, or 500."""
    if isinstance(error, (parse_errors.LimitRequestHeaders, parse_errors.LimitRequestLine)):
        return HeaderFieldsTooLarge()
    if isinstance(error, parse_errors.ParseException) and not isinstance(error, _APP_FAULTS):
        return BadRequest("Malformed HTTP request.")
    return InternalError()


def error_message(error: ApiError, request_id: str) -> bytes:
    """The whole HTTP/1.1 response for `error`, closing the connection."""
    reply = error_reply(error, request_id)
    headers = finish_headers(reply, {}, request_id, _NO_ORIGINS)  # Content-Length included
    headers.append(("Connection", "close"))
    head = [f"HTTP/1.1 {error.status} {HTTPStatus(error.status).phrase}"]
    head += [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + reply.body
