"""Serving: the mock's WSGI app behind an asynchronous front, on granian, in one process.

``ecm-mock serve``, the pytest plugin, the contract kit's in-process mock and the tests all
serve the same way: granian's embedded server (its RSGI interface) on a socket bound here,
with :class:`AsyncFront` as the application.

- Requests run the WSGI app synchronously on the event loop's thread: no handover to another
  Python thread, so no waiting for the GIL between the two.
- A latency fault waits on the loop (``asyncio.sleep``) and holds no thread: the app does not
  sleep when the environ carries :data:`~ecm_mock.app.DEFER`; it says how long to wait
  (:data:`~ecm_mock.app.DELAY`: then send this answer; :data:`~ecm_mock.app.RESUME`: then
  call me again with :data:`~ecm_mock.app.FAULT` set, so the fault is not rolled twice).
- What may take long (the app's ``heavy(environ)``: bulk uploads, resets, snapshots, large
  bodies, a session's first use) runs in a small thread pool, and so do the requests of the
  same session (``X-Mock-Session``) while one of those is in flight: they would wait on its
  store's lock, and that wait must never block the loop. While the pool works, Python's
  switch interval is shortened, so the loop gets the GIL back within half a millisecond.
- The body is read before the app runs, within ``body_timeout`` seconds (else 408) and up to
  the app's limit (a larger declared body is not read: the app answers 413).
- Idle keep-alive connections, and clients that send nothing or trickle their headers, are
  closed after ``idle_timeout`` seconds; up to ``max_connections`` are held at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import io
import json
import logging
import resource
import signal
import socket
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from time import monotonic
from types import TracebackType
from typing import Any

from .app import DEFER, DELAY, FAULT, RESUME, STARTED
from .errors import PROBLEM_JSON, ApiError, problem
from .intake import HELD_BODY

log = logging.getLogger("ecm_mock.serving")

SESSION_KEY = "HTTP_X_MOCK_SESSION"
BACKGROUND = "\0background"  # the pool's lane of background work (no session has this name)
POOL_THREADS = 4  # for the requests that may take long; the loop serves everything else
BUSY_SWITCH_INTERVAL = 0.0005  # seconds; Python's default (5 ms) while the pool works
BACKLOG = 1024
UNREADABLE = "\ufffd"  # the value of a header that granian could not read as text
Result = tuple[int, list[tuple[str, str]], bytes, bool]  # status, headers, body, cut short


class AddressError(Exception):
    """The mock cannot listen where it was asked to (a busy port, an unknown host)."""


def wait_for_port(host: str, port: int, timeout: float = 10.0) -> None:
    """Block until ``host:port`` accepts a connection; TimeoutError after ``timeout``."""
    import time

    deadline = monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            if monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port}") from None
            time.sleep(0.01)  # poll interval of the connect loop, not a wait for readiness


def bind(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (0: any free port), or :class:`AddressError`.

    Without ``SO_REUSEPORT``: a port another process listens on is refused, so two mocks
    never share one.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise AddressError(f"cannot listen on {host!r}: {exc.strerror}") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise AddressError(
                f"port {port} on {host} is already in use (by another ecm-mock or another "
                "program); choose another with --port, or --port 0 for any free one"
            ) from None
        raise AddressError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return sock


def raise_open_files_limit(wanted: int) -> int:
    """Raise this process' open-files limit towards ``wanted``; the connections it allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard == resource.RLIM_INFINITY else min(hard, max(soft, wanted + 256))
    if target != resource.RLIM_INFINITY and target > soft:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
    return max(1, min(wanted, soft - 256 if soft != resource.RLIM_INFINITY else wanted))


