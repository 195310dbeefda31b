"""Campaigns and the Cisco campaigns behind them."""

from __future__ import annotations

from typing import Any

from ..errors import ApiError, ErrorItem, not_acceptable, not_found
from ..state import Record, State, cisco_id_and_type, copy_json
from ._base import Call, HandlerSet, same_name

handlers = HandlerSet()

DEFAULT_STRATEGY = "Default"
# Which Cisco dialing modes can back which ECM campaign type.
BACKING_TYPES = {"AGENT": {"PREDICTIVE", "PROGRESSIVE", "PREVIEW"}, "IVR": {"IVR"}}


def default_strategy_id(state: State) -> int:
    for strategy in state.strategies.values():
        if strategy["name"] == DEFAULT_STRATEGY:
            return strategy["id"]
    raise ApiError(500, "the Default strategy is missing from the data set")


@handlers.operation("getCiscoCampaigns")
def get_cisco_campaigns(call: Call) -> list:
    with call.store.transaction() as state:
        return copy_json(state.cisco[call.services.settings.cisco])


@handlers.operation("listCampaigns")
def list_campaigns(call: Call) -> list:
    with call.store.transaction() as state:
        return [copy_json(c) for _, c in sorted(state.campaigns.items())]


@handlers.operation("createCampaign")
def create_campaign(call: Call) -> Record:
    body = call.with_defaults("CampaignCreate", call.body)
    with call.store.transaction() as state:
        return _insert(call, state, body)


@handlers.operation("createCampaignBySkillGroup")
def create_campaign_by_skill_group(call: Call) -> Record:
    body = call.with_defaults("CampaignBySkillGroupCreate", call.body)
    flavour = call.services.settings.cisco
    if flavour != "cce":
        raise not_acceptable(
            "/body/skillGroupName", "skill groups exist only on a CCE deployment; this one is CCX"
        )
    group = body.pop("skillGroupName")
    with call.store.transaction() as state:
        backing = [c for c in state.cisco["cce"] if group in c.get("skillGroups", ())]
        if not backing:
            raise not_found("a Cisco campaign using skill group", "/body/skillGroupName", group)
        agent = [c for c in backing if c["campaignType"] in BACKING_TYPES["AGENT"]]
        chosen = (agent or backing)[0]
        body.update(campaignType="AGENT", ciscoCampaignId=chosen["campaignId"])
        return _insert(call, state, body)


def _insert(call: Call, state: State, body: dict[str, Any]) -> Record:
    fields = {"strategyId": default_strategy_id(state), **body}
    _check(call, state, fields, None)
    now = call.services.clock.iso()
    record = {
        "id": state.next_id("campaign"),
        **fields,
        "status": "PAUSED",
        "createdAt": now,
        "updatedAt": now,
    }
    state.campaigns[record["id"]] = record
    state.contacts_by_campaign[record["id"]] = []
    return copy_json(record)


@handlers.operation("updateCampaign")
def update_campaign(call: Call) -> Record:
    changes = dict(call.body)
    campaign_id = changes.pop("id")
    with call.store.transaction() as state:
        current = _get(state, campaign_id, "/body/id")
        if "campaignType" in changes and changes["campaignType"] != current["campaignType"]:
            raise not_acceptable("/body/campaignType", "a campaign's type never changes")
        if (
            "strategyId" in changes
            and changes["strategyId"] != current["strategyId"]
            and current["status"] == "ACTIVE"
        ):
            raise not_acceptable(
                "/body/strategyId", "the strategy can be changed only while the campaign is paused"
            )
        merged = {**current, **changes}
        _check(call, state, merged, campaign_id)
        if merged != current:
            merged["updatedAt"] = call.services.clock.iso()
        state.campaigns[campaign_id] = merged
        return copy_json(merged)


@handlers.operation("setCampaignStatus")
def set_campaign_status(call: Call) -> Record:
    with call.store.transaction() as state:
        campaign = _get(state, call.body["id"], "/body/id")
        if campaign["status"] != call.body["status"]:
            campaign = {
                **campaign,
                "status": call.body["status"],
                "updatedAt": call.services.clock.iso(),
            }
            state.campaigns[campaign["id"]] = campaign
        return copy_json(campaign)


