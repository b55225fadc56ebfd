from datetime import datetime, timezone

import pytest

from bot.core.config import SettingsError, get_settings


def test_defaults(monkeypatch):
    for name in ("RASA_PORT", "ACTIONS_PORT", "ACTION_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = get_settings()
    assert settings.municipality == "saltvika"
    assert settings.rasa_port == 5005
    assert settings.actions_port == 5055
    assert settings.action_endpoint_url == "http://localhost:5055/webhook"
    assert settings.database_url.startswith("sqlite:///")
    assert settings.clock is None


def test_ports_and_clock_from_environment(monkeypatch):
    monkeypatch.setenv("ACTIONS_PORT", "6055")
    monkeypatch.setenv("BOT_CLOCK", "2026-05-17T10:00:00+02:00")
    monkeypatch.delenv("ACTION_ENDPOINT_URL", raising=False)
    settings = get_settings()
    assert settings.action_endpoint_url == "http://localhost:6055/webhook"
    assert settings.clock == datetime(2026, 5, 17, 8, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("RASA_PORT", "fifty", "RASA_PORT must be a whole number"),
        ("ACTIONS_PORT", "70000", "ACTIONS_PORT must be a port number"),
        ("BOT_CLOCK", "tomorrow", "BOT_CLOCK must be an ISO 8601 time"),
        ("BOT_CLOCK", "2026-05-17T10:00:00", "BOT_CLOCK must include a UTC offset"),
    ],
)
def test_bad_settings_are_named(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=message):
        get_settings()
