"""Work a request starts but must not wait for (cache refreshes), on a daemon thread."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable


def run_in_background(job: Callable[[], None]) -> None:
    """Run `job` on a daemon thread, in the context (request id) of the request that asked.

    Where CPU is allocated only while requests run (Cloud Run), the thread makes progress
    while requests do; callers bound how stale what they serve meanwhile may get.
    """
    context = contextvars.copy_context()
    threading.Thread(target=context.run, args=(job,), name="refresh", daemon=True).start()
