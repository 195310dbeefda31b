"""The drift report: per operation, what was tested, by which suite, and what broke.

:class:`DriftRecorder` is a pytest plugin. The suites tell it what passed and what failed
where; its hooks see every test outcome, so an error (an exception that is not a contract
violation: a crash, a target that drops the connection, a kit bug, a flaky generator) is
never counted as a pass or as a violation. At the end it writes ``drift.md`` and
``drift.json`` and knows the run's exit code (see :mod:`ecm_mock.contract.config`).

Verdicts per operation: ``drift`` (a check failed), ``error`` (a test of it errored, none
failed), ``conforms`` (tests of it ran and passed, none errored), ``not tested`` (with why).
"""

from __future__ import annotations

import hashlib
import json
import platform
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from ecm_mock import Spec, __version__

from .config import (
    EXIT_CODES,
    EXIT_CONFORMS,
    EXIT_INCOMPLETE,
    EXIT_VIOLATIONS,
    SUITES,
    KitConfig,
)
from .kit import REPLAY_MOCK_URL, known_limits, login_command

PLUGIN_NAME = "ecm-drift"
MAX_RECORDS_PER_OPERATION = 10
OPERATION_KEY = "ecm_operation"  # an item's user property: the operation it tests alone


@dataclass
class FailureRecord:
    check: str
    suite: str
    message: str
    curl: str | None = None


@dataclass
class ErrorRecord:
    suite: str
    test: str
    message: str


@dataclass
class OperationResult:
    operation_id: str
    method: str
    path: str
    provenance: str
    title: str
    passed: dict[str, int] = field(default_factory=dict)  # suite -> checks passed
    failures: list[FailureRecord] = field(default_factory=list)  # distinct, the first few
    failure_count: int = 0
    errors: list[ErrorRecord] = field(default_factory=list)
    untested: dict[str, str] = field(default_factory=dict)  # suite -> why it did not test it
    skipped_checks: dict[str, str] = field(default_factory=dict)  # check -> why

    @property
    def verdict(self) -> str:
        if self.failure_count:
            return "drift"
        if self.errors:
            return "error"
        return "conforms" if sum(self.passed.values()) else "not tested"


@dataclass
class SuiteResult:
    name: str
    selected: bool
    tests: int = 0  # test items collected for it
    passed: int = 0
    violations: int = 0
    errors: list[ErrorRecord] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # reasons

    @property
    def status(self) -> str:
        if not self.selected:
            return "not selected"
        if self.errors:
            return "error"
        if self.violations:
            return "violations"
        if self.passed:
            return "passed"
        if self.skipped:
            return "skipped"
        return "error"  # selected, yet nothing ran: never a pass