@handlers.operation("deleteCampaign")
def delete_campaign(call: Call) -> Record:
    given = [k for k in ("id", "crmCampaignId") if k in call.query]
    if len(given) != 1:
        message = "give exactly one of id and crmCampaignId" + (
            "" if given else " (neither was given)"
        )
        raise ApiError(
            400,
            message,
            [
                ErrorItem("query", f"/query/{k}", message)
                for k in (given or ["id", "crmCampaignId"])
            ],
        )
    with call.store.transaction() as state:
        if given == ["id"]:
            campaign = _get(state, call.query["id"], "/query/id", "query")
        else:
            crm = call.query["crmCampaignId"]
            campaign = next(
                (c for c in state.campaigns.values() if c.get("crmCampaignId") == crm), None
            )
            if campaign is None:
                raise not_found("campaign with crmCampaignId", "/query/crmCampaignId", crm, "query")
        contact_ids = state.contacts_by_campaign.pop(campaign["id"], [])
        for contact_id in contact_ids:
            del state.contacts[contact_id]
        state.open_phones.pop(campaign["id"], None)
        del state.campaigns[campaign["id"]]
        return {"id": campaign["id"], "deleted": True, "contactsDeleted": len(contact_ids)}


def _get(state: State, campaign_id: int, pointer: str, location: str = "body") -> Record:
    campaign = state.campaigns.get(campaign_id)
    if campaign is None:
        raise not_found("campaign", pointer, campaign_id, location)
    return campaign


def find_campaign(state: State, body: dict[str, Any]) -> Record:
    """The campaign a contact request names, by ``campaignId`` or ``crmCampaignId``."""
    if "campaignId" in body:
        return _get(state, body["campaignId"], "/body/campaignId")
    crm = body["crmCampaignId"]
    for campaign in state.campaigns.values():
        if campaign.get("crmCampaignId") == crm:
            return campaign
    raise not_found("campaign with crmCampaignId", "/body/crmCampaignId", crm)


def _check(call: Call, state: State, campaign: Record, own_id: int | None) -> None:
    """The rules a campaign must meet after a create or an update (checked before storing)."""
    if campaign["endTime"] <= campaign["startTime"]:
        raise not_acceptable("/body/endTime", "endTime must be after startTime")
    ctype = campaign["campaignType"]
    cisco_id = campaign.get("ciscoCampaignId")
    if cisco_id is None and ctype != "NONE":
        raise not_acceptable(
            "/body/ciscoCampaignId", f"ciscoCampaignId is required for a {ctype} campaign"
        )
    if campaign["strategyId"] not in state.strategies:
        raise not_found("strategy", "/body/strategyId", campaign["strategyId"])
    if cisco_id is not None:
        flavour = call.services.settings.cisco
        modes = dict(cisco_id_and_type(flavour, c) for c in state.cisco[flavour])
        if cisco_id not in modes:
            raise not_found(f"{flavour.upper()} campaign", "/body/ciscoCampaignId", cisco_id)
        if ctype in BACKING_TYPES and modes[cisco_id] not in BACKING_TYPES[ctype]:
            raise not_acceptable(
                "/body/ciscoCampaignId",
                f"Cisco campaign {cisco_id} is {modes[cisco_id]}, not a {ctype} campaign",
            )
    for other in state.campaigns.values():
        if other["id"] == own_id:
            continue
        if same_name(other["name"], campaign["name"]):
            raise not_acceptable("/body/name", f"a campaign named {campaign['name']!r} exists")
        crm = campaign.get("crmCampaignId")
        if crm is not None and other.get("crmCampaignId") == crm:
            raise not_acceptable("/body/crmCampaignId", f"crmCampaignId {crm!r} is in use")
    if "ivrPrompts" in campaign and ctype != "IVR":
        raise not_acceptable("/body/ivrPrompts", "only IVR campaigns carry IVR prompts")
    if "formId" in campaign and ctype != "AGENT":
        raise not_acceptable("/body/formId", "only agent-based campaigns select a form")
