"""The kit catches drift: run it against a broken mock, then against the real one (issue 4)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ecm_mock import AdminClient, Settings, create_app
from ecm_mock.serving import BackgroundServer

from .broken_mock import BREAKAGES, BrokenMock

ECM_MOCK = str(Path(sys.executable).parent / "ecm-mock")


@pytest.fixture
def broken_server():
    app = create_app(Settings(response_validation="off"))  # the breakage is outside it anyway
    client = app.test_client()
    token = client.post("/umm/api/login", json={"username": "admin", "password": "admin"}).json
    with BackgroundServer(BrokenMock(app, token["token"])) as server:
        yield server.url


def run_kit(tmp_path, *args):
    result = subprocess.run(
        [ECM_MOCK, "contract", "--report-dir", str(tmp_path), *args],
        capture_output=True,
        text=True,
        timeout=900,
        env={k: v for k, v in os.environ.items() if not k.startswith("ECM_CONTRACT_")},
    )
    report = json.loads((tmp_path / "drift.json").read_text())
    return result, {row["operation_id"]: row for row in report["operations"]}


@pytest.mark.slow
def test_each_breakage_is_reported_against_its_operation(broken_server, tmp_path):
    result, rows = run_kit(
        tmp_path,
        "--target",
        broken_server,
        "--allow-destructive",
        "--max-examples",
        "10",
        "--seed",
        "1",
    )
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    drifted = {op for op, row in rows.items() if row["verdict"] == "drift"}
    assert drifted == set(BREAKAGES), {op: rows[op]["failed_checks"] for op in drifted}
    for op, (kind, check) in BREAKAGES.items():
        if check:
            assert check in rows[op]["failed_checks"], (kind, rows[op]["failed_checks"])
        assert rows[op]["failures"][0]["curl"], kind
    assert rows["listStrategies"]["provenance"] == "inferred"
    markdown = (tmp_path / "drift.md").read_text()
    assert "| deleteStrategy | `DELETE /umm/ecm/callStrategy/delete` | inferred | **drift**" in (
        markdown
    )
    assert (tmp_path / "junit.xml").exists()


@pytest.mark.slow
def test_the_real_mock_conforms_with_a_fixed_seed(tmp_path):
    result, rows = run_kit(tmp_path, "--max-examples", "10", "--seed", "0")
    assert result.returncode == 0, result.stdout[-3000:]
    assert {row["verdict"] for row in rows.values()} == {"conforms"}


def test_an_unreachable_target_exits_2(tmp_path):
    result = subprocess.run(
        [ECM_MOCK, "contract", "--target", "http://127.0.0.1:9", "--report-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "cannot reach http://127.0.0.1:9" in result.stderr


def test_a_failed_login_exits_2(live_server, tmp_path):
    result = subprocess.run(
        [ECM_MOCK, "contract", "--target", live_server, "--password", "wrong"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "login as 'admin'" in result.stderr
    assert "failed: 401" in result.stderr


def _business_data(dump: dict) -> dict:
    return {k: v for k, v in dump.items() if k not in ("users", "last_ids")}  # logins update users


@pytest.mark.slow
def test_against_a_real_target_the_default_run_leaves_its_data_as_it_was(
    live_server, store, tmp_path
):
    before = _business_data(store.dump())
    result, rows = run_kit(tmp_path, "--target", live_server, "--max-examples", "10")
    assert result.returncode == 0, result.stdout[-3000:]
    assert _business_data(store.dump()) == before
    # reads were fuzzed, writes only through the self-cleaning scenarios
    assert rows["listCampaigns"]["passed"]["fuzz"] > 0
    assert rows["updateDncContact"]["verdict"] == "not tested"
    assert (
        "fuzz: against a real target only reads are fuzzed"
        in (rows["updateDncContact"]["not_tested_because"])
    )
    assert "stateful: not selected" in rows["updateDncContact"]["not_tested_because"]


@pytest.mark.slow
def test_an_error_is_neither_a_violation_nor_a_conformance(live_server, tmp_path):
    """The target drops the connection on one operation: the run errs (exit 3), the report
    names the suite and the error, and that operation is not called conforming."""
    AdminClient(live_server).add_fault(operationId="listStrategies", closeConnection=True)
    result, rows = run_kit(
        tmp_path, "--target", live_server, "--suite", "fuzz", "--max-examples", "5"
    )
    assert result.returncode == 3, result.stdout[-3000:] + result.stderr[-2000:]
    assert rows["listStrategies"]["verdict"] == "error"
    assert rows["listStrategies"]["errors"][0]["suite"] == "fuzz"
    assert "Connection" in rows["listStrategies"]["errors"][0]["message"]
    assert rows["listCampaigns"]["verdict"] == "conforms"
    report = json.loads((tmp_path / "drift.json").read_text())
    assert report["exit_code"] == 3
    assert report["suite_results"]["fuzz"]["status"] == "error"
    markdown = (tmp_path / "drift.md").read_text()
    assert "## Errors (not contract violations" in markdown
    assert "exit code 3" in result.stdout


def test_a_target_that_is_not_a_umm_gets_a_short_message(tmp_path):
    def html_everywhere(environ, start_response):
        start_response("404 Not Found", [("Content-Type", "text/html")])
        return [b"<html><body>" + b"<p>nothing here</p>" * 200 + b"</body></html>"]

    with BackgroundServer(html_everywhere) as server:
        result = subprocess.run(
            [ECM_MOCK, "contract", "--target", server.url],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "failed: 404 text/html" in line
    assert "<" not in line


def test_reports_carry_what_the_run_was(tmp_path):
    result, _ = run_kit(tmp_path, "--suite", "scenarios", "--seed", "1234", "--max-examples", "3")
    assert result.returncode == 0, result.stdout[-3000:]
    report = json.loads((tmp_path / "drift.json").read_text())
    assert report["seed"] == 1234
    assert report["suites"] == ["scenarios"]
    assert report["max_examples_per_operation"] == 3
    assert report["kit_version"]
    assert report["date"].endswith("Z")
    assert len(report["spec_sha256"]) == 64
    assert report["suite_results"]["fuzz"]["status"] == "not selected"
    # operations no scenario calls are not tested, and say why
    untested = {r["operation_id"]: r for r in report["operations"] if r["verdict"] == "not tested"}
    assert untested, "some operations have no scenario"
    for row in untested.values():
        assert "fuzz: not selected" in row["not_tested_because"]
        assert "scenarios: no test of it in this suite" in row["not_tested_because"]
