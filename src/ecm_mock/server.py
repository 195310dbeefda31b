"""``ecm-mock serve``: the mock on granian, a production HTTP server written in Rust.

- ``--workers 1`` (the default): one process; the app and its state are built before the
  server starts, so bad settings or fixtures stop it with a message.
- ``--workers N``: one engine process builds the state and serves it over a private Unix
  socket (:mod:`ecm_mock.remote`); N HTTP worker processes run the usual Flask app
  (:func:`create_app`) with a :class:`~ecm_mock.remote.RemoteEngine`. Validation, JSON and the
  contract checks run in the workers in parallel, every stateful step in the one engine, so
  all workers see one state.

Garbage collection is tuned for short pauses (see :func:`_freeze`).
"""

from __future__ import annotations

import base64
import contextlib
import errno
import gc
import multiprocessing
import os
import pickle
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection

from flask import Flask

from .settings import Settings

SETTINGS_ENV = "ECM_MOCK_WORKER_SETTINGS"
ENGINE_ENV = "ECM_MOCK_ENGINE_ADDRESS"
WORKERS_KILL_TIMEOUT = 5  # seconds a worker may take to stop before it is killed
FULL_COLLECTION_SECONDS = 60
COLLECTOR_THREAD = "ecm-mock full collections"
NEVER = 2**31 - 1  # a generation threshold that is never reached


def worker_app() -> Flask:
    """The app of one HTTP worker process (granian's factory target)."""
    from .app import create_app
    from .remote import RemoteEngine

    settings = pickle.loads(base64.b64decode(os.environ[SETTINGS_ENV]))  # noqa: S301 - our parent
    address = os.environ.get(ENGINE_ENV)
    app = create_app(settings, engine=RemoteEngine(address) if address else None)
    if not address:  # the state is here: so is its campaign runtime
        from .serving import drive_runtime

        drive_runtime(app)
    _freeze()
    return app


class AddressError(Exception):
    """The mock cannot listen where it was asked to (a busy port, an unknown host)."""


def check_address(host: str, port: int) -> None:
    """Raise :class:`AddressError` unless ``host:port`` can be listened on now.

    The probe binds without ``SO_REUSEPORT``: granian's own sockets set it, and Linux lets two
    such sockets share a port, so a second mock would otherwise start on a busy port and
    share its connections with the first.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise AddressError(f"cannot listen on {host!r}: {exc.strerror}") from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise AddressError(
                    f"port {port} on {host} is already in use (by another ecm-mock or another "
                    "program); choose another with --port, or --port 0 for any free one"
                ) from None
            raise AddressError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def serve(settings: Settings, announce: Callable[[str], None]) -> int:
    """Serve until Ctrl-C or SIGTERM. Raises what :func:`create_app` raises on bad settings
    (one process), and :class:`AddressError`; returns 2 if the engine process cannot start."""
    if settings.port:
        check_address(settings.host, settings.port)
    if settings.workers == 1:
        return _serve_one(settings, announce)
    return _serve_many(settings, announce)


def _serve_one(settings: Settings, announce: Callable[[str], None]) -> int:
    _check_and_warm(settings)
    os.environ[SETTINGS_ENV] = base64.b64encode(pickle.dumps(settings)).decode()
    os.environ.pop(ENGINE_ENV, None)
    server = _granian(settings, port := settings.port or _free_port(settings.host))
    _announce_when_listening(settings.host, port, announce)
    server.serve()
    return 0


def _serve_many(settings: Settings, announce: Callable[[str], None]) -> int:
    from .remote import private_socket_path

    _check_and_warm(settings)
    directory = tempfile.mkdtemp(prefix="ecm-mock-")
    address = private_socket_path(directory)
    context = multiprocessing.get_context("fork" if _forks() else "spawn")
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
    finally:
        receive.close()
    if problem is not None:
        engine.join()
        shutil.rmtree(directory, ignore_errors=True)
        print(f"ecm-mock serve: {problem}", file=sys.stderr)
        return 2
    os.environ[SETTINGS_ENV] = base64.b64encode(pickle.dumps(settings)).decode()
    os.environ[ENGINE_ENV] = address
    port = settings.port or _free_port(settings.host)
    server = _granian(settings, port)
    stopping = threading.Event()
    threading.Thread(target=_stop_with, args=(engine, stopping), daemon=True).start()
    _announce_when_listening(settings.host, port, announce)
    try:
        server.serve()
    finally:
        stopping.set()
        engine.terminate()
        engine.join(WORKERS_KILL_TIMEOUT)
        if engine.exitcode is None:  # busy past the grace period (a large bulk upload)
            engine.kill()
            engine.join()
        shutil.rmtree(directory, ignore_errors=True)
    return 0 if engine.exitcode in (0, -signal.SIGTERM) else 1


def _check_and_warm(settings: Settings) -> None:
    """Build an app here first, without fake data: bad settings, spec or fixtures stop the
    command with a message before any process starts, and the loaded specs and compiled
    validators are inherited by the processes forked next. Those build the real state, so it
    is not kept twice."""
    from .app import create_app

    create_app(settings.replace(fake_contacts=0, fake_dnc=0))


def _granian(settings: Settings, port: int):
    from granian import Granian
    from granian.constants import Interfaces

    return Granian(
        f"{__name__}:worker_app",
        factory=True,
        interface=Interfaces.WSGI,
        address=settings.host,
        port=port,
        workers=settings.workers,
        blocking_threads=settings.threads,
        log_access=False,  # ecm-mock logs each request itself
        workers_kill_timeout=WORKERS_KILL_TIMEOUT,
    )


def _announce_when_listening(host: str, port: int, announce: Callable[[str], None]) -> None:
    """Say where the mock listens once it does (the server binds in its worker process)."""
    from .serving import wait_for_port

    def wait_then_announce() -> None:
        try:
            wait_for_port(host, port, timeout=60)
        except TimeoutError:
            print(f"ecm-mock: nothing listens on {host}:{port} after 60 s", file=sys.stderr)
            return
        announce(f"http://{host}:{port}")

    threading.Thread(target=wait_then_announce, name="ecm-mock announce", daemon=True).start()


def _forks() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def _freeze() -> None:
    """Keep garbage collections short, for the slowest answers' sake.

    What exists after start-up (the app, the state: maybe a million contacts) is frozen out
    of the collector's sight. Young objects are collected as usual; full collections, which
    walk every object not frozen (60,000 saved attempts: 15 ms), no longer follow allocation
    counts but run once every ``FULL_COLLECTION_SECONDS`` from a thread of their own.
    """
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, NEVER)
    if not any(t.name == COLLECTOR_THREAD for t in threading.enumerate()):
        threading.Thread(target=_collect_now_and_then, name=COLLECTOR_THREAD, daemon=True).start()


def _collect_now_and_then() -> None:
    while True:
        time.sleep(FULL_COLLECTION_SECONDS)
        gc.collect()


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
    _freeze()
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
