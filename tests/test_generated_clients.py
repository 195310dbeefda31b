"""Client teams generate clients from openapi/ecm.yaml: the generators must take all of it.

openapi-python-client and openapi-generator (``python``, ``typescript-fetch``) generate every
operation without a warning, openapi-generator's ``validate`` passes, the Python clients import,
the TypeScript one compiles under ``tsc --strict``, and a journey through every operation with
the openapi-python-client client gets typed models and typed ids back from a live mock.

The generators run from their own venv, tools/clients/.venv (gitignored; made from
tools/clients/requirements.txt on first use, or by ``make clients-venv``), apart from the
project's: they pin their own dependencies and openapi-generator bundles a jar (it needs Java).
TypeScript comes from tools/lint (``make lint-spec`` installs it).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ecm_mock import Settings, create_app, load_spec, services_of
from ecm_mock.serving import BackgroundServer

from .conftest import ROOT, SPEC_PATH

pytestmark = pytest.mark.slow

CLIENTS = ROOT / "tools" / "clients"
REQUIREMENTS = CLIENTS / "requirements.txt"
VENV = CLIENTS / ".venv"
TSC = ROOT / "tools" / "lint" / "node_modules" / ".bin" / "tsc"
JOURNEY = Path(__file__).parent / "clients" / "opc_journey.py"
SMOKE = Path(__file__).parent / "clients" / "og_python_smoke.py"
# openapi-generator prints these for any 3.1 document, the emptiest one included
GENERATOR_NOISE = (
    "OpenAPI 3.1 support is still in beta",
    "Failed to get the schema name: null",
)
# openapi-python-client 0.29's issue 1451: modules of operations with a two-media-type body
MULTI_BODY = {"bulk_upload_campaign_contacts", "bulk_upload_dnc_contacts"}


def run(*args, timeout: float = 600, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=timeout, **kwargs
    )


@pytest.fixture(scope="module")
def spec():
    return load_spec(SPEC_PATH)


@pytest.fixture(scope="module")
def generators() -> Path:
    """The bin directory of the generators' venv, made (once per requirements) if need be."""
    stamp = VENV / ".installed"
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if not (stamp.exists() and stamp.read_text() == digest):
        shutil.rmtree(VENV, ignore_errors=True)
        made = run(sys.executable, "-m", "venv", VENV)
        assert made.returncode == 0, made.stderr
        pip = [
            VENV / "bin" / "python",
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ]
        installed = run(*pip, "-r", REQUIREMENTS, timeout=1200)
        assert installed.returncode == 0, installed.stdout + installed.stderr
        stamp.write_text(digest)
    return VENV / "bin"


@pytest.fixture(scope="module")
def environ(generators) -> dict[str, str]:
    """The generators' venv first on PATH (openapi-python-client runs its ruff from there)."""
    return {**os.environ, "PATH": f"{generators}{os.pathsep}{os.environ['PATH']}"}


@pytest.fixture(scope="module")
def java():
    if shutil.which("java") is None:
        pytest.skip("openapi-generator needs Java (11 or later) on PATH")


def _modules(package: Path) -> set[str]:
    return {p.stem for p in package.glob("api/*/*.py") if p.stem != "__init__"}


