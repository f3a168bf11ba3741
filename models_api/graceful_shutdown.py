"""What a stopping instance does with connections: serve them, or refuse them, never strand them.

Cloud Run (and Cloud Functions gen2) stops an instance with SIGTERM to the container's first
process, here the gunicorn master that functions-framework runs, and SIGKILL 10 s later.
On SIGTERM the master closes its copy of the listening socket and signals the workers; a
gunicorn gthread worker (27.x) then stops accepting, finishes its requests and keeps idle
keep-alive connections up to 2 s more before it closes its own copy of the socket and exits.
The kernel keeps completing handshakes on that socket meanwhile, so a client that connected in
those seconds was accepted by the kernel, sent its request, waited, and was reset when the
last copy closed (measured: a 1.95 s stall, then ECONNRESET).

`DrainingThreadWorker` keeps accepting while it drains, so such a connection is served (with
`Connection: close`, as gunicorn answers every request of a stopping worker). Once nothing is
open it exits; from then on the socket is closed and a connect is refused at once. Only the
microseconds between the worker's last poll and its close remain, and a connection caught there
is reset at once, not after a wait.

Left as gunicorn does it: after an answer with `Connection: close` (every answer of a stopping
worker) the worker's event loop half-closes the socket and waits up to 2 s for the client to
close its side (RFC 9112 9.6), serving nothing else meanwhile. Clients and proxies close at
once when they have read such an answer; one that holds the socket open stalls that worker.

functions-framework builds gunicorn's settings itself (its application ignores
`GUNICORN_CMD_ARGS` and config files), so `install()` replaces its application class with one
that adds our two settings. main.py calls it; it changes nothing for the Flask test client.
"""

from __future__ import annotations

from typing import Any

from gunicorn.workers.gthread import ThreadWorker

# Cloud Run sends SIGKILL 10 s after SIGTERM. The master gives its workers this long to finish
# (a request waits at most BACKEND_TIMEOUT_SECONDS per backend call), so it exits by itself
# before the SIGKILL. gunicorn's default is 30 s, which Cloud Run would cut short.
GRACEFUL_TIMEOUT_SECONDS = 8
_WORKER_CLASS = f"{__name__}.DrainingThreadWorker"


class DrainingThreadWorker(ThreadWorker):  # type: ignore[misc]
    """gunicorn's gthread worker that keeps accepting until its graceful drain is over."""

    def set_accept_enabled(self, enabled: bool) -> None:
        if not enabled and not self.alive:
            # Stopping: the drain loop (gunicorn's run()) keeps polling the listener, so
            # connections the kernel has already completed are served, not stranded.
            return
        super().set_accept_enabled(enabled)


def install() -> None:
    """Make functions-framework start gunicorn with the draining worker and our grace period."""
    from functions_framework._http import gunicorn as framework_gunicorn

    base = framework_gunicorn.GunicornApplication
    if getattr(base, "drains_on_shutdown", False):
        return

    class DrainingGunicornApplication(base):  # type: ignore[misc, valid-type]
        drains_on_shutdown = True

        def load_config(self) -> None:
            super().load_config()
            configure(self.cfg)

    framework_gunicorn.GunicornApplication = DrainingGunicornApplication  # type: ignore[misc]


def configure(cfg: Any) -> None:
    """Our settings on top of functions-framework's (a gunicorn Config)."""
    cfg.set("graceful_timeout", GRACEFUL_TIMEOUT_SECONDS)
    # THREADS=1 keeps gunicorn's sync worker (no keep-alive, nothing to drain); a worker class
    # functions-framework chose itself (its request-timeout worker) is left alone.
    if cfg.threads > 1 and cfg.settings["worker_class"].get() == "sync":
        cfg.set("worker_class", _WORKER_CLASS)
