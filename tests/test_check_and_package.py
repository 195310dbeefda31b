"""`ecm-mock check`, and the spec shipped inside the package (issue 2)."""

from __future__ import annotations

import pytest
import yaml

from ecm_mock.cli import main
from ecm_mock.spec import default_spec_path

from .conftest import SPEC_PATH


def test_check_passes_on_the_shipped_spec(capsys):
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert "30 operations: 4 documented, 2 partial, 24 inferred" in out
    for op_id in ("loginUser", "saveStrategyAttempt", "getCiscoCampaigns", "deleteCampaign"):
        assert op_id in out
    assert "valid OpenAPI 3.1.0" in out


def _broken(tmp_path, mutate):
    document = yaml.safe_load(SPEC_PATH.read_text())
    mutate(document)
    path = tmp_path / "ecm.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["components"]["parameters"]["Page"].pop("in"), "invalid OpenAPI"),
        (
            lambda d: d["paths"]["/umm/ecm/campaign/list"]["get"].update(
                {"x-ecm-provenance": "guessed"}
            ),
            "x-ecm-provenance must be one of",
        ),
        (
            lambda d: d["paths"]["/umm/ecm/dnc/list"]["get"].pop("operationId"),
            "GET /umm/ecm/dnc/list: no operationId",
        ),
        (
            lambda d: d["paths"]["/umm/ecm/dnc/list"]["get"].update(
                {"operationId": "listCampaigns"}
            ),
            "Operation ID 'listCampaigns' for 'get' in '/umm/ecm/dnc/list' is not unique",
        ),
    ],
)
def test_check_fails_readably_on_a_broken_copy(tmp_path, capsys, mutate, expected):
    assert main(["check", str(_broken(tmp_path, mutate))]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ecm-mock check: ")
    assert expected in err


def test_check_fails_on_missing_and_unparsable_files(tmp_path, capsys):
    assert main(["check", str(tmp_path / "nope.yaml")]) == 1
    assert "spec not found" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("openapi: 3.1.0\npaths: [\n")
    assert main(["check", str(bad)]) == 1
    assert "not valid YAML at line" in capsys.readouterr().err
    twice = tmp_path / "twice.yaml"
    twice.write_text(
        SPEC_PATH.read_text().replace(
            '"401": {$ref: "#/components/responses/Unauthorized"}',
            '"401": {$ref: "#/components/responses/Unauthorized"}\n'
            '        "401": {$ref: "#/components/responses/Unauthorized"}',
            1,
        )
    )
    assert main(["check", str(twice)]) == 1
    assert "duplicate key '401'" in capsys.readouterr().err


def test_installed_package_finds_its_spec():
    assert default_spec_path().read_bytes() == SPEC_PATH.read_bytes()
