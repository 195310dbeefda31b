"""The ``ecm-mock`` command: ``check`` the contract, ``serve`` the mock."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .app import ConfigurationError
from .fixtures import FixtureError
from .settings import Settings
from .spec import SpecError, load_spec, operations_table

# what a client can make the mock hold or work through (README, Limits)
LIMITS = (
    ("--max-json-depth", "nesting of a JSON body (32)"),
    ("--max-integer-digits", "digits of an integer, at most 4300 (1000)"),
    ("--max-form-parts", "parts of a multipart body (1000)"),
    ("--max-rejected-rows", "rejected rows a bulk report lists; it counts all (100)"),
    ("--journal-bytes", "bytes the journal's entries take together (8388608)"),
    ("--max-snapshots", "snapshots per session (32)"),
    ("--snapshot-bytes", "bytes the snapshots of all sessions take (268435456)"),
    ("--max-faults", "fault rules in force at once (100)"),
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    return args.run(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ecm-mock",
        description="Mock server and contract-test kit for the Expertflow UMM ECM REST API.",
    )
    parser.add_argument("--version", action="version", version=f"ecm-mock {__version__}")
    sub = parser.add_subparsers(dest="command")

    check = sub.add_parser("check", help="validate the spec and list its operations")
    check.add_argument("spec", nargs="?", type=Path, help="a spec file (default: the shipped one)")
    check.set_defaults(run=_check)

    serve = sub.add_parser(
        "serve",
        help="run the mock server",
        description="Run the mock. Every option can also be set as ECM_MOCK_<OPTION> "
        "(e.g. ECM_MOCK_PORT=9000); options given here win.",
    )
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8080; 0 picks a free one)")
    serve.add_argument("--seed", type=int, help="seed of generated data (default 0)")
    serve.add_argument("--fixtures", type=Path, help="fixtures directory (default: shipped set)")
    serve.add_argument("--cisco", choices=("cce", "ccx"), help="Cisco flavour (default cce)")
    serve.add_argument("--fake-contacts", type=int, help="generate N extra contacts")
    serve.add_argument("--fake-dnc", type=int, help="generate N extra DNC numbers")
    serve.add_argument("--threads", type=int, help="server threads (default 8)")
    serve.add_argument(
        "--workers",
        type=int,
        help="HTTP worker processes (default 1); with more, one engine process holds the state",
    )
    serve.add_argument("--max-body-bytes", type=int, help="largest request body (default 10 MB)")
    serve.add_argument("--token-ttl", type=int, help="token lifetime in seconds (default 36000)")
    serve.add_argument(
        "--response-validation",
        choices=("strict", "warn", "off"),
        help="what to do with a response that breaks the contract (default strict: 500)",
    )
    serve.add_argument("--spec-path", type=Path, help="serve another spec file")
    serve.add_argument(
        "--no-admin",
        dest="admin",
        action="store_false",
        default=None,
        help="do not serve the control plane under /__admin",
    )
    serve.add_argument("--admin-token", help="require this X-Admin-Token on /__admin")
    serve.add_argument("--journal-size", type=int, help="requests the journal keeps (1000)")
    serve.add_argument("--max-sessions", type=int, help="isolated sessions at once (16)")
    for flag, what in LIMITS:  # README, Limits
        serve.add_argument(flag, type=int, help=what)
    serve.set_defaults(run=_serve)

    contract = sub.add_parser(
        "contract",
        help="run the contract suites against a UMM (or an in-process mock)",
        description="Run the fuzz, stateful and scenario suites. Without --target a mock is "
        "started in-process. Against a real target only reads and self-cleaning scenarios run "
        "unless --allow-destructive. Every option can also be set as ECM_CONTRACT_<OPTION>. "
        "Exit codes: 0 conforms, 1 violations, 2 target unreachable or login failed.",
    )
    _add_contract_options(contract)
    contract.set_defaults(run=_contract)
    return parser


def _check(args: argparse.Namespace) -> int:
    try:
        spec = load_spec(args.spec)
    except SpecError as exc:
        print(f"ecm-mock check: {exc}", file=sys.stderr)
        return 1
    print(operations_table(spec))
    print(f"\n{spec.path}: valid OpenAPI {spec.document.get('openapi')}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from . import server

    # a line per request: skip what the format does not show (Python's logging HOWTO,
    # "Optimization"); finding the caller's source line is most of a record's cost
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    options = {k: v for k, v in vars(args).items() if k not in ("command", "run")}
    try:
        settings = Settings.from_env(**options)
        code = server.serve(settings, lambda url: _announce(settings, url))
    except (ValueError, SpecError, FixtureError, ConfigurationError) as exc:
        print(f"ecm-mock serve: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        code = 0
    print("ecm-mock: stopped", flush=True)
    return code


def _announce(settings: Settings, url: str) -> None:
    processes = f", {settings.workers} workers" if settings.workers > 1 else ""
    print(
        f"ecm-mock {__version__} listening on {url} "
        f"(seed {settings.seed}, cisco {settings.cisco}{processes}); Ctrl-C stops it",
        flush=True,
    )


def _add_contract_options(parser: argparse.ArgumentParser) -> None:
    from contract_tests.kit import add_options

    add_options(parser.add_argument)


def _contract(args: argparse.Namespace) -> int:
    from contract_tests.kit import config_from_options
    from contract_tests.runner import run

    values = vars(args)
    try:
        config = config_from_options(lambda flag: values.get(flag.lstrip("-").replace("-", "_")))
    except ValueError as exc:
        print(f"ecm-mock contract: {exc}", file=sys.stderr)
        return 2
    return run(config)


if __name__ == "__main__":
    sys.exit(main())
