"""Movement smoothness from acceleration: the log dimensionless jerk (LDLJ-A;
Balasubramanian et al. 2012, 2015; Melendez-Calderon et al. 2021)."""

from __future__ import annotations

import math

import numpy as np


def ldlj_acc(acc_mps2: np.ndarray, fs: float) -> tuple[float, float]:
    """Log dimensionless jerk from acceleration, LDLJ-A, and the RMS jerk (m/s³).

    LDLJ-A = -ln( T · ∫|j|² dt / max|a|² ) with a the acceleration (N, 3) of one
    movement (gravity removed; its mean over the movement is removed too), j = da/dt,
    T its duration (Balasubramanian et al. 2012, 2015, as adapted to accelerometers by
    Melendez-Calderon et al. 2021). Dimensionless; higher (less negative) = smoother.
    The acceleration should be low-passed first (noise dominates a differentiated
    signal); :class:`RepetitionCounter` does.
    """
    a = np.asarray(acc_mps2, float)
    a = a - a.mean(axis=0)
    if len(a) < 3:
        return math.nan, math.nan
    j = np.gradient(a, axis=0) * fs
    j2 = np.einsum("ij,ij->i", j, j)
    dur = len(a) / fs
    amp2 = float(np.max(np.einsum("ij,ij->i", a, a)))
    cost = float(j2.sum() / fs)
    if amp2 <= 0 or cost <= 0:
        return math.nan, float(math.sqrt(j2.mean()))
    return float(-math.log(dur * cost / amp2)), float(math.sqrt(j2.mean()))
