"""The firmware's security (issue 15 item 3) under a real MicroPython: tests/firmware/
security_check.py holds the checks (bond store behind the secret IRQs, pairing window,
BOOT 3 s / 10 s, the bond file across a reboot, BleLink's NOT_BONDED gate)."""

from __future__ import annotations

from mpy_tools import CHECKS_DIR, assert_passed, check_names, run_micropython


def test_security_checks_pass_under_micropython(tmp_path):
    script = CHECKS_DIR / "security_check.py"
    proc = run_micropython(script, cwd=tmp_path, env={"SACRUM_TMP": str(tmp_path)}, timeout=60)
    assert_passed(proc, len(check_names(script)))
