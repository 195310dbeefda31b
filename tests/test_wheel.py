"""The wheel alone: built as a user builds it, installed WITHOUT extras into a fresh venv, and
every command and entry point used from a directory outside the repository (issue 10)."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from .conftest import ROOT, SPEC_PATH

pytestmark = pytest.mark.slow


def _run(*command, cwd: Path, timeout: int = 600, env: dict | None = None, check: bool = True):
    result = subprocess.run(
        [str(c) for c in command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**_clean_env(), **(env or {})},
    )
    if check and result.returncode != 0:
        raise AssertionError(f"{command}: {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def _clean_env() -> dict[str, str]:
    """The environment without this repository's venv or the kit's settings."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ECM_CONTRACT_", "ECM_MOCK_", "VIRTUAL_ENV", "PYTEST_"))
    }


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "build", "--wheel", "--outdir", out, ROOT, cwd=out)
    (built,) = out.glob("ecm_mock-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh venv holding the wheel and what it declares: no extras, nothing else."""
    where = tmp_path_factory.mktemp("venv")
    _run(sys.executable, "-m", "venv", where, cwd=where)
    _run(where / "bin" / "python", "-m", "pip", "install", "--quiet", wheel, cwd=where)
    return where / "bin"


@pytest.fixture
def elsewhere(tmp_path) -> Path:
    """A user's working directory, far from the repository."""
    work = tmp_path / "work"
    work.mkdir()
    return work


def test_the_wheel_ships_the_package_only_with_its_spec_and_fixtures(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        assert archive.read("ecm_mock/spec/ecm.yaml") == SPEC_PATH.read_bytes()
        for fixture in (ROOT / "fixtures").glob("*.yaml"):
            assert archive.read(f"ecm_mock/default_fixtures/{fixture.name}") == fixture.read_bytes()
    top = {name.split("/")[0] for name in names}
    assert top == {"ecm_mock", wheel.name.split("-py3")[0] + ".dist-info"}
    assert "ecm_mock/contract/test_fuzz.py" in names


def test_every_command_works_from_the_wheel_alone(venv, elsewhere):
    help_text = _run(venv / "ecm-mock", "--help", cwd=elsewhere).stdout
    for command in ("serve", "check", "contract"):
        assert command in help_text
    assert (
        "exit code" in _run(venv / "ecm-mock", "contract", "--help", cwd=elsewhere).stdout.lower()
    )
    version = _run(venv / "ecm-mock", "--version", cwd=elsewhere).stdout.strip()
    assert re.fullmatch(r"ecm-mock \d+\.\d+\.\d+", version)
    assert _run(venv / "python", "-m", "ecm_mock", "--version", cwd=elsewhere).stdout.strip() == (
        version
    )
    assert "valid OpenAPI 3.1.0" in _run(venv / "ecm-mock", "check", cwd=elsewhere).stdout
    assert list(elsewhere.iterdir()) == []


def test_serve_the_plugin_and_the_admin_client_from_the_wheel(venv, elsewhere):
    server = subprocess.Popen(
        [venv / "ecm-mock", "serve", "--port", "0"],
        cwd=elsewhere,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_clean_env(),
    )
    try:
        seen, announced = [], re.compile(r"listening on (http://[\d.]+:\d+)")
        while not (match := announced.search(seen[-1] if seen else "")):
            seen.append(server.stdout.readline())
            assert seen[-1] and len(seen) < 20, "".join(seen)
        base = match.group(1)
        script = textwrap.dedent(
            f"""
            from ecm_mock import AdminClient
            from ecm_mock.admin_client import login
            admin = AdminClient({base!r})
            assert len(admin.state()["strategies"]) >= 1
            assert login({base!r}, "admin", "admin")
            print("admin ok")
            """
        )
        assert "admin ok" in _run(venv / "python", "-c", script, cwd=elsewhere).stdout
    finally:
        server.send_signal(signal.SIGINT)
        output, _ = server.communicate(timeout=30)
    assert server.returncode == 0, output
    assert "Traceback" not in output

    (elsewhere / "test_client.py").write_text(
        textwrap.dedent(
            """
            import json, urllib.request

            def test_the_fixture_serves_a_mock(ecm_mock):
                request = urllib.request.Request(
                    ecm_mock.url + "/umm/ecm/callStrategy/list",
                    headers={"Authorization": "Bearer " + ecm_mock.token()},
                )
                with urllib.request.urlopen(request) as answer:
                    assert any(s["name"] == "Default" for s in json.load(answer))
                assert ecm_mock.admin.faults() == []
            """
        )
    )
    result = _run(venv / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=elsewhere)
    assert "1 passed" in result.stdout


def test_the_kit_runs_all_three_suites_from_the_wheel(venv, elsewhere):
    seed = random.randrange(2**32)  # noqa: S311 - a test seed, printed on failure
    result = _run(
        venv / "ecm-mock",
        "contract",
        "--report-dir",
        "reports",
        "--max-examples",
        "5",
        "--seed",
        seed,
        cwd=elsewhere,
        check=False,
    )
    assert result.returncode == 0, f"seed {seed}\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}"
    assert sorted(p.name for p in elsewhere.iterdir()) == ["reports"]  # no .hypothesis/ etc.
    report = json.loads((elsewhere / "reports" / "drift.json").read_text())
    assert report["seed"] == seed
    assert {name: s["status"] for name, s in report["suite_results"].items()} == {
        "fuzz": "passed",
        "stateful": "passed",
        "scenarios": "passed",
    }
    assert {row["verdict"] for row in report["operations"]} == {"conforms"}
    assert (elsewhere / "reports" / "junit.xml").exists()


def test_an_environment_outside_the_declared_ranges_is_refused(venv, elsewhere, tmp_path):
    """Last in this module: it changes the venv."""
    _run(venv / "python", "-m", "pip", "install", "--quiet", "schemathesis==4.31.1", cwd=tmp_path)
    result = _run(venv / "ecm-mock", "contract", cwd=elsewhere, check=False)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "schemathesis 4.31.1 (needs" in lines[0]
    assert list(elsewhere.iterdir()) == []
