"""Servers shared by the end-to-end tests: started once per test session, the documented way."""
from __future__ import annotations

import pytest

from tests.e2e.assistant import RunningAssistant

TUESDAY_MORNING = "2026-11-17T10:00:00+01:00"  # Saltvika's desk is open 08:00-15:30
FRIDAY_EVENING = "2026-11-20T17:30:00+01:00"  # Björkvalla closed 15:00 on Fridays, until Monday


@pytest.fixture(scope="session")
def saltvika(tmp_path_factory):
    assistant = RunningAssistant(
        tmp_path_factory.mktemp("saltvika"), MUNICIPALITY="saltvika", BOT_CLOCK=TUESDAY_MORNING
    ).start()
    yield assistant
    assistant.stop()


@pytest.fixture(scope="session")
def bjorkvalla(tmp_path_factory):
    assistant = RunningAssistant(
        tmp_path_factory.mktemp("bjorkvalla"), MUNICIPALITY="bjorkvalla", BOT_CLOCK=FRIDAY_EVENING
    ).start()
    yield assistant
    assistant.stop()
