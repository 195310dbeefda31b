"""A journey through every ECM operation with the client openapi-python-client generated.

Run by tests/test_generated_clients.py with the generators' interpreter (it has httpx and
attrs, which the generated client needs):

    python opc_journey.py PACKAGE_PARENT BASE_URL VENDOR_EXAMPLES_JSON

Every answer must parse into the generated model of the operation, with its ids typed (an
``int`` in the model's attribute, never in ``additional_properties``). Prints the operations
it called, as JSON, on success; an AssertionError says what broke.
"""

from __future__ import annotations

import io
import json
import sys
from http import HTTPStatus
from typing import Any

sys.path.insert(0, sys.argv[1])
BASE_URL = sys.argv[2]
with open(sys.argv[3], encoding="utf-8") as examples_file:
    VENDOR = json.load(examples_file)

from ecm_client import AuthenticatedClient, Client  # noqa: E402
from ecm_client.api.auth import login_user, login_user_post  # noqa: E402
from ecm_client.api.campaigns import (  # noqa: E402
    create_campaign,
    create_campaign_by_skill_group,
    delete_campaign,
    get_cisco_campaigns,
    list_campaigns,
    set_campaign_status,
    update_campaign,
)
from ecm_client.api.contacts import (  # noqa: E402
    bulk_upload_campaign_contacts,
    list_campaign_contacts,
    save_campaign_contact,
)
from ecm_client.api.dnc import (  # noqa: E402
    bulk_upload_dnc_contacts,
    delete_dnc_contact,
    list_dnc_contacts,
    save_dnc_contact,
    update_dnc_contact,
)
from ecm_client.api.preferences import (  # noqa: E402
    delete_preference_settings,
    get_preference_settings,
    save_preference_settings,
    update_preference_settings,
)
from ecm_client.api.strategies import (  # noqa: E402
    delete_strategy,
    delete_strategy_attempt,
    list_strategies,
    list_strategy_attempts,
    save_strategy,
    save_strategy_attempt,
    update_attempt_order,
    update_strategy_attempt,
    update_strategy_name,
)
from ecm_client.models import (  # noqa: E402
    AdditionalInfo,
    Attempt,
    AttemptCreate,
    AttemptOrder,
    AttemptPhoneNumber,
    AttemptPhoneText,
    AttemptUpdate,
    Campaign,
    CampaignBySkillGroupCreate,
    CampaignCreate,
    CampaignStatus,
    CampaignStatusChange,
    CampaignType,
    CampaignUpdate,
    CceCiscoCampaign,
    Channel,
    Contact,
    ContactBulkReport,
    ContactBulkUpload,
    ContactCreate,
    ContactCsvUpload,
    ContactPage,
    ContactRow,
    ContactStatus,
    DayOfWeek,
    DeleteResult,
    DncBulkReport,
    DncContact,
    DncCreate,
    DncCsvUpload,
    DncPage,
    DncUpdate,
    IvrPrompts,
    LoginRequest,
    LoginResponse,
    PreferenceSettings,
    PreferenceSettingsSave,
    PreferenceSettingsUpdate,
    Problem,
    RetryMapEntry,
    RetryMapEntryInput,
    Role,
    Strategy,
    StrategyCreate,
    StrategyRename,
    UserDetails,
)
from ecm_client.types import File  # noqa: E402

called: list[str] = []


def call(operation: Any, client: Client, expect: int = 200, **kwargs: Any) -> Any:
    """The parsed answer of one operation, which must have answered ``expect``."""
    response = operation.sync_detailed(client=client, **kwargs)
    name = operation.__name__.rsplit(".", 1)[-1]
    assert response.status_code == HTTPStatus(expect), (name, response.content[:500])
    called.append(name)
    return response.parsed


def typed(value: Any, model: type) -> Any:
    assert isinstance(value, model), f"{type(value).__name__} is not {model.__name__}"
    return value


def typed_id(record: Any, model: type) -> int:
    """The record is the model, its id an int in the typed attribute."""
    typed(record, model)
    assert isinstance(record.id, int), (model.__name__, record.id)
    assert "id" not in getattr(record, "additional_properties", {}), model.__name__
    return record.id


def typed_list(values: Any, model: type) -> list:
    assert isinstance(values, list), type(values).__name__
    for value in values:
        typed(value, model)
    return values


# -------------------------------------------------------------------- login
anonymous = Client(base_url=BASE_URL)
credentials = LoginRequest(username="admin", password="admin")
login = typed(call(login_user, anonymous, body=credentials), LoginResponse)
assert login.token_type == "Bearer" and isinstance(login.expires_in, int)
typed_id(login.user_details, UserDetails)
role = typed(login.user_details.roles[0], Role)
assert role.permissions is None
typed(call(login_user_post, anonymous, body=credentials), LoginResponse)
api = AuthenticatedClient(base_url=BASE_URL, token=login.token)

