"""The gunicorn worker the service runs in: no slow client holds a thread, no accepted
connection is reset at shutdown, and every answer of the server itself is the JSON envelope.

functions-framework serves the app with gunicorn's threaded worker (gthread, 27.x). This
subclass changes three things about how it treats connections:

Slow clients. gthread hands a new connection to a worker thread as soon as a byte arrives, and
the thread then blocks reading the rest: `workers x threads` clients sending headers at one
byte a second stopped the service. Here the event loop reads each request (head, and a body of
up to MAX_HEAD_BYTES) itself, without blocking, and a thread gets the connection only when the
whole request is there (request_heads.py). A request not complete within HEAD_TIMEOUT_SECONDS
gets 408 and a head over MAX_HEAD_BYTES 431. A closing connection lingers in the event loop
(half-closed, read until the client closes or 2 s pass, RFC 9112 9.6) instead of blocking it.

Shutdown. Cloud Run (and Cloud Functions gen2) stops an instance with SIGTERM to the gunicorn
master and SIGKILL 10 s later. On SIGTERM the master closes its copy of the listening socket
and signals the workers. Closing the last copy of a listening socket resets every connection
the kernel completed but nobody accepted, so a worker that stops first makes the socket refuse
new connections (a SYN filter, listener_drain.py: they wait, then are refused at connect), then
keeps accepting what the kernel had already completed, serves everything it accepted (with
`Connection: close`), lets idle kept-alive connections go with a lingering close, and closes
the socket only when nothing is queued.

Errors. gunicorn answers a request it cannot parse (400) or whose headers exceed its limits
(431) with text/html; `handle_error` answers with the envelope instead (server_errors.py), and
logs the refusal without the request's content, with the answer's request_id and status.

functions-framework builds gunicorn's settings itself (its application ignores
`GUNICORN_CMD_ARGS` and config files), so `install()` replaces its application class with one
that adds our settings. main.py calls it; it changes nothing for the Flask test client.
gunicorn is pinned (requirements.txt): this class overrides parts of gthread's internals, and
tests/integration/test_slow_clients.py and test_shutdown.py fail loudly if they change.
"""

from __future__ import annotations

import errno
import logging
import selectors
import socket
import time
from collections import OrderedDict
from functools import partial
from typing import Any

from gunicorn.workers.gthread import STOP_KEEPALIVE_LINGER, TConn, ThreadWorker

from models_api.errors import ApiError, HeaderFieldsTooLarge, RequestTimeout
from models_api.http.request_context import new_request_id
from models_api.listener_drain import refuse_new_connections
from models_api.logs.structured_log import HTTP_REQUEST_FIELD, request_scope
from models_api.request_heads import HEAD_TIMEOUT_SECONDS, RequestHead
from models_api.server_errors import error_for_parse_failure, error_message

logger = logging.getLogger(__name__)

# Cloud Run sends SIGKILL 10 s after SIGTERM. The master gives its workers this long to finish
# (a request waits at most BACKEND_TIMEOUT_SECONDS per backend call), so it exits by itself
# before the SIGKILL. gunicorn's default is 30 s, which Cloud Run would cut short.
GRACEFUL_TIMEOUT_SECONDS = 8
# How long a closing connection is read (and what it sends discarded) before it is closed.
LINGER_SECONDS = 2.0
_LINGER_MAX_BYTES = 256 * 1024
# After the SYN filter is attached, handshakes already under way still complete: wait this long
# before the last look at the queue.
_HANDSHAKE_GRACE_SECONDS = 0.2
_WORKER_CLASS = f"{__name__}.ServiceThreadWorker"


