"""Fixtures of the scenario suite."""

from __future__ import annotations

import pytest

from ._expect import Scenario


@pytest.fixture
def scenario(kit, recorder, created, request) -> Scenario:
    return Scenario(kit, recorder, created, request.node.name, request.node.nodeid)
