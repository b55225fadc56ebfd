"""Rasa's own checks of the training data and the conversation tests per language."""
from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import LANGUAGES, PROJECT_ROOT
from tests.quality_helpers import trained_model

pytestmark = pytest.mark.slow


def test_rasa_data_validate_is_clean(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "rasa", "data", "validate", "--fail-on-warnings"],
        cwd=PROJECT_ROOT, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.mark.parametrize("language", LANGUAGES)
def test_conversations(language, tmp_path):
    stories = PROJECT_ROOT / "tests" / "conversations" / f"test_conversations_{language}.yml"
    assert stories.exists()
    result = subprocess.run(
        [
            sys.executable, "-m", "rasa", "test", "core",
            "--model", str(trained_model()), "--stories", str(stories),
            "--fail-on-prediction-errors", "--out", str(tmp_path / "results"),
        ],
        cwd=PROJECT_ROOT, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    failed = tmp_path / "results" / "failed_test_stories.yml"
    assert not failed.exists() or "None of the test stories failed" in failed.read_text()