class DriftRecorder:
    """Collects, per operation and per suite, what passed, failed and errored."""

    def __init__(self, spec: Spec, config: KitConfig) -> None:
        self.spec = spec
        self.config = config
        self.target = config.target or "in-process mock"
        # failures are replayed against the target, or against a mock the reader starts
        self.replay_base = config.target or REPLAY_MOCK_URL
        login = login_command(config, self.replay_base, spec.operation("loginUser").path)
        self.replay = (
            [
                "read -rs ECM_PASSWORD   # the password of the user the kit logged in as",
                login,
            ]
            if config.target
            else [
                "ecm-mock serve --port 8080 &   # a mock as the kit's was (or make run)",
                "ECM_PASSWORD=admin",
                login,
            ]
        )
        self.report_dir = Path(config.report_dir) if config.report_dir else None
        self.started = datetime.now(UTC)
        self._lock = threading.Lock()
        self._suite_of: dict[str, str] = {}  # test nodeid -> suite
        self._recorded: set[str] = set()  # nodeids whose violations were recorded by the test
        self.suites = {name: SuiteResult(name, name in config.selected) for name in SUITES}
        self.results = {
            op.operation_id: OperationResult(
                op.operation_id,
                op.method,
                op.path,
                op.provenance,
                op.title,
                skipped_checks=known_limits(spec, op.operation_id),
            )
            for op in spec.operations.values()
        }

    @staticmethod
    def of(config: pytest.Config) -> DriftRecorder | None:
        """The recorder registered with this pytest run, if any."""
        for plugin in config.pluginmanager.get_plugins():
            if isinstance(plugin, DriftRecorder):
                return plugin
        return None

    # ------------------------------------------------------------ what suites say
    def passed(self, operation_id: str, suite: str, count: int = 1) -> None:
        with self._lock:
            passed = self.results[operation_id].passed
            passed[suite] = passed.get(suite, 0) + count

    def failed(
        self,
        operation_id: str,
        check: str,
        suite: str,
        message: str,
        curl: str | None = None,
        nodeid: str | None = None,
    ) -> None:
        with self._lock:
            if nodeid:
                self._recorded.add(nodeid)
            result = self.results[operation_id]
            if any((f.check, f.message) == (check, message) for f in result.failures):
                return  # the same failure again (hypothesis replays and shrinks)
            result.failure_count += 1
            if len(result.failures) < MAX_RECORDS_PER_OPERATION:
                result.failures.append(FailureRecord(check, suite, message[:2000], curl))

    def untested(self, operation_id: str, suite: str, why: str) -> None:
        with self._lock:
            self.results[operation_id].untested[suite] = why

    # --------------------------------------------------------------- pytest hooks
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            marker = item.get_closest_marker("suite")
            if marker is not None:
                self._suite_of[item.nodeid] = marker.args[0]
                self.suites[marker.args[0]].tests += 1

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        report = yield
        suite = self._suite_of.get(item.nodeid)
        if suite is None:
            return report
        operation_id = dict(item.user_properties).get(OPERATION_KEY)
        result = self.suites[suite]
        if report.skipped and call.when in ("setup", "call"):
            why = _skip_reason(report)
            result.skipped.append(f"{item.name}: {why}")
            if operation_id:
                self.untested(operation_id, suite, why)
        elif report.failed and call.excinfo is not None:
            error = call.excinfo.value
            if call.when == "call" and is_violation(error):
                result.violations += 1
                blamed = operation_id or _blamed(item)
                if item.nodeid not in self._recorded and blamed:  # a bare assert: a violation
                    self.failed(blamed, "assertion", suite, _one_line(error), nodeid=item.nodeid)
            else:
                record = ErrorRecord(suite, item.name, f"{call.when}: {_one_line(error)}")
                result.errors.append(record)
                if operation_id:
                    with self._lock:
                        self.results[operation_id].errors.append(record)
        elif report.passed and call.when == "call":
            result.passed += 1
        return report

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:  # a suite's module does not even import: every suite is in doubt
            for suite in self.suites.values():
                if suite.selected and (not report.nodeid or suite.name in report.nodeid):
                    message = f"collecting {report.nodeid or 'the kit'} failed: {report.longrepr}"
                    suite.errors.append(ErrorRecord(suite.name, report.nodeid, message[:2000]))

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.write()

    # --------------------------------------------------------------- the outcome
    def exit_code(self) -> int:
        selected = [s for s in self.suites.values() if s.selected]
        if any(s.status == "error" for s in selected):
            return EXIT_INCOMPLETE
        if any(r.failure_count for r in self.results.values()) or any(
            s.violations for s in selected
        ):
            return EXIT_VIOLATIONS
        return EXIT_CONFORMS

    def summary_lines(self) -> list[str]:
        lines = []
        for suite in self.suites.values():
            if not suite.selected:
                continue
            line = f"  {suite.name}: {suite.status} ({suite.passed} passed"
            line += f", {suite.violations} with violations" if suite.violations else ""
            line += f", {len(suite.errors)} errors" if suite.errors else ""
            line += f", {len(suite.skipped)} skipped" if suite.skipped else ""
            lines.append(line + ")")
            lines += [f"    error in {e.test}: {e.message[:300]}" for e in suite.errors[:5]]
        verdicts = [r.verdict for r in self.results.values()]
        counts = ", ".join(
            f"{verdicts.count(v)} {v}" for v in ("conforms", "drift", "error", "not tested")
        )
        lines.append(f"  operations: {counts}")
        return lines

    # --------------------------------------------------------------- reports
    def _why_untested(self, result: OperationResult) -> str:
        reasons = []
        for suite in self.suites.values():
            if not suite.selected:
                reasons.append(f"{suite.name}: not selected")
            elif suite.name in result.untested:
                reasons.append(f"{suite.name}: {result.untested[suite.name]}")
            elif suite.errors and not result.passed.get(suite.name):
                reasons.append(f"{suite.name}: the suite errored before testing it")
            elif suite.status == "skipped":
                reasons.append(f"{suite.name}: skipped ({'; '.join(suite.skipped)[:200]})")
            elif not result.passed.get(suite.name):
                reasons.append(f"{suite.name}: no test of it in this suite")
        return "; ".join(reasons)

    def metadata(self) -> dict[str, Any]:
        config = self.config
        return {
            "date": self.started.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "kit_version": __version__,
            "target": self.target,
            "suites": list(config.selected),
            "seed": config.seed,
            "max_examples_per_operation": config.max_examples,
            "destructive": config.destructive,
            "spec": self.spec.path,
            "spec_sha256": hashlib.sha256(Path(self.spec.path).read_bytes()).hexdigest(),
            "python": platform.python_version(),
            "packages": {name: _version(name) for name in ("pytest", "schemathesis", "hypothesis")},
        }

    def as_dict(self) -> dict[str, Any]:
        rows = []
        for result in self.results.values():
            row = asdict(result)
            row["verdict"] = result.verdict
            row["failed_checks"] = sorted({f.check for f in result.failures})
            row["not_tested_because"] = (
                self._why_untested(result) if result.verdict == "not tested" else None
            )
            rows.append(row)
        verdicts = [r["verdict"] for r in rows]
        code = self.exit_code()
        return {
            **self.metadata(),
            "exit_code": code,
            "outcome": EXIT_CODES[code],
            "replay": self.replay,
            "suite_results": {
                s.name: {**asdict(s), "status": s.status} for s in self.suites.values()
            },
            "summary": {v: verdicts.count(v) for v in ("conforms", "drift", "error", "not tested")},
            "operations": rows,
        }

    def markdown(self) -> str:
        data = self.as_dict()
        lines = [
            "# Contract drift report",
            "",
            f"- Date: {data['date']}; kit: ecm-mock {data['kit_version']}",
            f"- Target: `{data['target']}`",
            f"- Suites: {', '.join(data['suites'])}; seed {data['seed']}; "
            f"{data['max_examples_per_operation']} examples per operation; "
            f"{'destructive' if data['destructive'] else 'read-only fuzzing, self-cleaning'}",
            f"- Spec: `{data['spec']}` (sha256 `{data['spec_sha256']}`)",
            f"- Outcome: exit code {data['exit_code']}, {data['outcome']}",
            "",
            "| suite | status | passed | with violations | errors | skipped |",
            "|---|---|---|---|---|---|",
        ]
        for name, suite in data["suite_results"].items():
            lines.append(
                f"| {name} | {suite['status']} | {suite['passed']} | {suite['violations']} | "
                f"{len(suite['errors'])} | {len(suite['skipped'])} |"
            )
        errors = [e for s in data["suite_results"].values() for e in s["errors"]]
        if errors:
            lines += ["", "## Errors (not contract violations: these tests did not run through)"]
            lines += [""] + [
                f"- {e['suite']}, {e['test']}: {_one_line_text(e['message'])}" for e in errors
            ]
        lines += [
            "",
            ", ".join(f"{n} {v}" for v, n in data["summary"].items()),
            "",
            "| operation | method and path | provenance | verdict | tested by | failed checks |",
            "|---|---|---|---|---|---|",
        ]
        for row in data["operations"]:
            checks = ", ".join(row["failed_checks"]) or "-"
            mark = (
                f"**{row['verdict']}**"
                if row["verdict"] in ("drift", "error")
                else (row["verdict"])
            )
            tested = ", ".join(f"{s} {n}" for s, n in row["passed"].items()) or "-"
            lines.append(
                f"| {row['operation_id']} | `{row['method']} {row['path']}` | "
                f"{row['provenance']} | {mark} | {tested} | {checks} |"
            )
        untested = [r for r in data["operations"] if r["verdict"] == "not tested"]
        if untested:
            lines += ["", "## Not tested, and why", ""]
            lines += [f"- {r['operation_id']}: {r['not_tested_because']}" for r in untested]
        drifted = [r for r in data["operations"] if r["verdict"] in ("drift", "error")]
        if drifted:
            lines += [
                "",
                "## Replaying a failure",
                "",
                "Each failure below comes with a curl command. First:",
                "",
                "```sh",
                *data["replay"],
                "```",
            ]
        for row in drifted:
            lines += ["", f"## {row['operation_id']} ({row['provenance']}): {row['verdict']}", ""]
            for failure in row["failures"]:
                lines.append(
                    f"- **{failure['check']}** ({failure['suite']}): "
                    f"{_one_line_text(failure['message'])}"
                )
                if failure["curl"]:
                    lines += ["", "  ```sh", f"  {failure['curl']}", "  ```"]
            for error in row["errors"]:
                lines.append(f"- error ({error['suite']}, {error['test']}): {error['message']}")
        skipped = [r for r in data["operations"] if r["skipped_checks"]]
        if skipped:
            lines += ["", "## Checks not run, and why", ""]
            for row in skipped:
                for check, why in row["skipped_checks"].items():
                    lines.append(f"- {row['operation_id']}: {check}: {why}")
        if any(r["provenance"] != "documented" and r["verdict"] == "drift" for r in drifted):
            lines += [
                "",
                "Drift on a `partial` or `inferred` operation most likely means the "
                "contract guessed wrong: correct `openapi/ecm.yaml`.",
            ]
        return "\n".join(lines) + "\n"

    def write(self) -> None:
        if not self.report_dir:
            return
        self.report_dir.mkdir(parents=True, exist_ok=True)
        (self.report_dir / "drift.json").write_text(json.dumps(self.as_dict(), indent=2))
        (self.report_dir / "drift.md").write_text(self.markdown())


def is_violation(error: BaseException) -> bool:
    """A failed check (an assertion about the target's answers), not an error of the run.

    schemathesis' failures are AssertionErrors; so are the scenarios' expectations. A group
    (several distinct failures, as hypothesis reports them) is a violation only if every
    member is one. Hypothesis' flakiness errors mean the run could not decide: errors.
    """
    from hypothesis.errors import Flaky

    if isinstance(error, Flaky):
        return False
    if isinstance(error, BaseExceptionGroup):
        return all(is_violation(e) for e in error.exceptions)
    return isinstance(error, AssertionError)


def _blamed(item: pytest.Item) -> str | None:
    """The operation a scenario's bare assertion speaks against: the last one it called."""
    kit = getattr(item, "funcargs", {}).get("kit")
    last = getattr(kit, "last", None)
    return last.operation_id if last is not None else None


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _one_line(error: BaseException) -> str:
    text = str(error).strip() or repr(error)
    return f"{type(error).__name__}: {_one_line_text(text)}"


def _one_line_text(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first[:500]


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