cisco = call(get_cisco_campaigns, api)
typed_list(cisco, CceCiscoCampaign)
agent_cisco = next(c for c in cisco if c.campaign_type in ("PREDICTIVE", "PROGRESSIVE"))
ivr_cisco = next(c for c in cisco if c.campaign_type == "IVR")
skill_group = next(c for c in cisco if c.skill_groups and c.enabled).skill_groups[0]

# --------------------------------------------------------------- strategies
strategy = call(save_strategy, api, body=StrategyCreate(name="Journey strategy"))
strategy_id = typed_id(strategy, Strategy)
renamed = call(update_strategy_name, api, body=StrategyRename(id=strategy_id, name="Journey"))
assert typed(renamed, Strategy).name == "Journey"

# the vendor's example, as the vendor wrote it (but in the new strategy)
request = AttemptCreate.from_dict({**VENDOR["attemptRequest"], "csId": strategy_id})
assert request.to_dict() == {**VENDOR["attemptRequest"], "csId": strategy_id}
assert request.phone == AttemptPhoneText.PHONE_01 and request.channel == Channel.VOICE
first = call(save_strategy_attempt, api, body=request)
first_id = typed_id(first, Attempt)
typed(first.retry_map[0], RetryMapEntry)
assert first.to_dict() == {**VENDOR["attemptResponse"], "id": first_id, "csId": strategy_id}

# the integer phone and the vendor's string retry-map values
second = call(
    save_strategy_attempt,
    api,
    body=AttemptCreate(
        cs_id=strategy_id,
        name="Busy",
        phone=AttemptPhoneNumber.PHONE_02_NUMBER,
        channel=Channel.VOICE,
        retry_map=[RetryMapEntryInput(call_result="1", attempt_number="1", attempt_delay="30")],
    ),
)
second_id = typed_id(second, Attempt)
assert second.phone == AttemptPhoneText.PHONE_02  # answered as the vendor's string
assert second.retry_map[0].to_dict() == {"attempt_number": 1, "delay": 30, "call_result": 1}
listed = typed_list(call(list_strategy_attempts, api, cs_id=strategy_id), Attempt)
assert [a.id for a in listed] == [first_id, second_id]
changed = call(update_strategy_attempt, api, body=AttemptUpdate(id=second_id, name="Busy once"))
assert typed(changed, Attempt).name == "Busy once"
reordered = call(
    update_attempt_order,
    api,
    body=AttemptOrder(cs_id=strategy_id, attempt_ids=[second_id, first_id]),
)
assert [(a.id, a.attempt_number) for a in typed_list(reordered, Attempt)] == [
    (second_id, 1),
    (first_id, 2),
]
assert strategy_id in [typed_id(s, Strategy) for s in call(list_strategies, api)]

# ---------------------------------------------------------------- campaigns
none = call(
    create_campaign,
    api,
    201,
    body=CampaignCreate(name="JourneyNone", strategy_id=strategy_id, crm_campaign_id="CRM-JOURNEY"),
)
none_id = typed_id(none, Campaign)
assert (none.campaign_type, none.status) == (CampaignType.NONE, CampaignStatus.PAUSED)
assert none.days_of_week == [
    DayOfWeek(d) for d in ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY")
]
agent = call(
    create_campaign,
    api,
    201,
    body=CampaignCreate(
        name="JourneyAgent",
        campaign_type=CampaignType.AGENT,
        cisco_campaign_id=agent_cisco.campaign_id,
        form_id=7,
        start_time="08:00",
        end_time="18:00",
        days_of_week=[DayOfWeek.MONDAY, DayOfWeek.SATURDAY],
    ),
)
agent_id = typed_id(agent, Campaign)
assert (agent.campaign_type, agent.form_id) == (CampaignType.AGENT, 7)
ivr = call(
    create_campaign,
    api,
    201,
    body=CampaignCreate(
        name="JourneyIvr",
        campaign_type=CampaignType.IVR,
        cisco_campaign_id=ivr_cisco.campaign_id,
        ivr_prompts=IvrPrompts.from_dict({"welcome": "Hello", "goodbye": "Bye"}),
    ),
)
ivr_id = typed_id(ivr, Campaign)
assert typed(ivr.ivr_prompts, IvrPrompts).to_dict() == {"welcome": "Hello", "goodbye": "Bye"}
by_group = call(
    create_campaign_by_skill_group,
    api,
    201,
    body=CampaignBySkillGroupCreate(name="JourneyGroup", skill_group_name=skill_group),
)
assert typed(by_group, Campaign).campaign_type == CampaignType.AGENT
updated = call(
    update_campaign, api, body=CampaignUpdate(id=none_id, description="Renamed by the journey")
)
assert typed(updated, Campaign).description == "Renamed by the journey"
resumed = call(
    set_campaign_status, api, body=CampaignStatusChange(id=agent_id, status=CampaignStatus.ACTIVE)
)
assert typed(resumed, Campaign).status == CampaignStatus.ACTIVE
ids = [typed_id(c, Campaign) for c in call(list_campaigns, api)]
assert {none_id, agent_id, ivr_id, by_group.id} <= set(ids)

