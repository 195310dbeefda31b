"""What every operation shares: routing from the spec, auth, the error shape, limits."""

from __future__ import annotations

import jwt
import pytest

from ecm_mock import ConfigurationError, Settings, create_app, load_spec, services_of
from ecm_mock.app import check_handlers
from ecm_mock.resources import all_handlers
from ecm_mock.spec import admin_spec_path

PROBLEM = "application/problem+json"


def secured_operations(spec):
    return [op for op in spec.operations.values() if op.secured]


def sample_request(op):
    """A request to the operation, valid enough to reach auth."""
    return {"method": op.method, "path": op.path, "json": {} if op.method != "GET" else None}


# ------------------------------------------------------------------- routing
def test_every_operation_is_routed_to_its_handler(app, spec):
    admin_spec = load_spec(admin_spec_path(), ecm=False)
    rules = {rule.endpoint: rule for rule in app.url_map.iter_rules() if "." not in rule.endpoint}
    rules.pop("static")  # the rest are blueprints' (tests/test_served.py)
    assert set(rules) == set(spec.operations) | set(admin_spec.operations)
    for op in [*spec.operations.values(), *admin_spec.operations.values()]:
        assert rules[op.operation_id].rule == op.path.replace("{", "<").replace("}", ">")
        assert op.method in rules[op.operation_id].methods


def test_handlers_and_operations_must_match_both_ways(spec):
    handlers = all_handlers()
    check_handlers(spec, handlers)  # the shipped set matches
    missing = {k: v for k, v in handlers.items() if k != "listCampaigns"}
    with pytest.raises(ConfigurationError, match="operations without a handler: listCampaigns"):
        check_handlers(spec, missing)
    extra = {**handlers, "archiveCampaign": handlers["listCampaigns"]}
    with pytest.raises(ConfigurationError, match=r"handlers without an operation.*archiveCampaign"):
        check_handlers(spec, extra)


def test_the_spec_is_loaded_once_for_many_apps():
    first, second = create_app(), create_app()
    assert services_of(first).spec is services_of(second).spec
    assert services_of(first).validator is services_of(second).validator
    assert services_of(first).store is not services_of(second).store


# ---------------------------------------------------------------------- auth
def test_login_answers_the_vendor_shape_with_a_real_jwt(client, clock):
    response = client.open(
        "/umm/api/login", method="GET", json={"username": "admin", "password": "admin"}
    )
    assert response.status_code == 200
    body = response.json
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 36000
    assert body["licensedTo"] == "KPMG"
    assert body["userDetails"]["username"] == "admin"
    assert body["userDetails"]["roles"][0]["name"] == "Administrator"
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    assert claims["sub"] == "admin"
    assert claims["exp"] == int(clock.now) + 36000


def test_login_as_a_post_is_an_operation_of_its_own(app, client, spec):
    """Browsers and proxies cannot send a GET with a body: POST is their form of login."""
    response = client.post(
        "/umm/api/login", json={"username": "supervisor", "password": "supervisor"}
    )
    assert response.status_code == 200
    assert response.json["userDetails"]["fullName"] == "Campaign Supervisor"
    post, get = spec.operation("loginUserPost"), spec.operation("loginUser")
    assert (post.method, post.path, post.provenance, post.title) == (
        "POST",
        get.path,
        "inferred",
        "Login",
    )
    assert (get.method, get.provenance) == ("GET", "documented")
    rules = {r.endpoint: r.methods for r in app.url_map.iter_rules()}
    assert "POST" not in rules["loginUser"] and "GET" not in rules["loginUserPost"]
    refused = client.put("/umm/api/login", json={"username": "admin", "password": "admin"})
    assert refused.status_code == 405
    assert set(refused.headers["Allow"].split(", ")) == {"GET", "HEAD", "POST"}


@pytest.mark.parametrize(
    ("body", "status", "pointer"),
    [
        ({"username": "admin", "password": "wrong"}, 401, "/body/password"),
        ({"username": "nobody", "password": "admin"}, 401, "/body/password"),
        ({"username": "admin"}, 400, "/body/password"),
        ({"username": "admin", "password": "admin", "role": "x"}, 400, "/body/role"),
    ],
)
def test_login_refuses_bad_credentials_and_bodies(client, store, body, status, pointer):
    before = store.dump()
    response = client.post("/umm/api/login", json=body)
    assert response.status_code == status
    assert response.mimetype == PROBLEM
    assert pointer in [e["pointer"] for e in response.json["errors"]]
    assert store.dump() == before


