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

from sacrum.signal.angles import (
    ROTATION,
    TILT,
    CalibrationError,
    PelvicAngles,
    PelvicCalibration,
)
from sacrum.signal.gait import GaitEvent, GaitEventDetector
from sacrum.signal.heading import ProgressionHeading, stride_heading
from sacrum.signal.mounting import MountingError, MountingEstimate, MountingEstimator
from sacrum.signal.orientation import OrientationFilter, orientation_offline
from sacrum.signal.sitting import SittingCheck
from sacrum.signal.standing import StandingDetector

log = logging.getLogger(__name__)


@dataclass
class PipelineChunk:
    """Output for one input chunk (rows match the input rows).

    q_sensor_to_earth: (N, 4); angles_rad: (N, 3) tilt, obliquity, rotation
    (docs/pelvic-angles.md; rotation relative to the progression heading);
    heading_rad: (N,) progression heading (earth frame); events: gait events
    that became final during this chunk (they may be up to a step older).
    heading_settled: (N,) bool, the heading window held no turning (``Pipeline`` step 3):
    where False the rotation is not against a settled walking direction (in and for
    about a stride after a turn, and before the first full window).
    """

    q_sensor_to_earth: np.ndarray
    angles_rad: np.ndarray
    heading_rad: np.ndarray
    events: list[GaitEvent]
    calibrated: bool
    heading_settled: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))