# ----------------------------------------------------------------- contacts
contact = call(
    save_campaign_contact,
    api,
    body=ContactCreate(
        campaign_id=none_id,
        phone01="+923008880001",
        first_name="Sara",
        time_zone="Asia/Karachi",
        additional_info=AdditionalInfo.from_dict({"accountNo": "A-1001"}),
    ),
)
contact_id = typed_id(contact, Contact)
assert contact.campaign_id == none_id and contact.status == ContactStatus.PENDING
assert typed(contact.additional_info, AdditionalInfo).to_dict() == {"accountNo": "A-1001"}
by_crm = call(
    save_campaign_contact,
    api,
    body=ContactCreate(crm_campaign_id="CRM-JOURNEY", phone01="+923008880002"),
)
assert typed(by_crm, Contact).campaign_id == none_id
csv = b"phone01,firstName,lastName\n+923008880003,Ali,Khan\n+923008880004,Zara,Malik\n"
report = call(
    bulk_upload_campaign_contacts,
    api,
    body=ContactCsvUpload(
        campaign_id=none_id,
        file=File(payload=io.BytesIO(csv), file_name="contacts.csv", mime_type="text/csv"),
    ),
)
assert typed(report, ContactBulkReport).inserted == 2 and report.campaign_id == none_id
report = call(
    bulk_upload_campaign_contacts,
    api,
    body=ContactBulkUpload(campaign_id=none_id, contacts=[ContactRow(phone01="+923008880005")]),
)
assert typed(report, ContactBulkReport).inserted == 1
page = call(list_campaign_contacts, api, campaign_id=none_id, status=ContactStatus.PENDING, size=2)
assert typed(page, ContactPage).total_elements == 5 and page.total_pages == 3
assert [typed_id(c, Contact) for c in page.content] == [contact_id, by_crm.id]

# ---------------------------------------------------------------------- dnc
dnc = call(save_dnc_contact, api, body=DncCreate(primary_number="+923001230000", reason="Journey"))
dnc_id = typed_id(dnc, DncContact)
dnc = call(update_dnc_contact, api, body=DncUpdate(id=dnc_id, first_name="Ali"))
assert typed(dnc, DncContact).first_name == "Ali"
csv = b"primaryNumber,reason\n+923001230001,CSV\n+923001230000,Again\n"
dnc_report = call(
    bulk_upload_dnc_contacts,
    api,
    body=DncCsvUpload(
        file=File(payload=io.BytesIO(csv), file_name="dnc.csv", mime_type="text/csv")
    ),
)
assert (typed(dnc_report, DncBulkReport).inserted, dnc_report.duplicates) == (1, 1)
dnc_report = call(bulk_upload_dnc_contacts, api, body=[DncCreate(primary_number="+923001230002")])
assert typed(dnc_report, DncBulkReport).inserted == 1
found = call(list_dnc_contacts, api, search="92300123", size=10)
numbers = [typed(d, DncContact).primary_number for d in typed(found, DncPage).content]
assert numbers == ["+923001230000", "+923001230001", "+923001230002"]
assert typed_id(found.content[0], DncContact) == dnc_id
deleted = call(delete_dnc_contact, api, id=dnc_id)
assert typed(deleted, DeleteResult).deleted is True and deleted.id == dnc_id

# -------------------------------------------------------------- preferences
missing = typed(call(get_preference_settings, api, 404), Problem)  # none saved yet
assert missing.status == 404
settings = PreferenceSettingsSave.from_dict(VENDOR["preferenceRequest"])
assert settings.domain_domain == "DbDomain"
saved = call(save_preference_settings, api, body=settings)
settings_id = typed_id(saved, PreferenceSettings)
assert saved.to_dict() == {**VENDOR["preferenceResponse"], "id": settings_id}
saved = call(
    update_preference_settings,
    api,
    body=PreferenceSettingsUpdate(id=settings_id, campaign_batch_size=50),
)
assert typed(saved, PreferenceSettings).campaign_batch_size == 50
assert typed(call(get_preference_settings, api), PreferenceSettings).ivr_batch_size == 33
assert typed(call(delete_preference_settings, api, id=settings_id), DeleteResult).deleted is True

# ------------------------------------------------------------------ deletes
assert typed(call(delete_strategy_attempt, api, id=first_id), DeleteResult).id == first_id
for campaign_id in (agent_id, ivr_id, by_group.id):
    assert typed(call(delete_campaign, api, id=campaign_id), DeleteResult).deleted is True
gone = typed(call(delete_campaign, api, crm_campaign_id="CRM-JOURNEY"), DeleteResult)
assert (gone.id, gone.contacts_deleted) == (none_id, 5)
gone = typed(call(delete_strategy, api, id=strategy_id), DeleteResult)
assert (gone.id, gone.attempts_deleted) == (strategy_id, 1)

print(json.dumps(sorted(set(called))))
