"""Stair ascent and descent inside walking, from the height change of the sacrum
(acceleration, and a barometer when there is one): :class:`StairDetector`,
:func:`find_stairs`."""

from __future__ import annotations

import itertools
import logging
import math
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from sacrum.scoring.tasks._signal import (
    _bridge,
    _moving_mean,
    _runs,
    _slope,
    _step_period,
    _window_slopes,
)
from sacrum.scoring.tasks.common import Findings, TaskInputError, _as_rows, _rate_hz
from sacrum.signal.quaternion import quat_rotate
from sacrum.units import G_MPS2

log = logging.getLogger(__name__)

#: Isothermal scale height of the air (m): R·T/g at 15 °C. Near the ground a height
#: change dh goes with a pressure change dp = -p·dh/H: 0.120 hPa per metre at 1013 hPa
#: (one 3-m floor ≈ 0.36 hPa, one 17-cm stair ≈ 0.02 hPa).
AIR_SCALE_HEIGHT_M = 8430.0


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
