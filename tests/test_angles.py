"""sacrum.signal.angles: pelvic tilt, obliquity and rotation as docs/pelvic-angles.md defines them.

Orientations are built from known angles with the documented sequence (or, for
the sign conventions, from the geometry alone) and must come back exactly.
"""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rotations import rx, ry, rz
from sacrum.signal.angles import (
    ROTATION,
    CalibrationError,
    PelvicAngles,
    angles_to_deg,
    euler_from_matrix,
    format_angles_deg,
    matrix_from_angles,
    per_side,
    quat_from_angles,
)
from sacrum.signal.mounting import (
    MountingEstimate,
    parse_mount,
)
from sacrum.signal.quaternion import (
    matrix_to_quat,
    quat_multiply,
    quat_to_matrix,
)
from streaming import assert_chunk_invariant

D = math.radians
EXACT = 1e-9
RECOMMENDED = parse_mount("recommended")


def sensor_q(r_body_to_earth, q_sensor_to_body):
    """q_sensor_to_earth = q_body_to_earth ⊗ q_sensor_to_body."""
    return quat_multiply(matrix_to_quat(r_body_to_earth), q_sensor_to_body)


def random_mounting(seed):
    q = np.random.default_rng(seed).normal(size=4)
    return q / np.linalg.norm(q)


MOUNTINGS = {
    "recommended": RECOMMENDED,
    "upside-down": parse_mount("upside-down"),
    "mobilise-d-examples": parse_mount("mobilise-d-examples"),
    "random": random_mounting(7),
}
# (standing heading, tilt and obliquity by which the given mounting is off the
# levelled one: sacral slope, a belt that sits crooked)
CALIBRATION_POSES = {
    "square": (0.0, 0.0, 0.0),
    "facing 75°, slope 12°, roll -4°": (D(75), D(12), D(-4)),
    "facing -150°, slope -8°, roll 6°": (D(-150), D(-8), D(6)),
}


# ---- the sequence --------------------------------------------------------------------------

def test_matrix_is_rotation_then_obliquity_then_tilt():
    for t, o, r in [(0.3, -0.2, 0.5), (-0.7, 0.1, -2.9), (0.0, 0.0, 0.0)]:
        np.testing.assert_allclose(matrix_from_angles(t, o, r), rz(r) @ rx(o) @ ry(t),
                                   atol=1e-15)
        np.testing.assert_allclose(euler_from_matrix(rz(r) @ rx(o) @ ry(t)), [t, o, r],
                                   atol=1e-15)


@settings(max_examples=300, deadline=None)
@given(st.floats(-D(45), D(45)), st.floats(-D(45), D(45)), st.floats(-math.pi, 3.14159))
def test_decomposition_is_exact_within_the_pelvic_range(tilt, obliquity, rotation):
    back = euler_from_matrix(matrix_from_angles(tilt, obliquity, rotation))
    np.testing.assert_allclose(back, [tilt, obliquity, rotation], atol=EXACT)


def test_gimbal_safe_at_the_corners_of_the_pelvic_range():
    corners = np.array(np.meshgrid(*[[-D(45), 0.0, D(45)]] * 3)).reshape(3, -1).T
    pa = PelvicAngles(RECOMMENDED)
    pa.calibrate(RECOMMENDED[None, :])
    q = sensor_q(matrix_from_angles(corners[:, 0], corners[:, 1], corners[:, 2]), RECOMMENDED)
    np.testing.assert_allclose(pa.update(q), corners, atol=EXACT)


# ---- known rotations come back exactly -----------------------------------------------------

@pytest.mark.parametrize("pose", list(CALIBRATION_POSES))
@pytest.mark.parametrize("mounting", list(MOUNTINGS))
def test_known_angles_come_back_exactly(mounting, pose):
    heading0, slope, roll = CALIBRATION_POSES[pose]
    r_true = quat_to_matrix(MOUNTINGS[mounting])  # sensor to levelled body
    q_given = matrix_to_quat(ry(-slope) @ rx(-roll) @ r_true)  # what the user gives
    rng = np.random.default_rng(zlib.crc32((pose + mounting).encode()))
    n = 500
    angles = rng.uniform(-D(45), D(45), (n, 3))
    heading = rng.uniform(-math.pi, math.pi, n)

    pa = PelvicAngles(q_given, rate_hz=100.0)
    standing = np.repeat(matrix_to_quat(rz(heading0) @ r_true)[None, :], 200, axis=0)
    cal = pa.calibrate(standing)
    assert cal.tilt_offset_rad == pytest.approx(slope, abs=EXACT)
    assert cal.obliquity_offset_rad == pytest.approx(roll, abs=EXACT)
    assert cal.heading_rad == pytest.approx(heading0, abs=EXACT)
    assert float(np.abs(np.abs(pa.q_sensor_to_body @ MOUNTINGS[mounting]) - 1)) < EXACT

    # with a progression heading per sample
    r_be = np.einsum("nij,njk->nik", np.array([rz(h) for h in heading]),
                     matrix_from_angles(angles[:, 0], angles[:, 1], angles[:, 2]))
    q = matrix_to_quat(r_be @ r_true)
    q[::2] *= -1  # q and -q are the same orientation
    np.testing.assert_allclose(pa.update(q, heading), angles, atol=EXACT)
    # without: rotation from the heading at calibration
    q = matrix_to_quat(rz(heading0) @ matrix_from_angles(*angles.T) @ r_true)
    np.testing.assert_allclose(pa.update(q), angles, atol=EXACT)
    # standing reads zero
    np.testing.assert_allclose(pa.update(standing), 0.0, atol=EXACT)


