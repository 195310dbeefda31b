"""How a contract run is set up: its options, for ``ecm-mock contract`` and for pytest alike.

Standard library only: ``ecm-mock --help`` builds its parser from :data:`OPTIONS` without
loading the kit (requests, pytest, schemathesis).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ENV_PREFIX = "ECM_CONTRACT_"
SUITES = ("fuzz", "stateful", "scenarios")
SEED_LIMIT = 2**32  # seeds are drawn below this

# What the exit code of a run means (also in the README and `ecm-mock contract --help`).
EXIT_CONFORMS = 0  # every selected suite ran, and everything tested conforms
EXIT_VIOLATIONS = 1  # the target broke the contract (the reports say where)
EXIT_UNUSABLE = 2  # nothing was tested: bad options or environment, target down, login refused
EXIT_INCOMPLETE = 3  # a suite errored or could not run: the run is no verdict (reports say why)
EXIT_CODES = {
    EXIT_CONFORMS: "every selected suite ran and everything tested conforms",
    EXIT_VIOLATIONS: "contract violations (drift)",
    EXIT_UNUSABLE: "nothing was tested (options, environment, target unreachable, login)",
    EXIT_INCOMPLETE: "a suite errored or could not run: no verdict",
}


def draw_seed() -> int:
    return secrets.randbelow(SEED_LIMIT)


@dataclass(frozen=True)
class KitConfig:
    """How a contract run is set up. ``target=None``: a mock is started in-process."""

    target: str | None = None
    username: str = "admin"
    password: str = "admin"  # noqa: S105 - the mock's default user
    seed: int = field(default_factory=draw_seed)  # drawn per run unless given; printed
    max_examples: int = 25
    suites: tuple[str, ...] | None = None  # None: every suite the target allows (selected)
    allow_destructive: bool = False
    report_dir: str | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.seed < SEED_LIMIT:
            raise ValueError(f"--seed must be from 0 to {SEED_LIMIT - 1}, not {self.seed}")
        if not 1 <= self.max_examples <= 10_000:
            raise ValueError(f"--max-examples must be from 1 to 10000, not {self.max_examples}")
        if self.target is not None and not self.target.startswith(("http://", "https://")):
            raise ValueError(f"--target must be an http:// or https:// URL, not {self.target!r}")
        if self.suites is not None and "stateful" in self.suites and not self.destructive:
            raise ValueError(
                "the stateful suite creates and deletes data at random: against a real "
                "target it needs --allow-destructive"
            )

    @property
    def selected(self) -> tuple[str, ...]:
        """The suites that run: those asked for, else all (without stateful against a real
        target unless --allow-destructive)."""
        if self.suites is not None:
            return self.suites
        return SUITES if self.destructive else tuple(s for s in SUITES if s != "stateful")

    @property
    def against_mock(self) -> bool:
        return self.target is None

    @property
    def destructive(self) -> bool:
        """May the kit send anything that changes data it did not create?"""
        return self.against_mock or self.allow_destructive

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> KitConfig:
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name, kind in (
            ("target", str),
            ("username", str),
            ("password", str),
            ("seed", int),
            ("max_examples", int),
            ("report_dir", str),
        ):
            raw = environ.get(ENV_PREFIX + name.upper())
            if raw:
                try:
                    values[name] = kind(raw)
                except ValueError:
                    message = f"{ENV_PREFIX}{name.upper()}={raw!r} is not a number"
                    raise ValueError(message) from None
        if environ.get(ENV_PREFIX + "SUITES"):
            values["suites"] = parse_suites(environ[ENV_PREFIX + "SUITES"])
        if environ.get(ENV_PREFIX + "ALLOW_DESTRUCTIVE", "").lower() in ("1", "true", "yes"):
            values["allow_destructive"] = True
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


# The kit's options, shared by `ecm-mock contract` (argparse) and pytest (addoption).
OPTIONS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("--target", {"help": "base URL of the UMM to test (default: an in-process mock)"}),
    ("--username", {"help": "login user (default admin)"}),
    ("--password", {"help": "login password (default admin)"}),
    (
        "--seed",
        {"type": int, "help": "seed of the generated requests (default: drawn per run, printed)"},
    ),
    ("--max-examples", {"type": int, "help": "generated requests per operation (default 25)"}),
    ("--suite", {"help": "comma-separated: fuzz,stateful,scenarios (default all)"}),
    (
        "--allow-destructive",
        {
            "action": "store_true",
            "default": None,
            "help": "against a real target, also send requests that change "
            "data (fuzz every operation, run the stateful suite)",
        },
    ),
    ("--report-dir", {"help": "where junit.xml, drift.md and drift.json go"}),
)


def add_options(add: Callable[..., Any]) -> None:
    """Declare :data:`OPTIONS` with ``add`` (argparse's add_argument or pytest's addoption)."""
    for flag, settings in OPTIONS:
        add(flag, **settings)


def config_from_options(option: Callable[[str], Any]) -> KitConfig:
    """A :class:`KitConfig` from option values (``option("--seed")``), then ECM_CONTRACT_*."""
    suites = option("--suite")
    return KitConfig.from_env(
        target=option("--target"),
        username=option("--username"),
        password=option("--password"),
        seed=option("--seed"),
        max_examples=option("--max-examples"),
        suites=parse_suites(suites) if suites else None,
        allow_destructive=option("--allow-destructive"),
        report_dir=option("--report-dir"),
    )


def parse_suites(text: str) -> tuple[str, ...]:
    suites = tuple(dict.fromkeys(s.strip() for s in text.split(",") if s.strip()))
    unknown = [s for s in suites if s not in SUITES]
    if unknown or not suites:
        raise ValueError(
            f"unknown suite(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(SUITES)}"
        )
    return suites
