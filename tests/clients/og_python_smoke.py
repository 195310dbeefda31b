"""Use the client openapi-generator's `python` generator made, against a live mock.

Run by tests/test_generated_clients.py with the generators' interpreter:

    PYTHONPATH=GENERATED python og_python_smoke.py BASE_URL

Logs in with POST (its HTTP layer sends no body with a GET, as browsers and proxies do not),
reads typed attempts, and prints the API methods it has and the phones it read, as JSON.
"""

from __future__ import annotations

import inspect
import json
import sys

import ecm_client

apis = [c for n, c in inspect.getmembers(ecm_client) if n.endswith("Api") and n != "ApiClient"]
helpers = ("_with_http_info", "_without_preload_content")
methods = [m for c in apis for m in vars(c) if not m.startswith("_") and not m.endswith(helpers)]

client = ecm_client.ApiClient(ecm_client.Configuration(host=sys.argv[1]))
credentials = ecm_client.LoginRequest(username="admin", password="admin")
login = ecm_client.AuthApi(client).login_user_post(credentials)
assert isinstance(login, ecm_client.LoginResponse), type(login)
client.default_headers["Authorization"] = f"Bearer {login.token}"
attempts = ecm_client.StrategiesApi(client).list_strategy_attempts(cs_id=2)
assert all(isinstance(a, ecm_client.Attempt) and isinstance(a.id, int) for a in attempts)
phones = [a.phone.actual_instance for a in attempts]
print(json.dumps({"methods": sorted(methods), "phones": phones}))
