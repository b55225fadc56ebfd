"""The staff app masks national ids however they are written, and numbers shaped like one whose
check digits fail, in the conversation staff read (through the real app)."""
from __future__ import annotations

import pytest

from tests.staff.conftest import put_handoff


@pytest.mark.parametrize("written", ["010190 501 88", "01.01.90-50188", "010190 123 45"])
def test_the_conversation_page_shows_no_id_digits(staff, db_url, written):
    handoff_id = put_handoff(db_url, "c-id", messages=(f"Hei, fødselsnummeret mitt er {written}",))
    page = staff.get(f"/handoffs/{handoff_id}").text
    digits = written.replace(" ", "").replace(".", "").replace("-", "")
    assert "fødselsnummeret mitt er" in page
    assert written not in page and digits not in page and digits[-5:] not in page
