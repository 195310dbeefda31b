"""Fixtures and generated data: checked against the spec, seeded, resettable (issue 3)."""

from __future__ import annotations

import shutil

import pytest
import yaml

from ecm_mock import FixedClock, FixtureError, Settings, create_app, read_fixtures, services_of

from .conftest import ROOT, START


def dump(settings: Settings):
    # on one fixed clock: the dump says where each store's campaign runtime stands in time
    return services_of(create_app(settings, clock=FixedClock(START))).store.dump()


def test_the_default_fixtures_load_and_hold_what_the_readme_says():
    state = dump(Settings())
    assert set(state["users"]) == {"admin", "supervisor"}
    assert next(s["name"] for s in state["strategies"]) == "Default"
    default_attempts = [a for a in state["attempts"] if a["csId"] == 1]
    assert [a["channel"] for a in default_attempts] == [1]  # one SMS attempt
    assert len(state["campaigns"]) == 3
    assert len(state["contacts"]) == 5
    assert len(state["dnc"]) == 3
    assert state["cisco"]["cce"] and state["cisco"]["ccx"]


def test_same_seed_same_data_different_seed_different_data():
    first = dump(Settings(seed=7, fake_contacts=300, fake_dnc=20))
    second = dump(Settings(seed=7, fake_contacts=300, fake_dnc=20))
    other = dump(Settings(seed=8, fake_contacts=300, fake_dnc=20))
    assert first == second
    assert len(first["contacts"]) == 305
    assert len(first["dnc"]) == 23
    assert [c["id"] for c in first["contacts"]] == [c["id"] for c in other["contacts"]]
    assert first["contacts"] != other["contacts"]
    assert first["dnc"] != other["dnc"]


def test_generated_contacts_meet_the_contract_and_the_rules():
    app = create_app(Settings(seed=3, fake_contacts=200, fake_dnc=50))
    services = services_of(app)
    state = services.store.dump()
    dnc_numbers = {d["primaryNumber"] for d in state["dnc"]}
    for contact in state["contacts"]:
        assert services.validator.schema_errors("Contact", contact) == []
        assert contact["phone01"] not in dnc_numbers
    for record in state["dnc"]:
        assert services.validator.schema_errors("DncContact", record) == []
    client = app.test_client()
    token = client.post("/umm/api/login", json={"username": "admin", "password": "admin"}).json
    page = client.get(
        "/umm/ecm/campaignContact/list?campaignId=1&size=1000",
        headers={"Authorization": f"Bearer {token['token']}"},
    )
    assert page.status_code == 200  # the response validator accepted every generated contact
    assert page.json["totalElements"] == 3 + 67


def test_reset_goes_back_to_the_fixtures(client, store):
    before = store.dump()
    token = client.post("/umm/api/login", json={"username": "admin", "password": "admin"}).json
    headers = {"Authorization": f"Bearer {token['token']}"}
    saved = client.post("/umm/ecm/callStrategy/save", json={"name": "Temp"}, headers=headers)
    assert saved.status_code == 200
    assert store.dump() != before
    store.reset()
    assert store.dump() == before


def _copy_fixtures(tmp_path):
    target = tmp_path / "fixtures"
    shutil.copytree(ROOT / "fixtures", target)
    return target


@pytest.mark.parametrize(
    ("kind", "mutate", "message"),
    [
        (
            "campaigns",
            lambda d: d[0].update(name="no"),
            "campaigns: record 0 does not match Campaign",
        ),
        ("campaigns", lambda d: d[0].update(strategyId=42), "strategyId 42 is not among"),
        ("contacts", lambda d: d[0].update(phone01="call me"), "/phone01"),
        ("contacts", lambda d: d[1].update(id=1), "id 1 is used twice"),
        ("dnc", lambda d: d[0].pop("createdAt"), "'createdAt' is a required property"),
        ("strategies", lambda d: d[0].update(name="Standard"), "the Default strategy is missing"),
        ("strategies", lambda d: d[0]["attempts"][0].update(channel=3), "strategies[0].attempts"),
        ("cisco", lambda d: d["ccx"][0].update(type="AGENT"), "cisco.ccx: record 0"),
    ],
)
def test_a_bad_fixture_stops_the_start_with_a_clear_message(tmp_path, kind, mutate, message):
    directory = _copy_fixtures(tmp_path)
    path = directory / f"{kind}.yaml"
    document = yaml.safe_load(path.read_text())
    mutate(document)
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(FixtureError) as caught:
        create_app(Settings(fixtures=directory))
    assert message in str(caught.value)


def test_a_fixtures_directory_may_leave_kinds_out(tmp_path):
    directory = tmp_path / "few"
    directory.mkdir()
    shutil.copy(ROOT / "fixtures" / "strategies.yaml", directory)
    state = dump(Settings(fixtures=directory))
    assert state["campaigns"] == []
    assert state["users"] == {}


def test_missing_fixtures_directory(tmp_path):
    with pytest.raises(FixtureError, match="fixtures directory not found"):
        read_fixtures(tmp_path / "absent")


def test_a_fixture_of_the_wrong_shape_is_a_clear_error(tmp_path):
    directory = _copy_fixtures(tmp_path)
    (directory / "users.yaml").write_text("- just a string\n")
    with pytest.raises(FixtureError, match="a part has the wrong shape"):
        create_app(Settings(fixtures=directory))


def test_fixtures_with_an_attempt_number_used_twice_in_a_strategy_are_refused():
    document = read_fixtures(None)
    attempts = document["strategies"][1]["attempts"]
    attempts[1]["attemptNumber"] = attempts[0]["attemptNumber"]
    with pytest.raises(FixtureError, match="attemptNumber 1 is used twice in the strategy"):
        create_app(Settings(), fixtures=document)
