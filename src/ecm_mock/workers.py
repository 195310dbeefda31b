"""``ecm-mock serve --workers N``: one engine process, N HTTP worker processes on granian.

The engine process builds the state (fixtures, fake data) and serves it over a private Unix
socket (:mod:`ecm_mock.remote`). Each worker is the usual Flask app (:func:`create_app`) with a
:class:`~ecm_mock.remote.RemoteEngine`: validation, JSON and the contract checks run in the
workers in parallel, every stateful step in the one engine, so all workers see one state.
granian (a Rust HTTP server) runs the workers; it is a dependency of the package.
"""

from __future__ import annotations

import base64
import contextlib
import multiprocessing
import os
import pickle
import shutil
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection

from flask import Flask

from .settings import Settings

SETTINGS_ENV = "ECM_MOCK_WORKER_SETTINGS"
ENGINE_ENV = "ECM_MOCK_ENGINE_ADDRESS"


def worker_app() -> Flask:
    """The app of one HTTP worker process (granian's factory target)."""
    from .app import create_app
    from .remote import RemoteEngine

    settings = pickle.loads(base64.b64decode(os.environ[SETTINGS_ENV]))  # noqa: S301 - our parent
    return create_app(settings, engine=RemoteEngine(os.environ[ENGINE_ENV]))


def serve(settings: Settings, announce: Callable[[str], None]) -> int:
    """Run engine and workers until Ctrl-C or SIGTERM; 2 if the engine cannot start."""
    from granian import Granian
    from granian.constants import Interfaces

    from .remote import private_socket_path

    directory = tempfile.mkdtemp(prefix="ecm-mock-")
    address = private_socket_path(directory)
    context = multiprocessing.get_context(
        "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    )
    receive, send = context.Pipe(duplex=False)
    engine = context.Process(
        target=_engine_main, args=(settings, address, send), name="ecm-mock engine"
    )
    engine.start()
    send.close()
    try:
        problem = receive.recv()
    except EOFError:
        problem = f"the engine process stopped (exit code {engine.exitcode})"
    if problem is not None:
        engine.join()
        shutil.rmtree(directory, ignore_errors=True)
        print(f"ecm-mock serve: {problem}", file=sys.stderr)
        return 2
    os.environ[SETTINGS_ENV] = base64.b64encode(pickle.dumps(settings)).decode()
    os.environ[ENGINE_ENV] = address
    port = settings.port or _free_port(settings.host)
    server = Granian(
        "ecm_mock.workers:worker_app",
        factory=True,
        interface=Interfaces.WSGI,
        address=settings.host,
        port=port,
        workers=settings.workers,
        blocking_threads=settings.threads,
        log_access=False,  # ecm-mock logs each request itself
    )
    stopping = threading.Event()
    threading.Thread(target=_stop_with, args=(engine, stopping), daemon=True).start()
    announce(f"http://{settings.host}:{port}")
    try:
        server.serve()
    finally:
        stopping.set()
        engine.terminate()
        engine.join(10)
        shutil.rmtree(directory, ignore_errors=True)
    return 0 if engine.exitcode in (0, -signal.SIGTERM) else 1


def _engine_main(settings: Settings, address: str, ready: Connection) -> None:
    """The engine process: build the state, say so (or why not), serve until SIGTERM."""
    from .app import build_engine
    from .remote import EngineServer

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which stops us
    try:
        server = EngineServer(build_engine(settings), address)
    except Exception as error:  # FixtureError, ConfigurationError, ...: said by the parent
        ready.send(str(error))
        ready.close()
        return
    signal.signal(signal.SIGTERM, lambda *_: server.stop())
    ready.send(None)
    ready.close()
    server.serve_forever()


def _stop_with(engine: multiprocessing.process.BaseProcess, stopping: threading.Event) -> None:
    """If the engine dies, the server stops too (its workers could only answer 500s)."""
    engine.join()
    if stopping.is_set():
        return
    print(f"ecm-mock: the engine process stopped (exit code {engine.exitcode})", file=sys.stderr)
    with contextlib.suppress(ProcessLookupError):
        os.kill(os.getpid(), signal.SIGTERM)


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]
