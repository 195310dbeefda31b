"""``ecm-mock serve``: the mock in one process, on granian behind the asynchronous front.

The app and its state are built, and the port bound, before anything is served: bad settings
or fixtures, a busy port or an unknown host stop the command with one line. Then
:func:`~ecm_mock.serving.serve_forever` serves until Ctrl-C or SIGTERM.

Garbage collection is tuned for short pauses (see :func:`freeze`).
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable

from .settings import Settings

FULL_COLLECTION_SECONDS = 60
COLLECTOR_THREAD = "ecm-mock full collections"
NEVER = 2**31 - 1  # a generation threshold that is never reached

log = logging.getLogger("ecm_mock")


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
    connections = raise_open_files_limit(settings.max_connections)
    if connections < settings.max_connections:
        log.warning(
            "the open-files limit allows %d connections at once, not %d (--max-connections)",
            connections,
            settings.max_connections,
        )
    freeze()
    serve_forever(
        app,
        sock,
        idle_timeout=settings.idle_timeout,
        max_connections=connections,
        announce=announce,
    )
    return 0


def freeze() -> None:
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