class AsyncFront:
    """granian's RSGI interface in front of a WSGI app: environ in, answer out."""

    def __init__(
        self,
        app: Callable,
        *,
        heavy: Callable[[dict[str, Any]], bool] | None = None,
        max_body: int = 10 * 1024 * 1024,
        body_timeout: float = 30.0,
    ) -> None:
        self.app = app
        self.heavy = heavy or (lambda environ: False)
        self.max_body = max_body
        self.body_timeout = body_timeout
        self.pool = ThreadPoolExecutor(POOL_THREADS, thread_name_prefix="ecm-mock long")
        self.loop: asyncio.AbstractEventLoop | None = None
        self._busy: dict[str, int] = {}  # session -> its requests in the pool
        self._in_pool = 0
        self._switch_interval = sys.getswitchinterval()
        self.arrived = self.delayed = 0  # requests so far, and waiting out a delay now
        self._keys: dict[str, str] = {}  # header name -> environ key
        self._base = {
            "SCRIPT_NAME": "",
            "SERVER_SOFTWARE": "ecm-mock (granian)",
            "wsgi.version": (1, 0),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "wsgi.input_terminated": True,
            DEFER: True,
        }

    # ----------------------------------------------------------------- granian's side
    def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def __rsgi_del__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)

    async def __rsgi__(self, scope: Any, proto: Any) -> None:
        if scope.proto != "http":
            return
        self.arrived += 1
        headers = scope.headers
        length = headers.get("content-length")
        declared = int(length) if length is not None and length.isdigit() else None
        too_large = declared is not None and declared > self.max_body
        if too_large or (length is None and "transfer-encoding" not in headers):
            body = b""  # none, or one not read: the app answers 413 from CONTENT_LENGTH
        else:
            try:
                async with asyncio.timeout(self.body_timeout):
                    body, too_large = await self._read(proto, declared)
            except TimeoutError:
                message = f"the body did not arrive within {self.body_timeout:g} seconds"
                proto.response_bytes(*_problem(408, message))
                return
        environ = self._environ(scope, body)
        for name, value in headers.items():
            key = self._keys.get(name) or self._keys.setdefault(name, _environ_key(name))
            if key in environ:  # a repeated header: joined as WSGI servers join them
                environ[key] += ("; " if key == "HTTP_COOKIE" else ", ") + value
            else:
                environ[key] = value
        # granian gives no value for a header whose value is not visible ASCII: the app sees
        # it there, unreadable (a session name or a token it refuses, not a header missing)
        for name in headers.keys():  # noqa: SIM118 - granian's Headers, not a dict
            key = self._keys.get(name) or self._keys.setdefault(name, _environ_key(name))
            if key not in environ:
                environ[key] = UNREADABLE
        if "HTTP_TRANSFER_ENCODING" in environ:  # read here, in full: the app sees its length
            del environ["HTTP_TRANSFER_ENCODING"]
            # past the limit, the app answers 413 as for any body too large
            environ["CONTENT_LENGTH"] = str(self.max_body + 1 if too_large else len(body))
        status, response_headers, content, cut = await self.respond(environ)
        if cut:  # a dropped-connection fault: promise a body, send less, end the stream
            transport = proto.response_stream(status, response_headers)
            # at least a byte: a stream that ends before its headers are out is sometimes
            # finished by granian as a complete empty answer (Content-Length: 0)
            await transport.send_bytes(content or b"{")
            return
        proto.response_bytes(status, response_headers, content)

    async def _read(self, proto: Any, declared: int | None) -> tuple[bytes, bool]:
        """The body, and whether it was past the limit (then the rest is not read)."""
        if declared is not None:
            return await proto(), False
        chunks, size = [], 0
        async for chunk in proto:
            size += len(chunk)
            if size > self.max_body:
                return b"", True
            chunks.append(chunk)
        return b"".join(chunks), False

    def _environ(self, scope: Any, body: bytes) -> dict[str, Any]:
        environ = self._base.copy()
        path = scope.path
        environ["REQUEST_METHOD"] = scope.method
        environ["PATH_INFO"] = path if path.isascii() else path.encode().decode("latin-1")
        environ["QUERY_STRING"] = scope.query_string
        environ["SERVER_PROTOCOL"] = "HTTP/" + scope.http_version
        environ["wsgi.url_scheme"] = scope.scheme
        server_host, _, server_port = scope.server.rpartition(":")
        environ["SERVER_NAME"], environ["SERVER_PORT"] = server_host.strip("[]"), server_port
        client_host, _, client_port = scope.client.rpartition(":")
        environ["REMOTE_ADDR"], environ["REMOTE_PORT"] = client_host.strip("[]"), client_port
        environ["wsgi.input"] = io.BytesIO(body)
        environ[HELD_BODY] = body
        environ[STARTED] = monotonic()  # kept across a delay, for the log and the journal
        return environ

    # ------------------------------------------------------------------ the app's side
    async def respond(self, environ: dict[str, Any]) -> Result:
        """Run the app, on the loop or in the pool; wait for the delays it asks for."""
        first = environ.copy()
        session = environ.get(SESSION_KEY, "")
        while True:
            if session in self._busy or self.heavy(environ):
                result = await self._in_thread(session, self.call, environ)
            else:
                result = self.call(environ)
            resume = environ.get(RESUME)
            if resume is None:
                break
            seconds, fault = resume
            await self._delay(seconds)
            environ = first.copy()
            environ[FAULT] = fault
            environ["wsgi.input"] = io.BytesIO(environ[HELD_BODY])
        if environ.get(DELAY):
            await self._delay(environ[DELAY])
        return result

    async def _delay(self, seconds: float) -> None:
        self.delayed += 1
        try:
            await asyncio.sleep(seconds)
        finally:
            self.delayed -= 1

    def activity(self) -> int | None:
        """The requests that have arrived so far; None while one waits out a delay. The
        server's full garbage collections wait for it to stand still: a collection's pause
        would hold up a request that is otherwise answered while it runs, but it would make
        a delayed one end late."""
        return None if self.delayed else self.arrived

    def call(self, environ: dict[str, Any]) -> Result:
        """One synchronous call of the WSGI app."""
        started: list[Any] = []

        def start_response(status: str, headers: list, exc_info: Any = None) -> Callable:
            started[:] = (status, headers)
            return _no_write

        try:
            result = self.app(environ, start_response)
            try:
                body = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except Exception:  # the app answers its own errors; this is a bug of ours
            log.exception(
                "unhandled error on %s %s", environ["REQUEST_METHOD"], environ["PATH_INFO"]
            )
            return *_problem(500, "internal error (see the log)"), False
        status, headers = started
        cut = False
        for name, value in headers:
            if name.lower() == "content-length":
                cut = int(value) != len(body)
                break
        return int(status[:3]), headers, body, cut

    async def _in_thread(self, session: str, work: Any, *arguments: Any) -> Any:
        """``work(*arguments)`` in the pool, counted against ``session`` meanwhile."""
        self._busy[session] = self._busy.get(session, 0) + 1
        self._in_pool += 1
        if self._in_pool == 1:
            self._switch_interval = sys.getswitchinterval()
            sys.setswitchinterval(BUSY_SWITCH_INTERVAL)
        try:
            return await asyncio.get_running_loop().run_in_executor(self.pool, work, *arguments)
        finally:
            self._in_pool -= 1
            if self._in_pool == 0:
                sys.setswitchinterval(self._switch_interval)
            left = self._busy[session] - 1
            if left:
                self._busy[session] = left
            else:
                del self._busy[session]

    async def in_pool(self, work: Callable[[], Any]) -> Any:
        """Run ``work`` in the pool: background work that takes stores' locks, briefly (so
        requests go on running on the loop meanwhile: they may wait a slice's length)."""
        return await self._in_thread(BACKGROUND, work)


