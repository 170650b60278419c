"""Lateral step-down and step-up repetitions: peak contralateral drop, smoothness,
duration, count: :class:`RepetitionCounter` (streaming), :func:`repetitions` (offline)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy.signal import find_peaks, savgol_filter

from sacrum.scoring.tasks._signal import _bridge, _deg, _fir_lowpass, _runs
from sacrum.scoring.tasks.common import (
    REPETITION_KINDS,
    Findings,
    TaskInputError,
    _as_rows,
    _rate_hz,
    _side,
)
from sacrum.scoring.tasks.frames import contralateral_drop_rad
from sacrum.scoring.tasks.smoothness import ldlj_acc
from sacrum.units import G_MPS2


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
