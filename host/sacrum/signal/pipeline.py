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

from sacrum.gait import GaitEvent, GaitEventDetector
from sacrum.signal.angles import (
    OBLIQUITY,
    ROTATION,
    TILT,
    CalibrationError,
    PelvicAngles,
    PelvicCalibration,
)
from sacrum.signal.mounting import MountingError, MountingEstimate, MountingEstimator
from sacrum.signal.orientation import OrientationFilter, orientation_offline
from sacrum.units import G_MPS2

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

    Steps, per chunk of samples (t_s, acc_mps2, gyr_radps in the sensor frame,
    optionally the device's q_sensor_to_earth):

    1. Orientation: the device's quaternion if given, else the host's
       :class:`~sacrum.signal.orientation.OrientationFilter` (raw acc/gyr streams).
    2. Standing calibration, automatic: the first ``calibrate_s`` of quiet
       upright standing (every sample: |gyr| below ``still_gyr_radps``, |acc|
       within ``still_acc_mps2`` of g, and the body's vertical axis within
       ``upright_max_rad`` of earth up) zeroes tilt and obliquity
       (:meth:`PelvicAngles.calibrate`). :meth:`calibrate` does it on demand.
       A still period that was sitting is undone (as offline, :func:`_was_sitting`):
       when, after it, the pelvis leans forward by more than ``sit_lean_rad`` (a
       sit-to-stand) and then, once back below half the lean's peak, reads more than
       ``sit_tilt_rad`` anterior on average over the next ``sit_window_s``, the zero
       becomes the mean over that window (:meth:`PelvicAngles.calibrate_walking`,
       ``calibration.reference == "walking"``, the reason in ``calibration_error``) until
       a quiet upright standing comes. Decided per sample: any chunking gives the same
       output. The check gives up ``sit_watch_s`` (60 s) after the calibration without a
       lean. ``calibrated_since_s`` is the time of the first sample on the current zero
       (inf before any): steps before it were measured from another zero or none.
    3. Progression heading: the pelvis heading averaged over the last stride
       (which cancels the pelvis' own rotation within the stride), so rotation
       is measured against the current walking direction and follows it after
       turns, with half a stride of lag. The stride is the period of the pelvis
       heading itself: every ``stride_every_s`` of samples, the lag of the
       autocorrelation peak of the high-passed heading (less its centred
       ``heading_window_s`` mean: turns and drift out) over the last
       ``stride_span_s`` within ``stride_range_s`` (parabolically refined), used
       from then on as a fractional-length window; ``heading_window_s`` when
       there is no such periodicity (standing, turning on the spot). The blocks
       count samples, so any chunking gives the same output. NaN samples are
       left out of the average.
       Turns: a sample is *turning* when the mean pelvis heading over the window before
       it differs by more than ``heading_settle_rad`` from the mean over the window
       before that (whole strides: the pelvis' own rotation cancels, so in straight
       walking the change is the stride-to-stride variability, a degree or two; a mean,
       not single samples, as those vary by several degrees from stride to stride in
       real walks); a turning sample's window is half as long (one
       step: the lag behind the new direction halves, at the cost of up to 0.64 × the
       rotation amplitude), and the heading is *settled* (``heading_settled``) once a
       whole window has passed without turning. The flag comes about half a second into
       a turn (the trailing mean has to move by ``heading_settle_rad`` first: the first
       samples of a turn are still called settled). A trailing window cannot do better
       than about a stride after a turn: the pelvis' own rotation and the end of a
       turn look alike for less than a stride. ``analyze_recording`` knows the turns and
       does (:func:`stride_heading`).
    4. Pelvic angles relative to the calibration and that heading.
    5. Gait events (:class:`~sacrum.gait.GaitEventDetector`, the mounting
       given so left and right are the body's).

    Parameters: ``rate_hz`` (Hz); ``q_sensor_to_body`` (the mounting:
    ``sacrum.signal.mounting.parse_mount`` or an estimate); ``calibrate_s`` (s, 2.0);
    ``still_gyr_radps`` (0.15); ``still_acc_mps2`` (0.5); ``upright_max_rad``
    (30°); ``heading_window_s`` (s, 1.1); ``stride_range_s`` (s, (0.7, 2.0));
    ``stride_every_s`` (s, 0.5); ``stride_span_s`` (s, 5.0); ``stride_min_r``
    (0.4, the least autocorrelation at the stride lag that counts as walking);
    ``heading_settle_rad`` (5°: a steady turn of that much per stride puts the trailing
    mean 2.5° behind, the tolerance of the rotation's zero; the slowest turn the gait
    stage counts, 45° in 10 s, turns 5° in a 1.1-s stride).
    """

    def __init__(self, rate_hz: float, q_sensor_to_body, *, calibrate_s: float = 2.0,
                 still_gyr_radps: float = 0.15, still_acc_mps2: float = 0.5,
                 upright_max_rad: float = math.radians(30.0), heading_window_s: float = 1.1,
                 stride_range_s: tuple[float, float] = (0.7, 2.0), stride_every_s: float = 0.5,
                 stride_span_s: float = 5.0, stride_min_r: float = 0.4,
                 live_heading: bool = True, sit_lean_rad: float = math.radians(30.0),
                 sit_tilt_rad: float = math.radians(8.0), sit_window_s: float = 4.0,
                 sit_watch_s: float = 60.0, heading_settle_rad: float = math.radians(5.0),
                 **gait_params) -> None:
        self.rate_hz = float(rate_hz)
        # False: no progression heading (rotation NaN), for analyze_recording, which
        # replaces it with the centred one-stride heading anyway
        self.live_heading = live_heading
        self.q_sensor_to_body = np.asarray(
            getattr(q_sensor_to_body, "q_sensor_to_body", q_sensor_to_body), float)
        self.calibrate_n = max(1, round(calibrate_s * rate_hz))
        self.still_gyr_radps = still_gyr_radps
        self.still_acc_mps2 = still_acc_mps2
        self.cos_upright = math.cos(upright_max_rad)
        self.heading_n = max(1, round(heading_window_s * rate_hz))
        self.heading_default_n = max(1.0, heading_window_s * rate_hz)  # samples, fractional
        self.stride_lags = (max(1, math.floor(stride_range_s[0] * rate_hz)),
                            max(2, math.ceil(stride_range_s[1] * rate_hz)))
        self.stride_every_n = max(1, round(stride_every_s * rate_hz))
        self._highpass_n = 2 * round(0.5 * self.heading_default_n) + 1  # odd: centred
        self.stride_span_n = max(self.stride_lags[1] + self._highpass_n + 2,
                                 round(stride_span_s * rate_hz))
        self.stride_min_r = stride_min_r
        self.heading_settle_rad = heading_settle_rad
        # history kept for the windows and the stride estimate
        self._history_n = max(self.stride_span_n,
                              math.ceil(max(self.heading_default_n, self.stride_lags[1])) + 1)
        self._fft_n = 1 << (2 * self.stride_span_n - 1).bit_length()
        self.sit_lean_rad = sit_lean_rad
        self.sit_tilt_rad = sit_tilt_rad
        self.sit_window_n = max(1, round(sit_window_s * rate_hz))
        self.sit_watch_n = max(1, round(sit_watch_s * rate_hz))
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
        self._still_run = 0
        self._q_tail = np.zeros((0, 4))  # the last calibrate_n orientations
        self._reset_heading()
        self._sit_check: dict | None = None  # armed by an automatic standing calibration

    def _reset_heading(self) -> None:
        self._yaw_tail = np.zeros(0)  # the last _history_n unwrapped yaws
        self._yaw_last = math.nan
        self._yaw_count = 0  # samples since the heading (re)started: the block clock
        self._window_n = self.heading_default_n  # the current window (samples)
        self._since_turning = 0  # samples since the last turning one (step 3)

    # -- step 2 ----------------------------------------------------------------
    def calibrate(self, q_sensor_to_earth_standing: np.ndarray) -> PelvicCalibration:
        """Zero tilt and obliquity on standing data now (e.g. the live view's button)."""
        self.calibration = self.angles.calibrate(q_sensor_to_earth_standing)
        self.calibration_error = None
        self._zero_pending = True  # from the next sample (update says which, if it knows)
        self._sit_check = None  # a deliberate standing (the automatic one re-arms it)
        self._reset_heading()  # the levelled mounting redefines the heading
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
        if self.calibration is not None and self.calibration.reference == "standing":
            return None  # (a walking reference gives way to the first real standing)
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
    def _heading(self, yaw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Progression heading from the pelvis heading ψ of each sample (rad), and
        whether it is settled."""
        if not self.live_heading:
            return np.full(len(yaw), np.nan), np.zeros(len(yaw), bool)
        # unwrap through NaN rows, continuing from the previous chunk
        out = np.full_like(yaw, np.nan)
        last = self._yaw_last
        ok = np.flatnonzero(np.isfinite(yaw))
        if ok.size:
            seq = np.unwrap(np.r_[last if math.isfinite(last) else yaw[ok[0]], yaw[ok]])[1:]
            out[ok] = seq
            self._yaw_last = float(seq[-1])
        n_tail, n = len(self._yaw_tail), len(yaw)
        allv = np.concatenate([self._yaw_tail, out])
        valid = np.isfinite(allv)
        # running sums with a leading zero: csum[m] is the sum of the first m samples
        csum = np.r_[0.0, np.cumsum(np.where(valid, allv, 0.0))]
        ccnt = np.r_[0.0, np.cumsum(valid)]
        # the window of each new sample: the stride estimated at the last block
        # boundary (a multiple of stride_every_n samples since the heading started)
        # at or before it, from the samples before that boundary
        c0 = self._yaw_count
        every = self.stride_every_n
        starts = np.arange((c0 // every + 1) * every, c0 + n + 1, every) - c0  # in the chunk
        windows = [self._window_n]
        for b in starts:
            end = b + n_tail  # the boundary's position in allv
            windows.append(self._stride_n(allv[max(0, end - self.stride_span_n):end]))
        self._window_n = windows[-1]
        window = np.asarray(windows)[np.searchsorted(starts, np.arange(n), "right")]
        self._yaw_count = c0 + n
        # turning: the one-stride mean heading moved by more than heading_settle_rad since
        # a stride before (two means over whole strides: the pelvis' own rotation cancels)
        grid = np.arange(len(csum), dtype=float)
        hi = np.arange(n_tail + 1, n_tail + n + 1, dtype=float)

        def mean_before(end):
            lo = np.maximum(end - window, 0.0)
            with np.errstate(invalid="ignore", divide="ignore"):
                return ((np.interp(end, grid, csum) - np.interp(lo, grid, csum))
                        / (np.interp(end, grid, ccnt) - np.interp(lo, grid, ccnt)))

        with np.errstate(invalid="ignore"):
            change = np.abs(mean_before(hi) - mean_before(hi - window))
            turning = (hi - 2 * window >= 0) & (change > self.heading_settle_rad)
        idx = np.arange(n)
        last = np.maximum.accumulate(np.where(turning, idx, -1)) if n else idx
        since = np.where(last >= 0, idx - last, self._since_turning + idx + 1)
        if n:
            self._since_turning = int(since[-1])
        # trailing mean over a fractional window (a step while turning), at fractional
        # positions of the sums
        lo = np.maximum(hi - np.where(turning, 0.5 * window, window), 0.0)
        i0 = np.minimum(np.floor(lo).astype(np.intp), len(allv) - 1)
        frac = lo - i0
        s_lo = csum[i0] + frac * (csum[i0 + 1] - csum[i0])
        c_lo = ccnt[i0] + frac * (ccnt[i0 + 1] - ccnt[i0])
        with np.errstate(invalid="ignore", divide="ignore"):
            count = ccnt[n_tail + 1:] - c_lo
            heading = np.where(count > 0.5, (csum[n_tail + 1:] - s_lo) / count, np.nan)
        self._yaw_tail = allv[-self._history_n:]
        return heading, (since >= window) & np.isfinite(heading)

    def _stride_n(self, y: np.ndarray) -> float:
        """The stride (samples, fractional) in the unwrapped pelvis heading ``y``: the lag
        of the autocorrelation peak of the high-passed heading within the stride range;
        the default window when there is no such periodicity."""
        lag_lo, lag_hi = self.stride_lags
        m = np.isfinite(y)
        if len(y) < self.stride_span_n or m.sum() < 0.8 * len(y):
            return self.heading_default_n
        # high-pass: less the centred mean over the default window, which takes out
        # turns and drift (their linear parts exactly) and keeps the stride's period
        w = self._highpass_n
        csum = np.r_[0.0, np.cumsum(np.where(m, y, 0.0))]
        ccnt = np.r_[0.0, np.cumsum(m)]
        count = ccnt[w:] - ccnt[:-w]
        mid = np.arange(len(count)) + (w - 1) // 2
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = (csum[w:] - csum[:-w]) / count
        m = m[mid] & (count > 0.5 * w)
        n_ok = int(m.sum())
        if n_ok < 0.5 * len(y):
            return self.heading_default_n
        d = np.where(m, y[mid] - mean, 0.0)
        # normalised autocorrelation: the correlation of the span's head and tail
        # ``lag`` apart (1 at the exact period of a periodic signal), by FFT
        fd = np.fft.rfft(d, self._fft_n)
        acf = np.fft.irfft(fd * fd.conj(), self._fft_n)[:lag_hi + 2]
        energy = np.r_[0.0, np.cumsum(d * d)]
        k = np.arange(lag_hi + 2)
        norm = np.sqrt(energy[len(d) - k] * (energy[-1] - energy[k]))
        if not energy[-1] > 1e-12 * n_ok:  # no motion at all
            return self.heading_default_n
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.where(norm > 0, acf / norm, 0.0)
        lags = np.arange(max(lag_lo, 1), lag_hi + 1)
        rl = r[lags]
        peak = (rl >= r[lags - 1]) & (rl > r[lags + 1])
        if not peak.any():
            return self.heading_default_n
        best = float(rl[peak].max())
        if best < self.stride_min_r:
            return self.heading_default_n
        # the first peak nearly as high as the best: the stride, not a multiple of it
        k = int(lags[peak][np.argmax(rl[peak] >= 0.9 * best)])
        a, b, c = r[k - 1], r[k], r[k + 1]
        den = a - 2 * b + c
        delta = 0.5 * (a - c) / den if den < 0 else 0.0
        return float(k + np.clip(delta, -0.5, 0.5))

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
        while pos < len(q):  # step 2: each sample is seen once, by the search or the check
            if self._sit_check is not None:
                done = self._check_sitting(q, heading, angles, body, settled, pos)
                if done is None:
                    break
                # re-zeroed on the walking mean after sample `done`: look for standing again
                pos = done + 1
                self._zero_from(t, pos)
                self._still_run, self._q_tail = 0, np.zeros((0, 4))
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
                self._sit_check = {"lean": False, "back": False, "n": 0, "sum": 0.0,
                                   "lean_rad": 0.0, "q": [], "seen": 0}
            pos = cut + 1
        events = self.gait.update(t, acc, gyr, q)  # step 5
        return PipelineChunk(q, angles, heading, events, self.calibration is not None, settled)

    def _zero_from(self, t: np.ndarray, i: int) -> None:
        """The current calibration applies from sample ``i`` of the chunk on."""
        self._zero_pending = i >= len(t)  # else from the next chunk's first sample
        if not self._zero_pending:
            self.calibrated_since_s = float(t[i])

    def _check_sitting(self, q, heading, angles, body, settled, start: int) -> int | None:
        """Step 2's sitting check on samples ``start:`` of the chunk (``angles`` relative
        to the current calibration). When it finds sitting, it re-zeroes the rest of the
        chunk and returns the sample it decided at; otherwise None. Vectorised per phase
        (lean, back down, window), and given up ``sit_watch_s`` after the calibration
        without a lean, so it costs nothing in a long recording."""
        chk = self._sit_check
        if chk is None:
            return None
        tilt = angles[:, TILT]
        i = start
        n = len(q)
        while i < n:
            x = tilt[i:]
            ok = np.isfinite(x)
            if not chk["lean"]:
                hit = np.flatnonzero(ok & (x > self.sit_lean_rad))
                left = self.sit_watch_n - chk["seen"]
                if not hit.size or hit[0] >= left:
                    chk["seen"] += min(n - i, left)
                    if chk["seen"] >= self.sit_watch_n:
                        self._sit_check = None  # no sit-to-stand: the standing was one
                    return None
                chk["lean"], i = True, i + int(hit[0])
                continue
            if not chk["back"]:  # the lean is over once down to half its peak
                peak = np.maximum.accumulate(np.where(ok, x, -np.inf))
                peak = np.maximum(peak, chk["lean_rad"])
                down = np.flatnonzero(ok & (x < 0.5 * peak))
                if not down.size:
                    chk["lean_rad"] = float(peak[-1])
                    return None
                chk["lean_rad"] = float(peak[down[0]])
                chk["back"], i = True, i + int(down[0])
                continue
            take = np.flatnonzero(ok)[:self.sit_window_n - chk["n"]]
            chk["n"] += len(take)
            chk["sum"] += float(x[take].sum())
            chk["q"].append(q[i + take])
            if chk["n"] < self.sit_window_n:
                return None
            end = i + int(take[-1])
            self._sit_check = None
            mean = chk["sum"] / chk["n"]
            if mean <= self.sit_tilt_rad:
                return None  # a forward bend while standing: the standing zero stands
            try:
                self.angles.calibrate_walking(np.concatenate(chk["q"]))
            except CalibrationError:
                return None
            self.calibration = self.angles.calibration
            self.calibration_error = (
                f"the still period before was sitting, not standing: a "
                f"{math.degrees(chk['lean_rad']):.0f}° forward lean (sit-to-stand), then "
                f"{math.degrees(mean):+.0f}° tilt from it over {self.sit_window_n / self.rate_hz:g}"
                " s; zeroed on that mean until a quiet standing")
            self._reset_heading()
            (heading[end + 1:], angles[end + 1:], body[end + 1:],
             settled[end + 1:]) = self._angles(q[end + 1:])
            return end
        return None

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


def stride_heading(yaw_rad: np.ndarray, t_s: np.ndarray, events, default_window_s: float,
                   turns=(), settled: bool = False):
    """Offline progression heading: the pelvis heading averaged over one stride centred
    on each sample, the window kept clear of turns.

    The pelvis rotates about the walking direction once per stride, so its mean over
    exactly one stride is the walking direction, at any cadence and with no lag (the
    live pipeline's trailing window can do neither). The local stride time is
    interpolated between consecutive ICs (IC to the next-but-one IC); away from walking
    the window is ``default_window_s``. NaN samples are left out of the average.

    ``turns`` (the gait stage's :class:`~sacrum.gait.Turn`): a window that would reach into
    a turn from outside it is slid, still one stride long, to end where the turn starts
    (before it) or to start where it ends (after it), so the stride after a U-turn is
    measured against the new direction rather than a mean of both (about 6° off over that
    stride on a phantom otherwise; clipped to the stretch between two turns closer than a
    stride; at the recording's ends likewise slid inside it). Inside a turn the window
    stays centred (the heading follows the turn).
    With ``settled=True`` it returns (heading, settled), settled the samples outside turns
    whose window is a whole stride (RecordingAnalysis.heading_settled).
    """
    t = np.asarray(t_s, float)
    n = len(t)
    if n == 0:
        return (np.zeros(0), np.zeros(0, bool)) if settled else np.zeros(0)
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
    width = window / dt
    lo = idx + 0.5 - 0.5 * width
    hi = lo + width
    # the stretch of samples clear of turns each sample is in: [seg_lo, seg_hi)
    seg_lo, seg_hi = np.zeros(n), np.full(n, float(n))
    in_turn = np.zeros(n, bool)
    for tr in sorted(turns, key=lambda tr: tr.t_start_s):
        a = float(np.searchsorted(t, tr.t_start_s))
        b = float(np.searchsorted(t, tr.t_end_s, "right"))
        in_turn[int(a):int(b)] = True
        seg_hi = np.where(idx < a, np.minimum(seg_hi, a), seg_hi)
        seg_lo = np.where(idx >= b, np.maximum(seg_lo, b), seg_lo)
    # slide the window into the stretch (not turning samples only), then clip to it
    slide = ~in_turn
    shift = np.where(slide, np.maximum(0.0, seg_lo - lo) - np.maximum(0.0, hi - seg_hi), 0.0)
    lo, hi = lo + shift, hi + shift
    lo = np.where(slide, np.maximum(lo, seg_lo), lo)
    hi = np.where(slide, np.minimum(hi, seg_hi), hi)
    full = (hi - lo >= width - 1e-9) & (lo >= 0) & (hi <= n)
    lo, hi = np.clip(lo, 0, n), np.clip(hi, 0, n)
    grid = np.arange(n + 1, dtype=float)
    total = np.interp(hi, grid, csum) - np.interp(lo, grid, csum)
    count = np.interp(hi, grid, ccnt) - np.interp(lo, grid, ccnt)
    with np.errstate(invalid="ignore", divide="ignore"):
        heading = np.where(count > 0.5, total / count, np.nan)
    if not settled:
        return heading
    return heading, full & slide & np.isfinite(heading) & ok


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
