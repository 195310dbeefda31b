"""Campaign contacts: one at a time, in bulk, and paged lists."""

from __future__ import annotations

import copy
import functools
import zoneinfo
from typing import Any

from ..errors import field_error, not_acceptable
from ..state import Record, State
from . import _bulk
from ._base import Call, HandlerSet, paged
from .campaigns import find_campaign

handlers = HandlerSet()

CSV_COLUMNS = (
    "phone01", "phone02", "phone03", "phone04", "phone05",
    "firstName", "lastName", "email", "timeZone",
)  # fmt: skip


@functools.lru_cache(maxsize=1024)
def known_time_zone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _rule_problem(state: State, campaign_id: int, row: dict[str, Any]) -> tuple[int, str, str]:
    """(status, pointer, reason) when a schema-valid contact breaks a rule; status 0 if none."""
    zone = row.get("timeZone")
    if zone is not None and not known_time_zone(zone):
        return 400, "/timeZone", f"unknown time zone {zone!r}"
    phone = row["phone01"]
    if phone in state.dnc_by_number:
        return 406, "/phone01", f"{phone} is on the do-not-call list"
    if phone in state.open_phones.get(campaign_id, {}):
        return 406, "/phone01", f"{phone} is already an open contact of campaign {campaign_id}"
    return 0, "", ""


def _insert(call: Call, state: State, campaign_id: int, row: dict[str, Any]) -> Record:
    record = {
        "id": state.next_id("contact"),
        "campaignId": campaign_id,
        **{k: v for k, v in row.items() if k not in ("campaignId", "crmCampaignId")},
        "status": "PENDING",
        "attemptsMade": 0,
        "createdAt": call.services.clock.iso(),
    }
    state.contacts[record["id"]] = record
    state.contacts_by_campaign.setdefault(campaign_id, []).append(record["id"])
    state.open_phones.setdefault(campaign_id, {})[record["phone01"]] = record["id"]
    return record


@handlers.operation("saveCampaignContact")
def save_contact(call: Call) -> Record:
    with call.services.store.transaction() as state:
        campaign = find_campaign(state, call.body)
        status, pointer, reason = _rule_problem(state, campaign["id"], call.body)
        if status == 406:
            raise not_acceptable("/body" + pointer, reason)
        if status:
            raise field_error(status, "/body" + pointer, reason)
        return copy.deepcopy(_insert(call, state, campaign["id"], call.body))


@handlers.operation("bulkUploadCampaignContacts")
def bulk_upload(call: Call) -> dict[str, Any]:
    if call.request.media_type == "multipart/form-data":
        campaign_id = int(call.request.form["campaignId"])
        rows = _bulk.upload_rows(call, None, CSV_COLUMNS)
    else:
        campaign_id = call.body["campaignId"]
        rows = _bulk.upload_rows(call, call.body["contacts"], CSV_COLUMNS)
    report: dict[str, Any] = {
        "campaignId": campaign_id,
        "received": len(rows),
        "inserted": 0,
        "duplicates": 0,
        "dnc": 0,
        "rejected": [],
    }
    with call.services.store.transaction() as state:
        find_campaign(state, {"campaignId": campaign_id})
        for index, row in enumerate(rows, start=1):
            problem = _bulk.row_problem(call, "ContactRow", row)
            if problem:
                report["rejected"].append(_bulk.rejected(index, row, *problem))
                continue
            status, pointer, reason = _rule_problem(state, campaign_id, row)
            if status == 400:
                report["rejected"].append(_bulk.rejected(index, row, pointer, reason))
            elif status and "do-not-call" in reason:
                report["dnc"] += 1
            elif status:
                report["duplicates"] += 1
            else:
                _insert(call, state, campaign_id, row)
                report["inserted"] += 1
    return report


@handlers.operation("listCampaignContacts")
def list_contacts(call: Call) -> dict[str, Any]:
    query = call.query
    with call.services.store.transaction() as state:
        campaign = find_campaign(state, {"campaignId": query["campaignId"]})
        ids = state.contacts_by_campaign.get(campaign["id"], [])
        wanted = query.get("status")
        if wanted is None:
            return paged(
                ids, query["page"], query["size"], render=lambda i: copy.deepcopy(state.contacts[i])
            )
        matching = [i for i in ids if state.contacts[i]["status"] == wanted]
        return paged(
            matching,
            query["page"],
            query["size"],
            render=lambda i: copy.deepcopy(state.contacts[i]),
        )
