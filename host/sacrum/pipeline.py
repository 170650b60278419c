"""The signal pipeline wired together: orientation → angles (with calibration and
progression heading) → gait events, as one streaming processor.

The live view feeds it every notification; the offline analysis feeds it a
whole recording (``analyze_recording``); both run this same code, and a
recording fed whole or in chunks of any size gives the same output (tested).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np

from sacrum.angles import (
    OBLIQUITY,
    ROTATION,
    TILT,
    CalibrationError,
    PelvicAngles,
    PelvicCalibration,
)
from sacrum.gait import GaitEvent, GaitEventDetector
from sacrum.mounting import MountingError, MountingEstimate, MountingEstimator
from sacrum.orientation import OrientationFilter, orientation_offline

log = logging.getLogger(__name__)

G_MPS2 = 9.80665


@dataclass
class PipelineChunk:
    """Output for one input chunk (rows match the input rows).

    q_sensor_to_earth: (N, 4); angles_rad: (N, 3) tilt, obliquity, rotation
    (docs/pelvic-angles.md; rotation relative to the progression heading);
    heading_rad: (N,) progression heading (earth frame); events: gait events
    that became final during this chunk (they may be up to a step older).
    """

    q_sensor_to_earth: np.ndarray
    angles_rad: np.ndarray
    heading_rad: np.ndarray
    events: list[GaitEvent]
    calibrated: bool


class Pipeline:
    """Orientation, pelvic angles and gait events for one sacral sensor, streaming.

    Steps, per chunk of samples (t_s, acc_mps2, gyr_radps in the sensor frame,
    optionally the device's q_sensor_to_earth):

    1. Orientation: the device's quaternion if given, else the host's
       :class:`~sacrum.orientation.OrientationFilter` (raw acc/gyr streams).
    2. Standing calibration, automatic: the first ``calibrate_s`` of quiet
       upright standing (every sample: |gyr| below ``still_gyr_radps``, |acc|
       within ``still_acc_mps2`` of g, and the body's vertical axis within
       ``upright_max_rad`` of earth up) zeroes tilt and obliquity
       (:meth:`PelvicAngles.calibrate`). :meth:`calibrate` does it on demand.
    3. Progression heading: the pelvis heading averaged over the last
       ``heading_window_s`` (about one stride, which cancels the pelvis'
       own rotation within the stride), so rotation is measured against the
       current walking direction and follows it after turns, with half a
       window of lag. NaN samples are left out of the average.
    4. Pelvic angles relative to the calibration and that heading.
    5. Gait events (:class:`~sacrum.gait.GaitEventDetector`, the mounting
       given so left and right are the body's).

    Parameters: ``rate_hz`` (Hz); ``q_sensor_to_body`` (the mounting:
    ``sacrum.mounting.parse_mount`` or an estimate); ``calibrate_s`` (s, 2.0);
    ``still_gyr_radps`` (0.15); ``still_acc_mps2`` (0.5); ``upright_max_rad``
    (30°); ``heading_window_s`` (s, 1.1).
    """

    def __init__(self, rate_hz: float, q_sensor_to_body, *, calibrate_s: float = 2.0,
                 still_gyr_radps: float = 0.15, still_acc_mps2: float = 0.5,
                 upright_max_rad: float = math.radians(30.0), heading_window_s: float = 1.1,
                 **gait_params) -> None:
        self.rate_hz = float(rate_hz)
        self.q_sensor_to_body = np.asarray(
            getattr(q_sensor_to_body, "q_sensor_to_body", q_sensor_to_body), float)
        self.calibrate_n = max(1, round(calibrate_s * rate_hz))
        self.still_gyr_radps = still_gyr_radps
        self.still_acc_mps2 = still_acc_mps2
        self.cos_upright = math.cos(upright_max_rad)
        self.heading_n = max(1, round(heading_window_s * rate_hz))
        self._gait_params = gait_params
        self.reset()

    def reset(self) -> None:
        self.orientation = OrientationFilter(self.rate_hz)
        self.angles = PelvicAngles(self.q_sensor_to_body, self.rate_hz)
        self.gait = GaitEventDetector(self.rate_hz, self.q_sensor_to_body, **self._gait_params)
        self.calibration: PelvicCalibration | None = None
        self.calibration_error: str | None = None
        self._still_run = 0
        self._q_tail = np.zeros((0, 4))  # the last calibrate_n orientations
        self._yaw_tail = np.zeros(0)  # the last heading_n - 1 unwrapped yaws
        self._yaw_last = math.nan

    # -- step 2 ----------------------------------------------------------------
    def calibrate(self, q_sensor_to_earth_standing: np.ndarray) -> PelvicCalibration:
        """Zero tilt and obliquity on standing data now (e.g. the live view's button)."""
        self.calibration = self.angles.calibrate(q_sensor_to_earth_standing)
        self.calibration_error = None
        return self.calibration

    def _still(self, body: np.ndarray, acc: np.ndarray, gyr: np.ndarray) -> np.ndarray:
        """Quiet upright standing, per sample; ``body`` from PelvicAngles.decompose."""
        with np.errstate(invalid="ignore"):
            # the body's vertical axis against earth up: R[2, 2] of Rz·Rx(o)·Ry(t) = cos o cos t
            upright = np.cos(body[:, TILT]) * np.cos(body[:, OBLIQUITY]) > self.cos_upright
            return ((np.sqrt(np.einsum("ij,ij->i", gyr, gyr)) < self.still_gyr_radps)
                    & (np.abs(np.sqrt(np.einsum("ij,ij->i", acc, acc)) - G_MPS2)
                       < self.still_acc_mps2)
                    & upright)

    def _standing_end(self, q, body, acc, gyr) -> tuple[int, np.ndarray] | None:
        """(index in the chunk, standing orientations) when a standing period
        completes in this chunk and no calibration is in place; else None."""
        if self.calibration is not None:
            return None
        still = self._still(body, acc, gyr)
        # length of the still run ending at each sample, continuing the previous chunk's
        idx = np.arange(len(still))
        last_moving = np.maximum.accumulate(np.where(still, -1, idx)) if len(still) else idx
        run = np.where(last_moving >= 0, idx - last_moving, idx + 1 + self._still_run)
        done = np.flatnonzero(run >= self.calibrate_n)
        if done.size:
            i = int(done[0])
            self._still_run = 0
            return i, np.concatenate([self._q_tail, q[:i + 1]])[-self.calibrate_n:]
        self._still_run = int(run[-1]) if len(run) else self._still_run
        self._q_tail = np.concatenate([self._q_tail, q])[-self.calibrate_n:]
        return None

    # -- step 3 ----------------------------------------------------------------
    def _heading(self, yaw: np.ndarray) -> np.ndarray:
        """Progression heading from the pelvis heading ψ of each sample (rad)."""
        # unwrap through NaN rows, continuing from the previous chunk
        out = np.full_like(yaw, np.nan)
        last = self._yaw_last
        ok = np.flatnonzero(np.isfinite(yaw))
        if ok.size:
            seq = np.unwrap(np.r_[last if math.isfinite(last) else yaw[ok[0]], yaw[ok]])[1:]
            out[ok] = seq
            self._yaw_last = float(seq[-1])
        allv = np.concatenate([self._yaw_tail, out])
        valid = np.isfinite(allv)
        csum = np.cumsum(np.where(valid, allv, 0.0))
        ccnt = np.cumsum(valid)
        k = self.heading_n
        lo = np.arange(len(self._yaw_tail), len(allv)) - k
        s_hi = csum[len(self._yaw_tail):]
        c_hi = ccnt[len(self._yaw_tail):]
        s_lo = np.where(lo >= 0, csum[np.maximum(lo, 0)], 0.0)
        c_lo = np.where(lo >= 0, ccnt[np.maximum(lo, 0)], 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            heading = (s_hi - s_lo) / (c_hi - c_lo)
        self._yaw_tail = allv[-(k - 1):] if k > 1 else allv[:0]
        return heading

    def _angles(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        body = self.angles.decompose(q)  # tilt, obliquity, pelvis heading ψ
        heading = self._heading(body[:, ROTATION])
        return heading, self.angles.relative(body, heading), body

    # -- the chunk -------------------------------------------------------------
    def update(self, t_s, acc_mps2, gyr_radps, q_sensor_to_earth=None) -> PipelineChunk:
        t = np.asarray(t_s, float).reshape(-1)
        acc = np.asarray(acc_mps2, float).reshape(-1, 3)
        gyr = np.asarray(gyr_radps, float).reshape(-1, 3)
        if q_sensor_to_earth is None:  # step 1
            q = self.orientation.update(acc, gyr)
        else:
            q = np.asarray(q_sensor_to_earth, float).reshape(-1, 4)
        heading, angles, body = self._angles(q)  # steps 3 and 4
        standing = self._standing_end(q, body, acc, gyr)  # step 2
        while standing is not None:  # the new zero applies after the standing period
            cut, window = standing
            try:
                self.calibrate(window)
            except CalibrationError as e:
                self.calibration_error = str(e)
            else:
                self._yaw_tail = np.zeros(0)  # the levelled mounting redefines the heading
                self._yaw_last = math.nan
                heading[cut + 1:], angles[cut + 1:], _ = self._angles(q[cut + 1:])
                break
            rest = slice(cut + 1, None)
            standing = self._standing_end(q[rest], body[rest], acc[rest], gyr[rest])
            if standing is not None:
                standing = (standing[0] + cut + 1, standing[1])
        events = self.gait.update(t, acc, gyr, q)  # step 5
        return PipelineChunk(q, angles, heading, events, self.calibration is not None)

    def flush(self) -> list[GaitEvent]:
        """Events still pending at the end of a recording."""
        return self.gait.flush()


@dataclass
class RecordingAnalysis:
    """A whole recording through the pipeline (``analyze_recording``)."""

    t_s: np.ndarray
    q_sensor_to_earth: np.ndarray
    angles_rad: np.ndarray
    heading_rad: np.ndarray
    events: list[GaitEvent]
    mounting: MountingEstimate | None  # None when it was given
    q_sensor_to_body: np.ndarray
    calibration: PelvicCalibration | None
    calibration_error: str | None
    gait: GaitEventDetector = field(repr=False)


def analyze_recording(t_s, acc_mps2, gyr_radps, rate_hz: float, *, q_sensor_to_earth=None,
                      q_sensor_to_body=None, offline: bool = True) -> RecordingAnalysis:
    """Offline: orientation (the whole recording: smoothed), the mounting (estimated
    from the recording unless given), then the streaming pipeline fed everything.
    The angles' zero is then taken, where there is one, from the last quiet upright
    standing before the first step (gait starts from standing; the first still
    period of a recording may be sitting with an upright pelvis).

    Raises :class:`~sacrum.mounting.MountingError` when the mounting is not
    given and cannot be told from the recording (the message says why).
    """
    acc = np.asarray(acc_mps2, float)
    gyr = np.asarray(gyr_radps, float)
    if q_sensor_to_earth is None:
        q = (orientation_offline(acc, gyr, rate_hz) if offline
             else OrientationFilter(rate_hz).update(acc, gyr))
    else:
        q = np.asarray(q_sensor_to_earth, float)
    estimate = None
    if q_sensor_to_body is None:
        estimate = _estimate_mounting(q, acc, gyr, rate_hz)
        q_sensor_to_body = estimate.q_sensor_to_body
    pipe = Pipeline(rate_hz, q_sensor_to_body)
    out = pipe.update(t_s, acc, gyr, q)
    events = out.events + pipe.flush()
    heading, angles, calibration = out.heading_rad, out.angles_rad, pipe.calibration
    # Offline, the zero can come from the standing just before walking starts
    # rather than the first still period (which may be sitting upright).
    t = np.asarray(t_s, float)
    window = _standing_before_walking(pipe, q, acc, gyr, t, events)
    angles_of = pipe.angles
    if window is not None:
        again = Pipeline(rate_hz, q_sensor_to_body)
        try:
            calibration = again.calibrate(window)
        except CalibrationError as e:
            log.info("standing before the first step not usable: %s", e)
        else:
            angles_of = again.angles
    # Offline, the heading can be centred and exactly one stride long
    body = angles_of.decompose(q)
    heading = stride_heading(body[:, ROTATION], t, events, pipe.heading_n / rate_hz)
    angles = angles_of.relative(body, heading)
    return RecordingAnalysis(
        t, q, angles, heading, events, estimate, np.asarray(q_sensor_to_body, float),
        calibration, pipe.calibration_error, pipe.gait)


def stride_heading(yaw_rad: np.ndarray, t_s: np.ndarray, events, default_window_s: float,
                   ) -> np.ndarray:
    """Offline progression heading: the pelvis heading averaged over one stride centred
    on each sample.

    The pelvis rotates about the walking direction once per stride, so its mean over
    exactly one stride is the walking direction, at any cadence and with no lag (the
    live pipeline's fixed, trailing window can do neither). The local stride time is
    interpolated between consecutive ICs (IC to the next-but-one IC); away from walking
    the window is ``default_window_s``. NaN samples are left out of the average.
    """
    t = np.asarray(t_s, float)
    n = len(t)
    if n == 0:
        return np.zeros(0)
    dt = float(np.median(np.diff(t))) if n > 1 else 1.0
    ok = np.isfinite(yaw_rad)
    y = np.zeros(n)
    if ok.any():
        y[ok] = np.unwrap(yaw_rad[ok])
    ic = np.array(sorted(e.t_s for e in events if e.kind == "IC"))
    window = np.full(n, default_window_s)
    if ic.size >= 3:
        stride = ic[2:] - ic[:-2]
        mid = ic[1:-1]
        plausible = stride < 3.0  # IC to next-but-one IC within a bout
        if plausible.any():
            inside = (t >= ic[0]) & (t <= ic[-1])
            window[inside] = np.interp(t[inside], mid[plausible], stride[plausible])
    # running sums at fractional sample positions: an exact one-stride mean
    csum = np.r_[0.0, np.cumsum(np.where(ok, y, 0.0))]
    ccnt = np.r_[0.0, np.cumsum(ok)]
    idx = np.arange(n, dtype=float)
    half = 0.5 * window / dt
    lo = np.clip(idx + 0.5 - half, 0, n)
    hi = np.clip(idx + 0.5 + half, 0, n)
    grid = np.arange(n + 1, dtype=float)
    total = np.interp(hi, grid, csum) - np.interp(lo, grid, csum)
    count = np.interp(hi, grid, ccnt) - np.interp(lo, grid, ccnt)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0.5, total / count, np.nan)


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and stop (exclusive) indices of the runs of True in mask."""
    edges = np.diff(np.r_[0, mask.astype(np.int8), 0])
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def _standing_before_walking(pipe: Pipeline, q, acc, gyr, t_s, events,
                             min_moving_s: float = 5.0):
    """Orientations of the last quiet upright standing (``calibrate_s`` long)
    before walking starts -- the first IC, or without ICs the first stretch
    of ``min_moving_s`` not still -- or None."""
    body = PelvicAngles(pipe.q_sensor_to_body).decompose(q)
    still = pipe._still(body, acc, gyr)
    ics = [e.t_s for e in events if e.kind == "IC"]
    if ics:
        start = int(np.searchsorted(t_s, ics[0]))
    else:
        # moving: not inside a still run of at least half a second (walking has
        # instants that pass the per-sample test)
        s0, s1 = _runs(still)
        settled = np.zeros_like(still)
        for a, b in zip(s0, s1, strict=True):
            if b - a >= 0.5 * pipe.rate_hz:
                settled[a:b] = True
        m0, m1 = _runs(~settled)
        moving = np.flatnonzero(m1 - m0 >= min_moving_s * pipe.rate_hz)
        if not moving.size:
            return None
        start = int(m0[moving[0]])
    s0, s1 = _runs(still[:start])
    long = np.flatnonzero(s1 - s0 >= pipe.calibrate_n)
    if not long.size:
        return None
    end = int(s1[long[-1]])
    return q[end - pipe.calibrate_n:end]


def _estimate_mounting(q, acc, gyr, rate_hz: float, *, block_s: float = 60.0,
                       enough_walking_s: float = 120.0,
                       enough_confidence: float = 0.5) -> MountingEstimate:
    """The mounting from the recording, read a minute at a time until there is
    plenty of walking (``enough_walking_s`` at ``enough_confidence``): the
    estimate does not improve on more of the same, and an hour costs seconds."""
    est = MountingEstimator(rate_hz)
    step = max(1, round(block_s * rate_hz))
    for i in range(0, len(q), step):
        e = est.update(q[i:i + step], acc[i:i + step], gyr[i:i + step])
        if (e is not None and e.confidence >= enough_confidence
                and e.walking_s >= enough_walking_s):
            return e
    return est.estimate()  # raises MountingError saying why not


__all__ = ["MountingError", "Pipeline", "PipelineChunk", "RecordingAnalysis",
           "analyze_recording"]
