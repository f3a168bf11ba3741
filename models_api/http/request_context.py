"""What the service reads about a request besides its credentials: its id and client address."""

from __future__ import annotations

import os
import random
import re
from typing import Any

from models_api.logs.redaction import redact_credentials

Environ = dict[str, Any]
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Where the request's id is kept once chosen, so every part of one request uses the same id.
REQUEST_ID_KEY = "models_api.request_id"


def request_id_for(environ: Environ) -> str:
    """The caller's X-Request-Id when it is a sane token (not a credential), else a new one;
    the same id for every call on one request."""
    known = environ.get(REQUEST_ID_KEY)
    if known is not None:
        return str(known)
    supplied = environ.get("HTTP_X_REQUEST_ID")
    if supplied and _REQUEST_ID.fullmatch(supplied) and redact_credentials(supplied) == supplied:
        chosen = str(supplied)
    else:
        chosen = new_request_id()
    environ[REQUEST_ID_KEY] = chosen
    return chosen


_request_ids = random.Random()  # noqa: S311 - ids, not secrets; private, so nothing reseeds it
os.register_at_fork(after_in_child=_request_ids.seed)  # each worker its own sequence


def new_request_id() -> str:
    """128 random bits in hex.

    A correlation id, not a secret: a PRNG seeded from the OS is enough and spares every
    request a system call.
    """
    return f"{_request_ids.getrandbits(128):032x}"


def client_address(environ: Environ, trusted_proxy_hops: int) -> str:
    """The caller's address: with N trusted proxies in front, the Nth entry from the right."""
    if trusted_proxy_hops > 0:
        raw = str(environ.get("HTTP_X_FORWARDED_FOR", ""))
        forwarded = [hop.strip() for hop in raw.split(",")]
        forwarded = [hop for hop in forwarded if hop]
        if len(forwarded) >= trusted_proxy_hops:
            return forwarded[-trusted_proxy_hops][:64]
    return str(environ.get("REMOTE_ADDR") or "unknown")
