"""Seed data: fixture documents read from a directory and checked against the spec's schemas.

A fixture document maps each kind (users, cisco, strategies, campaigns, contacts, dnc,
preferences) to its records, in the API's own JSON shapes; ``DIR/<kind>.yaml`` holds one kind.
The kind ``runtime`` (the campaign runtime's outcome model and rules) has the control plane's
shape (admin.yaml's ``RuntimeFixture``).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from . import runtime
from .clock import ControlledClock
from .fake import add_fake_data
from .settings import Settings
from .spec import Spec, admin_spec_path, load_spec
from .state import State, cisco_id_and_type
from .validation import ContractValidator

KINDS = ("users", "cisco", "strategies", "campaigns", "contacts", "dnc", "preferences", "runtime")
EMPTY: dict[str, Any] = {
    "users": {"license": {}, "users": []},
    "cisco": {"cce": [], "ccx": []},
    "strategies": [],
    "campaigns": [],
    "contacts": [],
    "dnc": [],
    "preferences": None,
    "runtime": None,
}


class FixtureError(Exception):
    """A fixture is unreadable, breaks the spec's schemas, or refers to nothing."""


def default_fixtures_dir() -> Path:
    return Path(str(resources.files("ecm_mock") / "default_fixtures"))


def read_fixtures(directory: str | Path | None = None) -> dict[str, Any]:
    """The fixture document of a directory (a kind with no file is empty)."""
    directory = Path(directory) if directory is not None else default_fixtures_dir()
    if not directory.is_dir():
        raise FixtureError(f"{directory}: fixtures directory not found")
    document = copy.deepcopy(EMPTY)
    for kind in KINDS:
        path = directory / f"{kind}.yaml"
        if not path.exists():
            continue
        try:
            document[kind] = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise FixtureError(f"{path}: cannot read: {exc}") from None
    return document


def state_factory(
    document: dict[str, Any],
    validator: ContractValidator,
    settings: Settings,
    clock: ControlledClock | None = None,
) -> Callable[[], State]:
    """Builds a fresh state from a fixture document plus the data ``settings`` asks Faker for.

    Its campaign runtime starts at the ``clock``'s now (without one: when first driven).
    """
    batch_defaults = _batch_defaults(validator.spec)

    def fresh() -> State:
        state = build_state(document, validator, settings.cisco)
        add_fake_data(state, settings.seed, settings.fake_contacts, settings.fake_dnc)
        state.runtime = runtime.new_state(
            settings,
            (document or {}).get("runtime"),
            now=clock.time() if clock is not None else None,
            batch_defaults=batch_defaults,
        )
        return state

    return fresh


def _batch_defaults(spec: Spec) -> tuple[int, int]:
    """The batch sizes of a deployment with no preference settings saved (the spec's defaults,
    which are the vendor's: 10)."""
    properties = spec.schema("PreferenceSettingsSave").get("properties", {})
    names = ("campaignBatchSize", "ivrBatchSize")
    campaign, ivr = (properties.get(name, {}).get("default", 10) for name in names)
    return campaign, ivr


@functools.lru_cache(maxsize=1)
def _admin_validator() -> ContractValidator:
    """The control plane's schemas, for the ``runtime`` kind."""
    return ContractValidator(load_spec(admin_spec_path(), ecm=False))


def build_state(document: dict[str, Any], validator: ContractValidator, flavour: str) -> State:
    """A fresh :class:`State` from a fixture document, every record checked first."""
    try:
        return _build_state(document, validator, flavour)
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        # a part of the wrong shape (users.users not a list of objects, attempts that are not
        # objects, ids of mixed types) that the record checks do not reach
        raise FixtureError(f"a part has the wrong shape ({type(exc).__name__}: {exc})") from None


