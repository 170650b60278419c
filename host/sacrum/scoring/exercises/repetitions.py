"""Repetitions of an exercise, streaming: one segmenter for the cyclic movement families.

:class:`RepetitionSegmenter` counts the repetitions of the ``repetition`` (bridge,
single-leg bridge, clamshell, single-leg deadlift: one angle moves), ``alternating``
(bird dog, dead bug: the pelvis should not move at all; any rotation is the signal, its
sign the side) and ``vertical`` (split squat: the sacrum goes down and up) families of
:mod:`sacrum.scoring.exercises.catalogue`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from sacrum.scoring.exercises._buffer import SampleBuffer
from sacrum.scoring.exercises.catalogue import Exercise, exercise
from sacrum.scoring.exercises.control import control_metrics, to_deg
from sacrum.scoring.exercises.posture import (
    classify_posture,
    mean_orientation,
    measurement_note,
    relative_angles,
)
from sacrum.signal.quaternion import quat_rotate
from sacrum.units import G_MPS2

_SEEK, _REST, _MOVING, _RETURNING, _SETTLE = range(5)


@dataclass
class ExerciseRepetition:
    """One repetition (or partial repetition) of an exercise.

    index: 0, 1, ... over the task (partials included); set_index: 0, 1, ... (a new set
    after an adjustment or a pause longer than ``set_break_s``); side: "L", "R", None
    (both legs) or "?" (alternating, side not seen). Times (s): t_start_s, t_end_s where
    the drive leaves and comes back within ``edge_fraction`` of its peak; t_top_s and
    t_release_s where it first reaches and last leaves ``top_fraction`` of the peak;
    up_s, hold_s, down_s the tempo between them; duration_s. partial: it did not reach
    the exercise's full excursion or was shorter than its shortest full repetition
    (``why_partial``). peak_rad: the drive's peak (rad; NaN for the vertical family);
    depth_m: the vertical family's peak, the sacrum's depth below its rest (m; NaN for
    the others).

    Control, against the posture at the repetition's start (rad, rad/s): the three
    ``*_excursion_rad`` (largest signed deviation), the exercise's own metrics
    (``<metric>_rad``), ``sway_rms_radps``, ``ldlj_v``: in ``control``.
    """

    index: int
    set_index: int
    side: str | None
    t_start_s: float
    t_top_s: float
    t_release_s: float
    t_end_s: float
    up_s: float
    hold_s: float
    down_s: float
    duration_s: float
    partial: bool
    why_partial: str
    peak_rad: float
    depth_m: float
    control: dict = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)

    def to_dict_deg(self) -> dict:
        """Flat fields for a report or JSON: angles in degrees (``*_deg``), rates in
        deg/s (``*_dps``)."""
        d = asdict(self)
        ctrl = d.pop("control")
        d.update(to_deg(ctrl))
        return d


@dataclass
class Adjustment:
    """A movement that was not a repetition: the posture moved on another axis (or too
    far) and came to rest somewhere else; the next set's reference is taken after it."""

    t_start_s: float
    t_end_s: float
    reason: str


