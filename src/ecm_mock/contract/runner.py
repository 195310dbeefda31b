"""``ecm-mock contract``: run the suites against a target, write JUnit and drift reports.

Exit codes (:data:`~ecm_mock.contract.config.EXIT_CODES`): 0 every selected suite ran and
everything tested conforms, 1 contract violations, 2 nothing was tested (bad options or
environment, target unreachable, login refused), 3 a suite errored or could not run.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .config import (
    EXIT_CODES,
    EXIT_INCOMPLETE,
    EXIT_UNUSABLE,
    KitConfig,
)
from .environment import environment_problem

HERE = Path(__file__).resolve().parent
NO_AUTOLOAD = "PYTEST_DISABLE_PLUGIN_AUTOLOAD"  # the user's pytest plugins stay out of the run


def run(config: KitConfig, extra_args: list[str] | None = None) -> int:
    problem = environment_problem()
    if problem:
        return _stop(problem)

    import pytest

    from ecm_mock import load_spec

    from .drift import DriftRecorder
    from .kit import KitSession, TargetError

    spec = load_spec()
    print(
        f"ecm-mock contract: target {config.target or 'an in-process mock'}; suites "
        f"{','.join(config.selected)}; seed {config.seed} (replay with --seed {config.seed})",
        flush=True,
    )
    if config.target:
        try:
            KitSession(spec, config.target, config.username, config.password).login()
        except TargetError as exc:
            return _stop(str(exc))
    recorder = DriftRecorder(spec, config)
    args = [
        str(HERE),
        f"--rootdir={HERE}",
        "-c",
        str(HERE / "pytest.ini"),  # never the user's pytest configuration
        "-p",
        "no:cacheprovider",
        "-q",
        f"--seed={config.seed}",
        f"--max-examples={config.max_examples}",
        f"--suite={','.join(config.selected)}",
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
    saved = os.environ.get(NO_AUTOLOAD)
    os.environ[NO_AUTOLOAD] = "1"
    try:
        pytest_code = pytest.main(args + list(extra_args or []), plugins=[recorder])
    finally:
        if saved is None:
            os.environ.pop(NO_AUTOLOAD, None)
        else:
            os.environ[NO_AUTOLOAD] = saved
    code = recorder.exit_code()
    if pytest_code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        code = EXIT_INCOMPLETE
        print(f"ecm-mock contract: pytest stopped early ({pytest_code!r})", file=sys.stderr)
    elif pytest_code == pytest.ExitCode.TESTS_FAILED and code == 0:
        code = EXIT_INCOMPLETE  # a failure nobody could classify is no conformance
    print("ecm-mock contract: " + ("\n".join(["summary", *recorder.summary_lines()])))
    if config.report_dir:
        where = config.report_dir
        print(f"ecm-mock contract: reports in {where} (junit.xml, drift.md, drift.json)")
    print(
        f"ecm-mock contract: exit code {code}: {EXIT_CODES[code]} "
        f"(seed {config.seed}; replay with --seed {config.seed})"
    )
    return code


def _stop(message: str) -> int:
    print(f"ecm-mock contract: {message}", file=sys.stderr)
    return EXIT_UNUSABLE
