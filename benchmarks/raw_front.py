"""benchmarks/raw_flask.py's app served as ecm-mock serves: granian's embedded server (RSGI)
behind ecm-mock's asynchronous front, one process. The ceiling "on the same server".

    python benchmarks/raw_front.py PORT
"""

from __future__ import annotations

import sys

from raw_flask import app

from ecm_mock.serving import bind, serve_forever

if __name__ == "__main__":
    serve_forever(
        app,
        bind("127.0.0.1", int(sys.argv[1])),
        idle_timeout=30,
        max_connections=16384,
        announce=lambda url: print(f"raw Flask listening on {url}", flush=True),
    )