class RepetitionSegmenter:
    """Repetitions of one exercise task, streaming and chunk-invariant.

    ``update(t_s, q_body_to_earth, gyr_body_radps, acc_body_mps2=None)`` returns the
    repetitions that became final with the chunk; ``flush()`` those still open at the end
    of the task; ``reps`` holds them all, ``adjustments`` the movements that were not
    repetitions, ``messages`` what limits the result, ``posture`` and ``measured`` what
    the angles are (:func:`sacrum.scoring.exercises.posture.measurement_note`). The same
    processor fed a whole task at once is the offline analysis.

    **Data required.** ``q_body_to_earth`` (N, 4): the pelvis orientation
    (:func:`~sacrum.scoring.exercises.posture.body_orientation` of the device's
    orientation and the mounting; levelled by a standing calibration when there is one:
    only relative rotations are used, so an unlevelled mounting only mixes the axes by its
    error); ``gyr_body_radps`` (N, 3) body frame; ``acc_body_mps2`` (N, 3, body frame,
    gravity included: the specific force) for the vertical family. Constant rate
    ``rate_hz``; lost samples NaN rows (skipped; a repetition over a gap longer than
    ``max_gap_s`` says so).

    **Steps** (per sample, in order; a sample is processed once the still flag's window
    around it is complete, and, for the vertical family, the excursion's):

    1. *Still*: over a centred ``still_s``, the mean angular velocity (the net turn) is
       below ``still_radps`` and the RMS angular speed below 0.35 rad/s (a shake).
    2. *Set reference*: the mean orientation over the first ``ref_s`` of still samples
       (at the start, and after each adjustment): the angles from here on are relative to
       it (posture module, tilt-rotation-obliquity about the body's own axes).
    3. *Rest*: while still, the rest posture is updated to the current angles; the
       *drive* is the exercise's signal (:class:`~sacrum.scoring.exercises.catalogue.Exercise`
       ``drive``) of the angles less the rest posture - for the vertical family, the
       sacrum's downward excursion, less its value at rest: the vertical acceleration
       (earth frame, gravity removed) integrated to a velocity that is zero wherever the
       pelvis is still (as in step 1, and the vertical acceleration's RMS over the same
       window below ``acc_still_mps2``: at rest and at the bottom of a repetition), the
       velocity's drift between two such samples removed linearly (zero-velocity updates,
       as in foot-mounted inertial navigation: E. Foxlin 2005, IEEE Comput Graph Appl
       25(6):38-46), then integrated to a height.
       A movement's excursion is final when the pelvis is still again.
    4. *Onset*: the drive exceeds the exercise's ``onset``. Until it falls back to half
       of that, its peak is tracked, and the deviation on the other axes (the drive's
       magnitude itself for the alternating family; all three angles for the vertical
       one): past ``off_axis_rad`` the movement is an **adjustment** (re-positioning),
       not a repetition; the next still ``ref_s`` gives the next set's reference.
       A movement that does not come back within ``max_rep_s`` is an adjustment too, and
       so is a rest posture that moved past ``off_axis_rad`` from the set's start posture
       (a shift without a repetition-like movement).
    5. *End*: after the drive fell below half the onset, the first sample at or below
       ``edge_fraction`` of the peak, or still again, or the next onset; or, if the
       pelvis comes to rest (``ref_s`` still) below half the peak without the drive
       getting that low (the rest level moved: the vertical excursion's baseline wanders
       by a few cm), the first sample of that rest. The repetition's *level* is the median
       of the drive where it was above 80 % of its peak (the peak itself holds the sway's
       largest swing). Its start is the last sample before the onset at or below
       ``edge_fraction`` of the level, its end the first one after the hold at or below it
       (when there is one before the end found above). Tempo: up from the start to the
       first sample at ``top_fraction`` of the level, hold to the last one, down to the
       end.
    6. *Classify*: shorter than ``min_rep_s``: ignored (a twitch; counted in
       ``messages``). Partial: the peak below the exercise's ``full`` excursion, or below
       ``full_fraction`` of the median peak of the set's full repetitions so far (only
       where the drive measures the exercise's range: ``full > onset``), or shorter than
       the exercise's ``min_full_s``. Side: the task's; alternating: the sign of the
       exercise's ``side_signal`` at its largest (+ = left), or, below ``side_min_rad``,
       the other side than the previous repetition's.
    7. *Control* of the repetition (:func:`~sacrum.scoring.exercises.control.control_metrics`)
       over [start, end] against its start posture: the mean orientation of the still
       samples in the ``ref_s`` before the start, if any, else the orientation at the
       start.

    **Parameters.** rate_hz (Hz); still_radps = 0.025 (rad/s, ~1.4°/s: the net turn of a
    pelvis held still is a fraction of a degree per second, its tremor averages out; a
    2° bird-dog sway in 1 s turns it at twice that at its fastest);
    still_s = 0.4 (s); ref_s = 0.5 (s); edge_fraction = 0.05; top_fraction = 0.95;
    min_rep_s = 0.4 (s); max_rep_s = 30 (s: a held repetition longer than this is a hold
    exercise); set_break_s = 20 (s: a longer pause begins a new set); full_fraction =
    0.6; side_min_rad = 0.5° ; acc_still_mps2 = 0.1 (m/s²: a body at rest, sensor noise
    and sway included, stays well below; a repetition's acceleration passes it within a
    tenth of a second of its start); lowpass_hz = 6.0 (Hz, for
    the smoothness); max_gap_s = 0.25 (s). None fitted to data (no recordings of these
    exercises here): provisional.

    **Limits.** A sacral sensor sees the pelvis, not the limbs: in exercises where the
    pelvis should stay still (clamshell, bird dog, dead bug) a repetition done with less
    pelvic motion than the onset is not counted, and the range of the limb (a partial)
    cannot be seen, only a movement too short to be a repetition. The vertical family
    needs the pelvis still (no turn, no vertical acceleration) at rest between
    repetitions: a squat that never pauses is one long movement.

    **References.** S. M. McGill (2016). Low Back Disorders: Evidence-Based Prevention
    and Rehabilitation, 3rd ed. Human Kinetics (the exercises' execution, bird dog and
    side bridge holds). A. Savitzky, M. J. E. Golay (1964). Anal Chem 36:1627-1639.
    """

    def __init__(self, task: str | Exercise, rate_hz: float, *, still_radps: float = 0.025,
                 still_s: float = 0.4, ref_s: float = 0.5, edge_fraction: float = 0.05,
                 top_fraction: float = 0.95, min_rep_s: float = 0.4, max_rep_s: float = 30.0,
                 set_break_s: float = 20.0, full_fraction: float = 0.6,
                 side_min_rad: float = math.radians(0.5), acc_still_mps2: float = 0.1,
                 lowpass_hz: float = 6.0, max_gap_s: float = 0.25) -> None:
        self.ex = task if isinstance(task, Exercise) else exercise(task)
        if self.ex.held:
            raise ValueError(f"{self.ex.task} is a hold: use HoldSegmenter")
        if not rate_hz > 0:
            raise ValueError(f"rate_hz must be positive, not {rate_hz}")
        self.fs = float(rate_hz)
        self.still_radps, self.still_s, self.ref_s = still_radps, still_s, ref_s
        self.edge_fraction, self.top_fraction = edge_fraction, top_fraction
        self.min_rep_s, self.max_rep_s, self.set_break_s = min_rep_s, max_rep_s, set_break_s
        self.full_fraction, self.side_min_rad = full_fraction, side_min_rad
        self.acc_still_mps2, self.lowpass_hz = acc_still_mps2, lowpass_hz
        self.max_gap_s = max_gap_s
        self._vertical = self.ex.family == "vertical"
        if self.ex.family == "repetition":     # the drive is one angle, signed
            unit = np.zeros(3)
            unit[self.ex.drive_axis] = 1.0
            self._dsign = float(self.ex.drive(unit))
        self.reset()

    # ---- state -----------------------------------------------------------------------
    def reset(self) -> None:
        self.buf = SampleBuffer(self.fs, self.still_s, self.still_radps)
        self.reps: list[ExerciseRepetition] = []
        self.adjustments: list[Adjustment] = []
        self.messages: list[str] = []
        self.posture: str | None = None
        self.measured: str | None = None
        self._pos = 0
        self._state = _SEEK
        self._run = 0
        self._ref_q: np.ndarray | None = None
        self._ang: list = []                 # angles vs the set reference, rows [_a0, ...)
        self._a0 = 0
        self._drive = np.zeros(0)            # drive per processed row
        self._base = [0.0, 0.0, 0.0]
        self._base_v = 0.0
        self._set = -1
        self._full_peaks: list[float] = []
        self._last_end_t = -math.inf
        self._twitches = 0
        self._mv: dict = {}
        self._last: tuple[int, list[float]] | None = None
        # vertical excursion: running integrals and the excursion per row
        self._vz = _Vertical(self.fs, self.acc_still_mps2) if self._vertical else None

    # ---- streaming -------------------------------------------------------------------
    def update(self, t_s, q_body_to_earth, gyr_body_radps, acc_body_mps2=None,
               ) -> list[ExerciseRepetition]:
        if self._vertical and acc_body_mps2 is None:
            raise ValueError(f"{self.ex.task}: the vertical family needs acc_body_mps2")
        self.buf.append(t_s, q_body_to_earth, gyr_body_radps, acc_body_mps2)
        return self._advance(final=False)

    def current(self) -> dict:
        """The live state, for a guided view: ``set_index``, ``n_full`` (full repetitions
        so far in the set), ``in_repetition`` (a movement under way), ``t_onset_s`` (its
        onset, NaN if none), ``t_s`` (the last sample decided on: the still window and,
        for the split squat, the movement's end lag the newest sample), ``drive`` (rad;
        m for the split squat) and ``metrics_rad`` (the exercise's own metric signals now,
        against the rest before the movement; the set-frame angle difference, exact for
        small angles: the repetition's own values come when it is final)."""
        t = self.buf.t
        moving = self._state in (_MOVING, _RETURNING)
        last = self._last
        out = {"set_index": max(self._set, 0),
               "n_full": sum(1 for r in self.reps if r.set_index == self._set and not r.partial),
               "in_repetition": moving,
               "t_onset_s": float(t[self._mv["onset"]]) if moving else math.nan,
               "t_s": float(t[last[0]]) if last else math.nan,
               "drive": float(self._drive[last[0]]) if last else math.nan,
               "metrics_rad": {}}
        if last:
            d = np.array(last[1]) - np.array(self._base)
            out["metrics_rad"] = {m.name[:-4] + "_rad": float(m.signal(d)) for m in
                                  self.ex.metrics}
        return out

    def flush(self) -> list[ExerciseRepetition]:
        out = self._advance(final=True)
        mv = self._mv
        if self._state == _RETURNING:
            out += self._finish(self.buf.n - 1)
        elif self._state == _MOVING:
            self.messages.append(f"a movement from {self.buf.t[mv['onset']]:.1f} s had not come "
                                 "back when the data ended: not counted")
        if self._twitches:
            self.messages.append(f"{self._twitches} movement(s) shorter than "
                                 f"{self.min_rep_s:.1f} s ignored")
        if self._ref_q is None:
            self.messages.append(f"never still for {self.ref_s:.1f} s: no start posture, no "
                                 "repetitions counted")
        elif not self.reps:
            self.messages.append(self._none_message())
        return out

    # ---- the per-sample state machine --------------------------------------------------
    def _ready(self, final: bool) -> int:
        n_still = self.buf.fill_still(final)
        if self._vertical:
            return self._vz.fill(self.buf, final)
        return n_still

    def _angles(self, i: int, hi: int) -> list[float]:
        if i - self._a0 >= len(self._ang):
            q = self.buf.q[i:hi]
            self._ang = relative_angles(q, self._ref_q).tolist()
            self._a0 = i
        return self._ang[i - self._a0]

    def _advance(self, final: bool) -> list[ExerciseRepetition]:
        hi = self._ready(final)
        out: list[ExerciseRepetition] = []
        if len(self._drive) < hi:
            self._drive = np.concatenate([self._drive, np.full(hi - len(self._drive), np.nan)])
        t, still, q = self.buf.t, self.buf.still.a[:, 0], self.buf.q
        ex = self.ex
        n_ref = max(1, round(self.ref_s * self.fs))
        valid = np.all(np.isfinite(q[:hi]), axis=1).tolist()
        for i in range(self._pos, hi):
            if not valid[i]:
                continue
            st = self._state
            if st in (_SEEK, _SETTLE):
                self._run = self._run + 1 if still[i] else 0
                if self._run >= n_ref:
                    self._new_set(i - n_ref + 1, i)
                continue
            a = self._angles(i, hi)
            self._last = (i, a)
            if st == _REST:
                if still[i]:
                    self._base = a
                    if self._vertical:
                        self._base_v = float(self._vz.e[i])
                d = self._drive_at(a, i)
                self._drive[i] = d
                off = self._off_axis(a, rest=False)
                if ex.off_axis_rad is not None and off > ex.off_axis_rad:
                    self._mv = {"onset": i, "peak": d, "peak_i": i, "off": off}
                    self._adjust(i, f"the rest posture moved {math.degrees(off):.0f}° off the "
                                    "set's start posture")
                elif d > ex.onset:
                    self._mv = {"onset": i, "peak": d, "peak_i": i, "off": 0.0}
                    self._state = _MOVING
                continue
            d = self._drive_at(a, i)
            self._drive[i] = d
            mv = self._mv
            if st == _MOVING:
                if d > mv["peak"]:
                    mv["peak"], mv["peak_i"] = d, i
                pi_ = mv["peak_i"]
                off = self._off_axis(a)
                mv["off"] = max(mv["off"], off)
                if ex.off_axis_rad is not None and off > ex.off_axis_rad:
                    self._adjust(i, f"moved {math.degrees(off):.0f}° off the exercise's "
                                    f"axis (limit {math.degrees(ex.off_axis_rad):.0f}°)")
                elif t[i] - t[mv["onset"]] > self.max_rep_s:
                    self._adjust(i, f"did not come back within {self.max_rep_s:.0f} s")
                elif d < 0.5 * ex.onset:
                    self._state = _RETURNING
                    mv["min"], mv["min_i"] = d, i
                else:   # at rest again below half the peak: back (the level moved a little)
                    mv["still"] = mv.get("still", 0) + 1 if still[i] and i > pi_ else 0
                    if mv["still"] >= n_ref and d < 0.5 * mv["peak"]:
                        out += self._finish(i - n_ref + 1)
                continue
            # _RETURNING
            if d < mv["min"]:
                mv["min"], mv["min_i"] = d, i
            if d <= self.edge_fraction * mv["peak"] or still[i]:
                out += self._finish(i)
            elif d > ex.onset:
                out += self._finish(mv["min_i"])
                self._mv = {"onset": i, "peak": d, "peak_i": i, "off": 0.0}
                self._state = _MOVING
        self._pos = max(self._pos, hi)
        return out

    def _drive_at(self, a: list[float], i: int) -> float:
        b = self._base
        if self._vertical:
            return float(self._vz.e[i]) - self._base_v
        if self.ex.family == "alternating":
            return math.sqrt((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2 + (a[2] - b[2]) ** 2)
        k = self.ex.drive_axis
        return self._dsign * (a[k] - b[k])

    def _off_axis(self, a: list[float], rest: bool = True) -> float:
        b = self._base if rest else (0.0, 0.0, 0.0)
        rel = [abs(a[0] - b[0]), abs(a[1] - b[1]), abs(a[2] - b[2])]
        if self._vertical:
            return max(rel)
        if self.ex.family == "alternating":
            return math.sqrt(rel[0] ** 2 + rel[1] ** 2 + rel[2] ** 2)
        return max(r for k, r in enumerate(rel) if k != self.ex.drive_axis)

    def _new_set(self, i0: int, i1: int) -> None:
        q = self.buf.q[i0:i1 + 1]
        self._ref_q = mean_orientation(q)
        self._ang = []
        self._base = [0.0, 0.0, 0.0]
        if self._vertical:
            self._base_v = float(self._vz.e[i1])
        self._set += 1
        self._state = _REST
        if self.posture is None:
            self.posture = classify_posture(self._ref_q[None, :])
            self.measured = measurement_note(self.posture)
            if self.posture != self.ex.posture:
                self.messages.append(f"the pelvis was {self.posture} at the start; "
                                     f"{self.ex.task} is done {self.ex.posture}: check the "
                                     "task")
        if self.adjustments and math.isnan(self.adjustments[-1].t_end_s):
            self.adjustments[-1].t_end_s = float(self.buf.t[i0])

    def _adjust(self, i: int, reason: str) -> None:
        mv = self._mv
        s = self._start_index(mv["onset"], mv["peak"])
        self.adjustments.append(Adjustment(float(self.buf.t[s]), math.nan, reason))
        self._state, self._run = _SETTLE, 0
        self._full_peaks = []

    def _start_index(self, onset: int, peak: float) -> int:
        lim = self.edge_fraction * peak
        d = self._drive
        j = onset
        while j > 0 and not (d[j] <= lim) and np.isfinite(d[j - 1]):
            j -= 1
        return j

    def _finish(self, end: int) -> list[ExerciseRepetition]:
        mv, ex, t = self._mv, self.ex, self.buf.t
        self._state = _REST
        peak = mv["peak"]
        level = self._plateau(mv["onset"], end, peak)
        s = self._start_index(mv["onset"], level)
        d = self._drive[s:end + 1]
        above = np.flatnonzero(d >= self.top_fraction * level)
        i_top, i_rel = s + int(above[0]), s + int(above[-1])
        edge = np.flatnonzero(d[i_rel - s:] <= self.edge_fraction * level)
        if len(edge):
            end = i_rel + int(edge[0])
            d = d[:end - s + 1]
        dur = float(t[end] - t[s])
        if dur < self.min_rep_s:
            self._twitches += 1
            return []
        why = []
        if ex.full > ex.onset:
            if peak < ex.full:
                why.append(f"reached {self._fmt(peak)} of the {self._fmt(ex.full)} of a full "
                           "repetition")
            elif (self._full_peaks
                  and peak < self.full_fraction * float(np.median(self._full_peaks))):
                why.append(f"reached {self._fmt(peak)}, under {100 * self.full_fraction:.0f} % "
                           f"of the set's median {self._fmt(float(np.median(self._full_peaks)))}")
        if dur < ex.min_full_s:
            why.append(f"lasted {dur:.1f} s, under the {ex.min_full_s:.1f} s of a full "
                       "repetition")
        new_set = (t[s] - self._last_end_t > self.set_break_s) and bool(self.reps)
        if new_set and self.reps[-1].set_index == self._set:
            self._set += 1
            self._full_peaks = []
        q_start = self._start_posture(s)
        sl = slice(s, end + 1)
        ctrl = control_metrics(ex, self.buf.q[sl], self.buf.gyr[sl], q_start, self.fs,
                               self.lowpass_hz)
        side = self._side(ctrl, self.buf.q[sl], q_start)
        msgs = []
        gap = self._longest_gap(s, end)
        if gap > self.max_gap_s:
            msgs.append(f"{gap:.2f}-s gap in the repetition: its control values may miss "
                        "the largest deviation")
        rep = ExerciseRepetition(
            index=len(self.reps), set_index=self._set, side=side,
            t_start_s=float(t[s]), t_top_s=float(t[i_top]), t_release_s=float(t[i_rel]),
            t_end_s=float(t[end]), up_s=float(t[i_top] - t[s]),
            hold_s=float(t[i_rel] - t[i_top]), down_s=float(t[end] - t[i_rel]),
            duration_s=dur, partial=bool(why), why_partial="; ".join(why),
            peak_rad=math.nan if self._vertical else float(peak),
            depth_m=float(peak) if self._vertical else math.nan,
            control=ctrl, messages=msgs)
        if not why:
            self._full_peaks.append(float(peak))
        self._last_end_t = float(t[end])
        self.reps.append(rep)
        return [rep]

    def _plateau(self, onset: int, end: int, peak: float) -> float:
        """The level the repetition was held at: the median of the drive where it was
        above 80 % of its peak (the peak itself carries the sway's largest swing)."""
        d = self._drive[onset:end + 1]
        d = d[np.isfinite(d) & (d >= 0.8 * peak)]
        return float(np.median(d)) if len(d) else peak

    def _start_posture(self, s: int) -> np.ndarray:
        n = max(1, round(self.ref_s * self.fs))
        lo = max(0, s - n)
        still = self.buf.still.a[lo:s + 1, 0] > 0
        if still.any():
            return mean_orientation(self.buf.q[lo:s + 1][still])
        return self.buf.q[s]

    def _side(self, ctrl: dict, q: np.ndarray, q_start: np.ndarray) -> str | None:
        ex = self.ex
        if ex.side != "alternating":
            return ex.side
        v = ex.side_signal(relative_angles(q, q_start))
        v = v[np.isfinite(v)]
        ext = float(v[int(np.argmax(np.abs(v)))]) if len(v) else 0.0
        if abs(ext) >= self.side_min_rad:
            return "L" if ext > 0 else "R"
        prev = next((r.side for r in reversed(self.reps) if r.side in ("L", "R")), None)
        return {"L": "R", "R": "L"}.get(prev, "?")

    def _longest_gap(self, s: int, e: int) -> float:
        ok = np.all(np.isfinite(self.buf.q[s:e + 1]), axis=1)
        if ok.all():
            return 0.0
        best = run = 0
        for v in ok:
            run = 0 if v else run + 1
            best = max(best, run)
        return best / self.fs

    def _fmt(self, x: float) -> str:
        return f"{100 * x:.1f} cm" if self._vertical else f"{math.degrees(x):.1f}°"

    def _none_message(self) -> str:
        return (f"no {self.ex.task} repetitions: the drive never exceeded "
                f"{self._fmt(self.ex.onset)} from rest and came back"
                + (" (a sacral sensor sees only the pelvis: " + self.ex.notes[0] + ")"
                   if self.ex.notes else ""))


class _Vertical:
    """The sacrum's downward excursion (m) per row, by zero-velocity updates: the vertical
    acceleration integrated over each movement between two still rows (the buffer's still
    flag, and the acceleration's RMS over the same window below ``acc_still_mps2``), its
    velocity's drift removed linearly so that it is zero at both ends, integrated again;
    the height stays put while still. Rows are filled once the movement they belong to
    has ended (at ``final``: all, the last movement ending with the data)."""

    def __init__(self, fs: float, acc_still_mps2: float) -> None:
        self.fs, self.acc_still_mps2 = fs, acc_still_mps2
        self.av = np.zeros(0)            # vertical acceleration, gravity removed
        self.e = np.zeros(0)             # downward excursion, filled rows
        self._z = 0.0                    # height at the last filled row
        self._m0: int | None = None      # first row of the movement under way

    def fill(self, buf: SampleBuffer, final: bool) -> int:
        n = buf.n
        if len(self.av) < n:
            rows = buf.rows.a[len(self.av):n]
            with np.errstate(invalid="ignore"):
                av = quat_rotate(rows[:, 1:5], rows[:, 8:11])[:, 2] - G_MPS2
            self.av = np.concatenate([self.av, av])
        n_still = buf.still.n
        done = len(self.e)
        if n_still <= done:
            return self._ready()
        h = buf.h
        lo, hi = max(0, done - h), min(n, n_still + h)
        a = self.av[lo:hi]
        ok = np.isfinite(a)
        c = np.concatenate([[0.0], np.cumsum(np.where(ok, a * a, 0.0))])
        k = np.concatenate([[0], np.cumsum(ok)])
        idx = np.arange(done, n_still)
        i0, i1 = np.maximum(idx - h, 0) - lo, np.minimum(idx + h + 1, n) - lo
        with np.errstate(invalid="ignore", divide="ignore"):
            quiet = np.sqrt((c[i1] - c[i0]) / (k[i1] - k[i0])) < self.acc_still_mps2
        rest = (buf.still.a[done:n_still, 0] > 0) & quiet
        self.e = np.concatenate([self.e, np.full(n_still - done, np.nan)])
        for j, r in zip(idx.tolist(), rest.tolist(), strict=True):
            if r:
                if self._m0 is not None:
                    self._integrate(self._m0, j - 1)
                    self._m0 = None
                self.e[j] = -self._z
            elif self._m0 is None:
                self._m0 = j
        if final and self._m0 is not None:
            self._integrate(self._m0, n_still - 1)
            self._m0 = None
        return self._ready()

    def _ready(self) -> int:
        return self._m0 if self._m0 is not None else len(self.e)

    def _integrate(self, m0: int, m1: int) -> None:
        dt = 1.0 / self.fs
        a = np.nan_to_num(self.av[m0:m1 + 1])
        v = np.cumsum(a) * dt
        v = v - v[-1] * np.arange(1, len(v) + 1) / len(v)     # zero at both ends
        z = self._z + np.cumsum(v) * dt
        self.e[m0:m1 + 1] = -z
        self._z = float(z[-1])


__all__ = ["Adjustment", "ExerciseRepetition", "RepetitionSegmenter"]
