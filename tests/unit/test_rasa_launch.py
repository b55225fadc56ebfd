"""The Rasa launcher never serves the HTTP API without a secret, and never takes one in a URL."""
from __future__ import annotations

import pytest

from bot.core.config import get_settings
from bot.ops.rasa_launch import OpenApiRefused, rasa_arguments
from bot.ops.run import api_secret, server_commands


@pytest.mark.parametrize("secret", ["s3cret", "-starts-with-a-dash"])
def test_the_api_gets_the_secret_inside_the_process(secret):
    arguments = rasa_arguments(["run", "--enable-api", "--port", "5005"], secret)
    assert arguments[-3:] == [f"--jwt-secret={secret}", "--jwt-method", "HS256"]
    from rasa.cli.arguments.run import add_server_arguments
    import argparse

    parser = argparse.ArgumentParser()
    add_server_arguments(parser)
    assert parser.parse_known_args(arguments[1:])[0].jwt_secret == secret


@pytest.mark.parametrize("arguments, secret", [
    (["run", "--enable-api"], ""),
    (["run", "--enable-api", "--auth-token", "x"], "s3cret"),
    (["run", "--auth-token=x"], ""),
])
def test_an_open_api_or_a_url_token_is_refused(arguments, secret):
    with pytest.raises(OpenApiRefused):
        rasa_arguments(arguments, secret)


def test_without_the_api_nothing_is_added():
    assert rasa_arguments(["run", "--port", "5005"], "") == ["run", "--port", "5005"]


def test_commands_carry_no_secret_and_bind_loopback(tmp_path, monkeypatch):
    monkeypatch.setenv("RASA_JWT_SECRET", "do-not-print-me-do-not-print-me-0123")
    monkeypatch.delenv("BIND_HOST", raising=False)
    monkeypatch.delenv("STAFF_BIND_HOST", raising=False)
    monkeypatch.delenv("CORS_ORIGINS", raising=False)
    get_settings.cache_clear()
    try:
        settings = get_settings()
        commands = server_commands(settings, tmp_path / "model.tar.gz", tmp_path / "endpoints.yml")
        flat = " ".join(" ".join(c) for c in commands.values())
        assert "do-not-print-me" not in flat and "--auth-token" not in flat and "--cors" not in flat
        assert commands["staff app"][commands["staff app"].index("--host") + 1] == "127.0.0.1"
        assert settings.actions_bind_host == "127.0.0.1"
    finally:
        get_settings.cache_clear()


def test_separate_processes_need_a_shared_secret(monkeypatch):
    monkeypatch.delenv("RASA_JWT_SECRET", raising=False)
    get_settings.cache_clear()
    try:
        with pytest.raises(SystemExit):
            api_secret(get_settings(), ["rasa"])
        assert len(api_secret(get_settings(), None)) >= 40
    finally:
        get_settings.cache_clear()
