"""Settings come from flags, then the environment, then defaults."""

from __future__ import annotations

import argparse

import pytest

from config.settings import Settings, SettingsError, add_flags, add_serve_flags, load


def parse(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_flags(p)
    add_serve_flags(p)
    return p.parse_args(list(argv))


def test_defaults() -> None:
    s = load(env={})
    assert s == Settings()
    assert (s.host, s.port, s.smtp_port, s.bus_url) == ("127.0.0.1", 8000, 2525, "memory://")
    assert s.database_url == "sqlite+aiosqlite:///./switchboard.db"


def test_environment_then_flags() -> None:
    env = {
        "SWITCHBOARD_PORT": "9000",
        "SWITCHBOARD_SMTP_PORT": "0",
        "SWITCHBOARD_BUS_URL": "redis://127.0.0.1:6379/0",
        "SWITCHBOARD_PUBLIC_URL": "https://help.example.com/",
        "TWILIO_AUTH_TOKEN": "tok",
    }
    s = load(env=env)
    assert (s.port, s.smtp_port, s.bus_url, s.twilio_auth_token) == (
        9000,
        0,
        "redis://127.0.0.1:6379/0",
        "tok",
    )
    assert s.base_url == "https://help.example.com"
    s = load(env=env, args=parse("--port", "9100", "--database-url", "postgresql://db/x", "--demo"))
    assert (s.port, s.database_url, s.demo, s.smtp_port) == (9100, "postgresql://db/x", True, 0)


def test_bad_numbers_are_clear() -> None:
    with pytest.raises(SettingsError, match="SWITCHBOARD_PORT"):
        load(env={"SWITCHBOARD_PORT": "eighty"})


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"SWITCHBOARD_WORKERS": "2"}, "needs PostgreSQL"),
        (
            {"SWITCHBOARD_WORKERS": "2", "SWITCHBOARD_DATABASE_URL": "postgresql://db/sb"},
            "needs a shared bus",
        ),
        ({"SWITCHBOARD_WORKERS": "0"}, "between 1 and 64"),
    ],
)
def test_workers_need_a_shared_database_and_bus(env: dict[str, str], needle: str) -> None:
    with pytest.raises(SettingsError, match=needle):
        load(env)


def test_workers_with_postgresql_and_redis() -> None:
    env = {
        "SWITCHBOARD_WORKERS": "3",
        "SWITCHBOARD_DATABASE_URL": "postgresql://db/sb",
        "SWITCHBOARD_BUS_URL": "redis://127.0.0.1:6379/0",
    }
    assert load(env).workers == 3
