"""Pelvic angles in any posture: relative to a start posture, in that posture's body frame.

The pelvic angles of ``sacrum.signal.angles`` (docs/pelvic-angles.md) are the orientation
of an upright pelvis against the earth: ``R_body_to_earth = Rz(heading + rotation) ·
Rx(obliquity) · Ry(tilt)``. Lying on the back, on the side, face down or on all fours that
decomposition fails: lying on the side the pelvis sits at its gimbal lock (obliquity ±90°),
lying on the back its "rotation about the vertical" is a turn about the body's anterior
axis, and the heading (no magnetometer) means nothing at all. So the exercises measure
the pelvis **against its own posture at the start** (of a set, a repetition, a hold):

1. ``R_rel = R_startᵀ · R`` — the rotation from the start posture to now, written in the
   **body frame of the start posture** (x anterior, y left, z superior of the pelvis as it
   was then). It does not involve the earth's vertical, so it has no singularity at any
   posture and no heading.
2. ``R_rel = Ry(tilt) · Rz(rotation) · Rx(obliquity)``: tilt first (about the start
   posture's left axis), then rotation about the pelvis's own long axis as tilted, then
   obliquity about its anterior axis as moved. The signs are those of
   docs/pelvic-angles.md (right-hand rule about the body axes: tilt + = anterior,
   obliquity + = the left side moves superiorly / the right inferiorly in the frontal
   plane, rotation + = turned to the left about the long axis: the right side
   anterior). Tilt goes first because it is the large movement of these exercises
   (20-40° in a bridge, up to 90° in a single-leg deadlift); a rotation of the pelvis
   about its own long axis at the bottom of a deadlift (the pelvis "opening") is then
   read as rotation, not half of it as obliquity, as it would be with the walking order
   (rotation, obliquity, tilt). The decomposition's gimbal lock is at rotation ±90° from
   the start posture, far outside what these exercises do; for small angles both orders
   agree to second order.

:func:`classify_posture` says which way the pelvis lies (from the earth's vertical in the
body frame) and :func:`measurement_note` says, in words, what the three angles then are
against the room, so a result never leaves it implicit that e.g. heading is meaningless
lying down.

Everything here is radians; degrees only in the notes' words.
"""

from __future__ import annotations

import math

import numpy as np

from sacrum.signal.quaternion import (
    matrix_to_quat,
    quat_conjugate,
    quat_multiply,
    quat_normalize,
    quat_rotate,
    quat_to_matrix,
)

#: Postures :func:`classify_posture` tells apart (what points up, in the body frame).
POSTURES = ("upright", "supine", "prone", "side-lying-left", "side-lying-right", "inverted")


def body_orientation(q_sensor_to_earth: np.ndarray, q_sensor_to_body: np.ndarray) -> np.ndarray:
    """``q_body_to_earth`` (N, 4) from the device's orientation and the mounting.

    ``q_sensor_to_earth = q_body_to_earth ⊗ q_sensor_to_body`` (docs/pelvic-angles.md), so
    ``q_body_to_earth = q_sensor_to_earth ⊗ q_sensor_to_body*``. NaN rows stay NaN.
    """
    q = np.asarray(q_sensor_to_earth, float).reshape(-1, 4)
    with np.errstate(invalid="ignore"):
        return quat_multiply(quat_normalize(q), quat_conjugate(quat_normalize(q_sensor_to_body)))


def body_rates(gyr_sensor_radps: np.ndarray, q_sensor_to_body: np.ndarray) -> np.ndarray:
    """Angular velocity (N, 3) in the body frame from the sensor's (rad/s)."""
    return quat_rotate(np.asarray(q_sensor_to_body, float), np.asarray(gyr_sensor_radps, float))


def relative_rotation(q_body_to_earth: np.ndarray, q_start_body_to_earth: np.ndarray,
                      ) -> np.ndarray:
    """``q_start* ⊗ q`` (N, 4): the rotation since the start posture, in its body frame."""
    q = np.asarray(q_body_to_earth, float).reshape(-1, 4)
    with np.errstate(invalid="ignore"):
        return quat_multiply(quat_conjugate(quat_normalize(q_start_body_to_earth)),
                             quat_normalize(q))