def _bad_tokens(app, token):
    secret_holder = services_of(app).tokens
    header, payload, signature = token.split(".")
    forged = jwt.encode({"sub": "admin", "typ": "access", "iat": 0, "exp": 4_000_000_000}, "x" * 32)
    refresh = secret_holder.issue("admin").refresh_token
    return {
        "missing": None,
        "not bearer": f"Basic {token}",
        "malformed": "Bearer not-a-jwt",
        "tampered": f"Bearer {header}.{payload}x.{signature}",
        "wrong key": f"Bearer {forged}",
        "refresh token": f"Bearer {refresh}",
    }


@pytest.mark.parametrize(
    "kind", ["missing", "not bearer", "malformed", "tampered", "wrong key", "refresh token"]
)
def test_every_ecm_operation_refuses_a_bad_token(app, client, token, spec, store, kind):
    header = _bad_tokens(app, token)[kind]
    before = store.dump()
    for op in secured_operations(spec):
        request = sample_request(op)
        headers = {"Authorization": header} if header else {}
        response = client.open(
            request["path"], method=request["method"], json=request["json"], headers=headers
        )
        assert response.status_code == 401, (op.operation_id, kind)
        assert response.mimetype == PROBLEM
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.json["errors"][0]["pointer"] == "/header/Authorization"
    assert store.dump() == before
    assert len(secured_operations(spec)) == 28


def test_a_token_expires_with_the_clock(client, auth, clock):
    assert client.get("/umm/ecm/campaign/list", headers=auth).status_code == 200
    clock.advance(36000 - 1)
    assert client.get("/umm/ecm/campaign/list", headers=auth).status_code == 200
    clock.advance(1)
    response = client.get("/umm/ecm/campaign/list", headers=auth)
    assert response.status_code == 401
    assert "expired" in response.json["detail"]


def test_a_token_from_another_app_is_refused(client, auth):
    other = create_app().test_client()
    assert other.get("/umm/ecm/campaign/list", headers=auth).status_code == 401


# ------------------------------------------------------------ error shape
def test_unknown_path_is_a_json_404(client):
    response = client.get("/umm/ecm/nothing/here")
    assert response.status_code == 404
    assert response.mimetype == PROBLEM
    assert response.json["title"] == "Not Found"
    assert response.json["status"] == 404


def test_wrong_method_is_a_405_with_allow(api):
    response = api("DELETE", "/umm/ecm/campaign/list")
    assert response.status_code == 405
    assert response.mimetype == PROBLEM
    assert "GET" in response.headers["Allow"]
    assert "DELETE" not in response.headers["Allow"]


def test_non_json_content_type_is_a_415(api, store):
    before = store.dump()
    response = api("POST", "/umm/ecm/callStrategy/save", data="name=x", content_type="text/plain")
    assert response.status_code == 415
    assert response.json["errors"][0]["pointer"] == "/header/Content-Type"
    assert store.dump() == before


def test_invalid_json_is_a_400(api, store):
    before = store.dump()
    response = api("POST", "/umm/ecm/callStrategy/save", data="{", content_type="application/json")
    assert response.status_code == 400
    assert response.mimetype == PROBLEM
    assert store.dump() == before


def test_a_body_over_the_limit_is_a_413(clock):
    client = create_app(Settings(max_body_bytes=2048), clock=clock).test_client()
    token = client.post("/umm/api/login", json={"username": "admin", "password": "admin"}).json
    rows = [{"phone01": f"+1555{i:07d}"} for i in range(200)]
    response = client.post(
        "/umm/ecm/campaignContact/bulkUpload",
        json={"campaignId": 1, "contacts": rows},
        headers={"Authorization": f"Bearer {token['token']}"},
    )
    assert response.status_code == 413
    assert response.mimetype == PROBLEM
    assert "2048" in response.json["detail"]


