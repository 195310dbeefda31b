"""Campaign contacts: one at a time, in bulk, and paged lists."""

from __future__ import annotations

import functools
import zoneinfo
from typing import Any

from ..errors import not_acceptable, not_found
from ..state import Record, State, copy_json
from . import _bulk
from ._base import Call, HandlerSet, paged
from .campaigns import find_campaign

handlers = HandlerSet()


@functools.lru_cache(maxsize=1024)
def known_time_zone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _zone_problem(row: dict[str, Any]) -> tuple[str, str] | None:
    """(pointer, reason) for a contact whose time zone is not known (no state needed)."""
    zone = row.get("timeZone")
    if zone is not None and not known_time_zone(zone):
        return "/timeZone", f"unknown time zone {zone!r}"
    return None


def _rule_problem(
    state: State, campaign_id: int, row: dict[str, Any]
) -> tuple[str, str, str] | None:
    """(kind, pointer, reason) when a schema-valid contact breaks a rule, else None.

    Kinds: ``invalid`` (a value the schema cannot judge), ``dnc``, ``duplicate``.
    """
    zone = _zone_problem(row)
    if zone is not None:
        return "invalid", *zone
    phone = row["phone01"]
    if phone in state.dnc_by_number:
        return "dnc", "/phone01", f"{phone} is on the do-not-call list"
    if phone in state.open_phones.get(campaign_id, {}):
        return "duplicate", "/phone01", f"{phone} is already open in campaign {campaign_id}"
    return None


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
    with call.store.transaction() as state:
        campaign = find_campaign(state, call.body)
        problem = _rule_problem(state, campaign["id"], call.body)
        if problem:
            _kind, pointer, reason = problem
            raise not_acceptable("/body" + pointer, reason)
        return copy_json(_insert(call, state, campaign["id"], call.body))


@handlers.operation("bulkUploadCampaignContacts")
def bulk_upload(call: Call) -> dict[str, Any]:
    if call.request.media_type == "multipart/form-data":
        # The spec encodes the field as JSON: validation has read it ("1", "1.0" or "1e0": 1).
        named = call.request.form["campaignId"]
        rows = _bulk.upload_rows(call, None)
    else:
        named = call.body["campaignId"]
        rows = _bulk.upload_rows(call, call.body["contacts"])
    with call.store.transaction() as state:  # an unknown campaign: 404 before any row work
        find_campaign(state, {"campaignId": named})
    checked = _bulk.check_rows(call, "ContactRow", rows, _zone_problem)  # without the lock
    counts = {"inserted": 0, "duplicates": 0, "dnc": 0}
    with call.store.transaction() as state:
        campaign_id = find_campaign(state, {"campaignId": named})["id"]
        for _index, row in checked.valid:
            problem = _rule_problem(state, campaign_id, row)
            if problem is None:
                _insert(call, state, campaign_id, row)
                counts["inserted"] += 1
            else:  # no "invalid" left: check_rows has rejected those
                counts["dnc" if problem[0] == "dnc" else "duplicates"] += 1
    return {"campaignId": campaign_id, **_bulk.report(checked, len(rows), **counts)}


@handlers.operation("listCampaignContacts")
def list_contacts(call: Call) -> dict[str, Any]:
    query = call.query
    with call.store.transaction() as state:
        campaign = state.campaigns.get(query["campaignId"])
        if campaign is None:
            raise not_found("campaign", "/query/campaignId", query["campaignId"], "query")
        ids = state.contacts_by_campaign.get(campaign["id"], [])
        wanted = query.get("status")
        if wanted is None:
            return paged(
                ids, query["page"], query["size"], render=lambda i: copy_json(state.contacts[i])
            )
        matching = [i for i in ids if state.contacts[i]["status"] == wanted]
        return paged(
            matching,
            query["page"],
            query["size"],
            render=lambda i: copy_json(state.contacts[i]),
        )
