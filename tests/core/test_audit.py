"""`make audit` (scripts/audit): the packaged database finds a known vulnerable pin, and says
plainly how recent it is; the online check says plainly when it checked nothing."""

from __future__ import annotations

import runpy
from pathlib import Path

AUDIT = runpy.run_path(str(Path(__file__).resolve().parents[2] / "scripts" / "audit"))


def test_a_known_vulnerable_pin_is_found_and_the_database_date_is_said(capsys):
    findings = AUDIT["offline"]({"django": "1.11.0", "nh3": "0.2.18"})
    assert findings and all(finding.startswith("django 1.11.0: ") for finding in findings)
    assert "CVE-" in " ".join(findings)
    said = capsys.readouterr().out
    assert "released 2021-" in said and "not in it" in said


def test_the_pinned_packages_are_read_from_both_lock_files():
    pins = AUDIT["pins"]()
    assert pins["django"].startswith("5.2") and "pytest" in pins and "bandit" in pins
