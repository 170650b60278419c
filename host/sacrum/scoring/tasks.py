"""Clinical tasks: stairs found in the motion, single-leg stance, step-down and step-up.

The stage beside ``gait`` in the host pipeline (docs/pipeline.md): it takes what the
pipeline gives (pelvic angles, body-frame angular velocity, sacral acceleration in the
progression frame) and returns, per task of the clinical gait check (protocol/SPEC.md
§5.2: ``stairs-up``, ``stairs-down``, ``single-leg-stance-left|right``,
``step-down-left|right``, ``step-up-left|right``), the segments or repetitions and
their pelvic metrics. ``sacrum.scoring.metrics`` (per stride, walking and stairs) and
``sacrum.scoring.score`` sit after it.

* :func:`find_stairs` / :class:`StairDetector` - stair ascent and descent inside walking,
  from the height change the sacrum's acceleration (and a barometer, when there is one)
  shows, labelled with a confidence. Per-step metrics on stairs are the walking ones
  (``sacrum.scoring.metrics.step_metrics`` on the ICs inside a segment).
* :func:`single_leg_stance` / :class:`SingleLegStanceMonitor` - drop of the unsupported
  side, sway, time to stabilise, time held.
* :func:`repetitions` / :class:`RepetitionCounter` - lateral step-down and step-up
  repetitions: peak contralateral drop, smoothness (log dimensionless jerk), duration,
  count.

Inputs (SI, numpy; rows on one time axis ``t_s`` at a constant rate; lost samples are
NaN rows):

* ``angles_rad`` (N, 3): tilt, obliquity, rotation (docs/pelvic-angles.md) relative to
  the standing calibration: obliquity positive = left side up / right side down.
* ``gyr_body_radps`` (N, 3): angular velocity in the body frame (x anterior, y left,
  z up): :func:`to_body_frame` of the sensor's gyroscope with ``q_sensor_to_body``.
* ``acc_body_mps2`` (N, 3): sacral acceleration in the **progression frame** - x
  forward (walking direction), y left, z up (earth vertical) - with **gravity removed**
  (:func:`sacrum.scoring.metrics.body_acceleration` makes it from the pipeline's output). Gravity
  included
  is recognised (median vertical acceleration above g/2) and subtracted.

The *contralateral drop* for a stance side is the obliquity signed so that positive
means the unsupported (other) side is lower than in the standing calibration: in left
stance +obliquity (the right side down), in right stance -obliquity (the left side
down) - the Trendelenburg pattern. Negative values mean the unsupported side is held
higher than standing (hip hiking).

Results are in SI units (rad, s, m); the ``to_dict_deg`` methods give the degrees the
report and the CLI show. Bad input - too short, no movement, gaps - never raises and
never gives a silent zero: results say it in ``messages`` (NaN where a value cannot be
had). Wrong arguments (a side that is not "L"/"R", arrays of the wrong shape) raise
:class:`TaskInputError`.
"""

from __future__ import annotations

import itertools
import logging
import math
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy.signal import find_peaks, firwin, savgol_filter
from scipy.special import ndtr

from sacrum.signal.quaternion import quat_rotate
from sacrum.units import G_MPS2

log = logging.getLogger(__name__)

#: Isothermal scale height of the air (m): R·T/g at 15 °C. Near the ground a height
#: change dh goes with a pressure change dp = -p·dh/H: 0.120 hPa per metre at 1013 hPa
#: (one 3-m floor ≈ 0.36 hPa, one 17-cm stair ≈ 0.02 hPa).
AIR_SCALE_HEIGHT_M = 8430.0

SIDES = ("L", "R")
REPETITION_KINDS = ("step-down", "step-up")


class TaskInputError(ValueError):
    """The arguments cannot be analysed (wrong shapes, unknown side or kind); the message
    says what was expected."""


class Findings(list):
    """A list of results (segments or repetitions) with ``messages``: what was skipped or
    could not be found, in words ("no walking found in 12.0 s: no stairs to look for").
    It is a plain ``list`` otherwise; ``len()`` is the count."""

    def __init__(self, items=(), messages=()):
        super().__init__(items)
        self.messages: list[str] = list(messages)


# ==========================================================================================
# frames


def to_body_frame(v_sensor: np.ndarray, q_sensor_to_body: np.ndarray) -> np.ndarray:
    """Sensor-frame vectors (N, 3) (e.g. the gyroscope, rad/s) in the body frame
    (x anterior, y left, z up) of the mounting ``q_sensor_to_body`` (w, x, y, z)."""
    v = np.asarray(v_sensor, float)
    return quat_rotate(np.broadcast_to(np.asarray(q_sensor_to_body, float), (*v.shape[:-1], 4)),
                       v)


def contralateral_drop_rad(obliquity_rad: np.ndarray, stance_side: str) -> np.ndarray:
    """Obliquity as the drop of the side opposite ``stance_side`` (rad, + = that side
    lower than standing): +obliquity in left stance, -obliquity in right stance."""
    return np.asarray(obliquity_rad, float) * (1.0 if _side(stance_side) == "L" else -1.0)


# ==========================================================================================
# helpers


def _side(side: str) -> str:
    if side not in SIDES:
        raise TaskInputError(f'side must be "L" or "R" (the stance leg), not {side!r}')
    return side


def _as_rows(x, n: int, cols: int, name: str) -> np.ndarray:
    a = np.asarray(x, float)
    if a.ndim == 1 and cols == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape != (n, cols):
        raise TaskInputError(f"{name} must have shape ({n}, {cols}) to match t_s, "
                             f"not {a.shape}")
    return a


def _rate_hz(t: np.ndarray) -> float:
    """Sample rate from the median interval (NaN when it cannot be told)."""
    d = np.diff(t[np.isfinite(t)])
    d = d[d > 0]
    return 1.0 / float(np.median(d)) if len(d) else math.nan


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Half-open index ranges of the True runs of a boolean array."""
    m = np.r_[False, np.asarray(mask, bool), False]
    edges = np.flatnonzero(np.diff(m.astype(np.int8)))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


@dataclass
class _Gaps:
    valid: np.ndarray          # (N,) bool: a value after bridging
    n_bridged: int
    long: list[tuple[float, float]]   # (t_start, t_end) of gaps left open (s)
    missing: list[tuple[float, float]]

    def messages(self, what: str) -> list[str]:
        out = []
        if self.n_bridged:
            out.append(f"{self.n_bridged} short gap(s) in the {what} bridged by interpolation")
        for t0, t1 in self.long:
            out.append(f"{t1 - t0:.2f}-s gap in the {what} at {t0:.2f} s: not analysed "
                       f"across it")
        return out


def _bridge(t: np.ndarray, x: np.ndarray, max_gap_s: float) -> tuple[np.ndarray, _Gaps]:
    """Fill NaN runs of the rows of x (N, k) no longer than ``max_gap_s`` by linear
    interpolation; longer ones (and ones at the ends) stay NaN."""
    x = np.array(x, float)
    bad = ~np.isfinite(x).all(axis=1)
    n = len(x)
    n_bridged, long, missing = 0, [], []
    fs = _rate_hz(t)
    for a, b in _runs(bad):
        t0 = float(t[a - 1]) if a > 0 else float(t[a])
        t1 = float(t[b]) if b < n else float(t[b - 1])
        missing.append((t0, t1))
        dur = (b - a + 1) / fs if math.isfinite(fs) else math.inf
        if a > 0 and b < n and dur <= max_gap_s:
            w = (np.arange(a, b) - (a - 1)) / (b - (a - 1))
            x[a:b] = x[a - 1] + w[:, None] * (x[b] - x[a - 1])
            n_bridged += 1
        else:
            x[a:b] = np.nan
            long.append((t0, t1))
    return x, _Gaps(np.isfinite(x).all(axis=1), n_bridged, long, missing)


def _moving_mean(x: np.ndarray, n: int) -> np.ndarray:
    """Centred moving mean over n samples (shrinking at the ends), of a finite 1-D array."""
    n = max(1, int(n))
    c = np.r_[0.0, np.cumsum(x)]
    i = np.arange(len(x))
    lo = np.clip(i - n // 2, 0, len(x))
    hi = np.clip(i - n // 2 + n, 0, len(x))
    return (c[hi] - c[lo]) / np.maximum(hi - lo, 1)


def _window_slopes(y: np.ndarray, starts: np.ndarray, n: int, fs: float) -> np.ndarray:
    """Least-squares slope (units/s) of y over the windows [s, s+n) (y finite there)."""
    j = np.arange(len(y), dtype=float)
    c0 = np.r_[0.0, np.cumsum(y)]
    c1 = np.r_[0.0, np.cumsum(j * y)]
    s0 = c0[starts + n] - c0[starts]
    s1 = c1[starts + n] - c1[starts] - starts * s0          # Σ k·y, k = 0..n-1
    k_mean = (n - 1) / 2.0
    sxx = n * (n * n - 1) / 12.0
    return (s1 - k_mean * s0) / sxx * fs


def _slope(t: np.ndarray, y: np.ndarray) -> float:
    ok = np.isfinite(t) & np.isfinite(y)
    if ok.sum() < 3:
        return math.nan
    tc = t[ok] - t[ok].mean()
    return float((tc * (y[ok] - y[ok].mean())).sum() / (tc * tc).sum())


def _step_period(x: np.ndarray, fs: float, lag_s: tuple[float, float],
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Dominant step period (s) and step regularity of each row of x (windows of vertical
    acceleration): the first peak of the unbiased autocorrelation, normalised by its zero
    lag (Moe-Nilssen & Helbostad 2004), within ``lag_s`` that reaches 70 % of the highest
    peak there (the step, not the stride, when both are in range)."""
    n_win, n = x.shape
    x = x - x.mean(axis=1, keepdims=True)
    nfft = 1 << math.ceil(math.log2(2 * n))
    lo, hi = max(1, int(lag_s[0] * fs)), min(n - 2, math.ceil(lag_s[1] * fs))
    period = np.full(n_win, np.nan)
    reg = np.zeros(n_win)
    if hi <= lo + 1:
        return period, reg
    for b in range(0, n_win, 1024):          # batches: memory stays bounded on long records
        f = np.fft.rfft(x[b:b + 1024], nfft, axis=1)
        ac = np.fft.irfft(f * np.conj(f), nfft, axis=1)[:, :hi + 2]
        ac = ac / (n - np.arange(hi + 2))                    # unbiased
        with np.errstate(invalid="ignore", divide="ignore"):
            ac = ac / ac[:, :1]                              # normalised by the zero lag
        seg = ac[:, lo - 1:hi + 2]
        peak = (seg[:, 1:-1] >= seg[:, :-2]) & (seg[:, 1:-1] > seg[:, 2:])
        val = np.where(peak, seg[:, 1:-1], -np.inf)
        best = val.max(axis=1)
        strong = peak & (val >= 0.7 * best[:, None]) & (best[:, None] > 0)
        has = strong.any(axis=1)
        first = np.argmax(strong, axis=1)
        rows = np.flatnonzero(has)
        lag = lo + first[rows]
        period[b + rows] = lag / fs
        reg[b + rows] = val[rows, first[rows]]
    return period, reg


