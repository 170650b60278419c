"""Phantoms several test modules share (not a test module: tests import it, not each other).

Each makes motion with known values from a few parameters; the docstrings say what is known.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from sacrum.signal.angles import quat_from_angles
from sacrum.signal.mounting import parse_mount
from sacrum.signal.quaternion import quat_multiply
from sacrum.testing.generator import make_capture
from sacrum.testing.walking_phantom import walking_phantom

FS = 100.0  # Hz, the task phantoms' rate
D = math.radians


def sls_phantom(side="L", drop_deg=5.0, hold_s=12.0, sway_deg=1.0, seed=0, lift_at=2.0,
                after_s=2.0, ring_deg=3.0, ring_tau_s=0.5):
    """Angles, body angular velocity, acceleration of one single-leg stance.

    The unsupported side drops by drop_deg at the lift (over 0.4 s), a 1.5-Hz ringing of
    ring_deg decays with ring_tau_s, the pelvis sways sway_deg (obliquity, peak) and
    sway_deg/2 (tilt) at 0.4 Hz, and everything returns to standing over 0.3 s at
    lift_at + hold_s, with a 6-m/s² heel-contact spike.
    """
    rng = np.random.default_rng(seed)
    dur = lift_at + hold_s + after_s
    t = np.arange(0, dur, 1 / FS)
    sgn = 1.0 if side == "L" else -1.0
    u = np.clip((t - lift_at) / 0.4, 0, 1)
    on = 0.5 - 0.5 * np.cos(np.pi * u)
    v = np.clip((t - lift_at - hold_s) / 0.3, 0, 1)
    off = 1 - (0.5 - 0.5 * np.cos(np.pi * v))
    env = on * off
    tt = np.maximum(t - lift_at, 0)
    ring = D(ring_deg) * np.exp(-tt / ring_tau_s) * np.sin(2 * np.pi * 1.5 * tt)
    sway = np.sin(2 * np.pi * 0.4 * tt)
    obl = sgn * (D(drop_deg) + ring + D(sway_deg) * sway) * env
    tilt = (D(sway_deg / 2) * np.cos(2 * np.pi * 0.4 * tt) + 0.5 * ring) * env
    rot = 0.3 * ring * env
    angles = np.c_[tilt, obl, rot]
    # body rates: obliquity about x, tilt about y, rotation about z (small angles)
    gyr = np.gradient(angles, 1 / FS, axis=0)
    gyr += 0.004 * rng.standard_normal(gyr.shape)
    acc = 0.05 * rng.standard_normal((len(t), 3))
    k = np.searchsorted(t, lift_at + hold_s + 0.25)
    acc[k:k + 4, 2] += 6.0
    # the truth: mean obliquity over the hold is drop (the sway averages out), ranges
    truth = {"lift": lift_at, "end": lift_at + hold_s, "drop": D(drop_deg),
             "obl_range": 2 * D(sway_deg), "tilt_range": D(sway_deg)}
    return t, angles, gyr, acc, truth


def step_phantom(kind="step-down", side="R", drops_deg=(3, 5, 7, 4, 6), depth_m=0.15,
                 seed=0, pause_s=1.0, jerky=()):
    """N repetitions: the pelvis lowers (step-down) or rises (step-up) by depth_m (±10 %)
    over 2.4-3.4 s, the unsupported side drops by drops_deg[k] in step with it (plus a
    0.5° offset at the top), pauses between. Repetitions listed in ``jerky`` have a 4-Hz
    ripple on the way."""
    rng = np.random.default_rng(seed)
    sign = -1.0 if kind == "step-down" else 1.0
    osgn = 1.0 if side == "L" else -1.0
    z, obl, truth = [np.zeros(round(2.0 * FS))], [np.full(round(2.0 * FS), D(0.5))], []
    t_now = 2.0
    for k, d in enumerate(drops_deg):
        dur = 2.4 + 1.0 * rng.random()
        n = round(dur * FS)
        ph = np.arange(n) / n
        shape = 0.5 - 0.5 * np.cos(2 * np.pi * ph)
        if k in jerky:
            shape = shape + 0.04 * np.sin(2 * np.pi * 4.0 * ph * dur) * np.sin(np.pi * ph)
        depth = depth_m * (1 + 0.1 * rng.standard_normal())
        z.append(sign * depth * shape)
        obl.append(D(0.5) + D(d) * shape)
        truth.append({"t_start": t_now, "t_end": t_now + dur, "drop": D(d + 0.5),
                      "excursion": D(d), "depth": depth})
        t_now += dur
        m = round(pause_s * FS)
        z.append(np.zeros(m))
        obl.append(np.full(m, D(0.5)))
        t_now += pause_s
    z.append(np.zeros(round(2.0 * FS)))
    obl.append(np.full(round(2.0 * FS), D(0.5)))
    z, obl = np.concatenate(z), np.concatenate(obl) * osgn
    t = np.arange(len(z)) / FS
    acc = np.zeros((len(t), 3))
    acc[:, 2] = np.gradient(np.gradient(z, 1 / FS), 1 / FS) + 0.1
    acc += 0.03 * rng.standard_normal(acc.shape)
    angles = np.c_[np.zeros(len(t)), obl, np.zeros(len(t))]
    angles += D(0.1) * rng.standard_normal(angles.shape)
    return t, angles, acc, truth


def phantom_capture(path: Path, drop_deg=(4.0, 9.0), seed: int = 0, n_steps: int = 80,
                    start_time_ns: int = 1_790_000_000_000_000_000) -> Path:
    """A phantom walk (marked as a ``walk`` task) as a capture; angles per
    walking_phantom, heading 30°, mounted as recommended."""
    ph = walking_phantom(drop_deg=drop_deg, n_steps=n_steps, heading_deg=30.0, seed=seed)
    ang = ph["angles"]
    q = quat_multiply(quat_from_angles(ang[:, 0], ang[:, 1], ang[:, 2] + math.radians(30.0)),
                      parse_mount("recommended"))
    ann = [(0.0, {"type": "task_start", "task": "walk"}),
           (float(ph["t"][-1]), {"type": "task_stop", "task": "walk"})]
    make_capture(path, q, ph["acc"], ph["gyr"], 100, annotations=ann, seed=seed,
                 start_time_ns=start_time_ns)
    return path