def test_calibration_averages_a_swaying_stance():
    r_true = quat_to_matrix(RECOMMENDED)
    t = np.arange(300) / 100.0  # 3 s of slow sway, ±0.7° about each axis
    sway = D(0.7) * np.sin(2 * np.pi * 0.33 * t[:, None] + np.array([0.0, 2.0, 4.0]))
    sway -= sway.mean(axis=0)
    standing = matrix_to_quat(matrix_from_angles(D(10) + sway[:, 0], D(-3) + sway[:, 1],
                                                 D(40) + sway[:, 2]) @ r_true)
    pa = PelvicAngles(RECOMMENDED, rate_hz=100.0)
    cal = pa.calibrate(standing)
    assert math.degrees(cal.tilt_offset_rad) == pytest.approx(10, abs=0.05)
    assert math.degrees(cal.obliquity_offset_rad) == pytest.approx(-3, abs=0.05)
    assert math.degrees(cal.sd_rad) == pytest.approx(0.7 * math.sqrt(1.5), rel=0.2)
    np.testing.assert_allclose(pa.update(standing).mean(axis=0), 0.0, atol=D(0.05))


def test_calibrating_again_replaces_the_calibration():
    pa = PelvicAngles(RECOMMENDED)
    r_true = quat_to_matrix(RECOMMENDED)
    pa.calibrate(matrix_to_quat(matrix_from_angles(D(20), D(5), 0.3) @ r_true)[None, :])
    second = pa.calibrate(matrix_to_quat(matrix_from_angles(D(-4), 0.0, 1.0) @ r_true)[None, :])
    assert second.tilt_offset_rad == pytest.approx(D(-4), abs=EXACT)
    assert second.heading_rad == pytest.approx(1.0, abs=EXACT)


# ---- signs, from the geometry alone --------------------------------------------------------

def body_from_axes(anterior, left):
    """R_body_to_earth from where the pelvis's anterior and left axes point."""
    x = np.asarray(anterior, float)
    y = np.asarray(left, float)
    return np.column_stack([x, y, np.cross(x, y)])


@pytest.fixture
def calibrated():
    pa = PelvicAngles(RECOMMENDED)
    pa.calibrate(RECOMMENDED[None, :])  # standing square, facing earth +x
    return pa


def test_anterior_tilt_is_positive(calibrated):
    c, s = math.cos(D(10)), math.sin(D(10))
    front_down = body_from_axes([c, 0, -s], [0, 1, 0])  # the front of the pelvis 10° down
    np.testing.assert_allclose(calibrated.update(sensor_q(front_down, RECOMMENDED)),
                               [[D(10), 0, 0]], atol=EXACT)


def test_left_side_down_is_negative_obliquity(calibrated):
    c, s = math.cos(D(5)), math.sin(D(5))
    left_down = body_from_axes([1, 0, 0], [0, c, -s])  # the left hip 5° lower
    a = calibrated.update(sensor_q(left_down, RECOMMENDED))
    np.testing.assert_allclose(a, [[0, D(-5), 0]], atol=EXACT)
    # per side: the left side is down, the right side up
    assert per_side(a, "L")[0, 1] == pytest.approx(D(-5))
    assert per_side(a, "R")[0, 1] == pytest.approx(D(5))
    assert "left side down" in format_angles_deg(a[0])


