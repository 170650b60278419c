"""Pelvic angles: tilt, obliquity and rotation of the pelvis, in radians.

The rotation sequence, the signs, the zero and the heading are defined in
docs/pelvic-angles.md and only there; in short, with the body frame of
protocol/SPEC.md §1.1 (x anterior, y left, z superior) and the earth frame
(z up), the pelvis orientation is

    R_body_to_earth = Rz(heading + rotation) · Rx(obliquity) · Ry(tilt)

(rotation about the vertical first, then obliquity about the once-rotated
anterior axis, then tilt about the twice-rotated left axis: Baker 2001):

* tilt > 0: anterior tilt (the front of the pelvis down);
* obliquity > 0: the left side up, the right side down (a pelvic drop on the
  right); < 0: the left side down;
* rotation > 0: turned to the left, seen from above: the right side forward.

Radians inside; :func:`angles_to_deg` and :func:`format_angles_deg` are for the
display, report and CLI edges.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from sacrum.signal.quaternion import (
    matrix_to_quat,
    quat_angle_rad,
    quat_average,
    quat_conjugate,
    quat_multiply,
    quat_normalize,
    quat_to_matrix,
)

log = logging.getLogger(__name__)

TILT, OBLIQUITY, ROTATION = 0, 1, 2  # columns of an angles array
ANGLE_NAMES = ("tilt", "obliquity", "rotation")


def matrix_from_angles(tilt_rad, obliquity_rad, rotation_rad) -> np.ndarray:
    """``Rz(rotation) · Rx(obliquity) · Ry(tilt)`` (..., 3, 3): the body-to-level-frame rotation.

    The level frame is the earth frame turned about the vertical so that its x
    axis points along the heading the rotation is measured from.
    """
    t, o, r = np.broadcast_arrays(*(np.asarray(a, float) for a in
                                    (tilt_rad, obliquity_rad, rotation_rad)))
    ct, st, co, so, cr, sr = np.cos(t), np.sin(t), np.cos(o), np.sin(o), np.cos(r), np.sin(r)
    return np.stack([
        np.stack([cr * ct - sr * so * st, -sr * co, cr * st + sr * so * ct], -1),
        np.stack([sr * ct + cr * so * st, cr * co, sr * st - cr * so * ct], -1),
        np.stack([-co * st, so, co * ct], -1),
    ], axis=-2)


def quat_from_angles(tilt_rad, obliquity_rad, rotation_rad) -> np.ndarray:
    """The quaternion (..., 4) of :func:`matrix_from_angles`."""
    return matrix_to_quat(matrix_from_angles(tilt_rad, obliquity_rad, rotation_rad))


def euler_from_matrix(r_body_to_earth: np.ndarray) -> np.ndarray:
    """(..., 3) tilt, obliquity, rotation (rad) of body-to-earth rotation matrices.

    The inverse of :func:`matrix_from_angles`: obliquity in [-π/2, π/2], tilt and
    rotation in (-π, π]; rotation is measured from the earth's x axis. Exact
    (to rounding) while |obliquity| < 90°; at ±90° (the gimbal lock of this
    sequence, far outside any pelvic motion) tilt and rotation are not unique.
    """
    r = np.asarray(r_body_to_earth, float)
    tilt = np.arctan2(-r[..., 2, 0], r[..., 2, 2])
    obliquity = np.arctan2(r[..., 2, 1], np.hypot(r[..., 2, 0], r[..., 2, 2]))
    rotation = np.arctan2(-r[..., 0, 1], r[..., 1, 1])
    return np.stack([tilt, obliquity, rotation], axis=-1)


def wrap_rad(a: np.ndarray) -> np.ndarray:
    """Angles wrapped into [-π, π)."""
    return (np.asarray(a, float) + np.pi) % (2 * np.pi) - np.pi


class CalibrationError(ValueError):
    """The standing calibration was rejected; the message says why and what to do."""


@dataclass(frozen=True)
class PelvicCalibration:
    """The result of :meth:`PelvicAngles.calibrate`.

    Fields:
        q_sensor_to_body: the levelled mounting used from now on (4,).
        tilt_offset_rad, obliquity_offset_rad: tilt and obliquity that the
            given mounting's body frame had while standing; removed.
        heading_rad: heading of the standing pelvis (earth frame; the
            rotation reference while no progression heading is given).
        samples: valid samples averaged.
        sd_rad: RMS angle of the standing samples from their mean orientation.
        reference: "standing" (quiet upright standing, :meth:`PelvicAngles.calibrate`) or
            "walking" (no standing to be had: the mean tilt and obliquity over walking
            strides, :meth:`PelvicAngles.calibrate_walking`; mean tilt then reads 0).
    """

    q_sensor_to_body: np.ndarray
    tilt_offset_rad: float
    obliquity_offset_rad: float
    heading_rad: float
    samples: int
    sd_rad: float
    reference: str = "standing"


class PelvicAngles:
    """Pelvic tilt, obliquity and rotation from the sensor orientation.

    Data required: ``q_sensor_to_earth`` (N, 4), w x y z (the orientation
    stage's output; NaN rows for lost samples); the mounting
    ``q_sensor_to_body`` (from ``sacrum.signal.mounting``); optionally the progression
    heading (rad, earth frame, counter-clockwise from the earth's x axis seen
    from above) from the gait stage.

    Steps (definitions in docs/pelvic-angles.md):
        1. ``q_body_to_earth = q_sensor_to_earth ⊗ q_sensor_to_body*``, using the
           mounting as levelled by the standing calibration.
        2. Decompose it as ``Rz(ψ) · Rx(obliquity) · Ry(tilt)``
           (:func:`euler_from_matrix`).
        3. rotation = ψ − reference heading, wrapped into [-π, π): the
           progression heading if given, else the heading of the pelvis at the
           standing calibration, else (not calibrated) the heading of the first
           valid sample since :meth:`reset`.

    Calibration (:meth:`calibrate`), on 1–5 s of quiet upright standing:
        1. Average the standing body orientations (Markley's quaternion mean).
        2. Reject the data unless still: RMS angle from the mean at most
           ``max_standing_sd_rad``, and (if ``rate_hz`` is given) RMS angular
           speed at most ``max_standing_rate_radps`` over at least
           ``min_standing_s``.
        3. Decompose the mean into (tilt₀, obliquity₀, ψ₀) and level the
           mounting: ``R_sensor_to_body ← Rx(obliquity₀) · Ry(tilt₀) ·
           R_sensor_to_body``. Standing then reads tilt = obliquity = 0 exactly,
           and rotation 0 when no heading is given. Calibrating again replaces
           the previous calibration (it starts from the mounting given to
           ``__init__``).

    Parameters:
        q_sensor_to_body: the mounting (4,), or a ``MountingEstimate``.
        rate_hz: sample rate (Hz) of the calibration data; only used for the
            angular-speed check of :meth:`calibrate` (angles are per sample).
        max_standing_sd_rad: stillness limit, default 3° (quiet standing sways
            well under 1°).
        max_standing_rate_radps: stillness limit, default 0.3 rad/s.
        min_standing_s: shortest standing period with ``rate_hz``, default 0.5 s.

    Every row is independent, so feeding a recording whole or in chunks gives
    identical output; NaN rows (or NaN headings, for rotation) give NaN.
    Errors of the mounting about the vertical (its forward direction) cannot
    be seen by a standing calibration: they leak a little tilt into obliquity
    and back (docs/pelvic-angles.md, "Accuracy").

    References:
        R. Baker (2001), Pelvic angles: a mathematically rigorous definition
        which is consistent with a conventional clinical understanding of the
        terms, Gait & Posture 13:1-6. G. Wu et al. (2002), ISB recommendation on
        definitions of joint coordinate system of various joints for the
        reporting of human joint motion — part I, J Biomech 35:543-548.
    """

    def __init__(self, q_sensor_to_body, rate_hz: float | None = None, *,
                 max_standing_sd_rad: float = math.radians(3.0),
                 max_standing_rate_radps: float = 0.3, min_standing_s: float = 0.5) -> None:
        q = np.asarray(getattr(q_sensor_to_body, "q_sensor_to_body", q_sensor_to_body), float)
        if q.shape != (4,) or not np.all(np.isfinite(q)) or np.linalg.norm(q) < 0.5:
            raise ValueError(f"q_sensor_to_body must be a unit quaternion (w, x, y, z), not {q}")
        self.q_sensor_to_body_given = quat_normalize(q)
        self.rate_hz = rate_hz
        self.max_standing_sd_rad = max_standing_sd_rad
        self.max_standing_rate_radps = max_standing_rate_radps
        self.min_standing_s = min_standing_s
        self.calibration: PelvicCalibration | None = None
        self._q_body_to_sensor = quat_conjugate(self.q_sensor_to_body_given)
        self.reset()

    @property
    def q_sensor_to_body(self) -> np.ndarray:
        """The mounting in use (levelled once calibrated)."""
        return quat_conjugate(self._q_body_to_sensor)

    def reset(self) -> None:
        """Forget the streaming state (the uncalibrated heading reference); keep the calibration."""
        self._first_heading_rad: float | None = None

    def calibrate(self, q_sensor_to_earth_standing: np.ndarray) -> PelvicCalibration:
        """Zero tilt and obliquity (and the rotation reference) on a standing period."""
        q = np.asarray(q_sensor_to_earth_standing, float).reshape(-1, 4)
        valid = np.all(np.isfinite(q), axis=1)
        n = int(valid.sum())
        if n == 0:
            raise CalibrationError("standing calibration: no valid samples (all lost); "
                                   "record 2-5 s of quiet standing and calibrate again")
        if self.rate_hz and n / self.rate_hz < self.min_standing_s:
            raise CalibrationError(
                f"standing calibration: only {n / self.rate_hz:.2f} s of standing data "
                f"({self.min_standing_s} s needed); record 2-5 s of quiet standing")
        q_given_b2s = quat_conjugate(self.q_sensor_to_body_given)
        q_be = quat_multiply(quat_normalize(q[valid]), q_given_b2s)
        mean = quat_average(q_be)
        sd = math.sqrt(float(np.mean(quat_angle_rad(q_be, mean) ** 2)))
        if sd > self.max_standing_sd_rad:
            raise CalibrationError(
                f"standing calibration rejected: the pelvis moved {math.degrees(sd):.1f}° RMS "
                f"about its mean orientation (limit {math.degrees(self.max_standing_sd_rad):.1f}°)"
                "; stand still and upright for 2-5 s and calibrate again")
        if self.rate_hz and n > 1:
            pairs = valid[1:] & valid[:-1]
            if pairs.any():
                step = quat_angle_rad(q[1:][pairs], q[:-1][pairs])
                rate = math.sqrt(float(np.mean(step ** 2))) * self.rate_hz
                if rate > self.max_standing_rate_radps:
                    raise CalibrationError(
                        f"standing calibration rejected: the pelvis turned at {rate:.2f} rad/s "
                        f"RMS (limit {self.max_standing_rate_radps} rad/s); stand still and "
                        "upright for 2-5 s and calibrate again")
        tilt0, obliquity0, heading0 = euler_from_matrix(quat_to_matrix(mean))
        self._level(float(tilt0), float(obliquity0), float(heading0), n, sd, "standing")
        log.info("standing calibration: %d samples, tilt %+.1f°, obliquity %+.1f° removed, "
                 "sway %.2f° RMS", n, math.degrees(tilt0), math.degrees(obliquity0),
                 math.degrees(sd))
        return self.calibration

    def calibrate_walking(self, q_sensor_to_earth_walking: np.ndarray) -> PelvicCalibration:
        """Zero tilt and obliquity on their means over walking, when no standing is to be
        had (e.g. the only still period was sitting). Over whole strides the pelvis is
        level on average in healthy gait (obliquity) but tilts forward by a few degrees
        (tilt), so this zero hides a static obliquity and the mean anterior tilt: the
        calibration says so (``reference="walking"``). Give whole strides: the mean of a
        part of one is biased by the stride's own motion."""
        q = np.asarray(q_sensor_to_earth_walking, float).reshape(-1, 4)
        q = q[np.all(np.isfinite(q), axis=1)]
        if len(q) == 0:
            raise CalibrationError("walking reference: no valid samples")
        q_be = quat_multiply(quat_normalize(q), quat_conjugate(self.q_sensor_to_body_given))
        tilt, obl, _ = euler_from_matrix(quat_to_matrix(q_be)).T
        tilt0, obl0 = float(np.mean(tilt)), float(np.mean(obl))
        sd = math.sqrt(float(np.mean((tilt - tilt0) ** 2 + (obl - obl0) ** 2)))
        self._level(tilt0, obl0, math.nan, len(q), sd, "walking")
        log.info("walking reference: %d samples, tilt %+.1f°, obliquity %+.1f° removed",
                 len(q), math.degrees(tilt0), math.degrees(obl0))
        return self.calibration

    def _level(self, tilt0: float, obliquity0: float, heading0: float, n: int, sd: float,
               reference: str) -> None:
        q_level = quat_from_angles(tilt0, obliquity0, 0.0)  # Rx(obliquity0) · Ry(tilt0)
        q_sb = quat_multiply(q_level, self.q_sensor_to_body_given)
        self._q_body_to_sensor = quat_conjugate(q_sb)
        self.calibration = PelvicCalibration(
            q_sensor_to_body=q_sb, tilt_offset_rad=tilt0, obliquity_offset_rad=obliquity0,
            heading_rad=heading0, samples=n, sd_rad=sd, reference=reference)

    def update(self, q_sensor_to_earth: np.ndarray,
               heading_rad: np.ndarray | float | None = None) -> np.ndarray:
        """(N, 3) tilt, obliquity, rotation (rad) for a chunk of orientations.

        ``heading_rad``: None, one heading, or (N,) progression headings (rad,
        earth frame). NaN rows in give NaN rows out; a NaN heading gives a NaN
        rotation only.
        """
        return self.relative(self.decompose(q_sensor_to_earth), heading_rad)

    def flush(self) -> np.ndarray:
        """Nothing is held back (each sample's angles are final in its chunk): (0, 3)."""
        return np.zeros((0, 3))

    def decompose(self, q_sensor_to_earth: np.ndarray) -> np.ndarray:
        """Steps 1-2: (N, 3) tilt, obliquity and the pelvis heading ψ (rad, from earth x)."""
        q = np.asarray(q_sensor_to_earth, float).reshape(-1, 4)
        with np.errstate(invalid="ignore", divide="ignore"):
            q_be = quat_multiply(quat_normalize(q), self._q_body_to_sensor)
            return euler_from_matrix(quat_to_matrix(q_be))

    def relative(self, body_angles_rad: np.ndarray,
                 heading_rad: np.ndarray | float | None = None) -> np.ndarray:
        """Step 3 on :meth:`decompose`'s output: rotation relative to the reference heading."""
        out = np.array(body_angles_rad, float).reshape(-1, 3)
        if heading_rad is not None:
            ref = np.broadcast_to(np.asarray(heading_rad, float), (len(out),))
        elif self.calibration is not None and math.isfinite(self.calibration.heading_rad):
            ref = self.calibration.heading_rad
        else:  # not calibrated, or a walking reference (no heading of its own)
            if self._first_heading_rad is None:
                ok = np.flatnonzero(np.isfinite(out[:, ROTATION]))
                if len(ok):
                    self._first_heading_rad = float(out[ok[0], ROTATION])
                    log.info("not calibrated and no heading given: rotation is relative to "
                             "the pelvis heading of the first sample")
            ref = self._first_heading_rad if self._first_heading_rad is not None else np.nan
        out[:, ROTATION] = wrap_rad(out[:, ROTATION] - ref)
        return out


# ---- display edges --------------------------------------------------------------------------

def angles_to_deg(angles_rad: np.ndarray) -> np.ndarray:
    """Degrees, for display: the same array layout (tilt, obliquity, rotation)."""
    return np.degrees(np.asarray(angles_rad, float))


def per_side(angles_rad: np.ndarray, side: str) -> np.ndarray:
    """The angles as a clinical gait report plots them for one side ("L" or "R").

    Tilt is unchanged (anterior positive); obliquity is positive when that side
    is up and rotation positive when that side is forward (the per-side
    convention of Vicon Plug-in Gait). ``per_side(a, "L")`` is ``a`` with
    rotation negated; ``per_side(a, "R")`` has obliquity negated.
    """
    sign = {"L": np.array([1.0, 1.0, -1.0]), "R": np.array([1.0, -1.0, 1.0])}
    if side not in sign:
        raise ValueError(f'side must be "L" or "R", not {side!r}')
    return np.asarray(angles_rad, float) * sign[side]


def format_angles_deg(angles_rad) -> str:
    """One line for a person, e.g. ``tilt +10.0° (anterior), obliquity -5.0° (left side down),
    rotation +8.0° (right side forward)``."""
    tilt, obliquity, rotation = (float(a) for a in angles_to_deg(angles_rad))

    def say(value: float, positive: str, negative: str) -> str:
        if math.isnan(value):
            return "n/a"
        words = positive if value > 0 else negative if value < 0 else "neutral"
        return f"{value:+.1f}° ({words})"

    return (f"tilt {say(tilt, 'anterior', 'posterior')}, "
            f"obliquity {say(obliquity, 'left side up', 'left side down')}, "
            f"rotation {say(rotation, 'right side forward', 'left side forward')}")