def _problem(status: int, detail: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """An answer the front gives itself, in the one error shape."""
    body = json.dumps(problem(ApiError(status, detail)), separators=(",", ":")).encode()
    return status, [("content-type", PROBLEM_JSON)], body


def _environ_key(name: str) -> str:
    if name == "content-type":
        return "CONTENT_TYPE"
    if name == "content-length":
        return "CONTENT_LENGTH"
    return "HTTP_" + name.upper().replace("-", "_")


def _no_write(data: bytes) -> None:
    raise NotImplementedError("write() is not supported: return the body")


# ------------------------------------------------------------------------- the server
def front_for(app: Any) -> AsyncFront:
    """The front of a WSGI app; of a mock app (:func:`~ecm_mock.app.create_app`), with its
    policy of what may take long and its body limit."""
    from .app import EXTENSION, heavy_policy

    if EXTENSION not in getattr(app, "extensions", {}):  # another WSGI app (a test's own)
        return AsyncFront(app)
    return AsyncFront(app, heavy=heavy_policy(app), max_body=app.config["MAX_CONTENT_LENGTH"])


def _granian(front: AsyncFront, sock: socket.socket, idle_timeout: float, max_connections: int):
    from granian._granian import SocketHolder
    from granian.constants import HTTPModes, Interfaces
    from granian.http import HTTP1Settings
    from granian.log import LogLevels
    from granian.server.embed import Server

    class OnOurSocket(Server):
        """granian's embedded server on the socket bound here (port 0 works; no
        SO_REUSEPORT), not on one it binds per worker."""

        def _init_shared_socket(self) -> None:
            fd = sock.detach()  # granian owns (and closes) it from now on
            self._ssp = None
            self._shd = SocketHolder(fd, False, BACKLOG)
            self._sfd = fd

    host, port = sock.getsockname()[:2]
    return OnOurSocket(
        front,
        address=host,
        port=port,
        interface=Interfaces.RSGI,
        # HTTP/1.1 only: with "auto", a client that connects and sends nothing is never closed
        http=HTTPModes.http1,
        websockets=False,
        backlog=BACKLOG,
        # granian counts connections, idle keep-alives included (its default: 1024)
        backpressure=max_connections,
        # one timer: an idle keep-alive connection, or headers that do not arrive in time
        http1_settings=HTTP1Settings(header_read_timeout=int(idle_timeout * 1000)),
        log_level=LogLevels.error,  # not "Embedded server is experimental!" at every start
        log_access=False,  # ecm-mock logs each request itself
    )


class _Serving:
    """One granian server with its front, on a bound socket, in the running loop; for a mock
    app, the campaign runtime driven as its clock passes."""

    def __init__(self, app: Any, sock: socket.socket, idle_timeout: float, max_connections: int):
        from .app import EXTENSION

        self.front = front_for(app)
        self.engine = getattr(app, "extensions", {}).get(EXTENSION)
        self.server = _granian(self.front, sock, idle_timeout, max_connections)

    async def run(self) -> None:
        driver = asyncio.create_task(self._drive_runtime()) if self.engine else None
        try:
            await self.server.serve()
        finally:
            if driver is not None:
                driver.cancel()

    async def _drive_runtime(self) -> None:
        """Run the campaign runtime of every store as the clock passes: ``Engine.run_due``, in
        slices of about RUNTIME_SLICE seconds, in the pool (it takes the stores' locks)."""
        while True:
            if not self.engine.runtime_due():  # a glance, on the loop: nothing to do
                await asyncio.sleep(RUNTIME_IDLE)
                continue
            try:
                caught_up = await self.front.in_pool(self._runtime_slice)
            except Exception:  # a bug in the runtime: logged, and the server goes on
                log.exception("the campaign runtime failed")
                caught_up = True
            await asyncio.sleep(RUNTIME_IDLE if caught_up else 0)

    def _runtime_slice(self) -> bool:
        return self.engine.run_due(RUNTIME_SLICE)


RUNTIME_SLICE = 0.005  # seconds of work per slice of the campaign runtime
RUNTIME_IDLE = 0.05  # seconds between looks once it has caught up with the clock


def serve_forever(
    app: Any,
    sock: socket.socket,
    *,
    idle_timeout: float,
    max_connections: int,
    announce: Callable[[str], None],
    ready: Callable[[AsyncFront], None] | None = None,
) -> None:
    """Serve ``app`` in this (main) thread until SIGINT or SIGTERM; announce once listening.
    ``ready``: called with the front before it serves."""
    serving = _Serving(app, sock, idle_timeout, max_connections)
    if ready is not None:
        ready(serving.front)
    host, port = sock.getsockname()[:2]

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, serving.server.stop)
        serving.server.on_startup(lambda: loop.call_soon(announce, f"http://{host}:{port}"))
        await serving.run()

    asyncio.run(main())