def _fir_lowpass(x: np.ndarray, cutoff_hz: float, fs: float, length_s: float = 0.5,
                 ) -> np.ndarray:
    """Zero-phase FIR low-pass of the columns of x (finite support: the output at a
    sample depends only on the ±length_s/2 around it)."""
    n = round(length_s * fs) | 1
    if cutoff_hz >= fs / 2 or len(x) < n:
        return np.array(x, float)
    h = firwin(n, cutoff_hz, fs=fs)
    pad = n // 2
    xp = np.pad(np.asarray(x, float), [(pad, pad)] + [(0, 0)] * (x.ndim - 1), mode="edge")
    if x.ndim == 1:
        return np.convolve(xp, h, mode="valid")
    return np.stack([np.convolve(xp[:, k], h, mode="valid") for k in range(x.shape[1])], axis=1)


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


def _deg(x: float) -> float:
    return float(math.degrees(x)) if x is not None and math.isfinite(x) else math.nan


# ==========================================================================================
# stairs


@dataclass(frozen=True)
class StairSegment:
    """A stretch of stair walking found in the motion.

    t_start_s, t_end_s: its span (s, on the input time axis; about one step of
    uncertainty at each end). direction: "up" or "down". confidence: 0..1, the
    probability of stairs in that direction under the model of :class:`StairDetector`
    (not calibrated on real stair data - see its limits). evidence: what it rests on, in
    words, with the numbers. rise_m: height change over the segment (m, + = up; the
    barometer's and the IMU's combined); step_time_s: median step time in it (s);
    n_steps: steps in it (its duration over the step time).
    """

    t_start_s: float
    t_end_s: float
    direction: str
    confidence: float
    evidence: str
    rise_m: float = math.nan
    step_time_s: float = math.nan
    n_steps: int = 0


