"""The ``ecm-mock`` command: ``check`` the contract, ``serve`` the mock."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .contract.config import EXIT_CODES

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
    serve.add_argument(
        "--idle-timeout",
        type=float,
        help="seconds before an idle keep-alive connection, or one whose headers do not "
        "arrive, is closed (default 30)",
    )
    serve.add_argument(
        "--max-connections", type=int, help="connections held at once (default 16384)"
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
    serve.add_argument(
        "--cors-origins",
        help="origins browsers may call the mock from, comma-separated "
        "(default '*': any; 'none': CORS off)",
    )
    runtime = serve.add_argument_group(
        "campaign runtime", "the simulated feeder, dialer and retries (each session's defaults)"
    )
    runtime.add_argument(
        "--no-runtime",
        dest="runtime",
        action="store_false",
        default=None,
        help="do not simulate: contacts stay as they are",
    )
    runtime.add_argument("--feeder-interval", type=int, help="seconds between feed cycles (60)")
    runtime.add_argument(
        "--time-zone", help="the deployment's time zone, for contacts without one (UTC)"
    )
    runtime.add_argument(
        "--empty-phone",
        choices=("phone01", "skip"),
        help="an attempt's empty phone field: dial phone01 (default) or skip the attempt",
    )
    runtime.add_argument("--call-seconds", type=int, help="from handover to result (30)")
    runtime.add_argument("--call-log-size", type=int, help="calls each session's log keeps")
    for flag, what in LIMITS:  # README, Limits
        serve.add_argument(flag, type=int, help=what)
    serve.set_defaults(run=_serve)

    contract = sub.add_parser(
        "contract",
        help="run the contract suites against a UMM (or an in-process mock)",
        description="Run the fuzz, stateful and scenario suites. Without --target a mock is "
        "started in-process. Against a real target only reads and self-cleaning scenarios run "
        "unless --allow-destructive. Every option can also be set as ECM_CONTRACT_<OPTION> "
        "(--suite: ECM_CONTRACT_SUITES). "
        "Exit codes: "
        + "; ".join(f"{code} {meaning}" for code, meaning in EXIT_CODES.items())
        + ".",
    )
    _add_contract_options(contract)
    contract.set_defaults(run=_contract)
    return parser


def _check(args: argparse.Namespace) -> int:
    from .spec import SpecError, load_spec, operations_table

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
    from .app import ConfigurationError
    from .fixtures import FixtureError
    from .serving import AddressError
    from .settings import Settings
    from .spec import SpecError

    options = {k: v for k, v in vars(args).items() if k not in ("command", "run")}
    try:
        settings = Settings.from_env(**options)
        code = server.serve(settings, lambda url: _announce(settings, url))
    except (ValueError, SpecError, FixtureError, ConfigurationError, AddressError) as exc:
        print(f"ecm-mock serve: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        code = 0
    print("ecm-mock: stopped", flush=True)
    sys.stderr.flush()
    # Leave now: at the interpreter's finalization granian's Rust threads may still wake, and
    # then they panic ("panic in a function that cannot unwind") after a clean stop.
    os._exit(code)


def _announce(settings, url: str) -> None:
    print(
        f"ecm-mock {__version__} listening on {url} "
        f"(seed {settings.seed}, cisco {settings.cisco}); Ctrl-C stops it",
        flush=True,
    )


def _add_contract_options(parser: argparse.ArgumentParser) -> None:
    from .contract.config import add_options

    add_options(parser.add_argument)


def _contract(args: argparse.Namespace) -> int:
    from .contract.config import config_from_options
    from .contract.runner import run

    values = vars(args)
    try:
        config = config_from_options(lambda flag: values.get(flag.lstrip("-").replace("-", "_")))
    except ValueError as exc:
        print(f"ecm-mock contract: {exc}", file=sys.stderr)
        return 2
    return run(config)


if __name__ == "__main__":
    sys.exit(main())
