"""Is this Python environment one the kit runs in? Checked before anything runs.

The kit leans on pytest, schemathesis and hypothesis; the versions it supports are the ranges
ecm-mock's own package metadata declares (pyproject.toml is the one place they are written).
An environment outside them (a later ``pip install -U``, an install with ``--no-deps``) is
refused with one line naming the versions, rather than running and misreporting.
"""

from __future__ import annotations

import re
from importlib import metadata

from packaging.requirements import Requirement
from packaging.version import InvalidVersion, Version

DISTRIBUTION = "ecm-mock"
KIT_PACKAGES = ("pytest", "schemathesis", "hypothesis", "requests")


def environment_problem() -> str | None:
    """One line naming what is out of range or missing, else ``None``."""
    try:
        declared = metadata.requires(DISTRIBUTION) or []
    except metadata.PackageNotFoundError:  # run from a source tree: nothing declared to hold
        return None
    problems = []
    for text in declared:
        requirement = Requirement(text)
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue  # an extra's requirement, or another platform's
        name = _normal(requirement.name)
        if name not in KIT_PACKAGES:
            continue
        try:
            installed = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            problems.append(f"{name} is not installed (needs {requirement.specifier})")
            continue
        try:
            ok = requirement.specifier.contains(Version(installed), prereleases=True)
        except InvalidVersion:
            ok = False
        if not ok:
            problems.append(f"{name} {installed} (needs {requirement.specifier})")
    if not problems:
        return None
    return (
        f"this environment is not supported by ecm-mock {metadata.version(DISTRIBUTION)}: "
        + "; ".join(problems)
        + f" (pip install 'ecm-mock=={metadata.version(DISTRIBUTION)}' puts it right)"
    )


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
