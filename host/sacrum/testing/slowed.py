"""A recording replayed k times slower: the same motion at 1/k the speed.

A stand-in for slower walkers than a dataset holds (the public recordings in ../shared
have no slow walker; a person with multiple sclerosis or an older adult walks at 60-90
steps/min): bench/gait_subjects.py, score_coverage.py and consistency.py replay every trial
slower (``--slow K``) and compare the figures with the trial at its own speed, and
tests/test_gait.py holds the gait stage to a slowed real walk. The path and the orientation are
those of the recording, traversed at 1/k the speed: the earth-frame acceleration less
gravity scales by 1/k² and the angular rate by 1/k, so a 1.5 × slower replay of a walk at
110 steps/min is one at 73 steps/min with 0.44 × the vertical acceleration. Real slow gait
differs (longer double support, shorter steps at the same build), so this says where a
constant in seconds or m/s² stops holding, not how a slow walker scores.

Lost samples are the radio's, not the walker's: a packet is lost with the same odds
whatever the cadence, so the slowed recording keeps the source's loss pattern packet for
packet (its runs of lost samples as long, in samples, as they were), repeated over the
longer recording, rather than stretching each run k times (which made runs longer than
the gait stage bridges, and candidates it drops, that no slower walker would cause).
"""

from __future__ import annotations

import numpy as np

from sacrum.signal.quaternion import quat_conjugate, quat_rotate
from sacrum.units import G_MPS2


def slow_motion(acc_mps2: np.ndarray, gyr_radps: np.ndarray, q_sensor_to_earth: np.ndarray,
                k: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(acc m/s², gyr rad/s, q sensor → earth) of the motion replayed ``k`` times slower, on
    the same sample grid (int((N - 1) k) + 1 samples, linearly resampled). Lost samples
    (a NaN in any of the three) are interpolated over for the motion, and the result loses
    the samples the source lost, in the same places from its start, the pattern repeated
    over the longer recording (module docstring)."""
    if not k > 0:
        raise ValueError(f"k must be positive, not {k}")
    lost = (np.isnan(acc_mps2).any(axis=1) | np.isnan(gyr_radps).any(axis=1)
            | np.isnan(q_sensor_to_earth).any(axis=1))
    if lost.all():
        raise ValueError("every sample is lost: there is no motion to slow")
    if lost.any():
        acc_mps2, gyr_radps, q_sensor_to_earth = (_bridge(x, lost) for x in (
            acc_mps2, gyr_radps, q_sensor_to_earth))
    n = len(acc_mps2)
    src = np.arange(int((n - 1) * k) + 1) / k          # source index of each new sample
    i0 = np.minimum(np.floor(src).astype(int), n - 2)
    f = (src - i0)[:, None]

    def lin(x: np.ndarray) -> np.ndarray:
        return x[i0] * (1 - f) + x[i0 + 1] * f

    a_e = quat_rotate(q_sensor_to_earth, acc_mps2)
    a_e[:, 2] -= G_MPS2
    a_e = lin(a_e) / k ** 2
    a_e[:, 2] += G_MPS2
    # q and -q are one orientation: take the neighbour on the same side before blending
    q0, q1 = q_sensor_to_earth[i0], q_sensor_to_earth[i0 + 1]
    q1 = np.where(np.sum(q0 * q1, axis=1, keepdims=True) < 0, -q1, q1)
    q = q0 * (1 - f) + q1 * f
    q = q / np.linalg.norm(q, axis=1, keepdims=True)
    acc, gyr = quat_rotate(quat_conjugate(q), a_e), lin(gyr_radps) / k
    if lost.any():
        again = np.resize(lost, len(q))        # the source's pattern, repeated
        acc[again], gyr[again], q[again] = np.nan, np.nan, np.nan
    return acc, gyr, q


def _bridge(x: np.ndarray, lost: np.ndarray) -> np.ndarray:
    """``x`` with its ``lost`` rows linearly interpolated from the kept ones, per column
    (held at the ends; a quaternion's neighbours are renormalised by ``slow_motion``'s
    blend, and a lost run is a few samples long)."""
    i = np.arange(len(x))
    out = x.copy()
    for c in range(x.shape[1]):
        out[lost, c] = np.interp(i[lost], i[~lost], x[~lost, c])
    return out


def slow_recording(t_s: np.ndarray, acc_mps2: np.ndarray, gyr_radps: np.ndarray,
                   k: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(t s, acc m/s², gyr rad/s) of a recording without an orientation replayed ``k``
    times slower on its own sample rate: the earth frame from ``orientation_offline``, then
    :func:`slow_motion`."""
    from sacrum.signal.orientation import orientation_offline

    fs = 1.0 / float(np.median(np.diff(t_s)))
    acc, gyr, _q = slow_motion(acc_mps2, gyr_radps, orientation_offline(acc_mps2, gyr_radps, fs),
                               k)
    return np.arange(len(acc)) / fs, acc, gyr
