"""CORS: preflights for every path of both specs, and the origin headers on every answer."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from ecm_mock import Settings, create_app, load_spec
from ecm_mock.spec import admin_spec_path

APP = "http://localhost:5173"  # a browser app's origin
PROBLEM = "application/problem+json"
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")
SENT_HEADERS = {"authorization", "content-type", "x-mock-session", "x-admin-token"}


def paths_and_methods() -> dict[str, set[str]]:
    """Every path of the ECM and admin specs, with the methods the mock takes there."""
    paths: dict[str, set[str]] = {}
    for spec in (load_spec(), load_spec(admin_spec_path(), ecm=False)):
        for op in spec.operations.values():
            methods = paths.setdefault(re.sub(r"\{\w+\}", "1", op.path), set())
            methods.add(op.method)
    for methods in paths.values():
        if "GET" in methods:
            methods.add("HEAD")
    return paths


PATHS = paths_and_methods()


def preflight(client, path, method, origin=APP, headers="authorization, content-type"):
    return client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": headers,
        },
    )


def header_set(response, name):
    return {v.strip().lower() for v in response.headers.get(name, "").split(",") if v.strip()}


@pytest.mark.parametrize("path", sorted(PATHS))
def test_a_preflight_gets_the_methods_the_path_allows(client, path):
    allowed = PATHS[path]
    for method in METHODS:
        response = preflight(client, path, method)
        assert response.headers["Access-Control-Allow-Origin"] == APP
        assert "Origin" in response.headers["Vary"]
        if method in allowed:
            assert response.status_code == 204, (path, method)
            assert header_set(response, "Access-Control-Allow-Methods") == {
                m.lower() for m in allowed
            }
            assert header_set(response, "Access-Control-Allow-Headers") == SENT_HEADERS
            assert int(response.headers["Access-Control-Max-Age"]) > 0
        else:  # refused: a problem without the allow headers; the browser blocks the call
            assert response.status_code == 403, (path, method)
            assert response.mimetype == PROBLEM
            assert "Access-Control-Allow-Methods" not in response.headers
            assert {m.strip() for m in response.headers["Allow"].split(",")} == allowed
            assert response.json["errors"][0]["pointer"] == "/header/Access-Control-Request-Method"


def test_a_preflight_is_no_ecm_request(client):
    # no credentials needed, no fault applies, nothing journaled
    client.post("/__admin/faults", json={"path": "/umm/ecm/campaign/list", "status": 503})
    client.post("/__admin/faults", json={"method": "POST", "status": 500})
    assert preflight(client, "/umm/ecm/campaign/list", "GET").status_code == 204
    assert preflight(client, "/umm/ecm/callStrategy/save", "POST").status_code == 204
    assert preflight(client, "/umm/ecm/callStrategy/save", "GET").status_code == 403
    assert preflight(client, "/umm/ecm/nothing/here", "GET").status_code == 404
    assert client.get("/__admin/journal").json == []


def test_a_preflight_to_an_unknown_path_is_a_404_problem(client):
    response = preflight(client, "/umm/ecm/nothing/here", "GET")
    assert response.status_code == 404
    assert response.mimetype == PROBLEM
    assert "Access-Control-Allow-Methods" not in response.headers


def test_only_the_configured_origins_are_allowed():
    client = create_app(Settings(cors_origins=f"{APP}, https://app.example.test/")).test_client()
    for origin in (APP, "https://app.example.test"):
        response = preflight(client, "/umm/api/login", "POST", origin)
        assert response.status_code == 204
        assert response.headers["Access-Control-Allow-Origin"] == origin
    refused = preflight(client, "/umm/api/login", "POST", "http://evil.test")
    assert refused.status_code == 403
    assert refused.mimetype == PROBLEM
    assert "Access-Control-Allow-Origin" not in refused.headers
    assert refused.json["errors"][0]["pointer"] == "/header/Origin"
    answer = client.post(
        "/umm/api/login",
        json={"username": "admin", "password": "admin"},
        headers={"Origin": "http://evil.test"},
    )
    assert answer.status_code == 200  # answered (CORS is the browser's to enforce)
    assert "Access-Control-Allow-Origin" not in answer.headers
    assert "Origin" in answer.headers["Vary"]


@pytest.mark.parametrize("setting", ["none", "", " NONE "])
def test_cors_can_be_switched_off(setting):
    client = create_app(Settings(cors_origins=setting)).test_client()
    response = preflight(client, "/umm/ecm/campaign/list", "GET")
    assert response.status_code == 405  # an OPTIONS the spec does not declare, as without CORS
    assert "Access-Control-Allow-Origin" not in response.headers
    answer = client.get("/openapi.json", headers={"Origin": APP})
    assert "Access-Control-Allow-Origin" not in answer.headers


def test_cors_origins_setting_and_its_variable():
    assert Settings().cors_origin_list == ("*",)
    env = {"ECM_MOCK_CORS_ORIGINS": "http://a.test:8000, HTTP://B.test/"}
    assert Settings.from_env(env).cors_origin_list == ("http://a.test:8000", "http://b.test")
    assert Settings.from_env({"ECM_MOCK_CORS_ORIGINS": "none"}).cors_origin_list == ()
    for bad in ("localhost:5173", "http://a.test/app", "http://", "*.example.test"):
        with pytest.raises(ValueError, match="cors_origins"):
            Settings(cors_origins=bad)


def test_serve_refuses_a_bad_origin_with_a_message():
    ecm_mock = str(Path(sys.executable).parent / "ecm-mock")
    result = subprocess.run(
        [ecm_mock, "serve", "--port", "0", "--cors-origins", "localhost:5173"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "cors_origins: 'localhost:5173' is not an origin" in result.stderr


def test_every_ecm_operation_answers_with_the_origin_headers(client, spec):
    for op in spec.operations.values():
        response = client.open(
            re.sub(r"\{\w+\}", "1", op.path), method=op.method, headers={"Origin": APP}
        )
        assert response.headers.get("Access-Control-Allow-Origin") == APP, op.operation_id
        assert "Origin" in response.headers["Vary"]
        exposed = header_set(response, "Access-Control-Expose-Headers")
        assert {"www-authenticate", "allow"} <= exposed


def test_errors_carry_the_origin_headers_too(client, auth):
    origin = {"Origin": APP}
    big = create_app(Settings(max_body_bytes=1000)).test_client()
    answers = {
        "401": client.get("/umm/ecm/campaign/list", headers=origin),
        "400": client.post(
            "/umm/ecm/callStrategy/save", json={"name": ""}, headers={**auth, **origin}
        ),
        "404": client.get("/umm/ecm/nothing/here", headers=origin),
        "405": client.delete("/umm/ecm/campaign/list", headers={**auth, **origin}),
        "413": big.post("/umm/api/login", data="x" * 2000, headers=origin),
        "404 admin": client.get("/__admin/nothing", headers=origin),
    }
    client.post("/__admin/faults", json={"operationId": "listCampaigns", "status": 500})
    answers["500"] = client.get("/umm/ecm/campaign/list", headers={**auth, **origin})
    for status, response in answers.items():
        assert response.status_code == int(status[:3]), status
        assert response.mimetype == PROBLEM
        assert response.headers["Access-Control-Allow-Origin"] == APP, status
    assert "www-authenticate" in header_set(answers["401"], "Access-Control-Expose-Headers")
    assert answers["405"].headers["Allow"]


def test_served_pages_and_the_control_plane_carry_the_origin_headers(client):
    for path in ("/openapi.json", "/docs", "/healthz", "/__admin/clock", "/__admin/openapi.json"):
        response = client.get(path, headers={"Origin": APP})
        assert response.status_code == 200, path
        assert response.headers["Access-Control-Allow-Origin"] == APP, path