def test_errors_name_every_offending_field(api):
    response = api(
        "POST",
        "/umm/ecm/campaign/createCampaign",
        json={"name": "a b", "campaignType": "ROBOT", "startTime": "25:00", "colour": "red"},
    )
    assert response.status_code == 400
    pointers = sorted(e["pointer"] for e in response.json["errors"])
    assert pointers == [
        "/body/campaignType",
        "/body/colour",
        "/body/name",
        "/body/name",
        "/body/startTime",
    ]  # name: too short and not alphanumeric


# --------------------------------------------------------- empty query values
def _query_parameters(spec):
    for op in spec.operations.values():
        document = spec.operation_document(op.operation_id)
        for raw in document.get("parameters", []):
            parameter = spec.resolve(raw, "parameters")
            if parameter["in"] == "query":
                yield op.operation_id, parameter


def test_optional_query_parameters_allow_an_empty_value_and_required_ones_do_not(spec):
    """An empty value is taken as not sent (Spring's @RequestParam does the same): so the
    contract says so, and generators (schemathesis) do not expect ``?page=`` refused."""
    admin_spec = load_spec(admin_spec_path(), ecm=False)
    seen = 0
    for each in (spec, admin_spec):
        for op_id, parameter in _query_parameters(each):
            where = f"{op_id} {parameter['name']}"
            assert parameter.get("allowEmptyValue", False) is not parameter["required"], where
            seen += 1
    assert seen >= 15


@pytest.mark.parametrize(
    ("path", "same_as"),
    [
        ("/umm/ecm/dnc/list?page=&size=&search=", "/umm/ecm/dnc/list"),
        ("/umm/ecm/dnc/list?page=&size=1", "/umm/ecm/dnc/list?page=0&size=1"),
        (
            "/umm/ecm/campaignContact/list?campaignId=1&status=&page=",
            "/umm/ecm/campaignContact/list?campaignId=1",
        ),
    ],
)
def test_an_empty_optional_query_value_is_not_sent(api, path, same_as):
    response, expected = api("GET", path), api("GET", same_as)
    assert response.status_code == expected.status_code == 200
    assert response.json == expected.json


@pytest.mark.parametrize(
    ("method", "path", "pointer"),
    [
        ("DELETE", "/umm/ecm/dnc/delete?id=", "/query/id"),
        ("GET", "/umm/ecm/callStrategyAttempt/list?csId=", "/query/csId"),
        ("GET", "/umm/ecm/campaignContact/list?campaignId=&page=0", "/query/campaignId"),
    ],
)
def test_an_empty_required_query_value_is_missing(api, store, method, path, pointer):
    before = store.dump()
    response = api(method, path)
    assert response.status_code == 400
    assert response.mimetype == PROBLEM
    assert [e["pointer"] for e in response.json["errors"]] == [pointer]
    assert "missing" in response.json["errors"][0]["message"].lower()
    assert store.dump() == before


def test_a_response_that_breaks_the_contract_is_a_loud_500(app, api, store):
    with store.transaction() as state:
        state.campaigns[1]["status"] = "SLEEPING"  # corrupt the data behind the mock's back
    response = api("GET", "/umm/ecm/campaign/list")
    assert response.status_code == 500
    assert "broke the contract" in response.json["detail"]
    assert response.json["errors"][0]["pointer"].startswith("/response")


def test_warn_mode_sends_the_broken_response_and_logs_it(clock, caplog):
    app = create_app(Settings(response_validation="warn"), clock=clock)
    with services_of(app).store.transaction() as state:
        state.campaigns[1]["status"] = "SLEEPING"
    client = app.test_client()
    token = client.post("/umm/api/login", json={"username": "admin", "password": "admin"}).json
    response = client.get(
        "/umm/ecm/campaign/list", headers={"Authorization": f"Bearer {token['token']}"}
    )
    assert response.status_code == 200
    assert "broke the contract" in caplog.text


def test_an_unexpected_exception_is_a_json_500_without_a_traceback(app, api, monkeypatch):
    services = services_of(app)

    def explode(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(services.store, "transaction", explode)
    response = api("GET", "/umm/ecm/campaign/list")
    assert response.status_code == 500
    assert response.mimetype == PROBLEM
    assert "Traceback" not in response.get_data(as_text=True)