class Pipeline:
    """Orientation, pelvic angles and gait events for one sacral sensor, streaming.

    A composition of the stages, each a streaming processor of its own module; the
    pipeline feeds them and keeps the calibration they decide. Steps, per chunk of
    samples (t_s, acc_mps2, gyr_radps in the sensor frame, optionally the device's
    q_sensor_to_earth):

    1. Orientation: the device's quaternion if given, else the host's
       :class:`~sacrum.signal.orientation.OrientationFilter` (raw acc/gyr streams).
    2. Standing calibration, automatic: the first ``calibrate_s`` of quiet upright
       standing (:class:`~sacrum.signal.standing.StandingDetector`: every sample |gyr|
       below ``still_gyr_radps``, |acc| within ``still_acc_mps2`` of g, the body's
       vertical axis within ``upright_max_rad`` of earth up) zeroes tilt and obliquity
       (:meth:`PelvicAngles.calibrate`). :meth:`calibrate` does it on demand.
       A still period that was sitting is undone (as offline, :func:`_was_sitting`):
       :class:`~sacrum.signal.sitting.SittingCheck` watches what follows the calibration;
       when the pelvis leans forward by more than ``sit_lean_rad`` (a sit-to-stand) and
       then, once back below half the lean's peak, reads more than ``sit_tilt_rad``
       anterior on average over the next ``sit_window_s``, the zero becomes the mean over
       that window (:meth:`PelvicAngles.calibrate_walking`, ``calibration.reference ==
       "walking"``, the reason in ``calibration_error``) until a quiet upright standing
       comes. The check gives up ``sit_watch_s`` (60 s) after the calibration without a
       lean. Decided per sample: any chunking gives the same output.
       ``calibrated_since_s`` is the time of the first sample on the current zero (inf
       before any): steps before it were measured from another zero or none.
    3. Progression heading (:class:`~sacrum.signal.heading.ProgressionHeading`): the
       pelvis heading averaged over the last stride (the stride from the heading's own
       autocorrelation), so rotation is measured against the current walking direction
       and follows it after turns, with half a stride of lag; ``heading_settled`` where a
       whole window has passed without turning. ``analyze_recording`` knows the turns
       and uses the centred one-stride heading instead (:func:`stride_heading`).
    4. Pelvic angles relative to the calibration and that heading.
    5. Gait events (:class:`~sacrum.signal.gait.GaitEventDetector`, the mounting
       given so left and right are the body's).

    Parameters: ``rate_hz`` (Hz); ``q_sensor_to_body`` (the mounting:
    ``sacrum.signal.mounting.parse_mount`` or an estimate); the standing detector's
    ``calibrate_s`` (s, 2.0), ``still_gyr_radps`` (0.15), ``still_acc_mps2`` (0.5),
    ``upright_max_rad`` (30°); the heading's ``heading_window_s`` (s, 1.1),
    ``stride_range_s`` (s, (0.7, 2.0)), ``stride_every_s`` (s, 0.5), ``stride_span_s``
    (s, 5.0), ``stride_min_r`` (0.4), ``heading_settle_rad`` (5°); ``live_heading``
    (False: no progression heading, rotation NaN); ``gait_events`` (False: no gait events,
    for a live session with no walking in it: ``sacrum exercise``); the sitting check's
    ``sit_lean_rad``
    (30°), ``sit_tilt_rad`` (8°), ``sit_window_s`` (s, 4.0), ``sit_watch_s`` (s, 60);
    the rest go to the gait detector. Each component's docstring gives the method and
    the references.
    """

    def __init__(self, rate_hz: float, q_sensor_to_body, *, calibrate_s: float = 2.0,
                 still_gyr_radps: float = 0.15, still_acc_mps2: float = 0.5,
                 upright_max_rad: float = math.radians(30.0), heading_window_s: float = 1.1,
                 stride_range_s: tuple[float, float] = (0.7, 2.0), stride_every_s: float = 0.5,
                 stride_span_s: float = 5.0, stride_min_r: float = 0.4,
                 live_heading: bool = True, sit_lean_rad: float = math.radians(30.0),
                 sit_tilt_rad: float = math.radians(8.0), sit_window_s: float = 4.0,
                 sit_watch_s: float = 60.0, heading_settle_rad: float = math.radians(5.0),
                 gait_events: bool = True, **gait_params) -> None:
        self.rate_hz = float(rate_hz)
        self.gait_events = bool(gait_events)
        # False: no progression heading (rotation NaN), for analyze_recording, which
        # replaces it with the centred one-stride heading anyway
        self.live_heading = live_heading
        self.q_sensor_to_body = np.asarray(
            getattr(q_sensor_to_body, "q_sensor_to_body", q_sensor_to_body), float)
        self.standing = StandingDetector(
            rate_hz, calibrate_s=calibrate_s, still_gyr_radps=still_gyr_radps,
            still_acc_mps2=still_acc_mps2, upright_max_rad=upright_max_rad)
        self.sitting = SittingCheck(rate_hz, sit_lean_rad=sit_lean_rad,
                                    sit_tilt_rad=sit_tilt_rad, sit_window_s=sit_window_s,
                                    sit_watch_s=sit_watch_s)
        self.heading = ProgressionHeading(
            rate_hz, heading_window_s=heading_window_s, stride_range_s=stride_range_s,
            stride_every_s=stride_every_s, stride_span_s=stride_span_s,
            stride_min_r=stride_min_r, heading_settle_rad=heading_settle_rad)
        self.calibrate_n = self.standing.calibrate_n  # samples of standing a zero takes
        self.heading_n = self.heading.heading_n  # samples of the default heading window
        self.sit_lean_rad = sit_lean_rad
        self.sit_tilt_rad = sit_tilt_rad
        self._gait_params = gait_params
        self.reset()

    def reset(self) -> None:
        self.orientation = OrientationFilter(self.rate_hz)
        self.angles = PelvicAngles(self.q_sensor_to_body, self.rate_hz)
        self.gait = GaitEventDetector(self.rate_hz, self.q_sensor_to_body, **self._gait_params)
        self.calibration: PelvicCalibration | None = None
        self.calibration_error: str | None = None
        #: time of the first sample whose angles use the current calibration (s; inf:
        #: none yet). A step from before it was measured from another zero or none.
        self.calibrated_since_s = math.inf
        self._zero_pending = False  # a calibration whose first sample is the next one
        self.standing.reset()
        self.heading.reset()
        self.sitting.reset()  # armed by an automatic standing calibration

    # -- step 2 ----------------------------------------------------------------
    def calibrate(self, q_sensor_to_earth_standing: np.ndarray) -> PelvicCalibration:
        """Zero tilt and obliquity on standing data now (e.g. the live view's button)."""
        self.calibration = self.angles.calibrate(q_sensor_to_earth_standing)
        self.calibration_error = None
        self._zero_pending = True  # from the next sample (update says which, if it knows)
        self.sitting.reset()  # a deliberate standing (the automatic one re-arms it)
        self.heading.reset()  # the levelled mounting redefines the heading
        return self.calibration

    def calibrate_walking(self, q_sensor_to_earth_walking: np.ndarray) -> PelvicCalibration:
        """Zero tilt and obliquity on the mean posture of walking orientations now
        (:meth:`PelvicAngles.calibrate_walking`; ``analyze_recording``'s zero without a
        standing, which the live scorer takes once it has the strides). A quiet standing
        found later replaces it, as the automatic walking zero."""
        self.calibration = self.angles.calibrate_walking(q_sensor_to_earth_walking)
        self.calibration_error = None
        self._zero_pending = True
        self.heading.reset()
        return self.calibration

    #: Step 2 on (the standing search and the sitting check); the live scorer turns it off
    #: while it scores again samples it has a walking zero for (sacrum.scoring.livescore).
    auto_calibrate = True

    def _standing_end(self, q, body, acc, gyr) -> tuple[int, np.ndarray] | None:
        """(index in the chunk, standing orientations) when a standing period
        completes in this chunk and no calibration is in place; else None."""
        if self.calibration is not None and self.calibration.reference == "standing":
            return None  # (a walking reference gives way to the first real standing)
        return self.standing.update(q, body, acc, gyr)

    # -- steps 3 and 4 ---------------------------------------------------------
    def _heading(self, yaw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Progression heading from the pelvis heading ψ of each sample (rad), and
        whether it is settled."""
        if not self.live_heading:
            return np.full(len(yaw), np.nan), np.zeros(len(yaw), bool)
        return self.heading.update(yaw)

    def _angles(self, q: np.ndarray):
        """(heading, angles, body, heading settled) of orientations ``q``."""
        body = self.angles.decompose(q)  # tilt, obliquity, pelvis heading ψ
        heading, settled = self._heading(body[:, ROTATION])
        return heading, self.angles.relative(body, heading), body, settled

    # -- the chunk -------------------------------------------------------------
    def update(self, t_s, acc_mps2, gyr_radps, q_sensor_to_earth=None) -> PipelineChunk:
        t = np.asarray(t_s, float).reshape(-1)
        acc = np.asarray(acc_mps2, float).reshape(-1, 3)
        gyr = np.asarray(gyr_radps, float).reshape(-1, 3)
        if q_sensor_to_earth is None:  # step 1
            q = self.orientation.update(acc, gyr)
        else:
            q = np.asarray(q_sensor_to_earth, float).reshape(-1, 4)
        if self._zero_pending and len(t):  # calibrate() between chunks
            self.calibrated_since_s, self._zero_pending = float(t[0]), False
        heading, angles, body, settled = self._angles(q)  # steps 3 and 4
        pos = 0
        while self.auto_calibrate and pos < len(q):  # step 2: each sample seen once, by the
            # search or the check
            if self.sitting.armed:
                done = self._check_sitting(q, heading, angles, body, settled, pos)
                if done is None:
                    break
                # re-zeroed on the walking mean after sample `done`: look for standing again
                pos = done + 1
                self._zero_from(t, pos)
                self.standing.reset()
                continue
            rest = slice(pos, None)
            standing = self._standing_end(q[rest], body[rest], acc[rest], gyr[rest])
            if standing is None:
                break
            cut = standing[0] + pos
            try:
                self.calibrate(standing[1])
            except CalibrationError as e:
                self.calibration_error = str(e)
            else:  # the new zero applies after the standing period
                (heading[cut + 1:], angles[cut + 1:], body[cut + 1:],
                 settled[cut + 1:]) = self._angles(q[cut + 1:])
                self._zero_from(t, cut + 1)
                self.sitting.arm()
            pos = cut + 1
        events = self.gait.update(t, acc, gyr, q) if self.gait_events else []  # step 5
        return PipelineChunk(q, angles, heading, events, self.calibration is not None, settled)

    def _zero_from(self, t: np.ndarray, i: int) -> None:
        """The current calibration applies from sample ``i`` of the chunk on."""
        self._zero_pending = i >= len(t)  # else from the next chunk's first sample
        if not self._zero_pending:
            self.calibrated_since_s = float(t[i])

    def _check_sitting(self, q, heading, angles, body, settled, start: int) -> int | None:
        """Step 2's sitting check on samples ``start:`` of the chunk (``angles`` relative
        to the current calibration). When it finds sitting, it re-zeroes the rest of the
        chunk on the walking mean and returns the sample it decided at; otherwise None."""
        found = self.sitting.update(angles[start:, TILT], q[start:])
        if found is None:
            return None
        end = start + found.index
        try:
            self.angles.calibrate_walking(found.q_window)
        except CalibrationError:
            return None
        self.calibration = self.angles.calibration
        self.calibration_error = (
            f"the still period before was sitting, not standing: a "
            f"{math.degrees(found.lean_rad):.0f}° forward lean (sit-to-stand), then "
            f"{math.degrees(found.tilt_mean_rad):+.0f}° tilt from it over "
            f"{self.sitting.sit_window_n / self.rate_hz:g} s; zeroed on that mean until a "
            "quiet standing")
        self.heading.reset()
        (heading[end + 1:], angles[end + 1:], body[end + 1:],
         settled[end + 1:]) = self._angles(q[end + 1:])
        return end

    def flush(self) -> list[GaitEvent]:
        """Events still pending at the end of a recording (the samples' rows are final in
        their chunks: only events are held back)."""
        return self.gait.flush() if self.gait_events else []


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
    #: (N,) bool: the sample's heading window is a whole stride clear of any turn
    #: (:func:`stride_heading`); False in turns, for lost samples and between two turns
    #: closer than a stride.
    heading_settled: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))


def analyze_recording(t_s, acc_mps2, gyr_radps, rate_hz: float, *, q_sensor_to_earth=None,
                      q_sensor_to_body=None, offline: bool = True) -> RecordingAnalysis:
    """Offline: orientation (the whole recording: smoothed), the mounting (estimated
    from the recording unless given), then the streaming pipeline fed everything.
    The angles' zero is then taken, where there is one, from the last quiet upright
    standing before the first step (gait starts from standing; the first still
    period of a recording may be sitting with an upright pelvis). A still period that
    was sitting is rejected (:func:`_was_sitting`: a sit-to-stand lean before the first
    step, and walking then reads strongly anterior); with no standing at all but
    strides to average over, the zero is the mean over the used strides
    (:meth:`PelvicAngles.calibrate_walking`, ``calibration.reference == "walking"``).

    Raises :class:`~sacrum.signal.mounting.MountingError` when the mounting is not
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
    pipe = Pipeline(rate_hz, q_sensor_to_body, live_heading=False)
    out = pipe.update(t_s, acc, gyr, q)
    events = out.events + pipe.flush()
    heading, angles, calibration = out.heading_rad, out.angles_rad, pipe.calibration
    # Offline, the zero can come from the standing just before walking starts
    # rather than the first still period (which may be sitting upright).
    t = np.asarray(t_s, float)
    window = _standing_before_walking(pipe, q, acc, gyr, t, events)
    angles_of = pipe.angles
    calibration_error = pipe.calibration_error
    if window is not None:
        again = Pipeline(rate_hz, q_sensor_to_body)
        try:
            calibration = again.calibrate(window)
        except CalibrationError as e:
            log.info("standing before the first step not usable: %s", e)
        else:
            angles_of = again.angles
    walk = _used_stride_mask(t, pipe.gait.strides)
    sitting = (_was_sitting(angles_of, q, t, events, walk, min_lean_rad=pipe.sit_lean_rad,
                            min_walk_tilt_rad=pipe.sit_tilt_rad)
               if calibration is not None else None)
    no_standing = calibration is None or calibration.reference == "walking"
    if sitting is not None or (no_standing and walk.sum() >= 2 * pipe.calibrate_n):
        again = PelvicAngles(q_sensor_to_body, rate_hz)
        try:
            calibration = again.calibrate_walking(q[walk])
        except CalibrationError as e:
            calibration = None
            calibration_error = f"{sitting}; {e}" if sitting else str(e)
        else:
            angles_of = again
            calibration_error = sitting
    # Offline, the heading can be centred, exactly one stride long and clear of turns
    body = angles_of.decompose(q)
    heading, settled = stride_heading(body[:, ROTATION], t, events, pipe.heading_n / rate_hz,
                                      turns=pipe.gait.turns, settled=True)
    angles = angles_of.relative(body, heading)
    return RecordingAnalysis(
        t, q, angles, heading, events, estimate, np.asarray(q_sensor_to_body, float),
        calibration, calibration_error, pipe.gait, settled)


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
    still = pipe.standing.still(body, acc, gyr)
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


