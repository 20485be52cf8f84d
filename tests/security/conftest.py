"""Fixtures of the security tests (the live `server` comes from tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.security.world import World, build_world
from tests.support import LiveServer


@pytest.fixture
async def world(server: LiveServer) -> World:
    return await build_world(server)
