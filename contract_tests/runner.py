"""``ecm-mock contract``: run the suites against a target, write JUnit and drift reports.

Exit codes: 0 everything conforms, 1 contract violations, 2 the target cannot be reached, the
login fails, or the run itself could not happen.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ecm_mock import load_spec

from .kit import KitConfig, KitSession, TargetError

HERE = Path(__file__).resolve().parent


def run(config: KitConfig, extra_args: list[str] | None = None) -> int:
    if config.target:
        try:
            KitSession(load_spec(), config.target, config.username, config.password).login()
        except TargetError as exc:
            print(f"ecm-mock contract: {exc}", file=sys.stderr)
            return 2
    args = [
        str(HERE),
        f"--rootdir={HERE}",
        "-p",
        "no:cacheprovider",
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",  # ecm_mock imported faker already
        "-q",
        f"--seed={config.seed}",
        f"--max-examples={config.max_examples}",
        f"--suite={','.join(config.suites)}",
        f"--username={config.username}",
        f"--password={config.password}",
    ]
    if config.target:
        args.append(f"--target={config.target}")
    if config.allow_destructive:
        args.append("--allow-destructive")
    if config.report_dir:
        report_dir = Path(config.report_dir)
        report_dir.mkdir(parents=True, exist_ok=True)
        args += [f"--report-dir={report_dir}", f"--junitxml={report_dir / 'junit.xml'}"]
    code = pytest.main(args + list(extra_args or []))
    if config.report_dir:
        print(
            f"ecm-mock contract: reports in {config.report_dir} (junit.xml, drift.md, drift.json)"
        )
    if code in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        return int(code)
    print(
        f"ecm-mock contract: the run did not complete (pytest exit code {int(code)})",
        file=sys.stderr,
    )
    return 2