class ServiceThreadWorker(ThreadWorker):  # type: ignore[misc]
    """gthread that reads whole requests in its event loop and drains without resets."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Connections the event loop owns, oldest deadline first: reading a request, or closing.
        self._reading: OrderedDict[TConn, RequestHead] = OrderedDict()
        self._lingering: OrderedDict[TConn, float] = OrderedDict()

    # --- reading requests in the event loop ---------------------------------------------------

    def accept(self, listener: Any) -> bool:
        """Take one connection from the kernel's queue; False when the queue is empty."""
        try:
            client, address = listener.accept()
        except OSError as error:
            if error.errno in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                return False
            raise
        self.nr_conns += 1
        conn = TConn(self.cfg, client, address, listener.getsockname())
        self._read_request(conn, b"", may_be_readable=True)
        return True

    def on_client_socket_readable(self, conn: TConn, client: Any) -> None:
        """A kept-alive connection sends its next request: read it here, not in a thread."""
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._read_request(conn, b"", may_be_readable=True)

    def _read_request(self, conn: TConn, data: bytes, *, may_be_readable: bool = False) -> None:
        head = RequestHead(data, time.monotonic() + HEAD_TIMEOUT_SECONDS)
        if may_be_readable and not head.complete:
            # Read what is there at once: a whole request usually is, and then it costs no
            # extra turn of the event loop.
            conn.sock.setblocking(False)
            chunk = _received(conn.sock)
            if chunk == b"":
                self._close_now(conn)
                return
            if chunk:
                head.add(chunk)
        if head.complete:
            self._to_thread(conn, head)
            return
        if head.too_large:
            self._refuse(conn, HeaderFieldsTooLarge(), "request head too large")
            return
        conn.sock.setblocking(False)
        self._reading[conn] = head
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_request_bytes, conn))

    def _on_request_bytes(self, conn: TConn, client: Any) -> None:
        head = self._reading[conn]
        chunk = _received(conn.sock)
        if chunk is None:
            return
        if chunk:
            head.add(chunk)
            if not (head.complete or head.too_large):
                return
        self.poller.unregister(client)
        del self._reading[conn]
        if not chunk:  # the client went away
            self._close_now(conn)
        elif head.complete:
            self._to_thread(conn, head)
        else:
            self._refuse(conn, HeaderFieldsTooLarge(), "request head too large")

    def _to_thread(self, conn: TConn, head: RequestHead) -> None:
        conn.data_ready = True  # gthread's own wait for a first byte is not needed
        conn.request_bytes = bytes(head.data)
        self.enqueue_req(conn)

    def handle(self, conn: TConn) -> Any:
        """In a worker thread: parse and serve what the event loop read (gthread's handle)."""
        data = getattr(conn, "request_bytes", b"")
        if data:
            conn.request_bytes = b""
            conn.sock.setblocking(True)
            conn.init()
            conn.parser.unreader.unread(data)
        return super().handle(conn)

    def finish_request(self, conn: TConn, future: Any) -> None:
        """Back in the event loop after a request: keep the connection, or close it lingering."""
        try:
            keep_alive = bool(future.result()) if not future.cancelled() else False
        except Exception:  # noqa: BLE001 - gthread closes the connection on any error too
            keep_alive = False
        if not keep_alive or conn.parser is None:
            self._close_lingering(conn)
            return
        pipelined = conn.parser.unreader.take_buffered()
        if pipelined:  # the client sent its next request already (or part of it)
            self._read_request(conn, pipelined)
            return
        conn.sock.setblocking(False)
        conn.set_timeout()
        if not self.alive:
            conn.timeout = min(conn.timeout, time.monotonic() + STOP_KEEPALIVE_LINGER)
        self.keepalived_conns.append(conn)
        self.poller.register(
            conn.sock, selectors.EVENT_READ, partial(self.on_client_socket_readable, conn)
        )

    def murder_keepalived(self, force: bool = False) -> None:
        """Let expired kept-alive connections go; one that has just sent a request is served."""
        if force:
            super().murder_keepalived(force=True)
            return
        now = time.monotonic()
        while self.keepalived_conns and self.keepalived_conns[0].timeout <= now:
            conn = self.keepalived_conns.popleft()
            self.poller.unregister(conn.sock)
            if _has_bytes(conn.sock):
                self._read_request(conn, b"", may_be_readable=True)
            else:
                self._close_lingering(conn)

    def murder_pending(self) -> None:
        """Every turn of the event loop: deadlines of the connections it reads or closes."""
        super().murder_pending()
        now = time.monotonic()
        while self._reading:
            conn, head = next(iter(self._reading.items()))
            if head.deadline > now:
                break
            del self._reading[conn]
            self.poller.unregister(conn.sock)
            if head.data.strip():
                self._refuse(conn, RequestTimeout(), "request not received in time")
            else:  # never sent anything (a preconnect): nothing to answer
                self._close_lingering(conn)
        while self._lingering:
            conn, deadline = next(iter(self._lingering.items()))
            if deadline > now:
                break
            self._end_lingering(conn)

    # --- closing without resets ---------------------------------------------------------------

    def _refuse(self, conn: TConn, error: ApiError, reason: str) -> None:
        request_id = new_request_id()
        _log_refusal(error, reason, _address(conn), request_id)
        try:
            # a few hundred bytes: fits the send buffer
            conn.sock.send(error_message(error, request_id))
        except OSError:
            pass
        self._close_lingering(conn)

    def _close_lingering(self, conn: TConn) -> None:
        """Half-close, then read until the client closes: closing with unread bytes sends RST."""
        try:
            conn.sock.shutdown(socket.SHUT_WR)
            conn.sock.setblocking(False)
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_linger, conn))
        except (OSError, ValueError, KeyError):
            self._close_now(conn)
            return
        conn.lingered = 0
        self._lingering[conn] = time.monotonic() + LINGER_SECONDS

    def _on_linger(self, conn: TConn, client: Any) -> None:
        chunk = _received(conn.sock)
        if chunk is None:
            return
        conn.lingered += len(chunk)
        if not chunk or conn.lingered > _LINGER_MAX_BYTES:
            self._end_lingering(conn)

    def _end_lingering(self, conn: TConn) -> None:
        del self._lingering[conn]
        try:
            self.poller.unregister(conn.sock)
        except (KeyError, ValueError):
            pass
        self._close_now(conn)

    def _close_now(self, conn: TConn) -> None:
        self.nr_conns -= 1
        conn.close()

    # --- stopping -----------------------------------------------------------------------------

    def set_accept_enabled(self, enabled: bool) -> None:
        if not enabled and not self.alive:
            return  # stopping: _drain keeps taking what the kernel already completed
        super().set_accept_enabled(enabled)

    def run(self) -> None:
        """gthread's loop, then a drain that refuses new connections before it closes."""
        self.poller.register(
            self.method_queue.fileno(), selectors.EVENT_READ, self.method_queue.run_callbacks
        )
        self.set_accept_enabled(True)
        while self.alive:
            self.notify()
            can_accept = self.nr_conns < self.worker_connections
            if can_accept != self._accepting:
                self.set_accept_enabled(can_accept)
            self.wait_for_and_dispatch_events(timeout=1.0)
            if not self.is_parent_alive():
                break
            self.murder_keepalived()
            self.murder_pending()
        self._drain()

    def _drain(self) -> None:
        refusing_since = time.monotonic()
        for listener in self.sockets:
            refuse_new_connections(listener)
        super().set_accept_enabled(True)
        self._cap_keepalive(time.monotonic() + STOP_KEEPALIVE_LINGER)
        deadline = time.monotonic() + self.cfg.graceful_timeout
        while time.monotonic() < deadline:
            self.notify()
            while any([self.accept(listener) for listener in self.sockets]):
                pass  # everything the kernel completed is ours to serve
            settled = time.monotonic() - refusing_since >= _HANDSHAKE_GRACE_SECONDS
            if self.nr_conns == 0 and settled:
                break
            timeout = 1.0 if settled else _HANDSHAKE_GRACE_SECONDS
            if self.keepalived_conns:
                timeout = min(timeout, max(self.keepalived_conns[0].timeout - time.monotonic(), 0))
            self.wait_for_and_dispatch_events(timeout=timeout)
            self.murder_keepalived()
            self.murder_pending()
        self.murder_keepalived(force=True)
        self.tpool.shutdown(wait=False)
        self.poller.close()
        self.method_queue.close()
        for listener in self.sockets:
            listener.close()

    # --- the server's own errors --------------------------------------------------------------

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        """A request gunicorn could not parse, or an error outside the app: the envelope."""
        error = error_for_parse_failure(exc)
        request_id = new_request_id()
        if error.status >= 500:
            with request_scope(request_id):
                logger.error("server error outside the app: %s", type(exc).__name__, exc_info=exc)
        else:  # the request's content (a key in its path or headers) is not logged
            _log_refusal(error, type(exc).__name__, str((addr or ("",))[0]), request_id)
        try:
            client.sendall(error_message(error, request_id))
        except OSError:
            pass


