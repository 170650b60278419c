"""Mounting: how the sensor sits on the pelvis, ``q_sensor_to_body``.

Two ways to get it:

* :func:`parse_mount` — the user says which way the sensor's axes point
  (``--mount "x=up,y=left,z=back"``, or a name such as ``recommended``);
* :class:`MountingEstimator` — estimated from the recording itself: the body's
  vertical from gravity while standing still (or the mean vertical while
  walking), its anterior axis from the pattern of the walking accelerations.

Frames (protocol/SPEC.md §1.1): the **sensor** frame is the IMU's own axes;
the **body** (pelvis) frame is x anterior, y left, z superior; the **earth**
frame is z up. ``q_sensor_to_body`` (Hamilton, w x y z) rotates a sensor-frame
vector into the body frame: ``v_body = q ⊗ v_sensor ⊗ q*``; its rotation
matrix has the body axes written in the sensor frame as its rows.

The small quaternion helpers at the top are shared with ``sacrum.signal.angles``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from sacrum.signal.quaternion import (
    matrix_to_quat,
    quat_to_matrix,
)

log = logging.getLogger(__name__)


# ---- parse_mount ----------------------------------------------------------------------------

_DIRECTIONS = {  # body-frame unit vector a sensor axis points along
    "up": (0, 0, 1), "superior": (0, 0, 1), "cranial": (0, 0, 1),
    "down": (0, 0, -1), "inferior": (0, 0, -1), "caudal": (0, 0, -1),
    "left": (0, 1, 0), "right": (0, -1, 0),
    "forward": (1, 0, 0), "forwards": (1, 0, 0), "front": (1, 0, 0), "anterior": (1, 0, 0),
    "back": (-1, 0, 0), "backward": (-1, 0, 0), "backwards": (-1, 0, 0),
    "posterior": (-1, 0, 0),
}
_WORD = {(0, 0, 1): "up", (0, 0, -1): "down", (0, 1, 0): "left", (0, -1, 0): "right",
         (1, 0, 0): "forward", (-1, 0, 0): "back"}

#: Named mountings (hardware/MOUNTING.md and hardware/mounting.json).
MOUNTINGS = {
    "recommended": "x=up,y=left,z=back",
    "upside-down": "x=down,y=right,z=back",
    "mobilise-d-examples": "x=up,y=right,z=forward",
}


def parse_mount(spec: str) -> np.ndarray:
    """``q_sensor_to_body`` (4,) from where the sensor's axes point on the body.

    ``spec`` is a comma-separated list of ``axis=direction`` with axis one of
    x, y, z (the sensor's printed axes) and direction one of up/superior,
    down/inferior, left, right, forward/anterior, back(ward)/posterior, or a
    name from :data:`MOUNTINGS` (``"recommended"``). Two axes are enough: the
    third follows from the right-hand rule (z = x × y, x = y × z, y = z × x).

    >>> parse_mount("x=up,y=left,z=back").round(4)
    array([ 0.7071,  0.    , -0.7071,  0.    ])

    Raises ValueError naming the problem: an unknown axis or direction, an axis
    given twice, two axes along the same body line, fewer than two axes, or a
    left-handed set.
    """
    text = spec.strip().lower()
    if text in MOUNTINGS:
        text = MOUNTINGS[text]
    if not text:
        raise ValueError('empty mounting: give e.g. "x=up,y=left,z=back" or "recommended"')
    axes: dict[str, np.ndarray] = {}
    for token in text.replace(";", ",").split(","):
        token = token.strip()
        if not token:
            continue
        key, eq, word = (s.strip() for s in token.partition("="))
        if not eq or not key or not word:
            raise ValueError(f"mounting {spec!r}: {token!r} is not of the form axis=direction "
                             '(e.g. "x=up")')
        if key not in ("x", "y", "z"):
            raise ValueError(f"mounting {spec!r}: unknown sensor axis {key!r}; use x, y or z")
        if key in axes:
            raise ValueError(f"mounting {spec!r}: sensor axis {key} is given twice")
        if word not in _DIRECTIONS:
            raise ValueError(f"mounting {spec!r}: unknown direction {word!r}; use one of "
                             + ", ".join(sorted(_DIRECTIONS)))
        axes[key] = np.array(_DIRECTIONS[word], float)
    if len(axes) < 2:
        raise ValueError(f"mounting {spec!r}: give at least two of the sensor axes x, y, z "
                         '(e.g. "x=up,y=left")')
    keys = list(axes)
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            if abs(axes[a] @ axes[b]) > 0.5:
                raise ValueError(f"mounting {spec!r}: sensor axes {a} and {b} point along the "
                                 "same body axis; the sensor's axes are perpendicular")
    derived = {"z": ("x", "y"), "x": ("y", "z"), "y": ("z", "x")}
    for key, (a, b) in derived.items():
        need = np.cross(axes[a], axes[b]) if a in axes and b in axes else None
        if need is None:
            continue
        if key not in axes:
            axes[key] = need
        elif axes[key] @ need < 0:
            raise ValueError(
                f"mounting {spec!r} is left-handed: with {a}={_word(axes[a])} and "
                f"{b}={_word(axes[b])} the sensor's {key} axis points "
                f"{_word(need)} (right-handed sensor, {key} = {a} × {b})")
    # columns: the sensor axes written in the body frame
    r_sensor_to_body = np.column_stack([axes["x"], axes["y"], axes["z"]])
    return matrix_to_quat(r_sensor_to_body)


def _word(v: np.ndarray) -> str:
    return _WORD[tuple(round(float(c)) for c in v)]


def describe_mount(q_sensor_to_body: np.ndarray) -> str:
    """Where each sensor axis points on the body, e.g. ``"x=up(+2°),y=left,z=back"``.

    Each axis is named by the nearest body direction; the angle to it is added
    when it is 5° or more.
    """
    r = quat_to_matrix(q_sensor_to_body)
    parts = []
    for i, key in enumerate("xyz"):
        col = r[:, i]
        j = int(np.argmax(np.abs(col)))
        near = np.zeros(3)
        near[j] = np.sign(col[j])
        off = math.degrees(math.acos(min(1.0, abs(float(col[j])))))
        parts.append(f"{key}={_word(near)}" + (f"({off:.0f}° off)" if off >= 5 else ""))
    return ",".join(parts)


# ---- estimation from the recording ----------------------------------------------------------

FORWARD_CUES = ("acc", "sway", "tilt_rate")  # step 5's H, z × S, z × G


class MountingError(ValueError):
    """The mounting cannot be estimated from this recording; the message says why."""


@dataclass(frozen=True)
class MountingEstimate:
    """A mounting estimated from standing and walking.

    Fields:
        q_sensor_to_body: (4,) w x y z, w >= 0.
        confidence: 0..1, the probability that the mounting is right to within
            ``tolerance_deg`` (5°) about both axes, forward the right way round
            (:class:`MountingEstimator` step 7).
        vertical_deg_sd: standard error of the body's vertical axis (deg):
            the RMS angle of per-second (standing) or per-window (walking)
            estimates from the result, divided by √(independent estimates).
        forward_deg_sd: uncertainty (SD) of the anterior axis about the vertical
            (deg): ``√(forward_se_deg² + cue_spread_deg² / 3)``, the random part
            and the bias an asymmetric gait gives (step 7).
        forward_se_deg: the random part: a block bootstrap of the walking windows
            (step 7); the true error is within ±2 of it about 95 % of the time when
            the gait is left-right symmetric (tested on phantoms).
        settled_confidence: ``confidence`` with ``forward_se_deg`` for
            ``forward_deg_sd``: how sure it is that more of the same walking would
            not move the estimate past ``tolerance_deg`` (the gait's bias does not
            shrink with walking); what the live view and the pipeline wait for
            before they use or stop improving an estimate.
        cue_spread_deg: the SD of the three forward cues' own answers (deg), how a
            left-right asymmetry of the gait shows (step 7).
        message: one line on where the estimate came from.
        vertical_source: "standing" or "walking".
        standing_s, walking_s: seconds of data each part used (still blocks, and
            walking windows, times ``hop_s``).
        step_hz: median step frequency of the walking used.
        forward_agreement: fraction of walking windows whose AP acceleration
            leads the vertical one (0.5 = a coin toss, 1 = all agree).
        ap_phase_deg: mean phase of AP acceleration relative to vertical at the
            step frequency (expected about +90°: forward acceleration peaks a
            quarter step before the vertical one).
        axis_ratio: λ2/λ1 of step 5 of :class:`MountingEstimator` (0 = one clear
            anterior-posterior line, 1 = no preferred direction).
    """

    q_sensor_to_body: np.ndarray
    confidence: float
    vertical_deg_sd: float
    forward_deg_sd: float
    message: str
    vertical_source: str = ""
    standing_s: float = 0.0
    walking_s: float = 0.0
    step_hz: float = float("nan")
    forward_agreement: float = float("nan")
    ap_phase_deg: float = float("nan")
    axis_ratio: float = float("nan")
    cue_spread_deg: float = float("nan")
    forward_sign_p: float = float("nan")  # bootstrap probability forward is right
    forward_se_deg: float = float("nan")  # the random part of forward_deg_sd
    settled_confidence: float = float("nan")  # the confidence from forward_se_deg alone


class MountingEstimator:
    """Estimate ``q_sensor_to_body`` from a recording, without ``--mount``.

    The body's **vertical** (z, superior) is the direction of gravity while
    standing still, and its **anterior** axis (x) the direction in which the
    pelvis accelerates and brakes at every step while walking; which of the
    two directions along that line is forward is told by the timing of the
    accelerations: the pelvis moves like an inverted pendulum, fastest when
    lowest (double support, when the upward acceleration peaks) and slowest
    when highest (mid stance), so the forward acceleration peaks about a
    quarter of a step *before* the upward one (Zijlstra & Hof 2003: forward
    acceleration peaks and changes sign around initial contact, where vertical
    acceleration rises to its peak). Backwards the order reverses.

    Data required (streamed in chunks of any size, NaN rows for lost samples):
    ``q_sensor_to_earth`` (N, 4) from the orientation stage (6-axis; its
    heading is not used), ``acc_mps2`` (N, 3) specific force and ``gyr_radps``
    (N, 3), both in the sensor frame.

    Steps:
        1. Per sample: the earth's up in the sensor frame ``up_s`` (third row of
           the sensor-to-earth rotation), the vertical linear acceleration
           ``acc·up_s − g`` and the horizontal one ``acc − (acc·up_s) up_s``,
           both in sensor coordinates (so directions are body-fixed and the
           fusion's heading drift does not matter).
        2. Every ``hop_s`` a block is tested for **standing still**: RMS angular
           rate below ``still_gyr_radps`` and SD of the acceleration below
           ``still_acc_mps2``. Its mean ``up_s`` is kept.
        3. Every ``hop_s`` the last ``window_s`` are tested for **walking**:
           vertical acceleration SD at least ``min_step_acc_sd_mps2``, mean turn
           rate about the vertical below ``max_turn_rate_radps``, and a periodic
           vertical acceleration: autocorrelation at least ``min_step_autocorr``
           both at one step (a lag within ``step_hz_range``) and at one stride
           (two steps). For a walking window, the first four harmonics of the
           stride frequency (half the step frequency) are fitted to the
           vertical and horizontal accelerations and the angular rate (least
           squares), giving complex amplitudes at the step frequency — V
           (vertical), H (horizontal), G (angular rate) — and at the stride
           frequency — S (horizontal); the mean ``up_s`` is kept.
        4. Vertical: walking windows' mean ``up_s`` is the walking vertical.
           Still blocks within ``max_standing_offset_rad`` of it count as
           standing (this excludes lying and most sitting). With at least
           ``min_standing_s`` of standing, body z is their mean ``up_s``
           (the pelvis as at the standing calibration, docs/pelvic-angles.md);
           otherwise the walking vertical (the mean posture while walking).
        5. Anterior axis, from three cues, each a unit vector per window in
           the plane perpendicular to body z: H (the pelvis speeds up and
           slows down along the line of progression at every step), z × S
           (it sways sideways once per stride) and z × G (it tilts forward and
           back at every step, about its left-right axis). In symmetric gait
           the mediolateral sway, obliquity and rotation repeat every stride
           and have no step-frequency component, and the AP acceleration and
           tilt repeat every step and have no stride-frequency one, so each
           cue lies along (or across) the AP line. The axis is the principal
           eigenvector of Σ Re(c cᴴ) over cues and windows.
        6. Forward vs backward: each window votes with the sign of
           Im((axis·H) V*), i.e. whether the AP acceleration leads (+) or lags
           the vertical one; the majority is forward.
        7. Body y = z × x. Uncertainties as in :class:`MountingEstimate`. The
           forward standard error is a block bootstrap (Künsch 1989): the walking
           windows overlap (``window_s`` / ``hop_s`` share each second), so they
           are grouped into blocks of that many consecutive windows, independent
           of each other; ``n_bootstrap`` (500) resamples of the blocks with
           replacement (a fixed seed: the same answer every run) each give the
           axis of step 5 and the vote of step 6; ``forward_deg_sd`` is the RMS
           azimuth of the resampled axes from the estimate, and
           ``forward_sign_p`` the fraction of resamples whose vote agrees; the
           bootstrap variance of n blocks is n/(n − 1) too small (that of a
           mean's), so it is scaled up by that. With fewer than two blocks:
           the RMS azimuth of the single windows' axes over √(walking_s /
           window_s) (the independent windows), and the votes' agreement. That
           is the random part, ``forward_se_deg``; an asymmetric gait biases each
           cue ("Deviations"), which no resampling shows, but the three cues then
           disagree: the axis is about their mean, so the bias is taken to have SD
           ``cue_spread_deg / √3`` (independent biases of the SD the cues' spread
           estimates), and ``forward_deg_sd = √(forward_se_deg² + cue_spread_deg²
           / 3)``. ``confidence = forward_sign_p · erf(tol / (√2 · forward_deg_sd)) ·
           erf(tol / (√2 · vertical_deg_sd))``, ``tol = tolerance_deg``: the
           probability that both axes are within the tolerance, errors normal
           with those standard errors.

    :meth:`update` returns the current estimate once one can be made (None
    before); :meth:`estimate` returns it or raises :class:`MountingError`
    saying why not: no walking found, no dominant step direction, or forward
    and backward not told apart (fewer than ``min_forward_agreement`` of the
    windows agree).

    Parameters:
        rate_hz: sample rate (Hz).
        window_s: walking analysis window (s), default 3.0; a whole number of hops.
        hop_s: hop between windows and length of a standing block (s), default 1.0.
        step_hz_range: plausible step frequencies (Hz), default (0.9, 3.0): 54-180
            steps/min. The lower bound was 1.2 Hz (72 steps/min), which refused slow
            walkers: replayed 1.5 × slower (``bench/gait_subjects.py --slow``), 14 of the
            37 real walk tests had "no walking found" at 1.2 Hz and none at 0.9 Hz, while
            the estimates at normal speed moved by at most 0.4°. 0.9 Hz is about as low as
            a 3-s window allows (it must hold two strides).
        min_step_acc_sd_mps2: vertical acceleration SD of walking (m/s²), default 0.3.
        min_step_autocorr: periodicity of walking, default 0.4.
        max_turn_rate_radps: windows turning faster are not used (rad/s), default 0.5.
        still_gyr_radps: standing still, RMS angular rate below (rad/s), default 0.1.
        still_acc_mps2: standing still, acceleration SD below (m/s²), default 0.4.
        max_standing_offset_rad: standing vs the walking vertical (rad), default 25°.
        min_standing_s: standing needed to use it for the vertical (s), default 2.0.
        min_walking_s: walking needed for any estimate (s), default 4.0. Both counted in
            whole blocks and windows of ``hop_s`` (2 and 4 by default), so the sample
            clock's last digits cannot move a recording across them.
        min_forward_agreement: fraction of windows that must agree on forward, 0.7.
        max_axis_ratio: λ2/λ1 above this is no dominant step direction, 0.35.
        max_gap_fraction: windows with more lost samples are skipped, default 0.1
            (shorter gaps are bridged by linear interpolation).
        tolerance_deg: the error the confidence is about (deg), default 5.
        n_bootstrap: resamples for the forward standard error, default 500.
        forward_cues: which of step 5's cues make the axis, two or more of
            ``FORWARD_CUES`` ("acc" H, "sway" z × S, "tilt_rate" z × G), default all
            three. Without "tilt_rate" a Trendelenburg-type gait is read far better
            (below) but a random asymmetry of all three worse, and the real walks are
            mixed (``bench/mounting_uncertainty.py`` prints both).

    Deviations and limits: an asymmetric gait gives each cue of step 5 a
    step-frequency component across the AP line (or a stride-frequency one
    along it) and biases it by about that amplitude ratio (radians); on a
    phantom with 10 % asymmetry in all three, with random phases, the forward
    error is 2.5° RMS (about 25° × asymmetry), a bias the standard error
    (the random part) does not contain; ``cue_spread_deg`` shows it and step 7
    puts it in ``forward_deg_sd``. A Trendelenburg-type gait (drop 4° on one
    stance side, 9° on the other: ``sacrum.testing.walking_phantom``) gives the
    obliquity a step-frequency part larger than the tilt's and pulls the
    tilt-rate cue about 38° off: the estimate is about 12.6° off, at ±11.5°
    and confidence 0.34 (the standard error alone said ±0.3°, confidence
    1.00). Over 37 real walk tests (IPOL, HA/001) the forward azimuth is within
    ±2 / ±1 ``forward_deg_sd`` of the same person's other trials' median in
    92 % / 73 % of trials (the standard error alone: 49 % / 24 %;
    ``bench/mounting_uncertainty.py``). On the mobgap HA/001 walks (documented
    mounting x up, y right, z forward) the forward error from the nominal
    forward was -4.6°, +2.4° and -0.6° (Test5 ×2, Test11).
    The forward rule assumes forward walking (walking backwards gives a
    mounting turned 180° about the vertical, and a confidently wrong one);
    a person who walks with little vertical
    acceleration (shuffling, a walker) may not be detected as walking;
    a single pelvis sensor cannot tell quiet standing from sitting with an
    upright pelvis (step 4 only excludes still periods far from the walking
    posture). The estimate is the mounting relative to the pelvis as it was
    held, not to the bony pelvis: the calibration of ``sacrum.signal.angles`` zeroes
    tilt and obliquity on a standing trial anyway.

    References:
        W. Zijlstra, A. L. Hof (2003), Assessment of spatio-temporal gait
        parameters from trunk accelerations during human walking, Gait &
        Posture 18:1-10. R. Moe-Nilssen (1998), A new method for evaluating
        motor control in gait under real-life environmental conditions, Part 1,
        Clin Biomech 13:320-327 (tilt correction of trunk accelerations).
        R. Moe-Nilssen, J. L. Helbostad (2004), Estimation of gait cycle
        characteristics by trunk accelerometry, J Biomech 37:121-126 (the step
        and stride peaks of the autocorrelation).
        F. L. Markley et al. (2007), Averaging quaternions, J Guid Control Dyn
        30:1193-1197.
        H. R. Künsch (1989), The jackknife and the bootstrap for general
        stationary observations, Ann Stat 17:1217-1241 (the block bootstrap).
    """

    def __init__(self, rate_hz: float, *, window_s: float = 3.0, hop_s: float = 1.0,
                 step_hz_range: tuple[float, float] = (0.9, 3.0),
                 min_step_acc_sd_mps2: float = 0.3, min_step_autocorr: float = 0.4,
                 max_turn_rate_radps: float = 0.5, still_gyr_radps: float = 0.1,
                 still_acc_mps2: float = 0.4,
                 max_standing_offset_rad: float = math.radians(25.0),
                 min_standing_s: float = 2.0, min_walking_s: float = 4.0,
                 min_forward_agreement: float = 0.7, max_axis_ratio: float = 0.35,
                 max_gap_fraction: float = 0.1, tolerance_deg: float = 5.0,
                 n_bootstrap: int = 500,
                 forward_cues: tuple[str, ...] = FORWARD_CUES) -> None:
        if rate_hz <= 0:
            raise ValueError(f"rate_hz must be positive, not {rate_hz}")
        self.rate_hz = float(rate_hz)
        self.hop_n = max(1, round(hop_s * rate_hz))
        self.window_blocks = max(2, round(window_s / hop_s))
        self.window_n = self.window_blocks * self.hop_n
        lo, hi = step_hz_range
        self.step_lag_range = (max(1, math.floor(rate_hz / hi)), math.ceil(rate_hz / lo))
        if 2 * self.step_lag_range[1] >= self.window_n - self.hop_n // 2:
            raise ValueError(f"window_s={window_s} is too short for step frequencies down to "
                             f"{lo} Hz: it must hold well over two steps")
        self.min_step_acc_sd_mps2 = min_step_acc_sd_mps2
        self.min_step_autocorr = min_step_autocorr
        self.max_turn_rate_radps = max_turn_rate_radps
        self.still_gyr_radps = still_gyr_radps
        self.still_acc_mps2 = still_acc_mps2
        self.max_standing_offset_rad = max_standing_offset_rad
        self.min_standing_s = min_standing_s
        self.min_walking_s = min_walking_s
        # the minimums as whole blocks and windows, each ``hop_s`` long by definition: in
        # seconds, a clock a millionth fast (a CSV's median interval 0.00999999 s) made 4
        # windows 3.99999 s and refused what the same samples at 100.0 Hz accepted
        self._min_standing_blocks = max(1, math.ceil(min_standing_s / hop_s - 1e-6))
        self._min_walking_windows = max(1, math.ceil(min_walking_s / hop_s - 1e-6))
        self.min_forward_agreement = min_forward_agreement
        self.max_axis_ratio = max_axis_ratio
        self.max_gap_fraction = max_gap_fraction
        self.tolerance_deg = tolerance_deg
        self.n_bootstrap = n_bootstrap
        unknown = set(forward_cues) - set(FORWARD_CUES)
        if unknown or len(forward_cues) < 2:
            raise ValueError(f"forward_cues: two or more of {FORWARD_CUES}, not {forward_cues}")
        self.forward_cues = tuple(forward_cues)
        self._t_s = np.arange(self.window_n) / self.rate_hz
        self.reset()

    def reset(self) -> None:
        """Forget everything seen so far."""
        self._pending = np.empty((0, 9))  # up_s, acc, gyr of samples not yet in a block
        self._blocks: list[np.ndarray] = []  # the last window_blocks blocks
        self.samples_seen = 0
        self.windows_skipped = 0  # too many lost samples
        self._still_up: list[np.ndarray] = []  # mean up_s of each still block
        self._walk_up: list[np.ndarray] = []  # per walking window: mean up_s
        self._walk_h: list[np.ndarray] = []  # horizontal acceleration at the step frequency
        self._walk_s: list[np.ndarray] = []  # ... at the stride frequency
        self._walk_g: list[np.ndarray] = []  # angular rate at the step frequency
        self._walk_v: list[complex] = []  # vertical acceleration at the step frequency
        self._walk_hz: list[float] = []
        self._cached: MountingEstimate | MountingError | None = None

    # -- streaming ----------------------------------------------------------------------------

    def update(self, q_sensor_to_earth: np.ndarray, acc_mps2: np.ndarray,
               gyr_radps: np.ndarray) -> MountingEstimate | None:
        """Feed a chunk; the current estimate, or None while there is not enough walking."""
        q = np.asarray(q_sensor_to_earth, float).reshape(-1, 4)
        acc = np.asarray(acc_mps2, float).reshape(-1, 3)
        gyr = np.asarray(gyr_radps, float).reshape(-1, 3)
        if not len(q) == len(acc) == len(gyr):
            raise ValueError(f"chunk lengths differ: q {len(q)}, acc {len(acc)}, "
                             f"gyr {len(gyr)}")
        self.samples_seen += len(q)
        with np.errstate(invalid="ignore", divide="ignore"):  # lost samples: NaN rows
            up_s = quat_to_matrix(q)[:, 2, :]  # step 1: earth up in the sensor frame
        self._pending = np.concatenate([self._pending, np.hstack([up_s, acc, gyr])])
        n_blocks = len(self._pending) // self.hop_n
        for b in range(n_blocks):
            self._block(self._pending[b * self.hop_n:(b + 1) * self.hop_n])
        if n_blocks:
            self._pending = self._pending[n_blocks * self.hop_n:]
            self._cached = None
        try:
            return self.estimate()
        except MountingError:
            return None

    def flush(self) -> MountingEstimate | None:
        """The input has ended: the estimate from everything fed (the samples short of a
        whole block are not used, as in ``update``), or None when there is none."""
        try:
            return self.estimate()
        except MountingError:
            return None

    def _block(self, block: np.ndarray) -> None:
        self._blocks.append(block)
        if len(self._blocks) > self.window_blocks:
            self._blocks.pop(0)
        if not np.isnan(block).any():  # step 2: standing still?
            acc, gyr = block[:, 3:6], block[:, 6:9]
            gyr_rms = math.sqrt(float(np.mean(np.sum(gyr * gyr, axis=1))))
            acc_sd = math.sqrt(float(np.sum(np.var(acc, axis=0))))
            if gyr_rms < self.still_gyr_radps and acc_sd < self.still_acc_mps2:
                self._still_up.append(_unit(block[:, 0:3].mean(axis=0)))
        if len(self._blocks) == self.window_blocks:
            self._window(np.concatenate(self._blocks))

    def _window(self, w: np.ndarray) -> None:
        """Step 3: is this window walking? If so keep its harmonic amplitudes."""
        bad = np.isnan(w).any(axis=1)
        if bad.any():
            if bad.mean() > self.max_gap_fraction or bad[0] or bad[-1]:
                self.windows_skipped += 1
                return
            idx = np.arange(len(w))
            w = w.copy()
            for c in range(w.shape[1]):
                w[bad, c] = np.interp(idx[bad], idx[~bad], w[~bad, c])
        up_s = w[:, 0:3] / np.linalg.norm(w[:, 0:3], axis=1, keepdims=True)
        acc, gyr = w[:, 3:6], w[:, 6:9]
        along = np.einsum("ij,ij->i", acc, up_s)
        a_v = along - along.mean()
        h = acc - along[:, None] * up_s
        h = h - h.mean(axis=0)
        if a_v.std() < self.min_step_acc_sd_mps2:
            return
        if abs(float(np.mean(np.einsum("ij,ij->i", gyr, up_s)))) > self.max_turn_rate_radps:
            return
        lag = _step_lag(a_v, self.step_lag_range, self.min_step_autocorr)
        if lag is None:
            return
        step_hz = self.rate_hz / lag
        stride = _harmonics(np.column_stack([a_v, h, gyr]), self._t_s, step_hz / 2, 4)
        self._walk_up.append(_unit(up_s.mean(axis=0)))
        self._walk_v.append(complex(stride[1, 0]))
        self._walk_h.append(stride[1, 1:4])
        self._walk_s.append(stride[0, 1:4])
        self._walk_g.append(stride[1, 4:7])
        self._walk_hz.append(step_hz)

    # -- result -------------------------------------------------------------------------------

    def estimate(self) -> MountingEstimate:
        """The estimate from everything fed so far, or :class:`MountingError` saying why not."""
        if self._cached is None:
            try:
                self._cached = self._estimate()
            except MountingError as e:
                self._cached = e
        if isinstance(self._cached, MountingError):
            raise self._cached
        return self._cached

    def _estimate(self) -> MountingEstimate:
        hop_s = self.hop_n / self.rate_hz
        window_s = self.window_n / self.rate_hz
        seen_s = self.samples_seen / self.rate_hz
        walking_s = len(self._walk_h) * hop_s
        still_s = len(self._still_up) * hop_s
        if len(self._walk_h) < self._min_walking_windows:
            found = f"{still_s:.0f} s standing still, " if still_s else ""
            what = "no walking found" if not walking_s else "too little walking found"
            raise MountingError(
                f"cannot tell forward: {what} ({found}{walking_s:.0f} s of walking in "
                f"{seen_s:.0f} s of data, {self.min_walking_s:.0f} s needed); record a "
                "straight walk of 10 s or more, or give the mounting (--mount)")
        # step 4: the vertical
        walk_up = np.array(self._walk_up)
        v_walk = _unit(walk_up.sum(axis=0))
        still = np.array(self._still_up).reshape(-1, 3)
        standing = still[still @ v_walk > math.cos(self.max_standing_offset_rad)]
        standing_s = len(standing) * hop_s
        if len(standing) >= self._min_standing_blocks:
            z = _unit(standing.sum(axis=0))
            z_units, z_indep, source = standing, len(standing), "standing"
        else:
            z = v_walk
            z_units, z_indep, source = walk_up, max(1.0, walking_s / window_s), "walking"
        vertical_sd = _rms(_angle(z_units, z)) / math.sqrt(z_indep)
        # step 5: the anterior-posterior line, from the accelerations and the tilt rate
        proj = np.eye(3) - np.outer(z, z)
        hs = _unit_rows(np.array(self._walk_h) @ proj)  # AP acceleration at the step frequency
        ss = _unit_rows(np.cross(z, np.array(self._walk_s)))  # ML sway, turned to AP
        gs = _unit_rows(np.cross(z, np.array(self._walk_g)))  # tilt-rate axis, turned to AP
        cue_tensors = [np.einsum("ni,nj->nij", c, c.conj()).real
                       for name, c in zip(FORWARD_CUES, (hs, ss, gs), strict=True)
                       if name in self.forward_cues]
        tensors = sum(cue_tensors)
        eigval, eigvec = np.linalg.eigh(tensors.sum(axis=0))
        axis = _unit(proj @ eigvec[:, -1])
        axis_ratio = float(eigval[-2] / eigval[-1])
        # step 6: forward or backward
        cross = (hs @ axis) * np.conj(np.array(self._walk_v))
        leads = cross.imag > 0
        agreement = float(leads.mean())
        if agreement < 0.5:
            axis, cross, agreement = -axis, -cross, 1.0 - agreement
        phase_deg = math.degrees(float(np.angle(np.sum(cross / np.abs(cross)))))
        step_hz = float(np.median(self._walk_hz))
        n_windows = len(self._walk_h)
        if axis_ratio > self.max_axis_ratio:
            raise MountingError(
                f"cannot tell forward: the horizontal accelerations of {walking_s:.0f} s of "
                f"walking have no dominant direction (axis ratio {axis_ratio:.2f}, at most "
                f"{self.max_axis_ratio} needed); record a straight walk, or give --mount")
        if agreement < self.min_forward_agreement:
            raise MountingError(
                f"cannot tell forward from backward: only {100 * agreement:.0f} % of "
                f"{n_windows} walking windows agree (at least "
                f"{100 * self.min_forward_agreement:.0f} % needed); record a straight walk "
                "forwards, or give --mount")
        # step 7: the frame and how sure we are
        x = axis
        y = np.cross(z, x)
        q = matrix_to_quat(np.vstack([x, y, z]))
        forward_se, sign_p = self._bootstrap(tensors, cross.imag > 0, x, y)
        if forward_se is None:  # fewer than two blocks: the single windows' scatter
            per_window = np.linalg.eigh(tensors)[1][:, :, -1]
            per_window *= np.where(per_window @ x < 0, -1.0, 1.0)[:, None]
            azimuth = np.arctan2(per_window @ y, per_window @ x)
            forward_se = _rms(azimuth) / math.sqrt(max(1.0, walking_s / window_s))
        cues = np.array([np.linalg.eigh(c.sum(axis=0))[1][:, -1] for c in cue_tensors])
        cues *= np.sign(cues @ x)[:, None]
        cue_azimuth = np.arctan2(cues @ y, cues @ x)  # the three cues' own answers
        cue_spread = float(np.std(cue_azimuth, ddof=1))
        # an asymmetric gait biases each cue (class docstring, "Deviations") by an amount
        # the bootstrap cannot see; the cues' disagreement measures it: the axis is about
        # their mean, whose bias has SD spread / √n if the n cues' biases are independent
        vertical_deg_sd = math.degrees(vertical_sd)
        forward_se_deg = math.degrees(forward_se)
        forward_deg_sd = math.hypot(forward_se_deg,
                                    math.degrees(cue_spread) / math.sqrt(len(cue_tensors)))
        tol = self.tolerance_deg
        def within_tol(forward: float) -> float:
            return (sign_p * math.erf(tol / (math.sqrt(2) * max(forward, 1e-9)))
                    * math.erf(tol / (math.sqrt(2) * max(vertical_deg_sd, 1e-9))))

        confidence = within_tol(forward_deg_sd)
        message = (f"mounting {describe_mount(q)}: vertical from {standing_s:.0f} s standing"
                   if source == "standing" else
                   f"mounting {describe_mount(q)}: vertical from {walking_s:.0f} s walking "
                   f"(no standing still found)")
        message += (f" (±{vertical_deg_sd:.1f}°), forward from {walking_s:.0f} s walking at "
                    f"{step_hz:.2f} steps/s (±{forward_deg_sd:.1f}°; AP acceleration leads "
                    f"vertical by {phase_deg:.0f}° in {100 * agreement:.0f} % of "
                    f"{n_windows} windows); confidence {confidence:.2f}")
        log.info(message)
        return MountingEstimate(
            q_sensor_to_body=q, confidence=float(np.clip(confidence, 0.0, 1.0)),
            vertical_deg_sd=vertical_deg_sd, forward_deg_sd=forward_deg_sd, message=message,
            vertical_source=source, standing_s=standing_s if source == "standing" else 0.0,
            walking_s=walking_s, step_hz=step_hz, forward_agreement=agreement,
            ap_phase_deg=phase_deg, axis_ratio=axis_ratio,
            cue_spread_deg=math.degrees(cue_spread), forward_se_deg=forward_se_deg,
            forward_sign_p=sign_p,
            settled_confidence=float(np.clip(within_tol(forward_se_deg), 0.0, 1.0)))

    def _bootstrap(self, tensors: np.ndarray, leads: np.ndarray, x: np.ndarray,
                   y: np.ndarray) -> tuple[float | None, float]:
        """Step 7: (forward standard error in rad, probability the vote is right) by a
        block bootstrap of the walking windows; (None, agreement) below two blocks."""
        size = self.window_blocks  # windows sharing samples: one block
        n_blocks = len(tensors) // size
        if n_blocks < 2:
            return None, float(np.mean(leads))
        cut = n_blocks * size
        t_blocks = tensors[:cut].reshape(n_blocks, size, 3, 3).sum(axis=1)
        v_blocks = leads[:cut].reshape(n_blocks, size).sum(axis=1)
        rng = np.random.default_rng(12)
        pick = rng.integers(0, n_blocks, (self.n_bootstrap, n_blocks))
        axes = np.linalg.eigh(t_blocks[pick].sum(axis=1))[1][:, :, -1]
        axes *= np.where(axes @ x < 0, -1.0, 1.0)[:, None]
        azimuth = np.arctan2(axes @ y, axes @ x)
        sign_p = float(np.mean(v_blocks[pick].sum(axis=1) > 0.5 * cut))
        return _rms(azimuth) * math.sqrt(n_blocks / (n_blocks - 1)), sign_p


def estimate_mounting(q_sensor_to_earth: np.ndarray, acc_mps2: np.ndarray,
                      gyr_radps: np.ndarray, rate_hz: float, **params: float) -> MountingEstimate:
    """Offline: :class:`MountingEstimator` fed the whole recording; raises MountingError."""
    est = MountingEstimator(rate_hz, **params)
    est.update(q_sensor_to_earth, acc_mps2, gyr_radps)
    return est.estimate()


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def _angle(units: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.arccos(np.clip(units @ v, -1.0, 1.0))


def _rms(x: np.ndarray) -> float:
    return math.sqrt(float(np.mean(np.square(x)))) if len(x) else 0.0


def _harmonics(x: np.ndarray, t_s: np.ndarray, f_hz: float, n: int) -> np.ndarray:
    """Complex amplitudes (n, columns) of harmonics 1..n of f_hz in x (least squares).

    ``x ≈ mean + Σ_k Re(c_k exp(2πi k f t))``: a sinusoid A cos(2π k f t + φ)
    has c_k = A exp(iφ). Fitting all harmonics together (rather than one
    demodulation per frequency) keeps the stride and step frequencies apart in
    short windows.
    """
    w = 2 * np.pi * f_hz * np.outer(t_s, np.arange(1, n + 1))
    basis = np.column_stack([np.ones(len(t_s)), np.cos(w), np.sin(w)])
    coef = np.linalg.lstsq(basis, x, rcond=None)[0]
    return coef[1:n + 1] - 1j * coef[n + 1:]


def _unit_rows(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _step_lag(a_v: np.ndarray, lag_range: tuple[int, int], min_r: float) -> float | None:
    """Lag (samples, sub-sample) of the step peak of the autocorrelation, or None.

    Walking: the normalised autocorrelation peaks above ``min_r`` at a lag in
    ``lag_range`` (one step) and is above ``min_r`` again at twice that lag
    (one stride). The step is the highest such peak, or, when there is a peak at
    about half its lag (±15 %), that one (the stride's peak, often the higher,
    lies inside a range that reaches slow steps; Moe-Nilssen & Helbostad 2004:
    the first dominant peak is the step, the second the stride).
    """
    lo, hi = lag_range
    n = len(a_v)

    def r(k: int) -> float:
        a, b = a_v[:n - k], a_v[k:]
        den = math.sqrt(float(a @ a) * float(b @ b))
        return float(a @ b) / den if den > 0 else 0.0

    # all lags at once: products through the FFT, energies by cumulative sums
    ks = np.arange(lo - 1, hi + 2)
    nfft = 1 << (2 * n - 1).bit_length()
    spec = np.fft.rfft(a_v, nfft)
    cross = np.fft.irfft(spec * np.conj(spec), nfft)[ks]
    e = np.concatenate([[0.0], np.cumsum(a_v * a_v)])
    den = np.sqrt((e[n - ks] - e[0]) * (e[n] - e[ks]))
    rs = np.divide(cross, den, out=np.zeros(len(ks)), where=den > 0)
    # the peaks inside the range (a peak at its edge is not a step)
    j = np.arange(1, len(rs) - 1)
    peaks = j[(rs[j] >= min_r) & (rs[j] >= rs[j - 1]) & (rs[j] >= rs[j + 1])]
    if not len(peaks):
        return None
    k = int(peaks[np.argmax(rs[peaks])])
    # a range that reaches slow steps also holds a brisk walker's stride, whose peak is often
    # the higher one (an asymmetric gait): a peak at about half its lag is the step
    while True:
        half = peaks[np.abs(peaks + lo - 1 - 0.5 * (k + lo - 1)) <= 0.15 * (k + lo - 1)]
        if not len(half):
            break
        k = int(half[np.argmax(rs[half])])
    den = rs[k - 1] - 2 * rs[k] + rs[k + 1]
    lag = lo - 1 + k + (0.5 * (rs[k - 1] - rs[k + 1]) / den if den < 0 else 0.0)
    if r(round(2 * lag)) < min_r:
        return None
    return lag