def angles_from_relative(r_rel: np.ndarray) -> np.ndarray:
    """(..., 3) tilt, obliquity, rotation (rad) of ``R_rel = Ry(tilt)·Rz(rotation)·Rx(obliquity)``.

    Inverse of :func:`relative_matrix`. Exact while |rotation| < 90°.
    """
    r = np.asarray(r_rel, float)
    rotation = np.arctan2(r[..., 1, 0], np.hypot(r[..., 0, 0], r[..., 2, 0]))
    tilt = np.arctan2(-r[..., 2, 0], r[..., 0, 0])
    obliquity = np.arctan2(-r[..., 1, 2], r[..., 1, 1])
    return np.stack([tilt, obliquity, rotation], axis=-1)


def relative_matrix(tilt_rad, obliquity_rad, rotation_rad) -> np.ndarray:
    """``Ry(tilt) · Rz(rotation) · Rx(obliquity)`` (..., 3, 3): start body frame -> now."""
    t, o, r = np.broadcast_arrays(*(np.asarray(a, float)
                                    for a in (tilt_rad, obliquity_rad, rotation_rad)))
    ct, st, co, so, cr, sr = np.cos(t), np.sin(t), np.cos(o), np.sin(o), np.cos(r), np.sin(r)
    return np.stack([
        np.stack([ct * cr, -ct * sr * co + st * so, ct * sr * so + st * co], -1),
        np.stack([sr, cr * co, -cr * so], -1),
        np.stack([-st * cr, st * sr * co + ct * so, -st * sr * so + ct * co], -1),
    ], axis=-2)


def relative_quat(tilt_rad, obliquity_rad, rotation_rad) -> np.ndarray:
    """The quaternion (..., 4) of :func:`relative_matrix`, as a product of axis rotations."""
    t, o, r = np.broadcast_arrays(*(np.asarray(a, float) / 2
                                    for a in (tilt_rad, obliquity_rad, rotation_rad)))
    z = np.zeros_like(t)
    qy = np.stack([np.cos(t), z, np.sin(t), z], -1)
    qz = np.stack([np.cos(r), z, z, np.sin(r)], -1)
    qx = np.stack([np.cos(o), np.sin(o), z, z], -1)
    return quat_multiply(quat_multiply(qy, qz), qx)


def relative_angles(q_body_to_earth: np.ndarray, q_start_body_to_earth: np.ndarray,
                    ) -> np.ndarray:
    """(N, 3) tilt, obliquity, rotation (rad) of the pelvis against its start posture.

    Steps 1-2 of the module docstring. NaN rows in give NaN rows out.
    """
    with np.errstate(invalid="ignore"):
        return angles_from_relative(quat_to_matrix(
            relative_rotation(q_body_to_earth, q_start_body_to_earth)))


def up_in_body(q_body_to_earth: np.ndarray) -> np.ndarray:
    """The earth's vertical (N, 3) written in the body frame (unit vectors)."""
    q = np.asarray(q_body_to_earth, float).reshape(-1, 4)
    return quat_rotate(quat_conjugate(q), np.array([0.0, 0.0, 1.0]))


def classify_posture(q_body_to_earth: np.ndarray) -> str:
    """Which way the pelvis lies, from the mean vertical in its body frame.

    ``upright`` (superior axis up: standing, kneeling upright, sitting), ``supine``
    (anterior axis up: lying on the back, dead bug, bridge), ``prone`` (anterior axis
    down: lying face down, plank, all fours), ``side-lying-left`` (left side down: on the
    left side; left side plank), ``side-lying-right``, ``inverted`` (superior axis down).
    The largest component of the vertical decides; a pelvis at 45° between two is
    classified by whichever is larger (the angles do not depend on it: only the words of
    :func:`measurement_note` do).
    """
    up = up_in_body(q_body_to_earth)
    up = up[np.all(np.isfinite(up), axis=1)]
    if not len(up):
        raise ValueError("no valid orientation to classify the posture from")
    u = up.mean(axis=0)
    k = int(np.argmax(np.abs(u)))
    positive = u[k] > 0
    return {(0, True): "supine", (0, False): "prone",
            (1, True): "side-lying-right", (1, False): "side-lying-left",
            (2, True): "upright", (2, False): "inverted"}[(k, positive)]


