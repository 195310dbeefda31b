"""Running an app on the production WSGI server (waitress) in a background thread.

For tests and tools that need a real HTTP server in-process: port 0 picks a free port,
:meth:`BackgroundServer.start` returns once the port accepts connections (no sleeping), and
:meth:`BackgroundServer.stop` shuts it down from inside its own event loop. While it serves,
a :class:`RuntimeDriver` runs the app's campaign runtime as its clock passes.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
import time
from types import TracebackType
from typing import Any

from waitress.server import create_server


def wait_for_port(host: str, port: int, timeout: float = 10.0) -> None:
    """Block until ``host:port`` accepts a connection; TimeoutError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port}") from None
            time.sleep(0.01)  # poll interval of the connect loop, not a wait for readiness


class RuntimeDriver:
    """A daemon thread that runs an engine's campaign runtime as the clock passes.

    It calls ``engine.run_due`` (the one entry), which works in slices of about
    ``SLICE_SECONDS`` under each store's lock: while behind, it runs again after ``BUSY``
    seconds (requests get in between); caught up, after ``IDLE``.
    """

    SLICE_SECONDS = 0.005
    BUSY = 0.001
    IDLE = 0.05

    def __init__(self, engine: Any) -> None:
        self._engine = engine
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="ecm-mock runtime")

    def start(self) -> RuntimeDriver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        # Ctrl-C and SIGTERM are for the server's main thread, which handles them
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        pause = 0.0
        while not self._stopping.wait(pause):
            try:
                caught_up = self._engine.run_due(self.SLICE_SECONDS)
            except Exception:  # a bug in the runtime: logged, and the server goes on
                logging.getLogger("ecm_mock").exception("the campaign runtime failed")
                caught_up = True
            pause = self.IDLE if caught_up else self.BUSY


def drive_runtime(app: Any) -> RuntimeDriver | None:
    """Start running the campaign runtime of ``app``'s engine, if it lives in this process."""
    engine = getattr(app, "extensions", {}).get("ecm_mock")  # a Flask app of ours
    if engine is None or not hasattr(engine, "run_due"):
        return None
    return RuntimeDriver(engine).start()


class BackgroundServer:
    """``with BackgroundServer(app) as server: requests.get(server.url + ...)``."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0, threads: int = 8) -> None:
        self.host = host
        self._app = app
        self._driver: RuntimeDriver | None = None
        self._server = create_server(app, host=host, port=port, threads=threads)
        self.port: int = self._server.effective_port
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(
            target=self._server.run, daemon=True, name=f"ecm-mock:{self.port}"
        )

    def start(self) -> BackgroundServer:
        self._thread.start()
        wait_for_port(self.host, self.port)
        self._driver = drive_runtime(self._app)
        return self

    def stop(self) -> None:
        if self._driver is not None:
            self._driver.stop()
        # the worker threads finish their requests first (each pulls the loop's trigger when
        # done, so the trigger must still be open); then, inside the server's own loop (so it
        # never polls a closed socket), every connection is closed, kept-alive ones too: the
        # loop runs until none is left
        self._server.task_dispatcher.shutdown()
        try:
            self._server.trigger.pull_trigger(self._close_all)
        except OSError:
            # a worker's pull woke the loop, which ran the thunk (closing the trigger) before
            # this pull wrote to it: the work is done
            if not self._server.trigger._closed:
                raise
        self._thread.join(timeout=10)

    def _close_all(self) -> None:
        server = self._server
        for dispatcher in list(server._map.values()):
            if dispatcher is not server and dispatcher is not server.trigger:
                dispatcher.close()
        server.close()  # the listening socket and the trigger

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
