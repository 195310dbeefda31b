"""Steps the scenarios share: creating (and registering) resources, finding them, unique data."""

from __future__ import annotations

import hashlib
from typing import Any

from ._expect import Scenario

# Cisco dialing modes that can back an AGENT campaign.
AGENT_MODES = ("PREDICTIVE", "PROGRESSIVE", "PREVIEW")


def unlikely_phone(prefix: str, n: int) -> str:
    """A number no real contact has: +999 (unassigned), digits of the run prefix, then ``n``."""
    digits = int(hashlib.sha256(prefix.encode()).hexdigest(), 16) % 10**9
    return f"+999{digits:09d}{n:02d}"


def create_campaign(s: Scenario, name: str, **fields: Any) -> dict:
    return s.create(
        "createCampaign",
        "deleteCampaign",
        status=201,
        json={"name": name, **fields},
        message=f"create campaign {name}",
    )


def create_strategy(s: Scenario, name: str) -> dict:
    return s.create(
        "saveStrategy", "deleteStrategy", json={"name": name}, message=f"create strategy {name!r}"
    )


def by_id(items: list[dict], item_id: int) -> dict | None:
    return next((item for item in items if item.get("id") == item_id), None)


def listed_campaign(
    s: Scenario, campaign_id: int, *, listed: bool = True, blame: str = "listCampaigns"
) -> dict | None:
    """The campaign as listCampaigns shows it; expects it listed (or, ``listed=False``, not)."""
    campaign = by_id(s.call("listCampaigns", message="list campaigns"), campaign_id)
    s.expect(
        blame,
        (campaign is not None) == listed,
        message=f"campaign {campaign_id} is {'not ' if listed else ''}listed",
    )
    return campaign


def agent_backing(cisco_campaigns: list[dict]) -> int | None:
    """The id of a Cisco campaign that can back an AGENT campaign (enabled ones first)."""
    candidates = [
        (
            item.get("campaignId", item.get("id")),
            item.get("campaignType", item.get("type")),
            item.get("enabled", True),
        )
        for item in cisco_campaigns
    ]
    usable = [(not enabled, cid) for cid, mode, enabled in candidates if mode in AGENT_MODES]
    return min(usable)[1] if usable else None


def expect_page(s: Scenario, operation_id: str, page: dict) -> None:
    """The page envelope: content, page, size, totalElements, totalPages."""
    missing = {"content", "page", "size", "totalElements", "totalPages"} - set(page)
    s.expect(operation_id, not missing, message=f"page envelope lacks {sorted(missing)}")


def expect_report(
    s: Scenario, operation_id: str, report: dict, rejected_rows: list[int], **counts: int
) -> None:
    """A bulk-upload report with these counts and these rejected rows."""
    actual = {key: report.get(key) for key in counts}
    s.equal(operation_id, actual, counts, "report counts")
    rows = sorted(r.get("row") for r in report.get("rejected", []))
    s.equal(operation_id, rows, rejected_rows, "rejected rows")
