"""An engine in its own process, and the client HTTP worker processes reach it with.

``ecm-mock serve --workers N`` runs N HTTP worker processes (they parse, validate, render and
check, in parallel) and one engine process that owns the state (it runs one request's stateful
part at a time, so every worker sees the same state). They talk over a Unix socket in a
directory only this user can open: each message is a pickled ``(method, arguments)`` and its
answer, framed by :class:`multiprocessing.connection.Connection`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import selectors
import socket
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from .engine import Engine, Envelope, Outcome

log = logging.getLogger("ecm_mock")

_METHODS = ("handle", "record")


class EngineGone(ConnectionError):
    """The engine process does not answer (it stopped, or was never started)."""


class EngineServer:
    """Serves one :class:`Engine` on a Unix socket until :meth:`stop` or the process ends."""

    def __init__(self, engine: Engine, address: str) -> None:
        self.engine = engine
        self.address = address
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(address)
        self._listener.listen(256)
        self._stopping = False
        self._wake, self._waker = socket.socketpair()  # stop() wakes the loop through it

    def serve_forever(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self._listener, selectors.EVENT_READ)
            selector.register(self._wake, selectors.EVENT_READ)
            try:
                while not self._stopping:
                    for key, _ in selector.select():
                        if key.fileobj is self._wake:
                            break
                        if key.fileobj is self._listener:
                            client, _ = self._listener.accept()
                            selector.register(Connection(client.detach()), selectors.EVENT_READ)
                        else:
                            self._serve_one(selector, key.fileobj)
            finally:
                for key in list(selector.get_map().values()):
                    key.fileobj.close()
                self._waker.close()

    def _serve_one(self, selector: selectors.BaseSelector, connection: Connection) -> None:
        try:
            connection.send_bytes(self._answer(connection.recv_bytes()))
        except (EOFError, OSError):  # the worker went away
            selector.unregister(connection)
            connection.close()

    def stop(self) -> None:
        """Stop serving (from any thread, or a signal handler)."""
        self._stopping = True
        with contextlib.suppress(OSError):
            self._waker.send(b"x")

    def _answer(self, message: bytes) -> bytes:
        try:
            method, args = pickle.loads(message)  # noqa: S301 - from this user's own workers
            if method not in _METHODS:
                raise ValueError(f"no engine method {method!r}")
            result = getattr(self.engine, method)(*args)
            return pickle.dumps((True, result), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as error:  # the worker answers it as a 500; the engine goes on
            log.exception("the engine could not answer a worker")
            failure = (False, f"{type(error).__name__}: {error}")
            return pickle.dumps(failure, protocol=pickle.HIGHEST_PROTOCOL)


class RemoteEngine:
    """The engine of another process, as :class:`~ecm_mock.engine.EngineLike`.

    One connection per thread, opened on first use; a thread waits only for its own answer.
    """

    def __init__(self, address: str, connect: Callable[[str], Connection] | None = None) -> None:
        self.address = address
        self._connect = connect or _connect_unix
        self._local = threading.local()

    def handle(self, envelope: Envelope) -> Outcome:
        return self._call("handle", envelope)

    def record(
        self, envelope: Envelope, status: int, millis: float | None = None, fault: int | None = None
    ) -> int:
        return self._call("record", envelope, status, millis, fault)

    def _call(self, method: str, *args: Any) -> Any:
        connection = getattr(self._local, "connection", None)
        try:
            if connection is None:
                connection = self._local.connection = self._connect(self.address)
            connection.send_bytes(pickle.dumps((method, args), protocol=pickle.HIGHEST_PROTOCOL))
            ok, value = pickle.loads(connection.recv_bytes())  # noqa: S301 - our own engine
        except (OSError, EOFError) as error:
            self._local.connection = None
            raise EngineGone(f"the engine at {self.address} does not answer: {error}") from None
        if not ok:
            raise RuntimeError(f"the engine failed: {value}")
        return value


def _connect_unix(address: str) -> Connection:
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        client.connect(address)
    except OSError:
        client.close()
        raise
    return Connection(client.detach())


def private_socket_path(directory: str) -> str:
    """Where the engine listens: in ``directory``, which only this user may enter."""
    os.chmod(directory, 0o700)
    return os.path.join(directory, "engine.sock")