class StairDetector:
    """Stair ascent and descent inside walking, from the sacrum's height change.

    **Idea.** On a staircase the pelvis rises (or falls) by one riser, 15-18 cm, at every
    step; on level walking it comes back to the same height every step. Acceleration
    patterns (bigger vertical peaks, a slower cadence, a different vertical-to-
    anteroposterior ratio) differ between people and speeds far more than between level
    and stairs in one person, so the height change is the primary evidence here - from
    the integrated vertical acceleration and, when the data has one, the barometer (as in
    the stair/lift classifiers with a pressure sensor of Moncada-Torres et al. 2014 and
    Massé et al. 2015, and the inertial-barometric height tracking of Sabatini &
    Genovese 2014) - and the acceleration pattern only adds weight, relative to the same
    person's level walking in the recording.

    **Data required.** ``acc_body_mps2`` (N, 3) in the progression frame (x forward, y left,
    z up), gravity removed (gravity included is recognised and subtracted); or, with
    ``q_sensor_to_earth``, the sensor-frame acceleration as measured (gravity included),
    turned to the earth frame here (then the horizontal magnitude stands in for the
    anteroposterior component). ``pressure_hpa`` (N,) optional, on the same time axis.
    ``bouts`` optional: walking bouts (``GaitBout`` or (t_start_s, t_end_s)); only walking
    inside them (±1 s) is looked at. Lost samples are NaN rows.

    **Steps.**

    1. *Vertical acceleration* a_v (and the anteroposterior a_x, or the horizontal
       magnitude); gaps up to ``max_gap_s`` bridged, longer ones split the recording.
    2. *Standing anchors.* Samples where the acceleration's SD over ``still_window_s``
       is below ``still_sd_mps2`` for at least ``still_min_s``: the pelvis is not moving
       up or down there (vertical velocity 0).
    3. *IMU height.* The vertical velocity is integrated from a_v between consecutive
       anchors and its drift removed by a straight line through zero at both (a constant
       accelerometer/gravity offset over the stretch). A stretch that ends without an
       anchor (start or end of the data, a long gap) takes the mean velocity of its first
       or last ``end_anchor_s`` as zero (level walking or standing there). A stretch
       longer than ``max_stretch_s`` is in addition high-passed (a centred moving mean of
       that length subtracted). The height is the integral of that velocity. Per-step
       drift removal (velocity zero at each initial contact, as in level-gait
       integration) would remove the very rise looked for: the net rise of a step is only
       seen across the transitions into and out of the flight.
    4. *Windows* of ``window_s`` every ``hop_s``: a window is walking when the vertical
       acceleration RMS is at least ``min_walk_rms_mps2`` and its autocorrelation has a
       step peak (``step_lag_s``) of at least ``min_regularity``; the step period T comes
       from that peak. In each: the rise per step r = (least-squares slope of the height)
       × T, from the IMU (uncertainty σ_imu = max(``imu_floor_m``, ``bias_change_mps2``
       · L / 4 · T), L the stretch between anchors, at most ``max_stretch_s``: a change
       of the offset within the stretch that the straight line cannot follow) and from
       the barometer, h = H·ln(p_ref / p) (H = 8430 m) with a slope over ``baro_window_s``
       (uncertainty from the spread of all windows' slopes, most of which are level:
       1.4826 × median |slope|, at least ``baro_floor_mps``). The two are combined by
       inverse-variance weighting.
    5. *Pattern.* Against the median of the windows whose rise is below
       ``level_max_m`` (the person's level walking; at least ``baseline_min_s`` of it,
       else the pattern is not used): step time ≥ 10 % longer, vertical peaks (95th
       percentile) ≥ 20 % higher, vertical-to-AP RMS ratio ≥ 20 % higher. The fraction s
       of cues present gives a likelihood factor ``pattern_lr_max`` ** (2s - 1).
    6. *Posterior per window* under three hypotheses: level (rise per step 0), stairs up
       (rise uniform in ``rise_range_m``), stairs down (the same, negative), priors
       1 - ``prior``, ``prior``/2, ``prior``/2; Gaussian errors of the combined rise.
    7. *Segments*: runs of walking windows whose most likely stair direction has a
       posterior above 0.5, joined across breaks up to ``join_s``, at least ``min_steps``
       steps long. Their bounds are the breakpoints of the best flat-ramp-flat fit (plus
       a straight-line drift) to the IMU height within ``window_s`` of the first and last
       window centres and inside the walking around them (the windows, the barometer's
       most of all, smear the edges).
    8. *Confidence*: step 6 again with the segment's whole-span rise (IMU slope, and
       the barometer's with its uncertainty scaled by ``baro_window_s`` / duration) and
       pattern. Segments below ``min_confidence`` are dropped. The rise reported is the
       height 1 s after less 1 s before the segment, IMU and barometer combined with
       the same weights.

    **Parameters** (physiology and sensor physics, not fitted to stair data - there is
    none in this project yet):

    window_s = 2.5, hop_s = 0.25
        Analysis window (s; 3-4 steps) and its step.
    step_lag_s = (0.3, 1.3)
        Step period range (s): 46-200 steps/min; stair ascent is 80-100 steps/min
        (Riener et al. 2002).
    min_walk_rms_mps2 = 0.5, min_regularity = 0.25
        Walking: vertical acceleration RMS (m/s²) and step regularity.
    max_gap_s = 0.2
        Gaps bridged (s); longer ones split the integration.
    still_window_s = 0.5, still_sd_mps2 = 0.25, still_min_s = 0.5
        Standing anchors (s, m/s², s): standing sway is below 0.1 m/s², walking above 1.
    end_anchor_s = 1.0, max_stretch_s = 30.0
        Weak end anchors (s); longest stretch integrated with one straight-line drift (s).
    bias_change_mps2 = 0.02
        Assumed change of the vertical acceleration offset within a stretch (m/s²;
        orientation error times walking acceleration): sets σ_imu.
    imu_floor_m = 0.03
        Smallest IMU uncertainty of the rise per step (m).
    baro_window_s = 5.0, baro_floor_mps = 0.01
        Barometer slope window (s) and smallest slope uncertainty (m/s).
    rise_range_m = (0.06, 0.22)
        Rise per step on stairs (m): risers are 15-18 cm in buildings (one step per
        stair) down to half of that when both feet are put on each stair.
    level_max_m = 0.03
        Rise per step still counted as level (m) for the pattern baseline.
    baseline_min_s = 3.0, pattern_lr_max = 2.0
        Level walking needed for a pattern baseline (s); the pattern's largest weight.
    prior = 0.5
        Prior probability of stairs in a walking window (clinical sessions with stair
        tasks; lower it for daily life).
    join_s = 1.0, min_steps = 3, min_confidence = 0.5
        Segments: breaks joined (s), fewest steps (a flight has at least three risers),
        smallest confidence returned.

    **Limits.** Not validated on real stairs: the development data (Mobilise-D lab
    recordings) contain no stair reference, and their barometer shows no change of
    floor. Ramps rise too (a 1:12 ramp about 6 cm per step, at the edge of the range) and
    are not told from stairs. A flight walked without standing before or after it and
    inside more than ``max_stretch_s`` of continuous walking is attenuated by the
    high-pass (the IMU part; the barometer's is not). One or two steps (a kerb) are not
    stairs here. Lifts and escalators carry no steps (not walking) and are ignored. The
    confidence is a model posterior, not a calibrated probability. Not streaming: the
    drift removal needs the anchor after a flight, so live use runs it on each bout once
    the bout has ended.

    **References.**
    R. Moe-Nilssen, J. L. Helbostad (2004). Estimation of gait cycle characteristics by
    trunk accelerometry. J Biomech 37:121-126.
    A. Moncada-Torres et al. (2014). Activity classification based on inertial and
    barometric pressure sensors at different anatomical locations. Physiol Meas
    35:1245-1263.
    F. Massé et al. (2015). Improving activity recognition using a wearable barometric
    pressure sensor in mobility-impaired stroke patients. J NeuroEng Rehabil 12:72.
    A. M. Sabatini, V. Genovese (2014). A sensor fusion method for tracking vertical
    velocity and height based on inertial and barometric altimeter measurements.
    Sensors 14:13324-13347.
    R. Riener, M. Rabuffetti, C. Frigo (2002). Stair ascent and descent at different
    inclinations. Gait Posture 15:32-44.
    """

    def __init__(self, *, window_s: float = 2.5, hop_s: float = 0.25,
                 step_lag_s: tuple[float, float] = (0.3, 1.3), min_walk_rms_mps2: float = 0.5,
                 min_regularity: float = 0.25, max_gap_s: float = 0.2,
                 still_window_s: float = 0.5, still_sd_mps2: float = 0.25,
                 still_min_s: float = 0.5, end_anchor_s: float = 1.0,
                 max_stretch_s: float = 30.0, bias_change_mps2: float = 0.02,
                 imu_floor_m: float = 0.03, baro_window_s: float = 5.0,
                 baro_floor_mps: float = 0.01,
                 rise_range_m: tuple[float, float] = (0.06, 0.22), level_max_m: float = 0.03,
                 baseline_min_s: float = 3.0, pattern_lr_max: float = 2.0, prior: float = 0.5,
                 join_s: float = 1.0, min_steps: int = 3, min_confidence: float = 0.5) -> None:
        self.window_s, self.hop_s = window_s, hop_s
        self.step_lag_s = step_lag_s
        self.min_walk_rms_mps2, self.min_regularity = min_walk_rms_mps2, min_regularity
        self.max_gap_s = max_gap_s
        self.still_window_s, self.still_sd_mps2 = still_window_s, still_sd_mps2
        self.still_min_s, self.end_anchor_s = still_min_s, end_anchor_s
        self.max_stretch_s, self.bias_change_mps2 = max_stretch_s, bias_change_mps2
        self.imu_floor_m = imu_floor_m
        self.baro_window_s, self.baro_floor_mps = baro_window_s, baro_floor_mps
        self.rise_range_m, self.level_max_m = rise_range_m, level_max_m
        self.baseline_min_s, self.pattern_lr_max = baseline_min_s, pattern_lr_max
        if not 0.0 < prior < 1.0:
            raise TaskInputError(f"prior must be between 0 and 1, not {prior}")
        self.prior = prior
        self.join_s, self.min_steps, self.min_confidence = join_s, min_steps, min_confidence

    # ------------------------------------------------------------------------------------
    def detect(self, t_s, acc_body_mps2, q_sensor_to_earth=None, pressure_hpa=None,
               bouts=()) -> Findings:
        t = np.asarray(t_s, float).reshape(-1)
        n = len(t)
        acc = _as_rows(acc_body_mps2, n, 3, "acc_body_mps2")
        msgs: list[str] = []
        fs = _rate_hz(t)
        dur = float(t[-1] - t[0]) if n > 1 else 0.0
        if not math.isfinite(fs) or dur < self.window_s:
            return Findings([], [f"recording too short for stairs ({dur:.1f} s; at least "
                                 f"{self.window_s:.1f} s of walking are needed)"])
        # -- 1. vertical (and AP) acceleration
        if q_sensor_to_earth is not None:
            q = _as_rows(q_sensor_to_earth, n, 4, "q_sensor_to_earth")
            a_e = quat_rotate(q, acc)
            a_v = a_e[:, 2] - G_MPS2
            a_ap = np.hypot(a_e[:, 0] - np.nanmean(a_e[:, 0]), a_e[:, 1] - np.nanmean(a_e[:, 1]))
            ap_name = "horizontal"
        else:
            a_v = acc[:, 2].copy()
            if np.isfinite(a_v).any() and np.nanmedian(a_v) > G_MPS2 / 2:
                a_v -= G_MPS2
                msgs.append(f"vertical acceleration includes gravity: {G_MPS2} m/s² subtracted")
            a_ap = acc[:, 0]
            ap_name = "AP"
        x, gaps = _bridge(t, np.c_[a_v, a_ap], self.max_gap_s)
        msgs += gaps.messages("acceleration")
        a_v, a_ap, valid = x[:, 0], x[:, 1], gaps.valid
        if not valid.any():
            return Findings([], [*msgs, "no acceleration samples: no stairs to look for"])
        # -- 2, 3. IMU height with its drift removed between standing anchors
        h_imu, stretch_s = self._imu_height(a_v, a_ap, valid, fs)
        # -- barometer height
        h_bar = None
        if pressure_hpa is not None:
            p = np.asarray(pressure_hpa, float).reshape(-1)
            if p.shape != (n,):
                raise TaskInputError(f"pressure_hpa must have shape ({n},), not {p.shape}")
            ok = np.isfinite(p) & (p > 0)
            if ok.sum() >= fs * self.baro_window_s:
                p_ref = self._p_ref = float(np.median(p[ok]))
                h_bar = np.where(ok, AIR_SCALE_HEIGHT_M * np.log(p_ref / np.where(ok, p, 1.0)),
                                 np.nan)
            else:
                msgs.append("barometer has too few samples: not used")
        # -- 4. windows
        nw = round(self.window_s * fs)
        hop = max(1, round(self.hop_s * fs))
        starts = np.arange(0, n - nw + 1, hop)
        if not len(starts):
            return Findings([], [*msgs, "recording too short for stairs"])
        centre = t[starts + nw // 2]
        cv = np.r_[0, np.cumsum(~valid)]
        win_ok = (cv[starts + nw] - cv[starts]) == 0
        av0 = np.where(valid, a_v, 0.0)
        idx = starts[:, None] + np.arange(nw)
        wins = av0[idx]
        rms_v = np.sqrt(np.mean((wins - wins.mean(axis=1, keepdims=True)) ** 2, axis=1))
        period, reg = _step_period(wins, fs, self.step_lag_s)
        walking = (win_ok & (rms_v >= self.min_walk_rms_mps2) & (reg >= self.min_regularity)
                   & np.isfinite(period))
        if bouts:
            spans = [(b.t_start_s, b.t_end_s) if hasattr(b, "t_start_s") else tuple(b)
                     for b in bouts]
            in_bout = np.zeros(len(starts), bool)
            for b0, b1 in spans:
                in_bout |= (centre >= b0 - 1.0) & (centre <= b1 + 1.0)
            walking &= in_bout
        if not walking.any():
            what = "inside the bouts given" if bouts else f"in {dur:.1f} s"
            return Findings([], [*msgs, f"no walking found {what}: no stairs to look for"])
        peak_v = np.percentile(wins - wins.mean(axis=1, keepdims=True), 95, axis=1)
        apw = np.where(valid, a_ap, 0.0)[idx]
        rms_ap = np.sqrt(np.mean((apw - apw.mean(axis=1, keepdims=True)) ** 2, axis=1))
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = rms_v / rms_ap
        r_imu = _window_slopes(np.where(valid, h_imu, 0.0), starts, nw, fs) * period
        sig_imu = self._sigma_imu(stretch_s[starts + nw // 2], period)
        r_bar = sig_bar = None
        if h_bar is not None:
            nb = round(self.baro_window_s * fs)
            hb_ok = np.isfinite(h_bar)
            hb = np.where(hb_ok, h_bar, 0.0)
            bstart = np.clip(starts + nw // 2 - nb // 2, 0, n - nb)
            cb = np.r_[0, np.cumsum(~hb_ok)]
            b_ok = (cb[bstart + nb] - cb[bstart]) == 0
            slope_b = np.where(b_ok, _window_slopes(hb, bstart, nb, fs), np.nan)
            noise = 1.4826 * float(np.nanmedian(np.abs(slope_b))) if b_ok.any() else math.inf
            self._baro_slope_sd = max(self.baro_floor_mps, noise)
            r_bar = slope_b * period
            sig_bar = np.where(b_ok, self._baro_slope_sd * period, np.inf)
        r, sig = _combine(r_imu, sig_imu, r_bar, sig_bar)
        # -- 5. pattern
        level = walking & (np.abs(r) < self.level_max_m)
        base = None
        if level.sum() * self.hop_s >= self.baseline_min_s:
            base = (float(np.median(period[level])), float(np.median(peak_v[level])),
                    float(np.median(ratio[level])))
        cues = self._cues(period, peak_v, ratio, base)
        lr_pat = self.pattern_lr_max ** (2.0 * cues - 1.0) if base is not None else np.ones(
            len(starts))
        # -- 6. posterior per window
        p_up, p_down = self._posterior(r, sig, lr_pat)
        # -- 7. segments
        segs = self._segments(centre, walking, p_up, p_down, period)
        # -- 8. confidence per segment
        out = []
        for i0, i1, direction in segs:
            seg = self._segment_result(t, centre, i0, i1, direction, period, h_imu, h_bar,
                                       stretch_s, walking, peak_v, ratio, base, ap_name)
            if seg is not None and seg.confidence >= self.min_confidence:
                out.append(seg)
        if not out:
            msgs.append(f"no stairs found in {walking.sum() * self.hop_s:.0f} s of walking")
        if base is None:
            msgs.append("too little level walking for a pattern baseline: stairs judged on "
                        "the height change alone")
        log.debug("stairs: %d segment(s); %s", len(out), "; ".join(msgs))
        return Findings(out, msgs)

    # ------------------------------------------------------------------------------------
    def _imu_height(self, a_v, a_ap, valid, fs) -> tuple[np.ndarray, np.ndarray]:
        """Steps 2-3: height (m, NaN outside valid data) and, per sample, the length (s)
        of the stretch between anchors it lies in (capped at max_stretch_s)."""
        n = len(a_v)
        dt = 1.0 / fs
        nsw = max(2, round(self.still_window_s * fs))
        z = np.where(valid, a_v, 0.0)
        w = np.where(valid, a_ap, 0.0)
        var = (_moving_mean(z * z, nsw) - _moving_mean(z, nsw) ** 2
               + _moving_mean(w * w, nsw) - _moving_mean(w, nsw) ** 2)
        still = valid & (np.sqrt(np.maximum(var, 0.0)) < self.still_sd_mps2)
        min_still = round(self.still_min_s * fs)
        still_runs = [(a, b) for a, b in _runs(still) if b - a >= min_still]
        h = np.full(n, np.nan)
        stretch = np.zeros(n)          # 0 on the anchors themselves
        n_end = max(1, round(self.end_anchor_s * fs))
        for p0, p1 in _runs(valid):
            # anchors inside this piece, as (start, end) index ranges where v = 0
            anchors = [(max(a, p0), min(b, p1)) for a, b in still_runs if a < p1 and b > p0]
            v = np.zeros(p1 - p0)
            vr = np.cumsum(a_v[p0:p1]) * dt
            bounds = [(p0, p0, False)] + [(a, b, True) for a, b in anchors] + [(p1, p1, False)]
            for (_, e0, anch0), (s1, _, anch1) in itertools.pairwise(bounds):
                if s1 <= e0:
                    continue
                seg = vr[e0 - p0:s1 - p0]
                m = len(seg)
                k0 = min(n_end, m)
                v0 = seg[0] if anch0 else float(seg[:k0].mean())
                v1 = seg[-1] if anch1 else float(seg[-k0:].mean())
                # straight line through the two anchors (at the ends or the means' centres)
                x0 = 0.0 if anch0 else (k0 - 1) / 2.0
                x1 = m - 1.0 if anch1 else m - 1.0 - (k0 - 1) / 2.0
                xs = np.arange(m, dtype=float)
                slope = (v1 - v0) / (x1 - x0) if x1 > x0 else 0.0
                vs = seg - (v0 + slope * (xs - x0))
                if m > self.max_stretch_s * fs:
                    vs = vs - _moving_mean(vs, int(self.max_stretch_s * fs))
                v[e0 - p0:s1 - p0] = vs
                stretch[e0:s1] = min(m / fs, self.max_stretch_s)
            h[p0:p1] = np.cumsum(v) * dt
        self._still = still
        return h, stretch

    def _sigma_imu(self, stretch_s, period) -> np.ndarray:
        return np.maximum(self.imu_floor_m, self.bias_change_mps2 * stretch_s / 4.0 * period)

    @staticmethod
    def _cues(period, peak_v, ratio, base) -> np.ndarray:
        if base is None:
            return np.full(len(period), 0.5)
        with np.errstate(invalid="ignore"):
            c = ((period >= 1.1 * base[0]).astype(float) + (peak_v >= 1.2 * base[1])
                 + (ratio >= 1.2 * base[2]))
        return c / 3.0

    def _posterior(self, r, sig, lr_pat) -> tuple[np.ndarray, np.ndarray]:
        """Step 6: P(up), P(down) for a rise per step r ± sig (arrays)."""
        a, b = self.rise_range_m
        sig = np.maximum(sig, 1e-6)
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            z0 = r / sig
            # densities relative to the level one, N(r; 0, sig)·sig·√(2π), in log form
            def stair(sign):
                mass = ndtr((sign * r - a) / sig) - ndtr((sign * r - b) / sig)
                return np.log(np.maximum(mass, 1e-300)) + np.log(sig * math.sqrt(2 * math.pi)
                                                                 / (b - a)) + 0.5 * z0 * z0
            lu = stair(1.0) + np.log(lr_pat) + math.log(self.prior / 2)
            ld = stair(-1.0) + np.log(lr_pat) + math.log(self.prior / 2)
            ll = np.full_like(lu, math.log(1.0 - self.prior))
            m = np.maximum(np.maximum(lu, ld), ll)
            eu, ed, el = np.exp(lu - m), np.exp(ld - m), np.exp(ll - m)
            tot = eu + ed + el
            return eu / tot, ed / tot

    def _segments(self, centre, walking, p_up, p_down, period) -> list[tuple[int, int, str]]:
        direction = np.where(p_up >= p_down, 1, -1)
        best = np.maximum(p_up, p_down)
        hit = walking & (best > 0.5)
        segs: list[list] = []
        for a, b in _runs(hit):
            # split a run where the direction flips
            d = direction[a:b]
            cuts = np.flatnonzero(np.diff(d)) + 1
            for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(d)], strict=True):
                segs.append([a + lo, a + hi - 1, int(d[lo])])
        merged: list[list] = []
        for s in segs:
            if (merged and merged[-1][2] == s[2]
                    and centre[s[0]] - centre[merged[-1][1]] <= self.join_s):
                merged[-1][1] = s[1]
            else:
                merged.append(s)
        out = []
        for i0, i1, d in merged:
            step = float(np.nanmedian(period[i0:i1 + 1]))
            if centre[i1] - centre[i0] + self.hop_s >= self.min_steps * step:
                out.append((i0, i1, "up" if d > 0 else "down"))
        return out

    def _refine(self, t, h, t0, t1, step, walk_t0, walk_t1) -> tuple[float, float]:
        """Step 7, bounds: the breakpoints (on the window grid, inside the walking
        [walk_t0, walk_t1]) of the best flat-ramp-flat least-squares fit (plus a
        straight-line drift) to the IMU height around the first and last window centres."""
        pad = self.window_s
        sel = (t >= t0 - pad) & (t <= t1 + pad) & np.isfinite(h)
        ts, hs = t[sel], h[sel]
        if len(ts) < 10:
            return t0, t1
        grid_a = np.arange(t0 - pad, t0 + pad + 1e-9, self.hop_s)
        grid_b = np.arange(t1 - pad, t1 + pad + 1e-9, self.hop_s)
        grid_a = grid_a[grid_a >= walk_t0 - 1e-9]
        grid_b = grid_b[grid_b <= walk_t1 + 1e-9]
        best, out = math.inf, (t0, t1)
        for ta in grid_a:
            for tb in grid_b:
                if tb - ta < self.min_steps * step:
                    continue
                x = np.clip((ts - ta) / (tb - ta), 0.0, 1.0)   # 0 before, ramp, 1 after
                a_mat = np.c_[np.ones_like(ts), ts - ts.mean(), x]
                coef, *_ = np.linalg.lstsq(a_mat, hs, rcond=None)
                sse = float(np.sum((hs - a_mat @ coef) ** 2))
                if sse < best:
                    best, out = sse, (float(ta), float(tb))
        return out

    def _segment_result(self, t, centre, i0, i1, direction, period, h_imu, h_bar, stretch_s,
                        walking, peak_v, ratio, base, ap_name) -> StairSegment | None:
        t0, t1 = float(centre[i0]), float(centre[i1])
        w = slice(i0, i1 + 1)
        ok = walking[w]
        step = float(np.nanmedian(period[w][ok])) if ok.any() else float(np.nanmedian(period[w]))
        # the walking around the segment: its windows reach half a window past their centre
        j0, j1 = i0, i1
        while j0 > 0 and walking[j0 - 1]:
            j0 -= 1
        while j1 + 1 < len(walking) and walking[j1 + 1]:
            j1 += 1
        t0, t1 = self._refine(t, h_imu, t0, t1, step, float(centre[j0]) - self.window_s / 2,
                              float(centre[j1]) + self.window_s / 2)
        mid = 0.5 * (t0 + t1)
        half = max(0.5 * (t1 - t0), 0.5 * self.window_s)
        sel = (t >= mid - half) & (t <= mid + half)
        span = 2 * half
        n_steps = max(1, round((t1 - t0) / step))
        before = (t >= t0 - 1.0) & (t < t0)
        after = (t > t1) & (t <= t1 + 1.0)

        def delta(h):
            """Height after less height before the segment (1-s means, m)."""
            if h is None or not (np.isfinite(h[before]).any() and np.isfinite(h[after]).any()):
                return math.nan
            return float(np.nanmean(h[after]) - np.nanmean(h[before]))
        slope_imu = _slope(t[sel], h_imu[sel])
        r_imu = slope_imu * step
        s_imu = float(self._sigma_imu(float(np.nanmax(stretch_s[sel])), step))
        parts = [f"IMU height {slope_imu * span:+.2f} m over {span:.1f} s "
                 f"({r_imu:+.3f} ± {s_imu:.3f} m/step)"]
        r_bar = s_bar = None
        if h_bar is not None:
            slope_bar = _slope(t[sel], h_bar[sel])
            if math.isfinite(slope_bar):
                r_bar = np.array([slope_bar * step])
                s_bar = np.array([self._baro_slope_sd * step
                                  * min(1.0, self.baro_window_s / span)])
                dp = -slope_bar * span * self._p_ref / AIR_SCALE_HEIGHT_M
                parts.append(f"barometer {dp:+.3f} hPa ≈ {slope_bar * span:+.2f} m "
                             f"({r_bar[0]:+.3f} ± {s_bar[0]:.3f} m/step)")
            else:
                parts.append("barometer: no valid samples here")
        r, s = _combine(np.array([r_imu]), np.array([s_imu]), r_bar, s_bar)
        if not np.isfinite(r[0]):
            return None
        d_imu, d_bar = delta(h_imu), delta(h_bar)
        if math.isfinite(d_imu) and math.isfinite(d_bar) and s_bar is not None:
            wi, wb = 1.0 / s_imu ** 2, 1.0 / float(s_bar[0]) ** 2
            rise = (wi * d_imu + wb * d_bar) / (wi + wb)
        else:
            rise = d_imu if math.isfinite(d_imu) else float(r[0]) * n_steps
        lr = 1.0
        if base is not None:
            pv, ra = float(np.nanmedian(peak_v[w])), float(np.nanmedian(ratio[w]))
            cue = float(self._cues(np.array([step]), np.array([pv]), np.array([ra]), base)[0])
            lr = self.pattern_lr_max ** (2 * cue - 1)
            parts.append(f"step time {step:.2f} s vs {base[0]:.2f} s level "
                         f"({100 * (step / base[0] - 1):+.0f} %), vertical peaks "
                         f"{100 * (pv / base[1] - 1):+.0f} %, vertical/{ap_name} RMS "
                         f"{100 * (ra / base[2] - 1):+.0f} % (pattern weight ×{lr:.2f})")
        else:
            parts.append(f"step time {step:.2f} s (no level walking to compare the pattern)")
        p_up, p_down = self._posterior(r, s, np.array([lr]))
        conf = float(p_up[0] if direction == "up" else p_down[0])
        i_lo, i_hi = np.flatnonzero(sel)[[0, -1]]
        st_before, st_after = bool(self._still[:i_lo].any()), bool(self._still[i_hi:].any())
        parts.append({(True, True): "standing before and after it anchors the IMU height",
                      (True, False): "standing only before it (IMU drift removal weaker)",
                      (False, True): "standing only after it (IMU drift removal weaker)",
                      (False, False): "no standing before or after it (IMU drift removal "
                                      "weaker)"}[st_before, st_after])
        return StairSegment(t0, t1, direction, conf, "; ".join(p for p in parts if p), rise,
                            step, n_steps)


def _combine(r_imu, s_imu, r_bar, s_bar) -> tuple[np.ndarray, np.ndarray]:
    """Inverse-variance combination of the IMU's and the barometer's rise per step."""
    if r_bar is None:
        return np.asarray(r_imu, float), np.asarray(s_imu, float)
    wi = 1.0 / np.square(s_imu)
    with np.errstate(divide="ignore", invalid="ignore"):
        wb = np.where(np.isfinite(r_bar) & np.isfinite(s_bar), 1.0 / np.square(s_bar), 0.0)
    rb = np.where(wb > 0, r_bar, 0.0)
    tot = wi + wb
    return (wi * r_imu + wb * rb) / tot, 1.0 / np.sqrt(tot)


def find_stairs(t_s, acc_body_mps2, q_sensor_to_earth=None, pressure_hpa=None, bouts=(),
                **params) -> Findings:
    """Stair segments (:class:`StairSegment`, in time order) within the walking of a
    recording: :class:`StairDetector` (its docstring: method, data, parameters, limits)
    with ``params``. Returns a :class:`Findings` list (``.messages`` says what could not
    be looked at).

    ``acc_body_mps2``: (N, 3) m/s², progression frame (x forward, y left, z up), gravity
    removed (:func:`sacrum.scoring.metrics.body_acceleration`); with ``q_sensor_to_earth`` (N, 4)
    the
    sensor-frame acceleration as measured instead. ``pressure_hpa``: (N,) barometer, hPa,
    optional. ``bouts``: ``GaitBout`` objects or (t_start_s, t_end_s) pairs, optional.
    """
    return StairDetector(**params).detect(t_s, acc_body_mps2, q_sensor_to_earth,
                                          pressure_hpa, bouts)


# ==========================================================================================
# single-leg stance


def _nan_moving_mean(x: np.ndarray, n: int) -> np.ndarray:
    """Centred moving mean over n samples ignoring NaN (NaN where the window has none)."""
    ok = np.isfinite(x)
    s = _moving_mean(np.where(ok, x, 0.0), n)
    c = _moving_mean(ok.astype(float), n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(c > 0, s / c, np.nan)


@dataclass
class SingleLegStanceResult:
    """One single-leg stance (stance leg ``side``, the other foot lifted).

    t_lift_s: the foot leaves the ground (the angular speed first rises above the
    threshold); t_stable_s: from here on the 1-s angular-velocity RMS stays below the
    stability threshold until the foot goes down; t_end_s: the foot goes down (or balance
    is lost: the next burst of angular speed or vertical acceleration), or the end of the
    data (``held_to_end``). time_to_stabilise_s = t_stable_s - t_lift_s; time_held_s =
    t_end_s - t_lift_s (a lower bound when ``held_to_end``).

    drop_mean_rad: mean contralateral drop (the unsupported side below the standing
    calibration, + = dropped; :func:`contralateral_drop_rad`) over the stable hold;
    drop_peak_rad and t_drop_peak_s: its largest value over the whole stance (lift to
    foot down). Sway over the stable hold: gyr_rms_radps (RMS of the angular velocity
    vector), tilt_range_rad and obliquity_range_rad (max - min). hold_s: duration of the
    stable hold the sway is computed over. NaN where not available (``messages`` says
    why).
    """

    side: str
    t_lift_s: float = math.nan
    t_stable_s: float = math.nan
    t_end_s: float = math.nan
    time_to_stabilise_s: float = math.nan
    time_held_s: float = math.nan
    held_to_end: bool = False
    drop_mean_rad: float = math.nan
    drop_peak_rad: float = math.nan
    t_drop_peak_s: float = math.nan
    gyr_rms_radps: float = math.nan
    tilt_range_rad: float = math.nan
    obliquity_range_rad: float = math.nan
    hold_s: float = math.nan
    messages: list[str] = field(default_factory=list)

    def to_dict_deg(self) -> dict:
        """The fields for a report: angles in degrees (``*_deg``), angular velocity in
        deg/s, times in s."""
        d = asdict(self)
        for k in ("drop_mean", "drop_peak", "tilt_range", "obliquity_range"):
            d[f"{k}_deg"] = _deg(d.pop(f"{k}_rad"))
        d["gyr_rms_dps"] = _deg(d.pop("gyr_rms_radps"))
        return d


class SingleLegStanceMonitor:
    """Single-leg stance: drop of the unsupported side, sway, time to stabilise, time held.

    A streaming processor: ``update(t_s, angles_rad, gyr_body_radps, acc_body_mps2=None)``
    with the task's samples as they come returns the result for the task so far (times
    held so far are marked ``held_to_end``); the offline :func:`single_leg_stance` is the
    same processor fed everything. Each update re-reads the task's buffer (a stance task
    lasts a minute at most: milliseconds).

    **Data required.** ``angles_rad`` (N, 3) relative to the standing calibration,
    ``gyr_body_radps`` (N, 3) body frame, optionally ``acc_body_mps2`` (N, 3, gravity
    removed, z up) for the foot coming down; constant rate, NaN rows for lost samples.

    **Steps.**

    1. Gaps up to ``max_gap_s`` bridged; longer ones are left out of every statistic and
       said in ``messages`` (the foot may have come down unseen).
    2. Angular speed |ω| smoothed over ``smooth_s``; its RMS over ``stable_window_s``
       (centred).
    3. *Lift*: the first sample where the smoothed speed exceeds ``lift_radps`` (the
       weight shift and the foot leaving). None: the whole task is taken as stance and
       ``messages`` says so.
    4. *First stable*: after the lift's burst (RMS above ``stable_rms_radps``), the first
       sample where the RMS is back below it (immediately if the lift never brought it
       above).
    5. *Foot down* (or loss of balance): the first sample after the first stable one and at
       least ``min_stance_s`` after the lift where the speed (smoothed over 0.1 s)
       exceeds ``touchdown_radps`` or the vertical acceleration departs from its median by more
       than ``touchdown_acc_mps2`` (heel or forefoot contact). None: the end of the data.
    6. *Time to stabilise* (after the time-to-stabilisation of landing tasks, Ross &
       Guskiewicz 2004, here with the pelvis' angular velocity): from the lift to the
       sample after the last one whose RMS is above the threshold, looking up to the end
       of the hold (foot-down less ``touchdown_margin_s``) less half the RMS window (so
       that the window does not reach into the foot coming down).
    7. Drop, sway and ranges over the stable hold (stable to foot-down less the margin);
       the peak drop over the whole stance.

    **Parameters.** smooth_s = 0.25 (s); stable_window_s = 1.0 (s); lift_radps = 0.15
    (rad/s, ~9°/s: quiet two-leg standing stays well below); stable_rms_radps = 0.10
    (rad/s, ~6°/s; healthy quiet one-leg stance sways at a few °/s at the pelvis);
    touchdown_radps = 0.3 (rad/s, ~17°/s: putting the foot down turns the pelvis back by
    its drop, a few degrees, in 0.2-0.3 s); touchdown_acc_mps2 = 3.0 (m/s²);
    min_stance_s = 0.5 (s); touchdown_margin_s = 0.5 (s: the foot starts down before it
    lands); max_gap_s = 0.25 (s); min_duration_s = 2.0 (s).
    None fitted to data (no single-leg-stance recordings here yet); thresholds are
    stated in the results' messages when they decide something.

    **Limits.** Without ``acc_body_mps2`` a foot put down without moving the pelvis
    much (a small drop, slowly) is not seen: the stance then reads as held to the end.
    Give the acceleration. A touch of the floor with the toes that neither moves the
    pelvis nor jolts the sacrum is invisible to a sacral sensor.

    **References.** P. Hardcastle, S. Nade (1985). The significance of the Trendelenburg
    test. J Bone Joint Surg Br 67:741-746. S. E. Ross, K. M. Guskiewicz (2004).
    Examination of static and dynamic postural stability in individuals with functionally
    stable and unstable ankles. Clin J Sport Med 14:332-338.
    """

    def __init__(self, side: str, *, smooth_s: float = 0.25, stable_window_s: float = 1.0,
                 lift_radps: float = 0.15, stable_rms_radps: float = 0.10,
                 touchdown_radps: float = 0.3, touchdown_acc_mps2: float = 3.0,
                 min_stance_s: float = 0.5, touchdown_margin_s: float = 0.5,
                 max_gap_s: float = 0.25, min_duration_s: float = 2.0) -> None:
        self.side = _side(side)
        self.smooth_s, self.stable_window_s = smooth_s, stable_window_s
        self.lift_radps, self.stable_rms_radps = lift_radps, stable_rms_radps
        self.touchdown_radps, self.touchdown_acc_mps2 = touchdown_radps, touchdown_acc_mps2
        self.min_stance_s, self.touchdown_margin_s = min_stance_s, touchdown_margin_s
        self.max_gap_s, self.min_duration_s = max_gap_s, min_duration_s
        self.reset()

    def reset(self) -> None:
        self._chunks: list[np.ndarray] = []
        self._has_acc: bool | None = None

    def update(self, t_s, angles_rad, gyr_body_radps, acc_body_mps2=None,
               ) -> SingleLegStanceResult:
        t = np.asarray(t_s, float).reshape(-1)
        n = len(t)
        parts = [t[:, None], _as_rows(angles_rad, n, 3, "angles_rad"),
                 _as_rows(gyr_body_radps, n, 3, "gyr_body_radps")]
        has_acc = acc_body_mps2 is not None
        if self._has_acc is None:
            self._has_acc = has_acc
        elif has_acc != self._has_acc:
            raise TaskInputError("acc_body_mps2 must be given with every chunk or none")
        if has_acc:
            parts.append(_as_rows(acc_body_mps2, n, 3, "acc_body_mps2")[:, 2:3])
        self._chunks.append(np.hstack(parts))
        data = np.vstack(self._chunks)
        self._chunks = [data]
        return self._analyse(data)

    # ------------------------------------------------------------------------------------
    def _analyse(self, data: np.ndarray) -> SingleLegStanceResult:
        res = SingleLegStanceResult(self.side)
        msgs = res.messages
        t = data[:, 0]
        n = len(t)
        fs = _rate_hz(t)
        dur = float(t[-1] - t[0]) if n > 1 else 0.0
        if not math.isfinite(fs) or dur < self.min_duration_s:
            msgs.append(f"too short for a single-leg stance ({dur:.1f} s; at least "
                        f"{self.min_duration_s:.1f} s needed)")
            return res
        x, gaps = _bridge(t, data[:, 1:], self.max_gap_s)
        msgs += gaps.messages("data")
        ang, gyr = x[:, 0:3], x[:, 3:6]
        a_v = x[:, 6] if x.shape[1] > 6 else None
        if not gaps.valid.any():
            msgs.append("no valid samples")
            return res
        # -- 2
        speed = np.sqrt(np.einsum("ij,ij->i", gyr, gyr))
        w_s = _nan_moving_mean(speed, round(self.smooth_s * fs))
        rms = np.sqrt(_nan_moving_mean(speed ** 2, round(self.stable_window_s * fs)))
        if np.nanmax(w_s) < 1e-4:
            msgs.append("no movement at all (angular speed zero): is the sensor running "
                        "and worn?")
        # -- 3 lift
        above = np.flatnonzero(w_s > self.lift_radps)
        if len(above) == 0:
            lift = int(np.flatnonzero(gaps.valid)[0])
            msgs.append(f"no lift-off seen (angular speed never above "
                        f"{math.degrees(self.lift_radps):.0f}°/s): the whole recording is "
                        f"taken as single-leg stance - check the task mark")
        else:
            lift = int(above[0])
            if t[lift] - t[0] < self.smooth_s:
                msgs.append("moving from the first sample: the lift-off may have been "
                            "before the task mark")
        # -- 4 first stable
        burst = np.flatnonzero(rms[lift:] > self.stable_rms_radps)
        if len(burst) == 0:
            s1 = lift
        else:
            calm = np.flatnonzero(rms[lift + burst[0]:] <= self.stable_rms_radps)
            s1 = lift + int(burst[0]) + int(calm[0]) if len(calm) else None
        # -- 5 foot down
        n_min = round(self.min_stance_s * fs)
        from_i = max(s1 if s1 is not None else lift, lift + n_min)
        down = _nan_moving_mean(speed, round(0.1 * fs)) > self.touchdown_radps
        if a_v is not None and np.isfinite(a_v).any():
            down |= np.abs(a_v - np.nanmedian(a_v)) > self.touchdown_acc_mps2
        td_c = np.flatnonzero(down[from_i:]) if from_i < n else np.zeros(0, int)
        if len(td_c):
            td = from_i + int(td_c[0])
            res.held_to_end = False
        else:
            td = n - 1
            res.held_to_end = True
        res.t_lift_s, res.t_end_s = float(t[lift]), float(t[td])
        res.time_held_s = res.t_end_s - res.t_lift_s
        if res.held_to_end:
            msgs.append(f"still on one leg at the end of the data: time held at least "
                        f"{res.time_held_s:.1f} s")
        for g0, g1 in gaps.long:
            if res.t_lift_s < g1 and g0 < res.t_end_s:
                msgs.append(f"{g1 - g0:.2f}-s gap during the stance at {g0:.2f} s: the "
                            f"foot may have come down unseen")
        # -- 6 time to stabilise
        margin = round(self.touchdown_margin_s * fs)
        hold_end = td if res.held_to_end else max(lift + 1, td - margin)
        drop = contralateral_drop_rad(ang[:, 1], self.side)
        if s1 is None or s1 >= hold_end:
            msgs.append(f"never stable: the {self.stable_window_s:.0f}-s angular-velocity RMS "
                        f"stayed above {math.degrees(self.stable_rms_radps):.0f}°/s before "
                        f"the foot went down")
            hold = slice(lift, hold_end)
        else:
            look_to = max(s1 + 1, hold_end - round(self.stable_window_s * fs / 2))
            unstable = np.flatnonzero(rms[s1:look_to] > self.stable_rms_radps)
            stable = s1 + int(unstable[-1]) + 1 if len(unstable) else s1
            res.t_stable_s = float(t[stable])
            res.time_to_stabilise_s = res.t_stable_s - res.t_lift_s
            hold = slice(stable, hold_end)
            if (hold_end - stable) / fs < 1.0:
                msgs.append(f"stable hold only {(hold_end - stable) / fs:.1f} s: sway "
                            f"measured over it anyway")
        # -- 7 drop and sway
        seg = slice(lift, hold_end)
        if np.isfinite(drop[seg]).any():
            k = lift + int(np.nanargmax(drop[seg]))
            res.drop_peak_rad, res.t_drop_peak_s = float(drop[k]), float(t[k])
        if hold.stop > hold.start and np.isfinite(drop[hold]).any():
            res.hold_s = (hold.stop - hold.start) / fs
            res.drop_mean_rad = float(np.nanmean(drop[hold]))
            res.gyr_rms_radps = float(np.sqrt(np.nanmean(speed[hold] ** 2)))
            res.tilt_range_rad = float(np.nanmax(ang[hold, 0]) - np.nanmin(ang[hold, 0]))
            res.obliquity_range_rad = float(np.nanmax(ang[hold, 1]) - np.nanmin(ang[hold, 1]))
        return res


def single_leg_stance(t_s, angles_rad, gyr_body_radps, side: str, acc_body_mps2=None,
                      **params) -> SingleLegStanceResult:
    """Metrics of one single-leg stance on leg ``side`` ("L"|"R"): the task's samples
    through :class:`SingleLegStanceMonitor` (its docstring: method and parameters).
    ``acc_body_mps2`` (optional, N×3, z up) helps to see the foot come down."""
    return SingleLegStanceMonitor(side, **params).update(t_s, angles_rad, gyr_body_radps,
                                                         acc_body_mps2)


# ==========================================================================================
# step-down and step-up repetitions


@dataclass
class RepetitionResult:
    """One repetition of a lateral step-down or a step-up on stance leg ``side``.

    index (0, 1, ...); kind ("step-down" | "step-up"); t_start_s, t_end_s: the pelvis
    leaves and comes back to its level on the step (within ``edge_fraction`` of the
    depth); t_extreme_s: the lowest point (step-down) or highest (step-up); duration_s;
    depth_m: the vertical excursion (m, approximate: from the high-passed double integral
    of the vertical acceleration). peak_drop_rad, t_peak_drop_s: the largest contralateral
    drop in it (+ = the unsupported side below the standing calibration);
    drop_excursion_rad: that peak less the drop at the start of the repetition. ldlj_a:
    log dimensionless jerk of the acceleration (:func:`ldlj_acc`; higher = smoother);
    jerk_rms_mps3: RMS of the jerk (m/s³). messages: anything that limits it.
    """

    index: int
    kind: str
    side: str
    t_start_s: float
    t_extreme_s: float
    t_end_s: float
    duration_s: float
    depth_m: float
    peak_drop_rad: float
    t_peak_drop_s: float
    drop_excursion_rad: float
    ldlj_a: float
    jerk_rms_mps3: float
    messages: list[str] = field(default_factory=list)

    def to_dict_deg(self) -> dict:
        """The fields for a report: angles in degrees (``*_deg``)."""
        d = asdict(self)
        for k in ("peak_drop", "drop_excursion"):
            d[f"{k}_deg"] = _deg(d.pop(f"{k}_rad"))
        return d


class RepetitionCounter:
    """Repetitions of a lateral step-down or a step-up, streaming.

    A lateral step-down (e.g. Piva et al. 2006: standing on one leg on a step, lower the
    other heel to touch the floor and come back up, five times) lowers and raises the
    pelvis on the stance leg; a step-up raises it onto the step and lowers it back.
    ``update(t_s, angles_rad, acc_body_mps2)`` returns the repetitions that became final
    in the chunk, ``flush()`` the rest at the end of the task; ``reps`` holds them all,
    ``messages`` what could not be counted. The offline :func:`repetitions` is the same
    processor fed everything. Each update re-reads the task's buffer.

    **Data required.** ``angles_rad`` (N, 3) relative to the standing calibration,
    ``acc_body_mps2`` (N, 3) progression or body-heading frame, z up, gravity removed
    (included is recognised and subtracted); constant rate; NaN rows for lost samples.

    **Steps.**

    1. Gaps up to ``max_gap_s`` bridged; a longer one splits the task, and each part is
       analysed alone.
    2. *Vertical excursion*: the vertical acceleration integrated twice, less its
       Savitzky-Golay fit (order 2, ``excursion_window_s``). The fit removes any
       quadratic - the unknown initial position and velocity and a constant acceleration
       offset - exactly, and the result at a sample depends only on the
       ``excursion_window_s`` around it; it is a high-pass of about
       1/``excursion_window_s`` Hz, so slow drifts go and a 2-4-s repetition stays
       (its depth somewhat reduced).
    3. *Repetitions*: peaks of the excursion downwards (step-down) or upwards
       (step-up) with a prominence of at least ``min_depth_m``, at least ``min_rep_s``
       apart. Each runs from where the excursion last left, to where it first came back
       to, within ``edge_fraction`` of its depth from the level between it and the
       neighbouring repetitions.
    4. Per repetition: the contralateral drop's peak and its change from the start, the
       LDLJ-A and RMS jerk of the acceleration low-passed at ``jerk_lowpass_hz`` (FIR,
       0.5 s), duration and depth.
    5. *Emission*: a repetition is final once the data extends ``excursion_window_s``/2
       + ``min_rep_s`` past its end (the excursion there no longer changes).

    **Limits.** The duration runs between the ``edge_fraction`` crossings, so it is
    shorter than from first motion to rest (by about 20 % for a smooth, cosine-shaped
    repetition). The depth is approximate: the high-pass follows the repetitions in
    part (within ±25 % on the test phantom). Repetitions closer than ``min_rep_s`` or
    shallower than ``min_depth_m`` are not counted. Not checked on recordings of the
    task yet (none in the project).

    **Parameters.** excursion_window_s = 8.0 (s); min_depth_m = 0.04 (m: a step-down
    from a 15-20 cm step lowers the pelvis by about as much; 4 cm is well above the
    excursion's noise and below any real repetition); min_rep_s = 1.0 (s);
    edge_fraction = 0.1; jerk_lowpass_hz = 6.0 (Hz: the movement is below 3 Hz, the
    differentiated noise above); max_gap_s = 0.25 (s); min_duration_s = 2.0 (s).

    **References.** S. R. Piva et al. (2006). Reliability of measures of impairments
    associated with patellofemoral pain syndrome. BMC Musculoskelet Disord 7:33.
    S. Balasubramanian, A. Melendez-Calderon, E. Burdet (2012). A robust and sensitive
    metric for quantifying movement smoothness. IEEE Trans Biomed Eng 59:2126-2136.
    A. Melendez-Calderon, C. Shirota, S. Balasubramanian (2021). Estimating movement
    smoothness from inertial measurement units. Front Bioeng Biotechnol 8:558771.
    A. Savitzky, M. J. E. Golay (1964). Smoothing and differentiation of data by
    simplified least squares procedures. Anal Chem 36:1627-1639.
    """

    def __init__(self, kind: str, side: str, *, excursion_window_s: float = 8.0,
                 min_depth_m: float = 0.04, min_rep_s: float = 1.0,
                 edge_fraction: float = 0.1, jerk_lowpass_hz: float = 6.0,
                 max_gap_s: float = 0.25, min_duration_s: float = 2.0) -> None:
        if kind not in REPETITION_KINDS:
            raise TaskInputError(f'kind must be "step-down" or "step-up", not {kind!r}')
        self.kind, self.side = kind, _side(side)
        self.excursion_window_s, self.min_depth_m = excursion_window_s, min_depth_m
        self.min_rep_s, self.edge_fraction = min_rep_s, edge_fraction
        self.jerk_lowpass_hz, self.max_gap_s = jerk_lowpass_hz, max_gap_s
        self.min_duration_s = min_duration_s
        self.reset()

    def reset(self) -> None:
        self._data = np.zeros((0, 7))
        self.reps: Findings = Findings()
        self.messages: list[str] = self.reps.messages

    def update(self, t_s, angles_rad, acc_body_mps2) -> list[RepetitionResult]:
        t = np.asarray(t_s, float).reshape(-1)
        n = len(t)
        chunk = np.hstack([t[:, None], _as_rows(angles_rad, n, 3, "angles_rad"),
                           _as_rows(acc_body_mps2, n, 3, "acc_body_mps2")])
        self._data = np.vstack([self._data, chunk])
        return self._emit(final=False)

    def flush(self) -> list[RepetitionResult]:
        return self._emit(final=True)

    # ------------------------------------------------------------------------------------
    def _emit(self, final: bool) -> list[RepetitionResult]:
        found, msgs = self._analyse(self._data)
        t_last = float(self._data[-1, 0]) if len(self._data) else -math.inf
        settle = self.excursion_window_s / 2 + self.min_rep_s
        last = self.reps[-1].t_extreme_s if self.reps else -math.inf
        new = [r for r in found if r.t_extreme_s > last + 1e-9
               and (final or r.t_end_s + settle <= t_last)]
        for r in new:
            r.index = len(self.reps)
            self.reps.append(r)
        self.messages[:] = msgs          # about the task so far
        return new

    def _analyse(self, data: np.ndarray) -> tuple[list[RepetitionResult], list[str]]:
        msgs: list[str] = []
        if len(data) < 3:
            return [], [f"too short for {self.kind} repetitions ({len(data)} samples)"]
        t = data[:, 0]
        fs = _rate_hz(t)
        dur = float(t[-1] - t[0])
        if not math.isfinite(fs) or dur < self.min_duration_s:
            return [], [f"too short for {self.kind} repetitions ({dur:.1f} s; at least "
                        f"{self.min_duration_s:.1f} s needed)"]
        x, gaps = _bridge(t, data[:, 1:], self.max_gap_s)
        msgs += gaps.messages("data")
        ang, acc = x[:, 0:3], x[:, 3:6].copy()
        if gaps.valid.any() and np.median(acc[gaps.valid, 2]) > G_MPS2 / 2:
            acc[:, 2] -= G_MPS2
        sign = -1.0 if self.kind == "step-down" else 1.0
        drop = contralateral_drop_rad(ang[:, 1], self.side)
        out: list[RepetitionResult] = []
        largest = 0.0
        nw = round(self.excursion_window_s * fs) | 1
        for p0, p1 in _runs(gaps.valid):
            m = p1 - p0
            if m / fs < self.min_duration_s:
                msgs.append(f"{m / fs:.1f}-s piece at {t[p0]:.1f} s between gaps: too short, "
                            f"skipped")
                continue
            dt = 1.0 / fs
            z = np.cumsum(np.cumsum(acc[p0:p1, 2]) * dt) * dt
            w = min(nw, m if m % 2 else m - 1)
            e = sign * (z - savgol_filter(z, w, 2, mode="interp"))       # step 2
            if len(e) > 1:
                largest = max(largest, float(np.ptp(e)))
            pk, _ = find_peaks(e, prominence=self.min_depth_m,
                               distance=max(1, int(self.min_rep_s * fs)))   # step 3
            a_lp = _fir_lowpass(acc[p0:p1], self.jerk_lowpass_hz, fs)
            for j, p in enumerate(pk):
                lo = pk[j - 1] if j > 0 else 0
                hi = pk[j + 1] if j + 1 < len(pk) else m - 1
                bl, br = float(np.min(e[lo:p + 1])), float(np.min(e[p:hi + 1]))
                thr_l = bl + self.edge_fraction * (e[p] - bl)
                thr_r = br + self.edge_fraction * (e[p] - br)
                left = np.flatnonzero(e[lo:p] <= thr_l)
                right = np.flatnonzero(e[p:hi + 1] <= thr_r)
                s = lo + int(left[-1]) if len(left) else lo
                f = p + int(right[0]) if len(right) else hi
                rmsgs = []
                if not len(left) or not len(right):
                    rmsgs.append("did not come back to the step level before the next "
                                 "repetition or the end of the data")
                sl = slice(p0 + s, p0 + f + 1)
                k = p0 + s + int(np.nanargmax(drop[sl]))
                ldlj, jrms = ldlj_acc(a_lp[s:f + 1], fs)                     # step 4
                out.append(RepetitionResult(
                    index=len(out), kind=self.kind, side=self.side,
                    t_start_s=float(t[p0 + s]), t_extreme_s=float(t[p0 + p]),
                    t_end_s=float(t[p0 + f]), duration_s=float(t[p0 + f] - t[p0 + s]),
                    depth_m=float(e[p] - 0.5 * (bl + br)),
                    peak_drop_rad=float(drop[k]), t_peak_drop_s=float(t[k]),
                    drop_excursion_rad=float(drop[k] - drop[p0 + s]), ldlj_a=ldlj,
                    jerk_rms_mps3=jrms, messages=rmsgs))
        if not out:
            what = "lowering" if self.kind == "step-down" else "raising"
            msgs.append(f"no {what} of the pelvis of {100 * self.min_depth_m:.0f} cm or more "
                        f"(largest vertical excursion {100 * largest:.1f} cm): no "
                        f"{self.kind} repetitions - was the task performed?")
        return out, msgs


def repetitions(t_s, angles_rad, acc_body_mps2, kind: str, side: str,
                **params) -> Findings:
    """The repetitions (:class:`RepetitionResult`) of a ``kind`` ("step-down" | "step-up")
    task on stance leg ``side`` ("L" | "R"): :class:`RepetitionCounter` (its docstring:
    method and parameters) fed the whole task. Returns a :class:`Findings` list: its
    length is the count, ``.messages`` says what could not be counted."""
    rc = RepetitionCounter(kind, side, **params)
    rc.update(t_s, angles_rad, acc_body_mps2)
    rc.flush()
    return rc.reps


__all__ = ["AIR_SCALE_HEIGHT_M", "Findings", "RepetitionCounter", "RepetitionResult",
           "SingleLegStanceMonitor", "SingleLegStanceResult", "StairDetector", "StairSegment",
           "TaskInputError", "contralateral_drop_rad", "find_stairs",
           "ldlj_acc", "repetitions", "single_leg_stance", "to_body_frame"]
