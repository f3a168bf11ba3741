"""HTTP: the WSGI fast path, request ids, response semantics (caching, CORS, ETag), coding."""
