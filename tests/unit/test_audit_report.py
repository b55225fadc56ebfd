"""``make audit``'s report (tools/audit.py): new advisories fail, known ones are marked, and an
audit that checked nothing says so instead of passing. pip-audit is stood in for by a script that
prints what pip-audit prints (the real one needs a vulnerability service this machine lacks)."""
from __future__ import annotations

import importlib.util
import json
import stat
from pathlib import Path

import pytest

from bot.core.config import PROJECT_ROOT

spec = importlib.util.spec_from_file_location("audit_tool", PROJECT_ROOT / "tools" / "audit.py")
audit = importlib.util.module_from_spec(spec)
spec.loader.exec_module(audit)

AIOHTTP = {"name": "aiohttp", "version": "3.9.5", "vulns": [
    {"id": "GHSA-8495-4g3g-x7pr", "aliases": ["CVE-2024-52304"], "fix_versions": ["3.10.11"]}]}
REQUESTS = {"name": "requests", "version": "2.31.0", "vulns": [
    {"id": "PYSEC-2099-1", "aliases": [], "fix_versions": ["2.32.0"]}]}
CLEAN = {"name": "six", "version": "1.16.0", "vulns": []}
SKIPPED = {"name": "absl-py", "skip_reason": "Dependency not found on PyPI and could not be audited: absl-py (1.4.0)"}


def fake_pip_audit(tmp_path: Path, by_service: dict) -> str:
    """An executable that prints the given JSON for ``--vulnerability-service NAME`` (or fails)."""
    script = tmp_path / "pip-audit"
    cases = "\n".join(f"  {name}) cat <<'JSON'\n{json.dumps(output)}\nJSON\n  ;;" for name, output in by_service.items())
    script.write_text("#!/bin/bash\nservice=\"\"\nwhile [ $# -gt 0 ]; do\n"
                      "  [ \"$1\" = --vulnerability-service ] && service=$2; shift\ndone\n"
                      f"case $service in\n{cases}\n  *) echo 'ConnectionError: unreachable' >&2; exit 1;;\nesac\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_the_security_doc_names_the_advisories_it_discusses():
    known = audit.known_advisories(PROJECT_ROOT / "docs" / "security.md")
    assert "CVE-2024-52304" in known and all(audit.ADVISORY_ID.fullmatch(k) for k in known)


def test_a_known_advisory_is_marked_and_a_new_one_counted():
    lines, new = audit.report_lines([AIOHTTP, REQUESTS], {"CVE-2024-52304"})
    assert new == 1
    assert lines[0].startswith("known") and "aiohttp 3.9.5" in lines[0] and "3.10.11" in lines[0]
    assert lines[1].startswith("NEW") and "PYSEC-2099-1" in lines[1]


@pytest.mark.parametrize("outputs, status", [
    ({"pypi": {"dependencies": [CLEAN, AIOHTTP]}}, 0),  # only what docs/security.md discusses
    ({"pypi": {"dependencies": [CLEAN, REQUESTS]}}, 1),  # a new advisory
    ({"pypi": {"dependencies": [SKIPPED]}, "osv": {"dependencies": [REQUESTS]}}, 1),  # PyPI knew nothing: OSV
    ({"pypi": {"dependencies": [SKIPPED, SKIPPED]}}, 2),  # nothing audited anywhere
    ({}, 2),  # no service reachable
])
def test_the_exit_status_says_what_was_checked(tmp_path, capsys, outputs, status):
    assert audit.main([fake_pip_audit(tmp_path, outputs), str(PROJECT_ROOT / "requirements.txt")]) == status
    captured = capsys.readouterr()
    if status == 2:
        assert "NOTHING was checked" in captured.err and captured.out == ""
    else:
        assert "packages audited" in captured.out
