"""Preference settings: one record per deployment; the password is kept, never answered."""

from __future__ import annotations

BASE = "/umm/ecm/preferenceSettings"
VENDOR = {
    "campaignBatchSize": 22,
    "ivrBatchSize": 33,
    "filePath": "path/to/file",
    "fileArchivePath": "path/to/archive/folder",
    "username": "admin",
    "password": "admin",
    "domainDomain": "DbDomain",
}


def test_none_saved_at_first(api):
    response = api("GET", f"{BASE}/get")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_save_the_vendor_example_then_read_it(api, store):
    saved = api("POST", f"{BASE}/save", json=VENDOR)
    assert saved.status_code == 200
    expected = {k: v for k, v in VENDOR.items() if k != "password"} | {"id": 1}
    assert saved.json == expected
    assert api("GET", f"{BASE}/get").json == expected
    assert store.dump()["preferences"]["password"] == "admin"  # kept, not answered


def test_batch_sizes_default_to_10(api):
    saved = api("POST", f"{BASE}/save", json={"filePath": "/in"}).json
    assert (saved["campaignBatchSize"], saved["ivrBatchSize"]) == (10, 10)


def test_one_record_only(api, store):
    api("POST", f"{BASE}/save", json=VENDOR)
    before = store.dump()
    response = api("POST", f"{BASE}/save", json=VENDOR)
    assert response.status_code == 406
    assert store.dump() == before


def test_update_and_delete(api, store):
    record_id = api("POST", f"{BASE}/save", json=VENDOR).json["id"]
    updated = api("PUT", f"{BASE}/update", json={"id": record_id, "ivrBatchSize": 5}).json
    assert updated["ivrBatchSize"] == 5
    assert updated["campaignBatchSize"] == 22
    before = store.dump()
    wrong = api("PUT", f"{BASE}/update", json={"id": record_id + 1, "ivrBatchSize": 6})
    assert wrong.status_code == 404
    assert wrong.json["errors"][0]["pointer"] == "/body/id"
    bad = api("PUT", f"{BASE}/update", json={"id": record_id, "ivrBatchSize": 0})
    assert bad.status_code == 400
    assert bad.json["errors"][0]["pointer"] == "/body/ivrBatchSize"
    assert store.dump() == before
    assert api("DELETE", f"{BASE}/delete?id={record_id + 1}").status_code == 404
    assert api("DELETE", f"{BASE}/delete?id={record_id}").json == {"id": record_id, "deleted": True}
    assert api("GET", f"{BASE}/get").status_code == 404
    again = api("POST", f"{BASE}/save", json=VENDOR)
    assert again.status_code == 200
    assert again.json["id"] == record_id + 1
