"""Campaigns: create (two ways), update, status, list, delete, Cisco campaigns (issue 3)."""

from __future__ import annotations

import pytest

from ecm_mock import Settings, create_app

CREATE = "/umm/ecm/campaign/createCampaign"
BY_SKILL_GROUP = "/umm/ecm/campaign/createCampaignBySkillGroup"
UPDATE = "/umm/ecm/campaign/update"
STATUS = "/umm/ecm/campaign/status"
LIST = "/umm/ecm/campaign/list"
DELETE = "/umm/ecm/campaign/delete"


def refused(api, store, method, path, status, pointer, **kwargs):
    """Send a request that must be refused; check status, pointer, and that nothing changed."""
    before = store.dump()
    response = api(method, path, **kwargs)
    assert response.status_code == status, response.json
    assert response.mimetype == "application/problem+json"
    assert pointer in [e["pointer"] for e in response.json["errors"]], response.json
    assert store.dump() == before
    return response


def test_create_starts_paused_with_the_spec_defaults(api):
    response = api("POST", CREATE, json={"name": "Winter2026"})
    assert response.status_code == 201
    campaign = response.json
    assert campaign["status"] == "PAUSED"
    assert campaign["campaignType"] == "NONE"
    assert campaign["strategyId"] == 1  # the Default strategy
    assert (campaign["startTime"], campaign["endTime"]) == ("09:00", "17:00")
    assert campaign["daysOfWeek"] == ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"]
    assert campaign["id"] == 4
    listed = api("GET", LIST).json
    assert listed[-1] == campaign
    assert [c["id"] for c in listed] == [1, 2, 3, 4]


def test_create_agent_and_ivr_campaigns(api):
    agent = api(
        "POST",
        CREATE,
        json={
            "name": "Agents1",
            "campaignType": "AGENT",
            "ciscoCampaignId": 5002,
            "formId": 7,
            "strategyId": 2,
        },
    )
    assert agent.status_code == 201
    assert agent.json["formId"] == 7
    ivr = api(
        "POST",
        CREATE,
        json={
            "name": "Ivr1",
            "campaignType": "IVR",
            "ciscoCampaignId": 5003,
            "ivrPrompts": {"hello": "Hi"},
            "crmCampaignId": "CRM-IVR-1",
        },
    )
    assert ivr.status_code == 201
    assert ivr.json["ivrPrompts"] == {"hello": "Hi"}


@pytest.mark.parametrize(
    ("body", "status", "pointer"),
    [
        ({"name": "abc"}, 400, "/body/name"),  # not longer than 3 characters
        ({"name": "has space"}, 400, "/body/name"),
        ({"name": "Spring2026"}, 406, "/body/name"),  # taken
        ({"name": "spring2026"}, 406, "/body/name"),  # names are unique regardless of case
        ({"name": "Fresh1", "crmCampaignId": "CRM-SPRING-2026"}, 406, "/body/crmCampaignId"),
        ({"name": "Fresh1", "campaignType": "AGENT"}, 406, "/body/ciscoCampaignId"),
        (
            {"name": "Fresh1", "campaignType": "AGENT", "ciscoCampaignId": 9999},
            404,
            "/body/ciscoCampaignId",
        ),
        (
            {"name": "Fresh1", "campaignType": "AGENT", "ciscoCampaignId": 5003},
            406,
            "/body/ciscoCampaignId",
        ),  # an IVR Cisco campaign cannot back an agent campaign
        (
            {"name": "Fresh1", "campaignType": "IVR", "ciscoCampaignId": 5001},
            406,
            "/body/ciscoCampaignId",
        ),
        ({"name": "Fresh1", "strategyId": 99}, 404, "/body/strategyId"),
        ({"name": "Fresh1", "startTime": "18:00", "endTime": "09:00"}, 406, "/body/endTime"),
        ({"name": "Fresh1", "ivrPrompts": {"a": "b"}}, 406, "/body/ivrPrompts"),
        ({"name": "Fresh1", "formId": 3}, 406, "/body/formId"),
        ({"name": "Fresh1", "status": "ACTIVE"}, 400, "/body/status"),  # not settable here
        ({"name": "Fresh1", "daysOfWeek": ["FUNDAY"]}, 400, "/body/daysOfWeek/0"),
    ],
)
def test_create_refuses_what_the_rules_forbid(api, store, body, status, pointer):
    refused(api, store, "POST", CREATE, status, pointer, json=body)


def test_create_by_skill_group_on_cce(api):
    response = api(
        "POST", BY_SKILL_GROUP, json={"name": "Collect1", "skillGroupName": "Collections"}
    )
    assert response.status_code == 201
    assert response.json["campaignType"] == "AGENT"
    assert response.json["ciscoCampaignId"] == 5002
    assert "skillGroupName" not in response.json


def test_create_by_skill_group_refusals(api, store):
    refused(
        api,
        store,
        "POST",
        BY_SKILL_GROUP,
        404,
        "/body/skillGroupName",
        json={"name": "Nobody1", "skillGroupName": "Nobody"},
    )
    refused(
        api,
        store,
        "POST",
        BY_SKILL_GROUP,
        400,
        "/body/campaignType",
        json={"name": "Typed1", "skillGroupName": "Sales", "campaignType": "AGENT"},
    )


def _ccx_api(clock):
    client = create_app(Settings(cisco="ccx"), clock=clock).test_client()
    token = client.post("/umm/api/login", json={"username": "admin", "password": "admin"}).json
    headers = {"Authorization": f"Bearer {token['token']}"}
    return lambda method, path, **kw: client.open(path, method=method, headers=headers, **kw)