_AGAINST_ROOM = {
    "upright": ("rotation is about the vertical (the turn of the pelvis), obliquity and "
                "tilt about horizontal axes, as in walking"),
    "supine": ("lying on the back: tilt is about the left-right axis (the sacrum rocking on "
               "the floor), rotation about the long axis, now horizontal (one side of the "
               "pelvis towards the floor, the other up), obliquity about the anterior axis, "
               "now vertical (one hip sliding towards the head)"),
    "prone": ("face down (lying, plank, all fours): tilt is about the left-right axis, "
              "rotation about the long axis, now horizontal (one side of the pelvis up "
              "towards the ceiling, the other down), obliquity about the anterior axis, now "
              "vertical"),
    "side-lying-left": ("lying on the left side: rotation is about the long axis, now "
                        "horizontal (the top, right, side rolling forward or back), "
                        "obliquity about the anterior axis, now horizontal (the hips "
                        "bending sideways: towards the floor or up), tilt about the "
                        "left-right axis, now vertical"),
    "side-lying-right": ("lying on the right side: rotation is about the long axis, now "
                         "horizontal (the top, left, side rolling forward or back), "
                         "obliquity about the anterior axis, now horizontal (the hips "
                         "bending sideways: towards the floor or up), tilt about the "
                         "left-right axis, now vertical"),
    "inverted": "upside down: all three angles are about the body's own axes only",
}


def measurement_note(posture: str) -> str:
    """What the relative angles are in ``posture``, in words, for results and reports."""
    if posture not in _AGAINST_ROOM:
        raise ValueError(f"unknown posture {posture!r}; one of {', '.join(POSTURES)}")
    heading = ("" if posture == "upright" else
               "; heading (the direction faced, from a 6-axis sensor) is not used: it means "
               "nothing lying down")
    return ("tilt, obliquity and rotation of the pelvis relative to its posture at the "
            "start, about the body's own axes (tilt first, then rotation, then obliquity; "
            "signs as docs/pelvic-angles.md); " + _AGAINST_ROOM[posture] + heading)


class StandingMountError(ValueError):
    """No standing to find the mounting from; the message says what to do."""


