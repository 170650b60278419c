"""The walking and running phantoms' gyro is on the filters' timing.

The host filter (``_filter_kernel``) and the firmware's strapdown step integrate a sample's
rate over the interval that ends at it: ``q_i = q_{i-1} ⊗ exp(gyr_i dt / 2)``. A phantom that
gave each sample the rate *at* its time made the fused angles lead its truth by half a
sample (4.9 ms at 100 Hz, 2.5 ms at 200 Hz), so the tests' angle tolerances carried that
lead as if it were the filter's error.
"""

from __future__ import annotations

import numpy as np
import pytest

from sacrum.signal.angles import PelvicAngles, quat_from_angles
from sacrum.signal.mounting import parse_mount
from sacrum.signal.orientation import OrientationFilter
from sacrum.signal.quaternion import quat_angle_rad, quat_multiply
from sacrum.testing.running_phantom import running_phantom
from sacrum.testing.walking_phantom import walking_phantom

MOUNT = parse_mount("recommended")
RUN = (("walk", 4), ("run", 20), ("walk", 4))


def _walking(rate_hz, **kw):
    ph = walking_phantom(rate_hz=rate_hz, n_steps=20, mount=MOUNT, turns=((8, 90.0, 1.0),),
                         **kw)
    a = ph["angles"]
    q = quat_multiply(quat_from_angles(a[:, 0], a[:, 1], a[:, 2] + ph["heading_rad"]), MOUNT)
    return ph, q, (ph["t_ic"][0], ph["t_ic"][-1])


def _running(rate_hz, **kw):
    ph = running_phantom(rate_hz=rate_hz, segments=RUN, mount=MOUNT, heading_rate_dps=10.0,
                         **kw)
    return ph, ph["q"], (ph["t_ic"][0], ph["t_end"])


PHANTOMS = {"walking 100 Hz": (_walking, 100.0), "running 200 Hz": (_running, 200.0)}


def _exp(w_radps: np.ndarray, dt_s: float) -> np.ndarray:
    """exp(w dt / 2) per row, (N, 4)."""
    rate = np.linalg.norm(w_radps, axis=1, keepdims=True)
    half = 0.5 * rate * dt_s
    return np.hstack([np.cos(half), np.sin(half) * w_radps / np.maximum(rate, 1e-300)])


@pytest.mark.parametrize("name", list(PHANTOMS))
def test_one_strapdown_step_of_the_gyro_lands_on_the_true_orientation(name):
    """Without noise or bias, q_{i-1} ⊗ exp(gyr_i dt / 2) is the true q_i to rounding (with
    the rate at the sample it was up to 1e-3 rad off a step walking; 0.07 rad running, where
    the running phantom's mean tilt steps from walking's 2° to running's 6° in a sample)."""
    make, rate = PHANTOMS[name]
    ph, q, _ = make(rate, gyr_bias_dps=(0.0, 0.0, 0.0), gyr_noise_radps=0.0)
    stepped = quat_multiply(q[:-1], _exp(ph["gyr"][1:], 1.0 / rate))
    err = quat_angle_rad(stepped, q[1:])
    assert np.max(np.abs(np.diff(q, axis=0))) > 1e-3        # the pelvis does turn
    assert float(np.max(err)) < 1e-6, float(np.max(err))   # arccos's rounding: 4e-8


@pytest.mark.parametrize("name", list(PHANTOMS))
def test_real_time_fused_angles_neither_lead_nor_lag_the_truth(name):
    """The shift of the truth that fits the real-time filter's angles best (RMS over the
    movement, each angle's mean error removed) is within 1 ms of none (it was +4.9 ms at
    100 Hz, +2.5 ms at 200 Hz: half a sample)."""
    make, rate = PHANTOMS[name]
    ph, _, (t0, t1) = make(rate)
    t = ph["t"]
    q = OrientationFilter(rate).update(ph["acc"], ph["gyr"])
    angles = PelvicAngles(MOUNT, rate)
    angles.calibrate(q[(t > 1.0) & (t < 2.5)])
    fused = angles.update(q)
    moving = (t > t0) & (t < t1)
    # the truth's rotation is against the walking direction; the filter's against standing
    true = ph["angles"].copy()
    true[:, 2] += ph["heading_rad"] - ph["heading_rad"][0]
    shifts_s = np.arange(-6.0, 6.01, 0.25) * 1e-3

    def rms(shift_s):
        truth = np.stack([np.interp(t + shift_s, t, true[:, i]) for i in range(3)], 1)
        e = fused[moving] - truth[moving]
        return float(np.sqrt(np.mean((e - e.mean(axis=0)) ** 2)))

    errs = [rms(s) for s in shifts_s]
    best = float(shifts_s[int(np.argmin(errs))])
    assert abs(best) <= 1e-3, (best, min(errs), rms(0.0))
