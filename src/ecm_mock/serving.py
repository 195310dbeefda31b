"""Running an app on the production WSGI server (waitress) in a background thread.

For tests and tools that need a real HTTP server in-process: port 0 picks a free port,
:meth:`BackgroundServer.start` returns once the port accepts connections (no sleeping), and
:meth:`BackgroundServer.stop` shuts it down from inside its own event loop.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

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


class BackgroundServer:
    """``with BackgroundServer(app) as server: requests.get(server.url + ...)``."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0, threads: int = 8) -> None:
        self.host = host
        self._server = create_server(app, host=host, port=port, threads=threads)
        self.port: int = self._server.effective_port
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(
            target=self._server.run, daemon=True, name=f"ecm-mock:{self.port}"
        )

    def start(self) -> BackgroundServer:
        self._thread.start()
        wait_for_port(self.host, self.port)
        return self

    def stop(self) -> None:
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
