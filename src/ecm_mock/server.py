"""``ecm-mock serve``: the mock in one process, on granian behind the asynchronous front.

The app and its state are built, and the port bound, before anything is served: bad settings
or fixtures, a busy port or an unknown host stop the command with one line. Then
:func:`~ecm_mock.serving.serve_forever` serves until Ctrl-C or SIGTERM.

Garbage collection is tuned for short pauses (see :func:`freeze`).
"""

from __future__ import annotations

import gc
import logging
import sys
import threading
import time
from collections.abc import Callable

from .settings import Settings

FULL_COLLECTION_SECONDS = 60  # a full collection at least this often...
PROMOTED = 200  # ...or sooner, once young collections have moved survivors up this often
QUIET_SECONDS = 0.05  # a full collection waits for this long without a request...
LONGEST_WAIT_SECONDS = 30  # ...but not longer than this
COLLECTOR_THREAD = "ecm-mock full collections"
NEVER = 2**31 - 1  # a generation threshold that is never reached

log = logging.getLogger("ecm_mock")
ACCESS_LOGGER = "ecm_mock.access"


def serve(settings: Settings, announce: Callable[[str], None]) -> int:
    """Serve until Ctrl-C or SIGTERM. Raises what :func:`create_app` raises on bad settings,
    and :class:`~ecm_mock.serving.AddressError`."""
    from .app import create_app
    from .serving import bind, raise_open_files_limit, serve_forever

    sock = bind(settings.host, settings.port)  # first: a busy port is said at once
    try:
        app = create_app(settings)
    except BaseException:
        sock.close()
        raise
    lines = LogLines()
    logging.basicConfig(level=logging.INFO, handlers=[lines.handler()])
    app.wsgi_app.access_line = lines.access  # type: ignore[attr-defined] - the Dispatcher's
    connections = raise_open_files_limit(settings.max_connections)
    if connections < settings.max_connections:
        log.warning(
            "the open-files limit allows %d connections at once, not %d (--max-connections)",
            connections,
            settings.max_connections,
        )
    try:
        serve_forever(
            app,
            sock,
            idle_timeout=settings.idle_timeout,
            max_connections=connections,
            announce=announce,
            ready=lambda front: freeze(front.activity),
        )
    finally:
        lines.flush()
    return 0


class LogLines:
    """The log of ``serve`` on stderr: a line per request, so cheap ones. Written a block at a
    time (at most FLUSH_SECONDS after a line; a thread flushes what a quiet moment leaves),
    with the time formatted once a second; access lines skip the logging machinery (a record,
    handlers, locks), the other records (warnings, errors) come through :meth:`handler`, in
    the same form."""

    FLUSH_SECONDS = 0.2

    def __init__(self) -> None:
        self._stream = open(sys.stderr.fileno(), "w", buffering=1 << 16, closefd=False)  # noqa: SIM115
        self._lock = threading.Lock()
        self._flushed = time.monotonic()
        self._second, self._stamp = -1, ""
        threading.Thread(target=self._now_and_then, name="ecm-mock log", daemon=True).start()

    def write(self, name: str, message: str, at: float | None = None) -> None:
        at = time.time() if at is None else at
        second = int(at)
        with self._lock:
            if second != self._second:
                self._second = second
                self._stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at))
            self._stream.write(f"{self._stamp},{int(at % 1 * 1000):03d} {name} {message}\n")
            if time.monotonic() - self._flushed >= self.FLUSH_SECONDS:
                self._flush()

    def access(self, message: str) -> None:
        self.write(ACCESS_LOGGER, message)

    def handler(self) -> logging.Handler:
        lines = self

        class ToLines(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                message = record.getMessage()
                if record.exc_info:
                    message += "\n" + logging.Formatter().formatException(record.exc_info)
                lines.write(record.name, message, record.created)

        return ToLines()

    def flush(self) -> None:
        with self._lock:
            self._flush()

    def _flush(self) -> None:
        self._flushed = time.monotonic()
        self._stream.flush()

    def _now_and_then(self) -> None:
        while True:
            time.sleep(self.FLUSH_SECONDS)
            self.flush()


def freeze(activity: Callable[[], int | None] | None = None) -> None:
    """Keep garbage collections short, for the slowest answers' sake.

    What exists after start-up (the app, the state: maybe a million contacts) is frozen out
    of the collector's sight. Young objects are collected as usual; full collections, which
    walk every object not frozen (60,000 saved attempts: 70 ms here), no longer follow
    allocation counts but run from a thread of their own when due (:func:`collection_due`),
    in a quiet moment (:func:`wait_for_lull`; ``activity``: the server's
    :meth:`~ecm_mock.serving.AsyncFront.activity`).
    """
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, NEVER)
    if not any(t.name == COLLECTOR_THREAD for t in threading.enumerate()):
        threading.Thread(
            target=_collect_now_and_then,
            args=(activity or (lambda: 0),),
            name=COLLECTOR_THREAD,
            daemon=True,
        ).start()


def _collect_now_and_then(activity: Callable[[], int | None]) -> None:
    last = time.monotonic()
    while True:
        time.sleep(1)
        if collection_due(time.monotonic() - last, gc.get_count()[2]):
            wait_for_lull(activity)
            gc.collect()
            last = time.monotonic()


def collection_due(seconds: float, promoted: int) -> bool:
    """Is a full collection due, ``seconds`` after the last one, with ``promoted`` young
    collections since (``gc.get_count()[2]``)? A burst of cyclic garbage (a request whose
    50,000 properties are refused: 30 of them) brings it forward; steady saves (2 per
    thousand) do not."""
    return seconds >= FULL_COLLECTION_SECONDS or promoted >= PROMOTED


def wait_for_lull(
    activity: Callable[[], int | None], sleep: Callable[[float], None] = time.sleep
) -> float:
    """Return once ``activity()`` (requests so far; None while one is answered) has stood
    still for ``QUIET_SECONDS``, or once ``LONGEST_WAIT_SECONDS`` have gone by; the seconds
    waited."""
    looks = 0
    while looks < LONGEST_WAIT_SECONDS / QUIET_SECONDS:
        before = activity()
        sleep(QUIET_SECONDS)
        looks += 1
        if before is not None and activity() == before:
            break
    return looks * QUIET_SECONDS