def test_cisco_campaigns_come_in_the_configured_flavour(api, clock):
    cce = api("GET", "/umm/ecm/campaign/fetchCiscoCampaigns").json
    assert {"campaignId", "campaignName", "campaignType", "skillGroups", "enabled"} == set(cce[0])
    ccx = _ccx_api(clock)("GET", "/umm/ecm/campaign/fetchCiscoCampaigns").json
    assert {"id", "name", "type", "enabled"} == set(ccx[0])
    assert [c["type"] for c in ccx] == ["PREDICTIVE", "PROGRESSIVE", "IVR"]


def test_ccx_deployment_refuses_create_by_skill_group(clock):
    api = _ccx_api(clock)
    response = api("POST", BY_SKILL_GROUP, json={"name": "Sales2", "skillGroupName": "Sales"})
    assert response.status_code == 406
    assert response.json["errors"][0]["pointer"] == "/body/skillGroupName"
    # on CCX, PREDICTIVE and PROGRESSIVE back AGENT campaigns
    ok = api(
        "POST", CREATE, json={"name": "Ccx1", "campaignType": "AGENT", "ciscoCampaignId": 5002}
    )
    assert ok.status_code == 201


def test_update_changes_fields_and_keeps_the_rest(api, clock):
    clock.advance(60)
    response = api("PUT", UPDATE, json={"id": 1, "description": "New words", "endTime": "16:30"})
    assert response.status_code == 200
    campaign = response.json
    assert campaign["description"] == "New words"
    assert campaign["endTime"] == "16:30"
    assert campaign["name"] == "Spring2026"
    assert campaign["updatedAt"] != campaign["createdAt"]
    assert api("GET", LIST).json[0] == campaign


def test_update_same_type_is_fine_other_type_is_not(api, store):
    assert api("PUT", UPDATE, json={"id": 1, "campaignType": "AGENT"}).status_code == 200
    refused(
        api, store, "PUT", UPDATE, 406, "/body/campaignType", json={"id": 1, "campaignType": "IVR"}
    )


def test_strategy_changes_only_while_paused(api, store):
    assert api("PUT", STATUS, json={"id": 2, "status": "ACTIVE"}).status_code == 200
    refused(api, store, "PUT", UPDATE, 406, "/body/strategyId", json={"id": 2, "strategyId": 1})
    assert api("PUT", STATUS, json={"id": 2, "status": "PAUSED"}).status_code == 200
    response = api("PUT", UPDATE, json={"id": 2, "strategyId": 1})
    assert response.status_code == 200
    assert response.json["strategyId"] == 1


@pytest.mark.parametrize(
    ("body", "status", "pointer"),
    [
        ({"id": 99, "description": "x"}, 404, "/body/id"),
        ({"id": 1, "name": "SurveyIvr"}, 406, "/body/name"),
        ({"id": 1, "startTime": "18:00"}, 406, "/body/endTime"),
        ({"id": 1, "ciscoCampaignId": 5003}, 406, "/body/ciscoCampaignId"),
        ({"description": "no id"}, 400, "/body/id"),
        ({"id": 1, "createdAt": "2020-01-01T00:00:00Z"}, 400, "/body/createdAt"),
    ],
)
def test_update_refusals(api, store, body, status, pointer):
    refused(api, store, "PUT", UPDATE, status, pointer, json=body)


def test_status_pause_resume_is_idempotent(api, clock):
    first = api("PUT", STATUS, json={"id": 1, "status": "ACTIVE"}).json
    assert first["status"] == "ACTIVE"
    clock.advance(5)
    again = api("PUT", STATUS, json={"id": 1, "status": "ACTIVE"}).json
    assert again == first  # nothing changed, not even updatedAt
    assert api("PUT", STATUS, json={"id": 1, "status": "PAUSED"}).json["status"] == "PAUSED"


def test_status_refusals(api, store):
    refused(api, store, "PUT", STATUS, 404, "/body/id", json={"id": 42, "status": "ACTIVE"})
    refused(api, store, "PUT", STATUS, 400, "/body/status", json={"id": 1, "status": "RUNNING"})


def test_delete_by_id_deletes_the_contacts(api, store):
    response = api("DELETE", f"{DELETE}?id=1")
    assert response.status_code == 200
    assert response.json == {"id": 1, "deleted": True, "contactsDeleted": 3}
    assert [c["id"] for c in api("GET", LIST).json] == [2, 3]
    dump = store.dump()
    assert all(c["campaignId"] != 1 for c in dump["contacts"])
    listing = api("GET", "/umm/ecm/campaignContact/list?campaignId=1")
    assert listing.status_code == 404


def test_delete_by_crm_campaign_id(api):
    response = api("DELETE", f"{DELETE}?crmCampaignId=CRM-SPRING-2026")
    assert response.status_code == 200
    assert response.json["id"] == 1
    assert api("DELETE", f"{DELETE}?id=1").status_code == 404


@pytest.mark.parametrize(
    ("query", "status", "pointer"),
    [
        ("", 400, "/query/id"),
        ("?id=1&crmCampaignId=CRM-SPRING-2026", 400, "/query/crmCampaignId"),
        ("?id=77", 404, "/query/id"),
        ("?crmCampaignId=NOPE", 404, "/query/crmCampaignId"),
        ("?id=abc", 400, "/query/id"),
        ("?id=0", 400, "/query/id"),
    ],
)
def test_delete_refusals(api, store, query, status, pointer):
    refused(api, store, "DELETE", f"{DELETE}{query}", status, pointer)


def test_a_name_is_free_again_after_delete(api):
    assert api("DELETE", f"{DELETE}?id=3").status_code == 200
    assert api("POST", CREATE, json={"name": "SmsReminders"}).status_code == 201
