"""The pytest plugin for client teams (fixture ``ecm_mock``) and the AdminClient it hands out."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from importlib.metadata import entry_points

import pytest
import requests
import yaml

from ecm_mock import AdminClient, AdminError
from ecm_mock.admin_client import login

from .conftest import ROOT

pytest_plugins = ["pytester"]

INNER = """
import json
import urllib.error
import urllib.request

import pytest


def call(mock, method, path, body=None, token=None, session=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if session:
        headers["X-Mock-Session"] = session
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(mock.url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def strategy_names(mock, token, session=None):
    status, strategies = call(mock, "GET", "/umm/ecm/callStrategy/list", token=token,
                              session=session)
    assert status == 200
    return [s["name"] for s in strategies]


def test_1_creates_a_strategy(ecm_mock):
    token = ecm_mock.token()
    status, body = call(ecm_mock, "POST", "/umm/ecm/callStrategy/save", {"name": "Leaky"}, token)
    assert status == 200, body
    assert "Leaky" in strategy_names(ecm_mock, token)
    ecm_mock.admin.snapshot("left-behind")
    ecm_mock.admin.add_fault(operationId="listDncContacts", status=500)
    ecm_mock.admin.for_session("team-a").snapshot("left-behind")
    call(ecm_mock, "POST", "/umm/ecm/callStrategy/save", {"name": "Leaky"}, token, "team-a")
    ecm_mock.admin.set_clock(frozen=True, now="2020-01-01T00:00:00Z")
    # a loaded document becomes what reset() goes back to; the next test starts from the
    # server's fixtures all the same
    default = {"id": 1, "name": "Default", "attempts": [
        {"id": 1, "name": "SMS", "phone": "1", "channel": 1, "attemptNumber": 1, "retryMap": []}
    ]}
    ecm_mock.admin.load_fixtures({"strategies": [default]})
    ecm_mock.admin.for_session("team-a").load_fixtures({"strategies": [default]})
    assert ecm_mock.admin.reset()["counts"]["campaigns"] == 0


def test_1b_runs_a_campaign(ecm_mock):
    admin = ecm_mock.admin
    admin.add_outcome_rule(pattern="*", result="NO_ANSWER")
    status, _ = call(ecm_mock, "PUT", "/umm/ecm/campaign/status", {"id": 2, "status": "ACTIVE"},
                     ecm_mock.token())
    assert status == 200
    admin.set_outcome_model(feeder_interval_seconds=30)
    admin.advance(7 * 86400)
    assert [c["contactId"] for c in admin.calls(campaign_id=2, limit=1)] == [4]


def test_2_sees_none_of_it(ecm_mock):
    token = ecm_mock.token()
    assert "Leaky" not in strategy_names(ecm_mock, token)
    assert "Leaky" not in strategy_names(ecm_mock, token, session="team-a")
    assert ecm_mock.admin.snapshots() == []
    assert ecm_mock.admin.for_session("team-a").snapshots() == []
    assert ecm_mock.admin.faults() == []
    assert len(ecm_mock.admin.state()["campaigns"]) == 3
    assert len(ecm_mock.admin.for_session("team-a").state()["campaigns"]) == 3
    assert ecm_mock.admin.calls() == []
    assert ecm_mock.admin.outcome_rules() == []
    assert ecm_mock.admin.outcome_model()["feederIntervalSeconds"] == 60
    assert {c["status"] for c in ecm_mock.admin.state()["campaigns"]} == {"PAUSED"}
    clock = ecm_mock.admin.clock()
    assert not clock["frozen"]
    assert clock["now"] > "2026"
    # the journal holds this test's requests only
    assert [e["operationId"] for e in ecm_mock.admin.journal()] == [
        "loginUserPost", "listStrategies", "listStrategies"  # login() POSTs
    ]


def test_3_a_fault_applies_once(ecm_mock):
    token = ecm_mock.token()
    rule = ecm_mock.admin.add_fault(operationId="listCampaigns", status=503, times=1)
    assert rule["id"] >= 1
    status, problem = call(ecm_mock, "GET", "/umm/ecm/campaign/list", token=token)
    assert status == 503, problem
    status, campaigns = call(ecm_mock, "GET", "/umm/ecm/campaign/list", token=token)
    assert status == 200
    assert len(campaigns) == 3
    assert [e["status"] for e in ecm_mock.admin.journal(operationId="listCampaigns")] == [503, 200]


def test_4_options_reach_the_server(ecm_mock):
    assert ecm_mock.settings.seed == 3
    status, cisco = call(ecm_mock, "GET", "/umm/ecm/campaign/fetchCiscoCampaigns",
                         token=ecm_mock.token())
    assert status == 200
    assert "type" in cisco[0]  # the CCX shape


def test_5_the_session_server_is_the_same(ecm_mock, ecm_mock_server):
    assert ecm_mock is ecm_mock_server
    assert ecm_mock.url.startswith("http://127.0.0.1:")
"""


def _clean_env(monkeypatch) -> None:
    for name in list(os.environ):
        if name.startswith("ECM_MOCK_"):
            monkeypatch.delenv(name)


def test_the_plugin_is_registered_as_a_pytest_entry_point():
    (plugin,) = entry_points(group="pytest11", name="ecm_mock")
    assert plugin.value == "ecm_mock.pytest_plugin", "reinstall: pip install -e ."


def test_ecm_mock_isolates_tests_and_takes_options(pytester, monkeypatch):
    _clean_env(monkeypatch)
    pytester.makepyfile(test_client_team=INNER)
    started = time.monotonic()
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "--ecm-mock-seed=3", "--ecm-mock-cisco=ccx"
    )
    result.assert_outcomes(passed=6)
    assert time.monotonic() - started < 30


def test_the_readme_example_passes(pytester, monkeypatch):
    _clean_env(monkeypatch)
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Using the mock from pytest", 1)[1].split("\n## ", 1)[0]
    example = re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)
    assert "def test_" in example
    pytester.makepyfile(test_readme=example)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)


def test_the_readme_campaign_runtime_example_passes(pytester, monkeypatch):
    _clean_env(monkeypatch)
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## The campaign runtime", 1)[1].split("\n## ", 1)[0]
    example = re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)
    assert "admin.advance(86400)" in example
    pytester.makepyfile(test_runtime_readme=example)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_fixtures_from_the_ini_file_and_a_readable_error(pytester, monkeypatch):
    _clean_env(monkeypatch)
    data = pytester.path / "data"
    shutil.copytree(ROOT / "fixtures", data)
    users = data / "users.yaml"
    users.write_text(users.read_text().replace("password: supervisor", "password: s3cret"))
    pytester.makeini("[pytest]\necm_mock_fixtures = data\n")
    pytester.makepyfile(
        test_login=textwrap.dedent(
            """
            import pytest
            from ecm_mock import AdminError

            def test_login(ecm_mock):
                assert ecm_mock.token("supervisor", "s3cret")
                with pytest.raises(AdminError) as caught:
                    ecm_mock.token("supervisor", "supervisor")
                assert caught.value.status == 401
            """
        )
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)

    # the command line wins over the ini file; a missing directory fails the setup readably
    result = pytester.runpytest("-p", "no:cacheprovider", "--ecm-mock-fixtures=nowhere")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*nowhere*"])


# --------------------------------------------------------------------- the AdminClient itself
# the least a fixture document holds: the Default strategy (it always exists)
MINIMAL = {"strategies": yaml.safe_load((ROOT / "fixtures" / "strategies.yaml").read_text())[:1]}


def test_admin_client_round_trip(ecm_mock):
    admin = ecm_mock.admin
    assert admin.reset()["counts"]["strategies"] == 3
    token = login(ecm_mock.url)
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"

    # snapshots
    taken = admin.snapshot("s1")
    assert taken["name"] == "s1"
    assert [s["name"] for s in admin.snapshots()] == ["s1"]
    assert api.post(ecm_mock.url + "/umm/ecm/callStrategy/save", json={"name": "Gone"}).ok
    assert "Gone" in [s["name"] for s in admin.state()["strategies"]]
    assert admin.restore("s1")["counts"]["strategies"] == 3
    assert admin.delete_snapshot("s1") is None
    assert admin.snapshots() == []

    # load_fixtures: kinds left out are empty
    summary = admin.load_fixtures(MINIMAL)
    assert summary["counts"]["strategies"] == 1
    assert admin.state()["campaigns"] == []
    assert admin.reset()["counts"]["strategies"] == 1  # later resets go back to it

    # faults, snake_case keys too
    rule = admin.add_fault(operation_id="listStrategies", latency_ms=[0, 1], times=2)
    assert rule["operationId"] == "listStrategies"
    assert rule["latencyMs"] == [0, 1]
    assert admin.faults() == [rule]
    assert admin.remove_fault(rule["id"]) is None
    admin.add_fault(method="DELETE", status=500)
    admin.clear_faults()
    assert admin.faults() == []

    # journal filters
    api.get(ecm_mock.url + "/umm/ecm/callStrategy/list")
    api.get(ecm_mock.url + "/umm/ecm/campaign/list", headers={"X-Mock-Session": "qa-1"})
    assert [e["operationId"] for e in admin.journal(method="GET", limit=1)] == ["listCampaigns"]
    assert [e["path"] for e in admin.journal(session="qa-1")] == ["/umm/ecm/campaign/list"]
    assert len(admin.journal(status=200, operationId="listStrategies")) == 1
    admin.clear_journal()
    assert admin.journal() == []

    # clock: a datetime works for `now`; snake_case for advanceSeconds
    moment = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert admin.set_clock(frozen=True, now=moment)["now"] == "2026-01-05T09:00:00Z"
    assert admin.set_clock(advance_seconds=60)["now"] == "2026-01-05T09:01:00Z"
    assert admin.clock()["frozen"] is True


def test_admin_client_sessions_are_isolated(ecm_mock):
    team = ecm_mock.admin.for_session("team-b")
    assert team.session == "team-b"
    assert team.load_fixtures(MINIMAL)["session"] == "team-b"
    assert team.state()["campaigns"] == []
    assert len(ecm_mock.admin.state()["campaigns"]) == 3
    assert "team-b" in ecm_mock.admin.sessions()["sessions"]
    team.snapshot("mine")
    assert ecm_mock.admin.snapshots() == []
    assert team.reset()["counts"]["campaigns"] == 0  # later resets go back to the document


def test_admin_errors_carry_the_problem(ecm_mock):
    with pytest.raises(AdminError, match=r"^404 .*no snapshot 'nope'") as caught:
        ecm_mock.admin.restore("nope")
    assert caught.value.status == 404
    assert caught.value.problem["status"] == 404
    assert "nope" in caught.value.detail
    with pytest.raises(AdminError) as caught:
        ecm_mock.admin.add_fault(status=503)  # matches nothing: needs operationId/method/path
    assert caught.value.status == 400
    assert "operationId" in str(caught.value)
    with pytest.raises(AdminError, match="no ECM operation 'nope'"):
        ecm_mock.admin.add_fault(operationId="nope", status=503)
    with pytest.raises(ValueError, match="not an http"):
        AdminClient("file:///etc").state()


def test_admin_token_is_sent_when_the_mock_wants_one(ecm_mock_server):
    from ecm_mock import Settings, create_app
    from ecm_mock.serving import BackgroundServer

    with BackgroundServer(create_app(Settings(admin_token="t0p"))) as server:
        with pytest.raises(AdminError) as caught:
            AdminClient(server.url).faults()
        assert caught.value.status == 401
        assert AdminClient(server.url, token="t0p").faults() == []
        assert AdminClient(server.url, token="t0p").for_session("x").token == "t0p"


# ------------------------------------------------------------- from a wheel, outside this repo
OUTSIDE = """
import json
import urllib.request


def test_an_outside_project_gets_a_mock(ecm_mock):
    request = urllib.request.Request(
        ecm_mock.url + "/umm/ecm/campaign/fetchCiscoCampaigns",
        headers={"Authorization": "Bearer " + ecm_mock.token()},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert "type" in json.loads(response.read())[0]  # --ecm-mock-cisco=ccx
    ecm_mock.admin.add_fault(operationId="listCampaigns", status=503, times=1)
    assert len(ecm_mock.admin.faults()) == 1


def test_and_a_clean_one_per_test(ecm_mock):
    assert ecm_mock.admin.faults() == []
"""


@pytest.mark.slow
def test_the_plugin_works_from_the_wheel_in_another_project(tmp_path):
    started = time.monotonic()
    source = tmp_path / "src"
    shutil.copytree(
        ROOT,
        source,
        symlinks=True,
        ignore=shutil.ignore_patterns(".venv", "node_modules", ".git", "reports", "__pycache__"),
    )
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path / "dist"), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "dist").glob("ecm_mock-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    python = str(venv / "bin" / "python")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ECM_MOCK_", "PYTEST_", "PYTHON", "VIRTUAL_ENV"))
    }
    install = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", str(wheel), "pytest"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert install.returncode == 0, install.stderr
    where = subprocess.run(
        [python, "-c", "import ecm_mock; print(ecm_mock.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.startswith(str(venv)), where.stdout  # the wheel, not this repository
    project = tmp_path / "project"
    project.mkdir()
    (project / "test_outside.py").write_text(OUTSIDE)
    run = subprocess.run(
        [python, "-m", "pytest", "-p", "no:cacheprovider", "--ecm-mock-cisco", "ccx", "-v"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout
    assert time.monotonic() - started < 120
