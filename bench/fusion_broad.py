"""Accuracy of the firmware's orientation filter on BROAD, against VQF (6D).

Two filters run under MicroPython: the board's fixed-point ``firmware/fusion.py``
(integer only since issue 14; gyr fed as rad/s Q20, acc as m/s² Q16, q read
back as Q14) and its float original ``firmware/sim/fusion_float.py``; the
issue's target is the fixed-point total RMSE within 1.05x of the float one on
every trial (column "fixed / float").

Every BROAD trial in the data folder is loaded with scipy, written as a binary
float32 file (gx gy gz ax ay az per sample) and fed to firmware/fusion.py
running under the ``micropython`` binary (unix port) by a small runner script;
the runner writes q, bias and at_rest per sample back as float32 and times the
update loop. The real-time ``vqf.VQF`` (C++; its 6D quaternion ``quat6D``)
runs on the same float32 samples in the same run. The same fusion.py is also
run under CPython on the same input, once as is (to show that it agrees with
MicroPython) and once with every operation in float32 (numpy scalars), an
emulation of the ESP32, whose MicroPython floats are single precision while
the unix port's are double.

Error (data/README.md, BROAD; Laidig et al. 2021): the rotation between
estimate and reference expressed in the earth frame, ``q_est ⊗ q_ref*``, split
into heading (about earth z) and inclination; RMSE in degrees over the samples
where ``movement`` is set and the reference is valid, after removing the one
constant heading offset that zeroes the mean heading error (6D: heading is
arbitrary). Total is the whole rotation angle.

Run: .venv/bin/python bench/fusion_broad.py [--data ../shared/data/broad] [--sensitivity]
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import scipy.io
from vqf import VQF

from sacrum.signal.quaternion import quat_multiply
from sacrum.testing.simulate import micropython_binary

ROOT = Path(__file__).resolve().parents[1]
FIRMWARE = ROOT / "firmware"
OUT_FIELDS = 8  # q (4), bias (3), at_rest (1)

# MicroPython side: read samples in chunks, run Fusion, write outputs, time updates.
RUNNER = r'''
import sys
import time
from array import array

CHUNK = 1024
src, dst, period, kind = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
if kind == "fixed":
    import fusion as fm
else:
    import fusion_float as fm
inp = array("f", [0.0] * (6 * CHUNK))
out = array("f", [0.0] * (8 * CHUNK))
f = fm.Fusion(period)
q, b = f.q, f.bias
if kind == "fixed":  # the board's formats: inputs converted before the timed loop
    GQ, AQ = float(1 << fm.GYR_Q), float(1 << fm.ACC_Q)
    QS, BS = 1.0 / 16384, 1.0 / (1 << fm.BIAS_Q)
    ints = array("i", [0] * (6 * CHUNK))
else:
    QS = BS = 1.0
n_total = 0
t_us = 0
with open(src, "rb") as fi, open(dst, "wb") as fo:
    while True:
        nbytes = fi.readinto(inp)
        if not nbytes:
            break
        n = nbytes // 24
        if kind == "fixed":
            for k in range(6 * n):
                ints[k] = int(round(inp[k] * (GQ if k % 6 < 3 else AQ)))
            src_arr = ints
        else:
            src_arr = inp
        for i in range(n):
            j = 6 * i
            t0 = time.ticks_us()
            f.update(src_arr[j], src_arr[j + 1], src_arr[j + 2], src_arr[j + 3], src_arr[j + 4],
                     src_arr[j + 5])
            t_us += time.ticks_diff(time.ticks_us(), t0)
            o = 8 * i
            out[o] = q[0] * QS
            out[o + 1] = q[1] * QS
            out[o + 2] = q[2] * QS
            out[o + 3] = q[3] * QS
            out[o + 4] = b[0] * BS
            out[o + 5] = b[1] * BS
            out[o + 6] = b[2] * BS
            out[o + 7] = 1.0 if f.at_rest else 0.0
        n_total += n
        fo.write(memoryview(out)[: 8 * n])
print(n_total, t_us)
'''


def load_trial(path: Path) -> dict:
    d = scipy.io.loadmat(path, simplify_cells=True)
    return {
        "name": path.stem,
        "rate_hz": float(d["sampling_rate"]),
        "gyr_radps": np.asarray(d["imu_gyr"], np.float32),
        "acc_mps2": np.asarray(d["imu_acc"], np.float32),
        "q_ref": np.asarray(d["opt_quat"], float),
        "movement": np.asarray(d["movement"]).astype(bool),
    }


def errors_deg(q_est: np.ndarray, q_ref: np.ndarray, movement: np.ndarray) -> tuple:
    """Inclination, heading and total RMSE in degrees (module docstring)."""
    norm_ref = np.linalg.norm(q_ref, axis=1)
    use = movement & np.isfinite(norm_ref) & (np.nan_to_num(norm_ref) > 0.5)
    est = q_est[use] / np.linalg.norm(q_est[use], axis=1)[:, None]
    ref = q_ref[use] / norm_ref[use, None]
    diff = quat_multiply(est, ref * [1.0, -1.0, -1.0, -1.0])  # earth frame
    heading = np.angle(np.exp(2j * np.arctan2(diff[:, 3], diff[:, 0])))
    centre = np.angle(np.mean(np.exp(1j * heading)))
    offset = centre + np.mean(np.angle(np.exp(1j * (heading - centre))))
    diff = quat_multiply(np.array([np.cos(offset / 2), 0.0, 0.0, -np.sin(offset / 2)]), diff)
    w, z = np.abs(diff[:, 0]), diff[:, 3]
    heading_err = 2 * np.arctan2(np.abs(z), w)
    incl_err = 2 * np.arccos(np.clip(np.sqrt(diff[:, 0] ** 2 + z**2), 0.0, 1.0))
    total_err = 2 * np.arccos(np.clip(w, 0.0, 1.0))

    def rmse(e):
        return float(np.degrees(np.sqrt(np.mean(e**2))))

    return rmse(incl_err), rmse(heading_err), rmse(total_err)


def run_micropython(mpy: str, trial: dict, tmp: Path, kind: str = "float"
                    ) -> tuple[np.ndarray, float]:
    """Per-sample outputs (N x 8) of fusion_float.py (``kind`` "float") or the
    fixed-point fusion.py ("fixed") under MicroPython, and µs per update."""
    src, dst, runner = tmp / "in.f32", tmp / "out.f32", tmp / "runner.py"
    runner.write_text(RUNNER, encoding="utf-8")
    np.hstack([trial["gyr_radps"], trial["acc_mps2"]]).astype("<f4").tofile(src)
    env = dict(os.environ, MICROPYPATH=os.pathsep.join([str(FIRMWARE), str(FIRMWARE / "sim")]))
    proc = subprocess.run(
        [mpy, str(runner), str(src), str(dst), repr(1.0 / trial["rate_hz"]), kind],
        env=env, capture_output=True, text=True, timeout=600,
    )
    if proc.returncode != 0:
        sys.exit(f"micropython failed on {trial['name']}:\n{proc.stdout}{proc.stderr}")
    n, t_us = (int(x) for x in proc.stdout.split())
    out = np.fromfile(dst, "<f4").reshape(-1, OUT_FIELDS)
    assert len(out) == n == len(trial["gyr_radps"]), (len(out), n)
    return out, t_us / n


def load_fusion(name: str):
    """A fresh copy of the float filter (firmware/sim/fusion_float.py) as ``name``."""
    spec = importlib.util.spec_from_file_location(name, FIRMWARE / "sim" / "fusion_float.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Float32Array(list):
    """array('f') stand-in whose items are numpy float32 scalars."""

    def __init__(self, typecode, values):
        super().__init__(np.float32(v) for v in values)

    def __setitem__(self, i, value):
        super().__setitem__(i, np.float32(value))


def _f32(fn):
    return lambda x: np.float32(fn(np.float32(x)))


def run_cpython(trial: dict, float32: bool = False, **constants: float) -> np.ndarray:
    """q of the same fusion.py under CPython.

    State is float32 as in MicroPython, arithmetic double like the unix port.
    With ``float32`` every operation is single precision as on the ESP32: the
    arrays hold numpy float32 scalars, math functions return float32, and
    Python float constants take the float32 operand's type (NEP 50).
    ``constants`` override fusion.py's module constants (the parameters).
    """
    fusion = load_fusion("fusion_f32" if float32 else "fusion_f64")
    for name, value in constants.items():
        assert hasattr(fusion, name), name
        setattr(fusion, name, value)
    cast = float
    if float32:
        fusion.array = _Float32Array
        fusion.math = SimpleNamespace(sqrt=_f32(np.sqrt), sin=_f32(np.sin), cos=_f32(np.cos),
                                      exp=_f32(np.exp), ceil=math.ceil)
        cast = np.float32
    f = fusion.Fusion(cast(1.0 / trial["rate_hz"]))
    rows = np.hstack([trial["gyr_radps"], trial["acc_mps2"]])
    rows = list(rows) if float32 else rows.astype(float).tolist()
    q = np.empty((len(rows), 4))
    for i, row in enumerate(rows):
        f.update(*row)
        q[i] = [float(x) for x in f.q]
    return q


def run_vqf(trial: dict) -> np.ndarray:
    v = VQF(1.0 / trial["rate_hz"])
    gyr = np.ascontiguousarray(trial["gyr_radps"], float)
    acc = np.ascontiguousarray(trial["acc_mps2"], float)
    return v.updateBatch(gyr, acc)["quat6D"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/broad",
                    help="folder of BROAD NN_*.mat trials")
    ap.add_argument("--sensitivity", action="store_true",
                    help="also the mean total RMSE with one parameter changed at a time "
                         "(CPython, whose numbers equal MicroPython's)")
    args = ap.parse_args()
    paths = sorted(args.data.glob("[0-9][0-9]_*.mat"))
    if not paths:
        sys.exit(f"no BROAD trials (NN_*.mat) in {args.data}")
    mpy = micropython_binary()

    print("| trial | ours incl | ours head | ours total | VQF incl | VQF head | VQF total "
          "| ours/VQF | ours total, all float32 | at rest | µs/update "
          "| fixed incl / head / total | fixed / float | fixed µs/update |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    ours_tot, vqf_tot, f32_tot, us, dq = [], [], [], [], []
    fixed_ratio, fixed_us = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for path in paths:
            trial = load_trial(path)
            out, us_per_update = run_micropython(mpy, trial, Path(tmp))
            q_mpy = out[:, :4].astype(float)
            dq.append(float(np.abs(q_mpy - run_cpython(trial)).max()))
            ours = errors_deg(q_mpy, trial["q_ref"], trial["movement"])
            ref = errors_deg(run_vqf(trial), trial["q_ref"], trial["movement"])
            f32 = errors_deg(run_cpython(trial, float32=True), trial["q_ref"], trial["movement"])
            fout, fixed_us_per = run_micropython(mpy, trial, Path(tmp), "fixed")
            fx = errors_deg(fout[:, :4].astype(float), trial["q_ref"], trial["movement"])
            ours_tot.append(ours[2])
            vqf_tot.append(ref[2])
            f32_tot.append(f32[2])
            us.append(us_per_update)
            fixed_ratio.append(fx[2] / ours[2])
            fixed_us.append(fixed_us_per)
            print(f"| {trial['name']} | {ours[0]:.2f} | {ours[1]:.2f} | {ours[2]:.2f} "
                  f"| {ref[0]:.2f} | {ref[1]:.2f} | {ref[2]:.2f} | {ours[2] / ref[2]:.2f} "
                  f"| {f32[2]:.2f} | {out[:, 7].mean():.0%} | {us_per_update:.1f} "
                  f"| {fx[0]:.3f} / {fx[1]:.3f} / {fx[2]:.3f} | {fx[2] / ours[2]:.3f} "
                  f"| {fixed_us_per:.1f} |", flush=True)
    ours_tot, vqf_tot = np.array(ours_tot), np.array(vqf_tot)
    print()
    print(f"mean total RMSE: ours {ours_tot.mean():.3f}°, VQF {vqf_tot.mean():.3f}°, "
          f"ours all-float32 {np.mean(f32_tot):.3f}°")
    print(f"mean of the per-trial ratios ours/VQF: {np.mean(ours_tot / vqf_tot):.3f}; "
          f"ratio of the means: {ours_tot.mean() / vqf_tot.mean():.3f} (target <= 1.2)")
    print(f"MicroPython (unix port, this machine): {np.mean(us):.1f} µs per update; "
          f"largest |q| difference MicroPython vs CPython: {max(dq):.1e}")
    worst = max(fixed_ratio)
    print(f"fixed-point firmware/fusion.py: total RMSE / float's, worst trial {worst:.3f} "
          f"(target <= 1.05: {'met' if worst <= 1.05 else 'NOT met'}); "
          f"{np.mean(fixed_us):.1f} µs per update under the unix port")
    if args.sensitivity:
        sensitivity(paths, vqf_tot.mean())


SENSITIVITY = (  # one change at a time from fusion.py's defaults
    ("no bias estimate in motion", {"TAU_BIAS_MOTION_S": 1e12}),
    ("TAU_BIAS_MOTION_S = 50 s", {"TAU_BIAS_MOTION_S": 50.0}),
    ("TAU_BIAS_MOTION_S = 200 s", {"TAU_BIAS_MOTION_S": 200.0}),
    ("TAU_BIAS_REST_S = 3 s", {"TAU_BIAS_REST_S": 3.0}),
    ("TAU_BIAS_REST_S = 30 s", {"TAU_BIAS_REST_S": 30.0}),
    ("TAU_ACC_S = 2 s", {"TAU_ACC_S": 2.0}),
    ("TAU_ACC_S = 4.5 s", {"TAU_ACC_S": 4.5}),
    ("BIAS_MAX_RADPS = 2 °/s (VQF)", {"BIAS_MAX_RADPS": math.radians(2.0)}),
)


def sensitivity(paths: list[Path], vqf_mean: float) -> None:
    trials = [load_trial(p) for p in paths]
    print()
    print("| change | mean total RMSE | ratio of the means to VQF |")
    print("| --- | --- | --- |")
    for label, constants in SENSITIVITY:
        tot = np.mean([errors_deg(run_cpython(t, **constants), t["q_ref"], t["movement"])[2]
                       for t in trials])
        print(f"| {label} | {tot:.3f}° | {tot / vqf_mean:.3f} |", flush=True)


if __name__ == "__main__":
    main()