def mount_from_standing(acc_mps2: np.ndarray, gyr_radps: np.ndarray, rate_hz: float, *,
                        still_s: float = 2.0, max_s: float = 5.0,
                        still_acc_mps2: float = 0.1, still_gyr_radps: float = math.radians(1.0),
                        max_face_tilt_rad: float = math.radians(30.0),
                        ) -> tuple[np.ndarray, float, float]:
    """The mounting from a standing calibration: ``(q_sensor_to_body, t0_s, t1_s)``.

    For exercises recorded without walking (lying, kneeling: the walking estimator has
    nothing to work on). Steps:

    1. The first ``still_s`` (2 s) of the recording over which every axis of acc varies
       by less than ``still_acc_mps2`` (SD, 0.1 m/s²) and of gyr by less than
       ``still_gyr_radps`` (SD, 1 °/s), the mean acc within 1 m/s² of g; extended while
       it stays so, up to ``max_s``. That is taken as the standing calibration the user
       was asked for ("stand still for a few seconds first": docs/exercises.md).
    2. Superior (body z) = the mean specific force there, in the sensor frame.
    3. Anterior (body x) = the sensor's -z (the board's face points posteriorly: every
       mounting of the mounting guide, hardware/mounting.json, lies flat on the sacrum,
       face out), made orthogonal to superior; left (body y) = z × x. If the face is
       more than ``max_face_tilt_rad`` (30°) from horizontal, the still period was not
       standing with the board flat on the sacrum (lying on the back or face down):
       :class:`StandingMountError`.

    A standing calibration cannot tell which way is forward: that is the guide's
    assumption, stated in the result's message by the caller; a board worn face in
    (towards the body) reads forward as backward (tilt and obliquity change sign) and
    needs ``--mount``. A first still period that was side-lying is not told apart from
    standing (both have the face horizontal): the axes would be 90° off.
    """
    acc = np.asarray(acc_mps2, float)
    gyr = np.asarray(gyr_radps, float)
    n = max(2, round(still_s * rate_hz))
    ok = np.isfinite(acc).all(axis=1) & np.isfinite(gyr).all(axis=1)
    start = None
    for i in range(0, len(acc) - n + 1, max(1, n // 4)):
        if not ok[i:i + n].all():
            continue
        a, g = acc[i:i + n], gyr[i:i + n]
        if (a.std(axis=0).max() < still_acc_mps2 and g.std(axis=0).max() < still_gyr_radps
                and abs(np.linalg.norm(a.mean(axis=0)) - 9.81) < 1.0):
            start = i
            break
    if start is None:
        raise StandingMountError(
            f"no standing calibration: the recording has no {still_s:g} s of standing still "
            "to find the mounting from; stand still for 3 s before the exercise, or walk a "
            "few steps, or give --mount")
    stop = start + n
    end_max = start + round(max_s * rate_hz)
    while (stop < min(len(acc), end_max) and ok[stop]
           and np.abs(acc[stop] - acc[start:stop].mean(axis=0)).max() < 3 * still_acc_mps2):
        stop += 1
    up = acc[start:stop].mean(axis=0)
    up /= np.linalg.norm(up)
    back = np.array([0.0, 0.0, 1.0])                 # the board's face: posterior
    face_tilt = math.asin(min(1.0, abs(float(up @ back))))
    if face_tilt > max_face_tilt_rad:
        raise StandingMountError(
            f"no standing calibration: in the first still period ({start / rate_hz:.1f}–"
            f"{stop / rate_hz:.1f} s) the sensor's face points {math.degrees(face_tilt):.0f}° "
            "from horizontal, so the body was not upright (lying down?); stand still for 3 s "
            "before the exercise, or walk a few steps, or give --mount")
    anterior = -(back - (back @ up) * up)
    anterior /= np.linalg.norm(anterior)
    left = np.cross(up, anterior)
    q = matrix_to_quat(np.stack([anterior, left, up])).reshape(4)   # rows: body axes
    return q, start / rate_hz, stop / rate_hz


def settled_after_standing(acc_mps2: np.ndarray, gyr_radps: np.ndarray, rate_hz: float,
                           t_end_s: float, *, still_s: float = 1.0,
                           min_change_rad: float = math.radians(30.0),
                           still_acc_mps2: float = 0.1,
                           still_gyr_radps: float = math.radians(1.0)) -> float | None:
    """When the body, after a standing calibration ending at ``t_end_s`` (s from the first
    sample), has lain down and settled: the start (s) of the first ``still_s`` still
    window (the criteria of :func:`mount_from_standing`) whose gravity direction is more
    than ``min_change_rad`` (30°) from the standing's; None if there is none. An exercise
    done lying starts there (the standing and the lying down are no part of it)."""
    acc = np.asarray(acc_mps2, float)
    gyr = np.asarray(gyr_radps, float)
    i0, n = round(t_end_s * rate_hz), max(2, round(still_s * rate_hz))
    if i0 >= len(acc):
        return None
    up = np.nanmean(acc[max(0, i0 - n):i0 + 1], axis=0)
    up /= np.linalg.norm(up)
    for i in range(i0, len(acc) - n + 1, max(1, n // 4)):
        a, g = acc[i:i + n], gyr[i:i + n]
        if not (np.isfinite(a).all() and np.isfinite(g).all()):
            continue
        if a.std(axis=0).max() < still_acc_mps2 and g.std(axis=0).max() < still_gyr_radps:
            m = a.mean(axis=0)
            if math.acos(min(1.0, float(m @ up) / np.linalg.norm(m))) > min_change_rad:
                return i / rate_hz
    return None


def rotation_angle_rad(q_rel: np.ndarray) -> np.ndarray:
    """The angle (rad, 0..π) of relative rotations (N, 4): how far from the start posture."""
    q = np.asarray(q_rel, float).reshape(-1, 4)
    return 2.0 * np.arccos(np.clip(np.abs(q[:, 0]) / np.linalg.norm(q, axis=1), 0.0, 1.0))


def mean_orientation(q: np.ndarray) -> np.ndarray:
    """Mean of nearby unit quaternions (N, 4), NaN rows ignored: the sign-aligned,
    renormalised sum (exact to second order in their spread; a still posture's spread is
    a fraction of a degree)."""
    q = np.asarray(q, float).reshape(-1, 4)
    q = q[np.all(np.isfinite(q), axis=1)]
    if not len(q):
        return np.full(4, math.nan)
    s = np.sign(q @ q[0])
    s[s == 0] = 1.0
    m = (q * s[:, None]).sum(axis=0)
    return m / np.linalg.norm(m)


__all__ = ["POSTURES", "StandingMountError", "angles_from_relative", "body_orientation",
           "body_rates", "classify_posture", "mean_orientation", "measurement_note",
           "mount_from_standing", "relative_angles", "relative_matrix", "relative_quat",
           "relative_rotation", "rotation_angle_rad", "settled_after_standing", "up_in_body"]
