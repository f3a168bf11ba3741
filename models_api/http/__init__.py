"""HTTP: the WSGI fast path, request bodies refused, request ids, caching, CORS and ETags."""
