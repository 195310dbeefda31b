"""The drift report: one row per operation, with verdict, failed checks, curl and provenance.

:class:`DriftRecorder` is a pytest plugin. The suites tell it which operations they exercised
and what failed where; at the end of the session it writes ``drift.md`` and ``drift.json``.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ecm_mock import Spec

from .kit import known_limits

PLUGIN_NAME = "ecm-drift"
MAX_FAILURES_PER_OPERATION = 10


@dataclass
class FailureRecord:
    check: str
    suite: str
    message: str
    curl: str | None = None


@dataclass
class OperationResult:
    operation_id: str
    method: str
    path: str
    provenance: str
    title: str
    exercised: int = 0
    failures: list[FailureRecord] = field(default_factory=list)
    failure_count: int = 0
    skipped_checks: dict[str, str] = field(default_factory=dict)  # check -> why

    @property
    def verdict(self) -> str:
        if self.failure_count:
            return "drift"
        return "conforms" if self.exercised else "not tested"


class DriftRecorder:
    """Collects, per operationId, how often it was exercised and which checks failed."""

    def __init__(self, spec: Spec, target: str = "", report_dir: str | Path | None = None) -> None:
        self.target = target
        self.report_dir = Path(report_dir) if report_dir else None
        self._lock = threading.Lock()
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

    def exercised(self, operation_id: str) -> None:
        with self._lock:
            self.results[operation_id].exercised += 1

    def failed(
        self, operation_id: str, check: str, suite: str, message: str, curl: str | None = None
    ) -> None:
        with self._lock:
            result = self.results[operation_id]
            result.failure_count += 1
            known = {(f.check, f.message) for f in result.failures}
            if (check, message) not in known and len(result.failures) < MAX_FAILURES_PER_OPERATION:
                result.failures.append(FailureRecord(check, suite, message[:2000], curl))

    # --------------------------------------------------------------- reports
    def as_dict(self) -> dict[str, Any]:
        rows = []
        for result in self.results.values():
            row = asdict(result)
            row["verdict"] = result.verdict
            row["failed_checks"] = sorted({f.check for f in result.failures})
            rows.append(row)
        verdicts = [r["verdict"] for r in rows]
        return {
            "target": self.target,
            "summary": {v: verdicts.count(v) for v in ("conforms", "drift", "not tested")},
            "operations": rows,
        }

    def markdown(self) -> str:
        data = self.as_dict()
        lines = [
            "# Contract drift report",
            "",
            f"Target: `{data['target']}`",
            "",
            ", ".join(f"{n} {v}" for v, n in data["summary"].items()),
            "",
            "| operation | method and path | provenance | verdict | failed checks |",
            "|---|---|---|---|---|",
        ]
        for row in data["operations"]:
            checks = ", ".join(row["failed_checks"]) or "-"
            mark = "**drift**" if row["verdict"] == "drift" else row["verdict"]
            lines.append(
                f"| {row['operation_id']} | `{row['method']} {row['path']}` | "
                f"{row['provenance']} | {mark} | {checks} |"
            )
        drifted = [r for r in data["operations"] if r["verdict"] == "drift"]
        for row in drifted:
            lines += ["", f"## {row['operation_id']} ({row['provenance']})", ""]
            for failure in row["failures"]:
                first_line = (
                    failure["message"].strip().splitlines()[0] if failure["message"] else ""
                )
                lines.append(f"- **{failure['check']}** ({failure['suite']}): {first_line}")
                if failure["curl"]:
                    lines += ["", "  ```sh", f"  {failure['curl']}", "  ```"]
        skipped = [r for r in data["operations"] if r["skipped_checks"]]
        if skipped:
            lines += ["", "## Checks not run, and why", ""]
            for row in skipped:
                for check, why in row["skipped_checks"].items():
                    lines.append(f"- {row['operation_id']}: {check}: {why}")
        if any(r["provenance"] != "documented" for r in drifted):
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

    def pytest_sessionfinish(self, session, exitstatus) -> None:
        self.write()
