"""A deliberately broken ecm-mock: five kinds of drift, each in one operation.

The drift self-test runs the contract kit against it and expects each breakage reported
against the right operation, and nothing else.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs

from werkzeug.wrappers import Request, Response

# operationId -> (kind of drift, the check that must catch it)
BREAKAGES = {
    "listStrategies": ("wrong field type: id is a string", "response_schema_conformance"),
    "getCiscoCampaigns": ("undocumented status code 418", "status_code_conformance"),
    "saveDncContact": ("required field createdAt missing", "response_schema_conformance"),
    "listCampaigns": ("auth not enforced", "ignored_auth"),
    "deleteStrategy": ("delete that does not delete", None),  # any check, e.g. a scenario's
}


class BrokenMock:
    """WSGI middleware over a real mock app; ``token`` is a valid token of that app."""

    def __init__(self, app, token: str) -> None:
        self.app = app
        self.token = token

    def __call__(self, environ, start_response):
        request = Request(environ)
        path = request.path
        if path == "/umm/ecm/campaign/list":
            environ["HTTP_AUTHORIZATION"] = f"Bearer {self.token}"  # anyone may list
        if path == "/umm/ecm/callStrategy/delete" and request.method == "DELETE":
            ids = parse_qs(environ.get("QUERY_STRING", "")).get("id", ["0"])
            body = {"id": int(ids[0]) if ids[0].isdigit() else 1, "deleted": True}
            return Response(json.dumps(body), mimetype="application/json")(environ, start_response)
        response = Response.from_app(self.app, environ)
        if response.status_code == 200 and path == "/umm/ecm/callStrategy/list":
            data = [{**s, "id": str(s["id"])} for s in json.loads(response.get_data())]
            response.set_data(json.dumps(data))
        elif response.status_code == 200 and path == "/umm/ecm/campaign/fetchCiscoCampaigns":
            response.status_code = 418
        elif response.status_code == 200 and path == "/umm/ecm/dnc/save":
            data = json.loads(response.get_data())
            data.pop("createdAt", None)
            response.set_data(json.dumps(data))
        return response(environ, start_response)