def _used_stride_mask(t_s: np.ndarray, strides, min_strides: int = 4) -> np.ndarray:
    """Samples inside the strides used for statistics (not in turns, regular), if there
    are at least ``min_strides`` of them: whole strides, so their mean angles are the
    posture the pelvis moves about while walking straight."""
    mask = np.zeros(len(t_s), bool)
    used = [s for s in strides if s.used]
    if len(used) < min_strides:
        return mask
    for s in used:
        mask[np.searchsorted(t_s, s.t_start_s):np.searchsorted(t_s, s.t_end_s)] = True
    return mask


def _was_sitting(angles: PelvicAngles, q, t_s, events, walk: np.ndarray, *,
                 min_lean_rad: float = math.radians(30.0),
                 min_walk_tilt_rad: float = math.radians(8.0)) -> str | None:
    """Why the calibration in ``angles`` was sitting, not standing, or None.

    Both must hold: (1) between the calibration and the first IC the pelvis tilts forward
    by more than ``min_lean_rad`` (the trunk lean of a sit-to-stand, 30-60°; e.g.
    Schenkman et al. 1990, Phys Ther 70:638) and comes back, and (2) walking then reads
    more than ``min_walk_tilt_rad`` anterior on average (the pelvis tilts back by about
    10-25° when seated). A forward bend while standing fails (2); walking with a slight
    anterior tilt fails (1)."""
    ics = [e.t_s for e in events if e.kind == "IC"]
    if not ics or not walk.any():
        return None
    tilt = angles.decompose(q)[:, TILT]         # from the calibration's zero
    first = int(np.searchsorted(t_s, ics[0]))
    before = tilt[:first]
    ok = np.isfinite(before)
    if not ok.any():
        return None
    lean = float(np.max(before[ok]))
    walk_tilt = float(np.nanmean(tilt[walk]))
    if lean > min_lean_rad and walk_tilt > min_walk_tilt_rad:
        k = int(np.flatnonzero(ok)[np.argmax(before[ok])])
        return (f"the still period before walking was sitting, not standing: a "
                f"{math.degrees(lean):.0f}° forward lean (sit-to-stand) at {t_s[k]:.1f} s, "
                f"and walking reads {math.degrees(walk_tilt):+.0f}° tilt from it")
    return None


def _estimate_mounting(q, acc, gyr, rate_hz: float, *, block_s: float = 60.0,
                       enough_walking_s: float = 120.0,
                       enough_confidence: float = 0.5) -> MountingEstimate:
    """The mounting from the recording, read a minute at a time until there is
    plenty of walking (``enough_walking_s`` at ``enough_confidence``, the
    estimate's ``settled_confidence``): the estimate does not improve on more of
    the same, and an hour costs seconds."""
    est = MountingEstimator(rate_hz)
    step = max(1, round(block_s * rate_hz))
    for i in range(0, len(q), step):
        e = est.update(q[i:i + step], acc[i:i + step], gyr[i:i + step])
        if (e is not None and e.settled_confidence >= enough_confidence
                and e.walking_s >= enough_walking_s):
            return e
    return est.estimate()  # raises MountingError saying why not


__all__ = ["MountingError", "Pipeline", "PipelineChunk", "RecordingAnalysis",
           "analyze_recording", "stride_heading"]
