"""``make audit``: known vulnerabilities in the pinned dependencies (``requirements.txt``).

Runs pip-audit (installed in its own venv, ``.venv-audit``, so that its pins never meet Rasa's)
against PyPI's vulnerability data, then OSV's, and prints every advisory with the versions that
fix it. Advisories that ``docs/security.md`` already discusses (Rasa's pins keep us from the fix)
are marked *known*; the others are new and need a look.

Exit status: 0 no new advisory; 1 new advisories; 2 no advisory service answered (nothing was
audited: say so, never "clean").
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Set, Tuple

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("pypi", "osv")
ADVISORY_ID = re.compile(r"\b(?:GHSA(?:-[23456789cfghjmpqrvwx]{4}){3}|PYSEC-\d{4}-\d+|CVE-\d{4}-\d{4,})\b")


def known_advisories(security_doc: Path) -> Set[str]:
    """The advisory ids (GHSA, PYSEC, CVE) that ``docs/security.md`` names."""
    return set(ADVISORY_ID.findall(security_doc.read_text(encoding="utf-8"))) if security_doc.exists() else set()


def read_report(stdout: str) -> Tuple[List[dict], int]:
    """``(dependencies with advisories, number audited)`` from pip-audit's JSON; raises ValueError if unreadable."""
    data = json.loads(stdout)
    dependencies = data["dependencies"] if isinstance(data, dict) else data
    audited = [d for d in dependencies if "skip_reason" not in d]
    return [d for d in audited if d.get("vulns")], len(audited)


def first_skip_reason(stdout: str) -> str:
    """Why pip-audit skipped the packages, e.g. every one "not found on PyPI" (a mirror without
    PyPI's JSON API); empty when the output is unreadable."""
    try:
        data = json.loads(stdout)
        dependencies = data["dependencies"] if isinstance(data, dict) else data
        reasons = [d["skip_reason"] for d in dependencies if "skip_reason" in d]
    except (ValueError, KeyError, TypeError):
        return ""
    return f"all {len(reasons)} packages skipped, e.g. {reasons[0]}" if reasons else ""


def report_lines(vulnerable: List[dict], known: Set[str]) -> Tuple[List[str], int]:
    """The printed table and how many advisories are new (not in docs/security.md)."""
    lines, new = [], 0
    for dependency in sorted(vulnerable, key=lambda d: d["name"].lower()):
        for vuln in dependency["vulns"]:
            ids = {vuln["id"], *vuln.get("aliases", [])}
            seen = bool(ids & known)
            new += not seen
            fixes = ", ".join(vuln.get("fix_versions") or []) or "no fix"
            lines.append(f"{'known' if seen else 'NEW  '}  {dependency['name']} {dependency['version']}  "
                         f"{' '.join(sorted(ids))}  fixed in: {fixes}")
    return lines, new


def run_pip_audit(pip_audit: str, requirements: Path, service: str) -> Tuple[Optional[str], str]:
    """Runs pip-audit once; returns ``(json stdout or None, what went wrong)``."""
    command = [pip_audit, "-r", str(requirements), "--no-deps", "--disable-pip", "--format", "json",
               "--vulnerability-service", service, "--progress-spinner", "off"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as error:
        return None, str(error)
    last_line = (done.stderr.strip().splitlines() or [""])[-1]
    return (done.stdout if done.stdout.strip() else None), last_line


def main(argv: Sequence[str]) -> int:
    """``tools/audit.py PIP_AUDIT [REQUIREMENTS]``."""
    if not argv:
        print("usage: tools/audit.py PATH/TO/pip-audit [requirements.txt]", file=sys.stderr)
        return 2
    pip_audit = argv[0]
    requirements = Path(argv[1]) if len(argv) > 1 else ROOT / "requirements.txt"
    known = known_advisories(ROOT / "docs" / "security.md")
    problems: Dict[str, str] = {}
    for service in SERVICES:
        stdout, problem = run_pip_audit(pip_audit, requirements, service)
        try:
            vulnerable, audited = read_report(stdout) if stdout else ([], 0)
        except (ValueError, KeyError, TypeError):
            vulnerable, audited, problem = [], 0, "its output was not pip-audit's JSON"
        if audited == 0:
            problems[service] = (first_skip_reason(stdout) if stdout else "") or problem or "no answer"
            continue
        lines, new = report_lines(vulnerable, known)
        print(f"pip-audit ({service}): {audited} packages audited, "
              f"{sum(len(d['vulns']) for d in vulnerable)} advisories, {new} not yet in docs/security.md")
        print("\n".join(lines) if lines else "no known vulnerabilities")
        return 1 if new else 0
    print("could not audit: no vulnerability service answered, so NOTHING was checked", file=sys.stderr)
    for service, problem in problems.items():
        print(f"  {service}: {problem}", file=sys.stderr)
    print("Run `make audit` where PyPI's JSON API or api.osv.dev can be reached; docs/security.md lists the "
          "advisories we know of.", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