def test_right_side_forward_is_positive_rotation(calibrated):
    c, s = math.cos(D(8)), math.sin(D(8))
    turned_left = body_from_axes([c, s, 0], [-s, c, 0])
    right_hip = turned_left @ [0, -1, 0]
    assert right_hip[0] > 0  # the right side of the pelvis is ahead (earth +x is forward)
    a = calibrated.update(sensor_q(turned_left, RECOMMENDED))
    np.testing.assert_allclose(a, [[0, 0, D(8)]], atol=EXACT)
    assert per_side(a, "R")[0, 2] == pytest.approx(D(8))  # right side forward: +
    assert per_side(a, "L")[0, 2] == pytest.approx(D(-8))  # the left is behind: −


def test_rotation_follows_the_progression_heading(calibrated):
    c, s = math.cos(D(8)), math.sin(D(8))
    walking_north = rz(D(90)) @ body_from_axes([c, s, 0], [-s, c, 0])
    q = sensor_q(walking_north, RECOMMENDED)
    np.testing.assert_allclose(calibrated.update(q, heading_rad=D(90)), [[0, 0, D(8)]],
                               atol=EXACT)
    np.testing.assert_allclose(calibrated.update(q)[0, ROTATION], D(98), atol=EXACT)
    # wrapped into [-π, π)
    assert calibrated.update(q, heading_rad=D(-170))[0, ROTATION] == pytest.approx(D(-92))


def test_sensor_tilt_reading_matches_the_hardware_check():
    """MOUNTING.md: a person leaning to their right raises the left side (sensor +y):
    ay becomes positive; that is a positive obliquity here."""
    pa = PelvicAngles(RECOMMENDED)
    pa.calibrate(RECOMMENDED[None, :])
    q = sensor_q(matrix_from_angles(0.0, D(5), 0.0), RECOMMENDED)
    gravity_in_sensor = quat_to_matrix(q).T @ [0, 0, 9.81]
    assert gravity_in_sensor[1] > 0  # ay > 0
    assert pa.update(q)[0, 1] == pytest.approx(D(5))


# ---- the worked examples of docs/pelvic-angles.md -----------------------------------------

@pytest.mark.parametrize("q_sensor_to_earth, heading_deg, expected_deg", [
    ([0.7071068, 0, -0.7071068, 0], None, (0, 0, 0)),
    ([0.7660, 0, -0.6428, 0], None, (10, 0, 0)),
    ([0.7064, -0.0308, -0.7064, 0.0308], None, (0, -5, 0)),
    ([0.7054, 0.0493, -0.7054, 0.0493], None, (0, 0, 8)),
    ([0.7919, 0.0875, -0.6029, 0.0426], None, (15, 5, 10)),
    ([0.5298, 0.4881, -0.3644, 0.5901], 90, (15, 5, 10)),
])
def test_documented_worked_examples(calibrated, q_sensor_to_earth, heading_deg, expected_deg):
    heading = None if heading_deg is None else D(heading_deg)
    got = angles_to_deg(calibrated.update(np.array([q_sensor_to_earth]), heading))[0]
    np.testing.assert_allclose(got, expected_deg, atol=0.02)  # 4-digit quaternions


def test_documented_matrix_and_conventional_order():
    r = matrix_from_angles(D(15), D(5), D(10))
    np.testing.assert_allclose(r, [[0.9473, -0.1730, 0.2695], [0.1899, 0.9811, -0.0380],
                                   [-0.2578, 0.0872, 0.9623]], atol=5e-5)
    # the conventional tilt-obliquity-rotation order, Ry(t) Rx(o) Rz(r), of the same pose
    obliquity = math.asin(-r[1, 2])
    tilt = math.atan2(r[0, 2], r[2, 2])
    rotation = math.atan2(r[1, 0], r[1, 1])
    np.testing.assert_allclose(ry(tilt) @ rx(obliquity) @ rz(rotation), r, atol=1e-12)
    np.testing.assert_allclose(np.degrees([tilt, obliquity, rotation]), [15.6, 2.2, 11.0],
                               atol=0.05)
    assert format_angles_deg([D(15), D(5), D(10)]) == (
        "tilt +15.0° (anterior), obliquity +5.0° (left side up), "
        "rotation +10.0° (right side forward)")


# ---- streaming -----------------------------------------------------------------------------

