"""Per-repetition pelvic control: excursions, sway, smoothness and the exercise's own metrics.

Shared by the repetition and hold segmenters. Everything is computed from the samples of
one repetition (or hold) ``[i0, i1]`` against its start posture ``q_start``:

* ``tilt_excursion``, ``obliquity_excursion``, ``rotation_excursion``: the largest signed
  deviation of each relative angle (:func:`sacrum.scoring.exercises.posture.relative_angles`)
  from the start posture: the value of largest magnitude, with its sign (rad);
* ``<angle>_excursion_min``, ``<angle>_excursion_max``: the two extremes of each angle
  (rad; the largest deviation each way from the start posture, 0 if it never went that
  way; the signed excursion is the larger of the two). They
  carry the excursion where the pelvis moved about as far each way: there the signed value
  is ill-conditioned (a tenth of a degree decides which extreme it is, and it jumps by
  their sum), the extremes are not (docs/exercises.md, "Per exercise");
* the exercise's own metrics (:class:`sacrum.scoring.exercises.catalogue.Metric`): the
  largest value of the metric's signal (rad; + = the fault);
* ``sway_rms_radps``: RMS of the body angular-velocity vector (rad/s);
* ``ldlj_v``: log dimensionless jerk of the angular velocity (Balasubramanian et al. 2015;
  for IMUs Melendez-Calderon et al. 2021): ``-ln(T³/ω_peak² · ∫|d²ω/dt²|² dt)`` with
  ``ω`` the angular-velocity vector low-passed at ``lowpass_hz`` (FIR, zero phase), T the
  duration. Dimensionless; higher (less negative) = smoother.

References: S. Balasubramanian, A. Melendez-Calderon, A. Roby-Brami, E. Burdet (2015). On
the analysis of movement smoothness. J NeuroEng Rehabil 12:112. A. Melendez-Calderon, C.
Shirota, S. Balasubramanian (2021). Estimating movement smoothness from inertial
measurement units. Front Bioeng Biotechnol 8:558771.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import firwin

from sacrum.scoring.exercises.catalogue import Exercise
from sacrum.scoring.exercises.posture import relative_angles

#: The relative angles, in the column order of ``relative_angles``.
ANGLES = ("tilt", "obliquity", "rotation")


def lowpass(x: np.ndarray, cutoff_hz: float, fs: float, length_s: float = 0.5) -> np.ndarray:
    """Zero-phase FIR low-pass of the columns of x (edges padded with the edge value)."""
    x = np.asarray(x, float)
    n = round(length_s * fs) | 1
    if cutoff_hz >= fs / 2 or len(x) < 3:
        return x.copy()
    h = firwin(n, cutoff_hz, fs=fs)
    pad = n // 2
    xp = np.pad(x, [(pad, pad)] + [(0, 0)] * (x.ndim - 1), mode="edge")
    if x.ndim == 1:
        return np.convolve(xp, h, mode="valid")
    return np.stack([np.convolve(xp[:, k], h, mode="valid") for k in range(x.shape[1])], 1)


def ldlj_v(omega_radps: np.ndarray, fs: float) -> float:
    """Log dimensionless jerk (LDLJ-V) of an angular-velocity trace (N, 3), already
    low-passed. NaN when it cannot be had (too short, no motion)."""
    w = np.asarray(omega_radps, float)
    if len(w) < 5 or not np.all(np.isfinite(w)):
        return math.nan
    dur = len(w) / fs
    peak2 = float(np.max(np.einsum("ij,ij->i", w, w)))
    if peak2 <= 0:
        return math.nan
    j = np.gradient(np.gradient(w, axis=0), axis=0) * fs * fs
    cost = float(np.einsum("ij,ij->i", j, j).sum() / fs)
    if cost <= 0:
        return math.nan
    return float(-math.log(dur ** 3 / peak2 * cost))


def signed_extreme(x: np.ndarray) -> float:
    """The value of largest magnitude, with its sign (NaN if none)."""
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    if not len(x):
        return math.nan
    return float(x[int(np.argmax(np.abs(x)))])


def control_metrics(ex: Exercise, q_body_to_earth: np.ndarray, gyr_body_radps: np.ndarray,
                    q_start: np.ndarray, fs: float, lowpass_hz: float = 6.0) -> dict:
    """The control metrics of one repetition or hold (rad, rad/s; keys end in ``_rad``).

    ``q_body_to_earth`` and ``gyr_body_radps``: its samples; ``q_start``: its start posture.
    """
    a = relative_angles(q_body_to_earth, q_start)
    out = {}
    for k, name in enumerate(ANGLES):
        x = a[:, k][np.isfinite(a[:, k])]
        out[f"{name}_excursion_rad"] = signed_extreme(x)
        # the start posture is 0 by definition: an angle that never went one way reads 0
        out[f"{name}_excursion_min_rad"] = min(0.0, float(np.min(x))) if len(x) else math.nan
        out[f"{name}_excursion_max_rad"] = max(0.0, float(np.max(x))) if len(x) else math.nan
    for m in ex.metrics:
        v = m.signal(a)
        v = v[np.isfinite(v)]
        out[m.name[:-4] + "_rad"] = float(np.max(v)) if len(v) else math.nan
    g = np.asarray(gyr_body_radps, float)
    ok = np.all(np.isfinite(g), axis=1)
    out["sway_rms_radps"] = (float(np.sqrt(np.mean(np.einsum("ij,ij->i", g[ok], g[ok]))))
                             if ok.any() else math.nan)
    out["ldlj_v"] = ldlj_v(lowpass(g, lowpass_hz, fs), fs) if ok.all() else math.nan
    return out


def to_deg(d: dict) -> dict:
    """A result dict with ``*_rad`` keys as ``*_deg`` and ``*_radps`` as ``*_dps``."""
    out = {}
    for k, v in d.items():
        if k.endswith("_rad") and isinstance(v, float | int):
            out[k[:-4] + "_deg"] = math.degrees(v) if math.isfinite(v) else math.nan
        elif k.endswith("_radps") and isinstance(v, float | int):
            out[k[:-6] + "_dps"] = math.degrees(v) if math.isfinite(v) else math.nan
        else:
            out[k] = v
    return out


__all__ = ["ANGLES", "control_metrics", "ldlj_v", "lowpass", "signed_extreme", "to_deg"]