def _unimportable(generators: Path, package: Path) -> dict[str, str]:
    """Module → error, for each generated API module that does not import."""
    script = (
        "import importlib, json, pathlib, sys\n"
        "root = pathlib.Path(sys.argv[1])\n"
        "failed = {}\n"
        "for path in sorted(root.glob('api/*/*.py')):\n"
        "    name = '.'.join((root.name, *path.relative_to(root).with_suffix('').parts))\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception as error:\n"
        "        failed[path.stem] = f'{type(error).__name__}: {error}'\n"
        "print(json.dumps(failed))\n"
    )
    done = run(
        generators / "python", "-c", script, package, env={"PYTHONPATH": str(package.parent)}
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _generate_opc(generators, environ, out: Path, *options) -> str:
    done = run(
        generators / "openapi-python-client",
        "generate",
        "--path",
        SPEC_PATH,
        "--output-path",
        out,
        "--meta",
        "none",
        *options,
        env=environ,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    return output


def _without_progress(output: str) -> list[str]:
    return [
        line for line in output.splitlines() if line.strip() and not line.startswith("Generating ")
    ]


# ------------------------------------------------------- openapi-python-client
@pytest.fixture(scope="module")
def opc_client(generators, environ, tmp_path_factory) -> Path:
    """The client, generated with the template fix of tools/clients/opc_templates.py."""
    work = tmp_path_factory.mktemp("opc")
    fixed = run(generators / "python", CLIENTS / "opc_templates.py", work / "templates")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    package = work / "ecm_client"
    output = _generate_opc(
        generators, environ, package, "--custom-template-path", work / "templates"
    )
    assert _without_progress(output) == []
    return package


def test_openapi_python_client_generates_every_operation_without_a_warning(
    generators, environ, spec, tmp_path
):
    """As released (no template fix): no warning, a module per operation, every one imports
    but the two whose body has two media types (issue 1451, see tools/clients/opc_templates.py)."""
    package = tmp_path / "ecm_client"
    output = _generate_opc(generators, environ, package)
    assert _without_progress(output) == [], output
    assert len(_modules(package)) == len(spec.operations) == 30
    assert set(_unimportable(generators, package)) == MULTI_BODY


def test_openapi_python_client_with_the_template_fix_imports_every_module(
    generators, opc_client, spec
):
    assert len(_modules(opc_client)) == len(spec.operations)
    assert _unimportable(generators, opc_client) == {}
    models = {p.stem for p in (opc_client / "models").glob("*.py")} - {"__init__"}
    assert {
        "attempt",
        "attempt_create",
        "attempt_update",
        "login_response",
        "user_details",
    } <= models
    assert {"role", "contact", "contact_row", "contact_csv_upload", "dnc_csv_upload"} <= models
    for name in ("contact_csv_upload", "dnc_csv_upload"):  # the CSV part is a file
        assert re.search(
            r"^    file: File$", (opc_client / "models" / f"{name}.py").read_text(), re.M
        )


def _vendor_examples(spec) -> dict:
    def example(op_id, part, status=None, name="vendor"):
        op = spec.operation_document(op_id)
        holder = (
            spec.resolve(op["requestBody"], "requestBodies")
            if part == "request"
            else spec.resolve(op["responses"][status], "responses")
        )
        return holder["content"]["application/json"]["examples"][name]["value"]

    return {
        "attemptRequest": example("saveStrategyAttempt", "request"),
        "attemptResponse": example("saveStrategyAttempt", "response", "200"),
        "preferenceRequest": example("savePreferenceSettings", "request"),
        "preferenceResponse": example("savePreferenceSettings", "response", "200", "saved"),
    }


def test_a_journey_through_every_operation_with_typed_models_and_ids(
    generators, opc_client, spec, tmp_path
):
    examples = tmp_path / "vendor.json"
    examples.write_text(json.dumps(_vendor_examples(spec)))
    app = create_app(Settings())
    with BackgroundServer(app) as server:
        done = run(
            generators / "python", JOURNEY, opc_client.parent, server.url, examples, timeout=120
        )
    assert done.returncode == 0, done.stdout + done.stderr
    assert set(json.loads(done.stdout)) == _modules(opc_client)
    journal = services_of(app).journal.entries()
    assert {e["operationId"] for e in journal} == set(spec.operations)
    refused = [(e["operationId"], e["status"]) for e in journal if e["status"] >= 300]
    assert refused == [("getPreferenceSettings", 404)]  # asked before any was saved


# ------------------------------------------------------------ openapi-generator
def _openapi_generator(generators, environ, *args) -> tuple[str, list[str]]:
    """The generator's output, and its WARN and ERROR lines but the ones any document gets."""
    done = run(generators / "openapi-generator-cli", *args, env=environ)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-5000:]
    complaints = [
        line
        for line in output.splitlines()
        if re.search(r"\b(WARN|ERROR)\b", line) and not any(n in line for n in GENERATOR_NOISE)
    ]
    return output, complaints


def test_openapi_generator_validates_the_contract(generators, environ, java):
    output, complaints = _openapi_generator(generators, environ, "validate", "-i", SPEC_PATH)
    assert "No validation issues detected." in output
    assert complaints == []


def test_openapi_generator_python_client_generates_without_a_warning_and_works(
    generators, environ, java, spec, tmp_path
):
    out = tmp_path / "python"
    _, complaints = _openapi_generator(
        generators,
        environ,
        "generate",
        "-g",
        "python",
        "-i",
        SPEC_PATH,
        "-o",
        out,
        "--additional-properties=packageName=ecm_client",
    )
    assert complaints == []
    with BackgroundServer(create_app(Settings())) as server:
        done = run(generators / "python", SMOKE, server.url, env={"PYTHONPATH": str(out)})
    assert done.returncode == 0, done.stdout + done.stderr
    found = json.loads(done.stdout)
    assert len(found["methods"]) == len(spec.operations)
    assert found["phones"] == ["1", "2", "1"]


def test_openapi_generator_typescript_fetch_client_compiles_strictly(
    generators, environ, java, spec, tmp_path
):
    if not TSC.exists():
        installed = run("make", "-s", "tools/lint/node_modules/.installed", cwd=ROOT)
        assert installed.returncode == 0 and TSC.exists(), installed.stdout + installed.stderr
    out = tmp_path / "typescript"
    _, complaints = _openapi_generator(
        generators, environ, "generate", "-g", "typescript-fetch", "-i", SPEC_PATH, "-o", out
    )
    assert complaints == []
    (out / "tsconfig.json").write_text(
        json.dumps(
            {
                "compilerOptions": {
                    "strict": True,
                    "noEmit": True,
                    "target": "ES2020",
                    "module": "ES2020",
                    "moduleResolution": "node",
                    "lib": ["ES2020", "DOM"],
                },
                "include": ["**/*.ts"],
            }
        )
    )
    compiled = run(TSC, "-p", out)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    operations = re.findall(
        r"async (\w+)Raw\(", "".join(p.read_text() for p in out.glob("apis/*.ts"))
    )
    assert len(operations) == len(spec.operations)
