"""The IMU driver (firmware/mpu6050.py) against the emulated chip (firmware/sim/fake_mpu.py).

The checks live in tests/firmware/mpu_check.py, a MicroPython script; this
runs it under the ``micropython`` unix port of the dev extras (the firmware
side) and runs each of its checks under CPython too.
"""

import pytest

from mpy_tools import CHECKS_DIR, assert_passed, check_names, import_checks, run_micropython

MPU_CHECK = CHECKS_DIR / "mpu_check.py"
CHECK_NAMES = check_names(MPU_CHECK)


def test_mpu_check_passes_under_micropython(tmp_path):
    assert_passed(run_micropython(MPU_CHECK, cwd=tmp_path, timeout=120), len(CHECK_NAMES))


@pytest.fixture(scope="module")
def mpu_check():
    return import_checks("mpu_check")


@pytest.mark.parametrize("name", CHECK_NAMES)
def test_mpu_check_under_cpython(mpu_check, name):
    getattr(mpu_check, name)()
