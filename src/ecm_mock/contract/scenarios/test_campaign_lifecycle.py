"""A campaign from creation to deletion: paused at first, resumed, paused, changed, deleted."""

from __future__ import annotations

import pytest

from ._steps import agent_backing, create_campaign, create_strategy, listed_campaign

pytestmark = pytest.mark.suite("scenarios")


def _set_status(s, campaign_id: int, status: str) -> None:
    campaign = s.call(
        "setCampaignStatus",
        json={"id": campaign_id, "status": status},
        message=f"set status {status}",
    )
    s.equal("setCampaignStatus", campaign.get("status"), status, "status in the answer")
    s.equal(
        "setCampaignStatus", listed_campaign(s, campaign_id)["status"], status, "status in the list"
    )


@pytest.mark.parametrize("campaign_type", ["NONE", "AGENT"])
def test_campaign_lifecycle(scenario, prefix, campaign_type):
    s = scenario
    fields = {"campaignType": campaign_type}
    if campaign_type == "AGENT":
        cisco_id = agent_backing(s.call("getCiscoCampaigns", message="list Cisco campaigns"))
        if cisco_id is None:
            pytest.skip("no PREDICTIVE/PROGRESSIVE/PREVIEW Cisco campaign to back an AGENT one")
        fields["ciscoCampaignId"] = cisco_id
    other_strategy = create_strategy(s, f"{prefix} {campaign_type} lifecycle")

    campaign = create_campaign(s, f"{prefix}{campaign_type.title()}Life", **fields)
    cid = campaign["id"]
    s.equal("createCampaign", campaign.get("status"), "PAUSED", "a new campaign's status")
    s.equal("createCampaign", campaign.get("campaignType"), campaign_type, "campaignType")
    s.equal("listCampaigns", listed_campaign(s, cid)["name"], campaign["name"], "listed name")

    _set_status(s, cid, "ACTIVE")
    s.call(
        "updateCampaign",
        json={"id": cid, "strategyId": other_strategy["id"]},
        status=406,
        message="changing the strategy of an ACTIVE campaign",
    )
    s.equal(
        "updateCampaign",
        listed_campaign(s, cid)["strategyId"],
        campaign["strategyId"],
        "strategyId after a refused change",
    )
    _set_status(s, cid, "PAUSED")
    _set_status(s, cid, "PAUSED")  # idempotent

    updated = s.call(
        "updateCampaign",
        json={"id": cid, "description": f"{prefix} changed"},
        message="update the description",
    )
    s.equal("updateCampaign", updated.get("description"), f"{prefix} changed", "description")
    s.equal("updateCampaign", updated.get("name"), campaign["name"], "name after an update")
    moved = s.call(
        "updateCampaign",
        json={"id": cid, "strategyId": other_strategy["id"]},
        message="changing the strategy of a PAUSED campaign",
    )
    s.equal("updateCampaign", moved.get("strategyId"), other_strategy["id"], "strategyId")

    deleted = s.call("deleteCampaign", params={"id": cid}, message="delete the campaign")
    s.equal(
        "deleteCampaign",
        (deleted.get("id"), deleted.get("deleted")),
        (cid, True),
        "delete answer (id, deleted)",
    )
    listed_campaign(s, cid, listed=False, blame="deleteCampaign")
    s.call("deleteCampaign", params={"id": cid}, status=404, message="deleting it again")