def _build_state(document: dict[str, Any], validator: ContractValidator, flavour: str) -> State:
    if not isinstance(document, dict):
        raise FixtureError("a fixture document is a mapping of kinds to records")
    unknown = set(document) - set(KINDS)
    if unknown:
        raise FixtureError(f"unknown fixture kind(s): {', '.join(sorted(unknown))}")
    doc = copy.deepcopy({**EMPTY, **document})
    checker = _Checker(validator)
    state = State()

    users = doc["users"] or EMPTY["users"]
    state.license = users.get("license") or {}
    for i, user in enumerate(users.get("users") or []):
        checker.check(
            "users",
            i,
            "LoginResponse",
            {
                **state.license,
                "userDetails": user.get("userDetails"),
                "token_type": "Bearer",
                "token": "t",
                "expires_in": 1,
            },
        )
        if not isinstance(user.get("password"), str):
            raise FixtureError(f"users: record {i}: password must be a string")
        state.users[user["userDetails"]["username"]] = user

    cisco = doc["cisco"] or EMPTY["cisco"]
    for flavour_name, schema in (("cce", "CceCiscoCampaign"), ("ccx", "CcxCiscoCampaign")):
        for i, item in enumerate(cisco.get(flavour_name) or []):
            checker.check(f"cisco.{flavour_name}", i, schema, item)
        state.cisco[flavour_name] = list(cisco.get(flavour_name) or [])

    for i, strategy in enumerate(doc["strategies"] or []):
        attempts = strategy.pop("attempts", []) or []
        checker.check("strategies", i, "Strategy", {**strategy, "attemptCount": len(attempts)})
        checker.unique("strategies", i, state.strategies, strategy["id"])
        state.strategies[strategy["id"]] = strategy
        for j, attempt in enumerate(attempts):
            attempt = {**attempt, "csId": strategy["id"]}
            checker.check(f"strategies[{i}].attempts", j, "Attempt", attempt)
            checker.unique("attempts", j, state.attempts, attempt["id"])
            if attempt["attemptNumber"] in state.numbers_in(strategy["id"]):
                raise FixtureError(
                    f"strategies[{i}].attempts: record {j}: attemptNumber "
                    f"{attempt['attemptNumber']} is used twice in the strategy"
                )
            state.add_attempt(attempt)
    if not any(s["name"] == "Default" for s in state.strategies.values()):
        raise FixtureError("strategies: the Default strategy is missing")

    cisco_ids = {cisco_id_and_type(flavour, item)[0] for item in state.cisco[flavour]}
    for i, campaign in enumerate(doc["campaigns"] or []):
        checker.check("campaigns", i, "Campaign", campaign)
        checker.unique("campaigns", i, state.campaigns, campaign["id"])
        checker.refers("campaigns", i, "strategyId", campaign["strategyId"], state.strategies)
        if "ciscoCampaignId" in campaign:
            checker.refers(
                "campaigns",
                i,
                "ciscoCampaignId",
                campaign["ciscoCampaignId"],
                cisco_ids,
                f"the {flavour.upper()} campaigns",
            )
        state.campaigns[campaign["id"]] = campaign
        state.contacts_by_campaign[campaign["id"]] = []

    for i, record in enumerate(doc["dnc"] or []):
        checker.check("dnc", i, "DncContact", record)
        checker.unique("dnc", i, state.dnc, record["id"])
        state.dnc[record["id"]] = record
        state.dnc_by_number[record["primaryNumber"]] = record["id"]

    for i, contact in enumerate(sorted(doc["contacts"] or [], key=lambda c: c.get("id", 0))):
        checker.check("contacts", i, "Contact", contact)
        checker.unique("contacts", i, state.contacts, contact["id"])
        checker.refers("contacts", i, "campaignId", contact["campaignId"], state.campaigns)
        state.contacts[contact["id"]] = contact
        state.contacts_by_campaign[contact["campaignId"]].append(contact["id"])
        if contact["status"] != "CLOSED":
            state.open_phones.setdefault(contact["campaignId"], {})[contact["phone01"]] = contact[
                "id"
            ]

    if doc["preferences"] is not None:
        checker.check("preferences", 0, "PreferenceSettings", doc["preferences"])
        state.preferences = doc["preferences"]

    if doc["runtime"] is not None:  # applied by state_factory; checked here with the rest
        _Checker(_admin_validator()).check("runtime", 0, "RuntimeFixture", doc["runtime"])
        _check_runtime(doc["runtime"])

    state.last_ids = {
        "campaign": max(state.campaigns, default=0),
        "contact": max(state.contacts, default=0),
        "dnc": max(state.dnc, default=0),
        "strategy": max(state.strategies, default=0),
        "attempt": max(state.attempts, default=0),
        "preferences": state.preferences["id"] if state.preferences else 0,
    }
    return state


def _check_runtime(part: dict[str, Any]) -> None:
    problem = runtime.model_problem(part.get("model") or {}, "/model")
    for i, rule in enumerate(part.get("rules") or []):
        problem = problem or runtime.rule_problem(rule, f"/rules/{i}")
    if problem:
        raise FixtureError(f"runtime: {problem[0]}: {problem[1]}")


class _Checker:
    def __init__(self, validator: ContractValidator) -> None:
        self._validator = validator

    def check(self, kind: str, index: int, schema: str, record: Any) -> None:
        errors = self._validator.schema_errors(schema, record)
        if errors:
            problems = "; ".join(f"{e.pointer or '/'}: {e.message}" for e in errors[:5])
            raise FixtureError(f"{kind}: record {index} does not match {schema}: {problems}")

    @staticmethod
    def unique(kind: str, index: int, existing: dict, record_id: int) -> None:
        if record_id in existing:
            raise FixtureError(f"{kind}: record {index}: id {record_id} is used twice")

    @staticmethod
    def refers(
        kind: str, index: int, name: str, value: Any, targets: Any, what: str | None = None
    ) -> None:
        if value not in targets:
            raise FixtureError(
                f"{kind}: record {index}: {name} {value!r} is not among {what or 'the records'}"
            )