def walking_like(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 100.0
    a = np.column_stack([D(3) * np.sin(2 * np.pi * 1.8 * t), D(5) * np.sin(np.pi * 1.8 * t),
                         D(6) * np.sin(np.pi * 1.8 * t + 1)]) + rng.normal(0, D(0.2), (n, 3))
    return a, sensor_q(rz(0.4) @ matrix_from_angles(*a.T), RECOMMENDED)


def test_chunk_invariance():
    """Angles whole or in random chunks, with the calibration's heading or the progression
    heading given per sample, calibrated or not (the uncalibrated rotation is from the
    first valid sample, kept across chunks)."""
    _, q = walking_like()
    heading = np.full(len(q), 0.4)

    def angles(calibrate):
        def make():
            pa = PelvicAngles(RECOMMENDED)
            if calibrate:
                pa.calibrate(q[:1])
            return pa
        return make

    sizes = [np.diff(np.r_[0, np.sort(np.random.default_rng(1).choice(
        np.arange(1, len(q)), 40, replace=False)), len(q)]).tolist()]
    for calibrate in (True, False):
        assert_chunk_invariant(angles(calibrate), (q,), [*sizes, 1, 11])
        with_heading = assert_chunk_invariant(angles(calibrate), (q, heading), sizes)
        if calibrate:
            whole = PelvicAngles(RECOMMENDED)
            whole.calibrate(q[:1])
            np.testing.assert_array_equal(with_heading, whole.update(q, heading))


def test_uncalibrated_rotation_is_from_the_first_valid_sample():
    angles, q = walking_like()
    q[:3] = np.nan
    pa = PelvicAngles(RECOMMENDED)
    out = pa.update(q)
    assert np.isnan(out[:3]).all()
    np.testing.assert_allclose(out[3:, :2], angles[3:, :2], atol=EXACT)
    np.testing.assert_allclose(out[3:, 2], angles[3:, 2] - angles[3, 2], atol=EXACT)
    pa.reset()  # re-anchored on the next chunk's first sample
    np.testing.assert_allclose(pa.update(q[10:])[0, 2], 0.0, atol=EXACT)


def test_nan_rows_pass_through():
    angles, q = walking_like()
    lost = np.zeros(len(q), bool)
    lost[[0, 5, 6, 7, 1000, len(q) - 1]] = True
    q[lost] = np.nan
    q[50] = 0.0  # a zero quaternion is no orientation either
    lost[50] = True
    heading = np.full(len(q), 0.4)
    heading[200] = np.nan
    pa = PelvicAngles(RECOMMENDED)
    pa.calibrate(sensor_q(rz(0.4), RECOMMENDED)[None, :])
    out = pa.update(q, heading)
    assert out.shape == (len(q), 3)
    assert np.isnan(out[lost]).all()
    assert np.isnan(out[200, 2]) and np.isfinite(out[200, :2]).all()
    keep = ~lost
    keep[200] = False
    np.testing.assert_allclose(out[keep], angles[keep], atol=EXACT)


# ---- calibration is refused when it should be ---------------------------------------------

def test_calibration_rejects_moving_data():
    _, q = walking_like(300)
    pa = PelvicAngles(RECOMMENDED, rate_hz=100.0)
    with pytest.raises(CalibrationError, match=r"moved .*° RMS.*stand still"):
        pa.calibrate(q)
    assert pa.calibration is None


def test_calibration_rejects_a_fast_wobble_without_drift():
    t = np.arange(200) / 100.0
    wobble = D(1.5) * np.sin(2 * np.pi * 8 * t)  # small (1° RMS) but 0.5 rad/s RMS
    q = sensor_q(matrix_from_angles(wobble, 0.0, 0.0), RECOMMENDED)
    with pytest.raises(CalibrationError, match="turned at"):
        PelvicAngles(RECOMMENDED, rate_hz=100.0).calibrate(q)
    PelvicAngles(RECOMMENDED).calibrate(q)  # without a rate only the spread is checked


def test_calibration_rejects_missing_and_short_data():
    pa = PelvicAngles(RECOMMENDED, rate_hz=100.0)
    with pytest.raises(CalibrationError, match="no valid samples"):
        pa.calibrate(np.full((100, 4), np.nan))
    with pytest.raises(CalibrationError, match=r"only 0\.20 s"):
        pa.calibrate(np.repeat(RECOMMENDED[None, :], 20, axis=0))


def test_mounting_argument():
    est = MountingEstimate(q_sensor_to_body=RECOMMENDED, confidence=0.9, vertical_deg_sd=1.0,
                           forward_deg_sd=2.0, message="")
    np.testing.assert_allclose(PelvicAngles(est).q_sensor_to_body, RECOMMENDED)
    with pytest.raises(ValueError, match="unit quaternion"):
        PelvicAngles([0.0, 0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match='side must be "L" or "R"'):
        per_side(np.zeros(3), "left")


def test_quat_from_angles_matches_the_matrix():
    q = quat_from_angles(D(15), D(5), D(10))
    np.testing.assert_allclose(quat_to_matrix(q), matrix_from_angles(D(15), D(5), D(10)),
                               atol=1e-15)
