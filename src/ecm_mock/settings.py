"""Settings of one mock app: a frozen dataclass, filled from arguments or ECM_MOCK_* variables."""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .clock import time_zone

ENV_PREFIX = "ECM_MOCK_"
_ORIGIN = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#\s]+$")  # an origin: scheme://host[:port]


@dataclass(frozen=True)
class Settings:
    """Everything a mock app can be configured with.

    Each field can also be set from the environment as ``ECM_MOCK_<FIELD>`` (upper case),
    see :meth:`from_env`.
    """

    host: str = "127.0.0.1"
    port: int = 8080
    seed: int = 0
    fixtures: Path | None = None  # None: the default fixtures shipped with the package
    cisco: str = "cce"  # the Cisco flavour of the deployment: "cce" or "ccx"
    fake_contacts: int = 0  # extra contacts generated with Faker at start-up
    fake_dnc: int = 0  # extra DNC numbers generated with Faker at start-up
    token_ttl: int = 36000  # seconds, the vendor's expires_in
    jwt_secret: str | None = None  # None: a random secret per app
    max_body_bytes: int = 10 * 1024 * 1024
    response_validation: str = "strict"  # "strict" (500 on a broken response), "warn", "off"
    idle_timeout: float = 30.0  # seconds an idle keep-alive connection (or slow headers) is kept
    max_connections: int = 16384  # connections held at once (idle keep-alives count too)
    spec_path: Path | None = None  # None: the spec shipped with the package
    admin: bool = True  # serve the control plane under /__admin
    admin_token: str | None = None  # when set, /__admin needs the header X-Admin-Token
    journal_size: int = 1000  # requests the journal keeps
    max_sessions: int = 16  # isolated sessions (X-Mock-Session) alive at once
    cors_origins: str = "*"  # origins browsers may call from, comma-separated; "*" any, "none" off
    # the campaign runtime (runtime.py): the defaults of each store's outcome model
    runtime: bool = True  # simulate the feeder, dialer and retries
    feeder_interval: int = 60  # seconds between feed cycles (inferred)
    time_zone: str = "UTC"  # the deployment's, for contacts without a timeZone (inferred)
    empty_phone: str = "phone01"  # an attempt's empty phone field: "phone01" or "skip"
    call_seconds: int = 30  # from handover to the attempt's result (inferred)
    call_log_size: int = 10000  # calls each store's call log keeps
    # limits on what a client can make the mock hold or work through (README, Limits)
    max_json_depth: int = 32  # nesting of arrays and objects in a JSON body
    max_integer_digits: int = 1000  # digits of an integer in a body, query or path
    max_form_parts: int = 1000  # parts of a multipart body
    max_rejected_rows: int = 100  # rejected rows a bulk report lists (it counts them all)
    journal_bytes: int = 8 * 1024 * 1024  # what the journal's entries may take, together
    max_snapshots: int = 32  # snapshots per session
    snapshot_bytes: int = 256 * 1024 * 1024  # what the snapshots of all sessions may take
    max_faults: int = 100  # fault rules in force at once

    def __post_init__(self) -> None:
        if self.cisco not in ("cce", "ccx"):
            raise ValueError(f"cisco must be 'cce' or 'ccx', not {self.cisco!r}")
        if self.response_validation not in ("strict", "warn", "off"):
            raise ValueError(
                "response_validation must be 'strict', 'warn' or 'off', "
                f"not {self.response_validation!r}"
            )
        if not 0.5 <= self.idle_timeout <= 3600:
            message = f"idle_timeout must be from 0.5 to 3600 seconds, not {self.idle_timeout}"
            raise ValueError(message)
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be from 0 to 65535 (0: any free port), not {self.port}")
        if not self.host or any(c.isspace() for c in self.host):
            raise ValueError(f"host must be an address or a host name, not {self.host!r}")
        for origin in self.cors_origin_list:
            if not (origin in ("*", "null") or _ORIGIN.match(origin)):
                raise ValueError(
                    f"cors_origins: {origin!r} is not an origin such as http://localhost:5173 "
                    "(scheme://host[:port], no path), '*' or 'none'"
                )
        if self.empty_phone not in ("phone01", "skip"):
            raise ValueError(f"empty_phone must be 'phone01' or 'skip', not {self.empty_phone!r}")
        for name in ("feeder_interval", "call_seconds"):  # admin.yaml's OutcomeModel ranges
            if not 0 <= getattr(self, name) <= 86400:
                raise ValueError(f"{name} must be at most a day (86400 s): {getattr(self, name)}")
        if time_zone(self.time_zone) is None:
            raise ValueError(f"time_zone must be an IANA time zone, not {self.time_zone!r}")
        positive = (
            "feeder_interval",
            "call_log_size",
            "max_body_bytes",
            "token_ttl",
            "max_connections",
            "journal_size",
            "max_sessions",
            "max_json_depth",
            "max_integer_digits",
            "max_form_parts",
            "max_rejected_rows",
            "journal_bytes",
            "max_snapshots",
            "snapshot_bytes",
            "max_faults",
        )
        for name in ("fake_contacts", "fake_dnc", "call_seconds", *positive):
            if getattr(self, name) < (1 if name in positive else 0):
                raise ValueError(f"{name} is out of range: {getattr(self, name)}")
        if self.max_integer_digits > 4300:  # Python reads and writes no longer integers
            raise ValueError(f"max_integer_digits is above 4300: {self.max_integer_digits}")

    @property
    def cors_origin_list(self) -> tuple[str, ...]:
        """The origins of ``cors_origins``; empty: CORS off."""
        if self.cors_origins.strip().lower() in ("", "none"):
            return ()
        return tuple(
            o.strip().rstrip("/").lower() for o in self.cors_origins.split(",") if o.strip()
        )

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``ECM_MOCK_*`` variables; explicit overrides (not None) win."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = environ.get(ENV_PREFIX + f.name.upper())
            if raw is not None and raw != "":
                values[f.name] = _convert(f, raw)
            negated = environ.get(f"{ENV_PREFIX}NO_{f.name.upper()}")  # as --no-admin says it
            if str(f.type) == "bool" and negated is not None and negated != "":
                if f.name in values:
                    raise ValueError(
                        f"{ENV_PREFIX}{f.name.upper()} and {ENV_PREFIX}NO_{f.name.upper()} "
                        "are both set: give one"
                    )
                values[f.name] = not _convert(f, negated, f"NO_{f.name.upper()}")
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def _convert(f: dataclasses.Field, raw: str, name: str | None = None) -> Any:
    kind = str(f.type)
    if kind == "bool":
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{ENV_PREFIX}{name or f.name.upper()}={raw!r} is not a yes/no value")
    try:
        if kind.startswith("int"):
            return int(raw)
        if kind.startswith("float"):
            return float(raw)
        if "Path" in kind:
            return Path(raw)
    except ValueError as exc:
        raise ValueError(f"{ENV_PREFIX}{f.name.upper()}={raw!r} is not a number") from exc
    return raw


__all__ = ["ENV_PREFIX", "Settings"]