class BackgroundServer:
    """The same serving in a background thread: ``with BackgroundServer(app) as server:``.

    For tests, the pytest plugin and the kit's in-process mock: port 0 picks a free port,
    :meth:`start` returns once it accepts connections, :meth:`stop` waits for requests in
    flight and closes the rest.
    """

    def __init__(
        self,
        app: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        idle_timeout: float = 30.0,
        max_connections: int = 4096,
    ) -> None:
        self.host = host
        sock = bind(host, port)
        self.port: int = sock.getsockname()[1]
        self.url = f"http://{host}:{self.port}"
        self._serving = _Serving(app, sock, idle_timeout, max_connections)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"ecm-mock:{self.port}")

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            self._serving.server.on_startup(self._ready.set)
            loop.run_until_complete(self._serving.run())
        except BaseException as error:  # said by start() or stop()
            self._error = error
        finally:
            self._ready.set()
            loop.close()

    def start(self, timeout: float = 10) -> BackgroundServer:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("the server did not start")
        if self._error is not None:
            raise RuntimeError("the server failed to start") from self._error
        wait_for_port(self.host, self.port, timeout)
        return self

    def stop(self, timeout: float = 10) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # closed meanwhile
                loop.call_soon_threadsafe(self._serving.server.stop)
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError("the server did not stop")

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
