"""What the mock serves about itself: its contracts, their docs pages, aliases and readiness."""

from __future__ import annotations

import re
import shutil

import pytest
import yaml

from ecm_mock import Settings, create_app, load_spec
from ecm_mock.docs import ALIASES, READINESS
from ecm_mock.spec import admin_spec_path

PROBLEM = "application/problem+json"
BASE = "http://mock.test:9000"  # the host a client reached the mock by


def served_paths(admin: bool = True) -> list[str]:
    paths = ["/openapi.json", "/openapi.yaml", "/docs", "/docs/", *ALIASES, *READINESS]
    if admin:
        paths += ["/__admin/openapi.json", "/__admin/openapi.yaml", "/__admin/docs"]
    return paths


def test_the_contract_is_the_spec_it_runs_with_servers_at_the_mock(client, spec):
    served = client.get("/openapi.json", base_url=BASE)
    assert served.status_code == 200
    assert served.mimetype == "application/json"
    assert served.json["servers"] == [{"url": BASE, "description": "this mock"}]
    assert {k: v for k, v in served.json.items() if k != "servers"} == {
        k: v for k, v in spec.document.items() if k != "servers"
    }
    as_yaml = client.get("/openapi.yaml", base_url=BASE)
    assert as_yaml.mimetype == "application/yaml"
    assert yaml.safe_load(as_yaml.text) == served.json
    # another host name or scheme: servers follow it
    other = client.get("/openapi.json", base_url="https://example.test")
    assert other.json["servers"][0]["url"] == "https://example.test"


def test_the_contract_served_is_the_one_of_spec_path(tmp_path, spec):
    copy = tmp_path / "ecm.yaml"
    shutil.copy(spec.path, copy)
    text = copy.read_text(encoding="utf-8")
    copy.write_text(text.replace('version: "13.3"', 'version: "13.3-local"', 1), encoding="utf-8")
    client = create_app(Settings(spec_path=copy)).test_client()
    assert client.get("/openapi.json").json["info"]["version"] == "13.3-local"
    assert client.get("/healthz").json["contract"] == "13.3-local"


def test_the_control_plane_contract_is_served_beside_it(client):
    admin_spec = load_spec(admin_spec_path(), ecm=False)
    served = client.get("/__admin/openapi.json", base_url=BASE).json
    assert served["servers"] == [{"url": BASE, "description": "this mock"}]
    assert served["paths"] == admin_spec.document["paths"]
    assert yaml.safe_load(client.get("/__admin/openapi.yaml").text)["paths"] == served["paths"]


@pytest.mark.parametrize(
    ("page", "contract"), [("/docs", "/openapi.json"), ("/__admin/docs", "/__admin/openapi.json")]
)
def test_a_docs_page_loads_its_contract_and_assets_from_the_mock(client, page, contract):
    html = client.get(page)
    assert html.status_code == 200
    assert html.mimetype == "text/html"
    assert f'url: "{contract}"' in html.text
    assert "validatorUrl: null" in html.text  # no call to the public validator
    assets = re.findall(r'(?:src|href)="([^"]+)"', html.text)
    assert len(assets) >= 4
    for asset in assets:
        assert asset.startswith(f"{page}/static/"), asset  # nothing from another host
        assert client.get(asset).status_code == 200, asset
    assert client.get(contract).status_code == 200


def test_usual_paths_lead_to_the_canonical_ones(client):
    for alias, target in ALIASES.items():
        response = client.get(alias)
        assert response.status_code == 302, alias
        assert response.location == target
        assert client.get(target).status_code == 200
    assert client.get("/swagger-ui?x=1").location == "/docs?x=1"
    assert client.get("/docs/").status_code == 200


def test_readiness_answers_without_credentials(client, spec):
    for path in READINESS:
        response = client.get(path)
        assert response.status_code == 200
        assert response.json["status"] == "ready"
        assert response.json["operations"] == len(spec.operations)
        assert response.json["admin"] is True
        assert client.head(path).status_code == 200


def test_no_admin_hides_the_control_plane_contract_but_not_the_rest():
    client = create_app(Settings(admin=False)).test_client()
    for path in ("/__admin/openapi.json", "/__admin/openapi.yaml", "/__admin/docs"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.mimetype == PROBLEM
    for path in served_paths(admin=False):
        assert client.get(path).status_code in (200, 302), path
    assert client.get("/healthz").json["admin"] is False


def test_the_control_plane_contract_needs_no_admin_token():
    client = create_app(Settings(admin_token="s3cret")).test_client()
    assert client.get("/__admin/openapi.json").status_code == 200
    assert client.get("/__admin/docs").status_code == 200
    assert client.get("/__admin/state").status_code == 401


def test_errors_on_served_paths_are_problems(client):
    missing = client.get("/docs/static/no-such-file.js")
    assert missing.status_code == 404
    assert missing.mimetype == PROBLEM
    wrong = client.post("/openapi.json")
    assert wrong.status_code == 405
    assert wrong.mimetype == PROBLEM
    assert "GET" in wrong.headers["Allow"]
    assert client.delete("/healthz").status_code == 405


def test_served_paths_are_neither_journaled_nor_faulted(client):
    for rule in (
        {"method": "GET", "status": 503},
        {"path": "/openapi.json", "status": 503},
        {"path": "/docs", "closeConnection": True},
    ):
        assert client.post("/__admin/faults", json=rule).status_code == 201
    for path in served_paths():
        assert client.get(path).status_code in (200, 302), path
    client.get("/docs/static/no-such-file.js")
    client.post("/openapi.json")
    client.put("/docs")
    assert client.get("/__admin/journal").json == []
    # an ECM request still is both
    assert client.get("/umm/ecm/campaign/list").status_code == 503
    (entry,) = client.get("/__admin/journal").json
    assert entry["path"] == "/umm/ecm/campaign/list"
    # and an unknown path outside the served ones is journaled as before
    client.get("/umm/ecm/nothing/here")
    assert client.get("/__admin/journal").json[-1]["status"] == 404
