"""The raw Flask ceiling for benchmarks/bench.py: attempt save with no validation at all.

The same route as the mock's POST /umm/ecm/callStrategyAttempt/save, but it only parses the
JSON body, gives it an id and stores it in a dict: no spec, no token check, no business rules.
Each process has its own dict (under gunicorn every worker keeps its own attempts).

    gunicorn -w 2 -b 127.0.0.1:8000 --chdir benchmarks raw_flask:app
    waitress-serve --host 127.0.0.1 --port 8000 --threads 8 raw_flask:app   (from benchmarks/)
"""

from __future__ import annotations

import itertools
import threading

from flask import Flask, jsonify, request

app = Flask(__name__)
attempts: dict[int, dict] = {}
_ids = itertools.count(1)
_lock = threading.Lock()


@app.post("/umm/ecm/callStrategyAttempt/save")
def save_attempt():
    body = request.get_json()
    with _lock:
        attempt = {"id": next(_ids), **body}
        attempts[attempt["id"]] = attempt
    return jsonify(attempt)
