"""sacrum.testing.slowed: a recording replayed k times slower is the same motion at 1/k the
speed (the physics the benches' and tests' slowed walkers rest on)."""

from __future__ import annotations

import numpy as np
import pytest

from sacrum.signal.gait import GaitEventDetector
from sacrum.signal.orientation import orientation_offline
from sacrum.signal.quaternion import quat_angle_rad, quat_rotate
from sacrum.testing.slowed import slow_motion
from sacrum.testing.walking_phantom import walking_phantom
from sacrum.units import G_MPS2

FS = 100.0


@pytest.fixture(scope="module")
def walk():
    p = walking_phantom(n_steps=40, acc_noise_mps2=0.0, gyr_noise_radps=0.0)
    return p, orientation_offline(p["acc"], p["gyr"], FS)


def _vertical(acc, q):
    return quat_rotate(q, acc)[:, 2] - G_MPS2


@pytest.mark.parametrize("k", [1.25, 2.0])
def test_the_same_motion_at_one_kth_of_the_speed(walk, k):
    p, q = walk
    acc, gyr, q2 = slow_motion(p["acc"], p["gyr"], q, k)
    n = len(p["acc"])
    assert len(acc) == len(gyr) == len(q2) == int((n - 1) * k) + 1
    # the orientation at new sample j is the old one at j / k
    j = np.arange(0, len(q2), 37)
    old = np.round(j / k).astype(int)
    on_grid = np.isclose(j / k, old)
    assert np.all(quat_angle_rad(q2[j[on_grid]], q[old[on_grid]]) < 1e-9)
    # vertical acceleration (gravity removed) 1/k², angular rate 1/k, as RMS over the walk
    rms = lambda x: float(np.sqrt(np.mean(np.square(x))))  # noqa: E731
    assert rms(_vertical(acc, q2)) == pytest.approx(rms(_vertical(p["acc"], q)) / k**2,
                                                    rel=0.03)
    assert rms(gyr) == pytest.approx(rms(p["gyr"]) / k, rel=0.03)


def test_the_gait_stage_sees_the_slower_cadence(walk):
    p, q = walk
    acc, gyr, q2 = slow_motion(p["acc"], p["gyr"], q, 1.25)
    det = GaitEventDetector(FS)
    t = np.arange(len(acc)) / FS
    ics = np.array([e.t_s for e in det.update(t, acc, gyr, q2) + det.flush() if e.kind == "IC"])
    truth = np.asarray(p["t_ic"]) * 1.25
    found = [np.min(np.abs(ics - x)) <= 0.05 for x in truth]
    assert np.mean(found) >= 0.95


def test_lost_samples_keep_their_pattern_and_k_must_be_positive(walk):
    """A radio loses packets, not a walker: the slowed recording loses the samples the
    source lost, runs as long in samples, the pattern repeated; the motion is bridged."""
    p, q = walk
    acc, gyr = p["acc"].copy(), p["gyr"].copy()
    n = len(acc)
    acc[500:507] = np.nan                   # a 7-sample run: stretched 2 ×, 14 (> bridged)
    gyr[900] = np.nan
    out, g2, q2 = slow_motion(acc, gyr, q, 2.0)
    lost = np.isnan(out[:, 0])
    assert np.array_equal(lost, np.isnan(g2[:, 0])) and np.array_equal(lost, np.isnan(q2[:, 0]))
    runs = np.flatnonzero(np.diff(np.concatenate([[0], lost.astype(int)])) == 1)
    assert list(runs) == [500, 900, n + 500, n + 900]
    assert lost.sum() == 16
    # the motion next to a run is the slowed motion of the whole recording
    clean, _, _ = slow_motion(p["acc"], p["gyr"], q, 2.0)
    far = ~lost
    far[990:1020] = far[1790:1810] = False  # the bridged source samples, at 2 ×
    np.testing.assert_allclose(out[far], clean[far], atol=1e-9)
    with pytest.raises(ValueError, match="positive"):
        slow_motion(p["acc"], p["gyr"], q, 0.0)
    with pytest.raises(ValueError, match="every sample is lost"):
        slow_motion(np.full_like(acc, np.nan), gyr, q, 1.5)


def test_a_quaternion_sign_flip_is_one_orientation(walk):
    p, q = walk
    q = q.copy()
    q[300:] *= -1                        # the same orientations, the other sign from here on
    _, _, q2 = slow_motion(p["acc"], p["gyr"], q, 1.5)
    _, _, ref = slow_motion(p["acc"], p["gyr"], walk[1], 1.5)
    assert np.all(quat_angle_rad(q2, ref) < 1e-6)


def test_a_recording_without_its_orientation_is_slowed_on_its_own_rate(walk):
    from sacrum.testing.slowed import slow_recording

    p, q = walk
    t, acc, gyr = slow_recording(p["t"], p["acc"], p["gyr"], 1.5)
    want_acc, want_gyr, _ = slow_motion(p["acc"], p["gyr"], q, 1.5)
    assert np.allclose(np.diff(t), 1 / FS) and len(t) == len(want_acc)
    # the same, up to the rate read back from the time axis (the fixture's is exact)
    np.testing.assert_allclose(acc, want_acc, atol=1e-3)
    np.testing.assert_allclose(gyr, want_gyr, atol=1e-4)