def _log_refusal(error: ApiError, reason: str, address: str, request_id: str) -> None:
    """The log line of a request the server answered itself: the answer's request_id, its
    status and the client's address (never the request's content)."""
    with request_scope(request_id):
        logger.warning(
            "answered %d: %s from %s",
            error.status,
            reason,
            address,
            extra={HTTP_REQUEST_FIELD: {"status": error.status, "remoteIp": address}},
        )


def _received(sock: Any) -> bytes | None:
    """One non-blocking read: None while nothing has come, b"" once the client closed or failed."""
    try:
        data: bytes = sock.recv(65536)
    except BlockingIOError:
        return None
    except OSError:
        return b""
    return data


def _has_bytes(sock: Any) -> bool:
    try:
        return bool(sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT))
    except OSError:
        return False


def _address(conn: TConn) -> str:
    client = conn.client
    return str(client[0]) if isinstance(client, tuple) and client else str(client)


def install() -> None:
    """Make functions-framework start gunicorn with this worker and our grace period."""
    from functions_framework._http import gunicorn as framework_gunicorn

    base = framework_gunicorn.GunicornApplication
    if getattr(base, "uses_service_worker", False):
        return

    class ServiceGunicornApplication(base):  # type: ignore[misc, valid-type]
        uses_service_worker = True

        def load_config(self) -> None:
            super().load_config()
            configure(self.cfg)

    framework_gunicorn.GunicornApplication = ServiceGunicornApplication  # type: ignore[misc]


def configure(cfg: Any) -> None:
    """Our settings on top of functions-framework's (a gunicorn Config)."""
    cfg.set("graceful_timeout", GRACEFUL_TIMEOUT_SECONDS)
    # Also for THREADS=1: gunicorn's sync worker would let one slow client hold the worker. A
    # worker class functions-framework chose itself (its request-timeout worker) is left alone.
    if cfg.settings["worker_class"].get() == "sync":
        cfg.set("worker_class", _WORKER_CLASS)
