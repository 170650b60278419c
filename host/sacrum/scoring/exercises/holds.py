"""Held exercises, streaming: plank, side plank, bridge hold.

:class:`HoldSegmenter` finds each hold of a task (several sets: several holds), its time,
when control was lost, and the pelvic control over it.
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
    up_in_body,
)

_WAIT, _HOLD = range(2)


@dataclass
class ExerciseHold:
    """One hold.

    index: 0, 1, ... (one per set); t_start_s: the pelvis came to rest in the position
    (the first still sample after the entry movement); t_end_s: the last still sample
    before it left the position (or the end of the data: ``held_to_end``, a lower bound);
    hold_s = t_end_s - t_start_s. t_control_lost_s: the first sample of the first run of
    at least ``loss_s`` over which the exercise's control signal exceeded its
    ``loss_rad`` (NaN: never); control_lost_after_s from the start; lost_by: the signal.
    entry_rad: how far the position is from the posture before it.

    Control over the hold against its reference posture (the mean over its first
    ``ref_s``), rad and rad/s: the three ``*_excursion_rad``, the exercise's own metrics,
    ``sway_rms_radps``, ``ldlj_v`` (``control``); ``drift_radps``: the slope of the control
    signal over the hold (+ = the fault growing: fatigue); ``sway_first_half_radps``,
    ``sway_second_half_radps``: the sway in each half (shaking as the hold goes on).
    """

    index: int
    t_start_s: float
    t_end_s: float
    hold_s: float
    held_to_end: bool
    t_control_lost_s: float
    control_lost_after_s: float
    lost_by: str
    entry_rad: float
    drift_radps: float
    sway_first_half_radps: float
    sway_second_half_radps: float
    control: dict = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)

    def to_dict_deg(self) -> dict:
        """Flat fields for a report or JSON: degrees (``*_deg``), deg/s (``*_dps``)."""
        d = asdict(self)
        ctrl = d.pop("control")
        d = to_deg(d)
        d.update(to_deg(ctrl))
        return d


class HoldSegmenter:
    """The holds of one held-exercise task, streaming and chunk-invariant.

    ``update(t_s, q_body_to_earth, gyr_body_radps)`` returns the holds that ended with the
    chunk, ``flush()`` the one still held at the end of the task (``held_to_end``);
    ``holds`` holds them all; ``current()`` the hold in progress (live: time held so far,
    control lost yet). Same data as
    :class:`~sacrum.scoring.exercises.repetitions.RepetitionSegmenter`.

    **Steps.**

    1. *Still*: over a centred ``still_s``, the mean angular velocity below ``still_radps``
       and the RMS angular speed below 0.35 rad/s (a tremor does not turn the pelvis; a
       movement, however slow, does).
    2. *Before*: the posture before the hold is the mean of the latest ``ref_s`` of still
       samples while waiting (none until the first ``ref_s`` of stillness: start the task
       before getting into position).
    3. *Start*: a run of at least ``settle_s`` still samples whose inclination (the earth's
       vertical seen in the body frame; a turn about the vertical, as in turning round on
       a mat, is no entry) is at least ``entry_rad`` from the posture before: the hold
       starts at its first sample, or earlier where the angular speed over ±0.05 s was
       already below ``still_radps`` (the still window lags the end of a movement); its
       reference is the mean over its first ``ref_s``. (A task that is still from its
       first sample to its end with no entry seen is taken as one hold from the start, at
       ``flush``, and says so.)
    4. *Control lost*: the exercise's control signal of the angles against the reference
       above its ``loss_rad`` for ``loss_s``: the run's first sample.
    5. *End*: the inclination more than ``max(exit_rad, exit_fraction · entry)`` from the
       reference's (the position left: back down, or collapsed): the hold ended at the last
       still sample before, or later while the angular speed over ±0.05 s stayed below
       ``still_radps``. Then back to 2 for the next set's hold.

    **Parameters.** rate_hz (Hz); still_radps = 0.025 (rad/s); still_s = 0.4 (s);
    ref_s = 0.5 (s); settle_s = 1.0 (s); entry_rad = 6° ; loss_s = 1.0 (s); exit_rad = 8°;
    exit_fraction = 0.6; min_hold_s = 2.0 (s: a shorter hold is reported in ``messages``,
    not as a hold); lowpass_hz = 6.0 (Hz). The exercises' ``loss_rad`` (5°) is judgement:
    provisional (docs/exercises.md).

    **Limits.** The hold is found from the pelvis: getting into position must move it by
    ``entry_rad`` (a plank from lying face down tilts it by 10-20°, a side plank lifts the
    hips sideways by as much, a bridge tilts it 20-30°). A sag that ends in lying down is
    the end of the hold, not a loss of control.

    **References.** S. M. McGill, A. Childs, C. Liebenson (1999). Endurance times for
    low back stabilization exercises: clinical targets for testing and training from a
    normal database. Arch Phys Med Rehabil 80:941-944.
    """

    def __init__(self, task: str | Exercise, rate_hz: float, *, still_radps: float = 0.025,
                 still_s: float = 0.4, ref_s: float = 0.5, settle_s: float = 1.0,
                 entry_rad: float = math.radians(6.0), loss_s: float = 1.0,
                 exit_rad: float = math.radians(8.0), exit_fraction: float = 0.6,
                 min_hold_s: float = 2.0, lowpass_hz: float = 6.0) -> None:
        self.ex = task if isinstance(task, Exercise) else exercise(task)
        if not self.ex.held:
            raise ValueError(f"{self.ex.task} is not a hold: use RepetitionSegmenter")
        if not rate_hz > 0:
            raise ValueError(f"rate_hz must be positive, not {rate_hz}")
        self.fs = float(rate_hz)
        self.still_radps, self.still_s, self.ref_s = still_radps, still_s, ref_s
        self.settle_s, self.entry_rad, self.loss_s = settle_s, entry_rad, loss_s
        self.exit_rad, self.exit_fraction = exit_rad, exit_fraction
        self.min_hold_s, self.lowpass_hz = min_hold_s, lowpass_hz
        self.reset()

    def reset(self) -> None:
        self.buf = SampleBuffer(self.fs, self.still_s, self.still_radps)
        self.holds: list[ExerciseHold] = []
        self.messages: list[str] = []
        self.posture: str | None = None
        self.measured: str | None = None
        self._pos = 0
        self._state = _WAIT
        self._before: np.ndarray | None = None
        self._run = 0
        self._h: dict = {}
        self._moved = False
        self._up = np.zeros((0, 3))            # earth vertical in the body frame, per row
        self._upc = np.zeros((1, 4))           # its running sum and the count of valid rows

    # ---- streaming -------------------------------------------------------------------
    def update(self, t_s, q_body_to_earth, gyr_body_radps) -> list[ExerciseHold]:
        self.buf.append(t_s, q_body_to_earth, gyr_body_radps, None)
        return self._advance(final=False)

    def flush(self) -> list[ExerciseHold]:
        out = self._advance(final=True)
        if self._state == _HOLD:
            out += self._finish(self.buf.n - 1, held_to_end=True)
        elif not self.holds and not self._moved and self.buf.n:
            still = self.buf.still.a[:, 0] > 0
            if still.mean() > 0.9:
                self.messages.append("no entry into the position seen (still from the start):"
                                     " the hold is taken from the start of the task")
                self._start(int(np.flatnonzero(still)[0]))
                out += self._finish(self.buf.n - 1, held_to_end=True)
        if not self.holds:
            self.messages.append(
                f"no {self.ex.task} hold found: the pelvis never came to rest for "
                f"{self.settle_s:.1f} s at least {math.degrees(self.entry_rad):.0f}° from "
                "where it was before")
        return out

    def current(self) -> dict | None:
        """The hold in progress: ``{"t_start_s", "held_s", "t_control_lost_s"}``, or None."""
        if self._state != _HOLD:
            return None
        h = self._h
        t = self.buf.t
        return {"t_start_s": float(t[h["start"]]), "held_s": float(t[self._pos - 1]
                                                                   - t[h["start"]]),
                "t_control_lost_s": (float(t[h["lost"]]) if h["lost"] is not None
                                     else math.nan)}

    # ---- the state machine -------------------------------------------------------------
    def _advance(self, final: bool) -> list[ExerciseHold]:
        hi = self.buf.fill_still(final)
        q, still = self.buf.q, self.buf.still.a[:, 0]
        n_ref = max(1, round(self.ref_s * self.fs))
        n_settle = max(n_ref, round(self.settle_s * self.fs))
        n_loss = max(1, round(self.loss_s * self.fs))
        out: list[ExerciseHold] = []
        self._fill_up(hi)
        valid = np.all(np.isfinite(q[:hi]), axis=1)
        i = self._pos
        while i < hi:
            if not valid[i]:
                i += 1
                continue
            if self._state == _WAIT:
                if not still[i]:
                    self._run = 0
                    self._moved = True
                    i += 1
                    continue
                self._run += 1
                run0 = i - self._run + 1
                if self._before is None:
                    if self._run >= n_ref:
                        self._before = self._mean_up(run0, i)
                elif self._run >= n_ref and self._entry(run0, i) < self.entry_rad:
                    self._before = self._mean_up(i - n_ref + 1, i)
                elif self._run >= n_settle:
                    self._start(run0)
                    i = run0 + n_ref         # the reference's samples are taken
                    continue
                i += 1
                continue
            h = self._h
            if i - h["b0"] >= len(h["c"]):          # the hold's signals for rows [i, hi)
                h["b0"] = i
                h["c"] = self.ex.control(relative_angles(q[i:hi], h["ref"]))
                h["dev"] = _inclination_change(q[i:hi], h["ref"])
            k = i - h["b0"]
            if still[i]:
                h["last_still"] = i
            if h["lost"] is None:
                h["loss_run"] = h["loss_run"] + 1 if h["c"][k] > self.ex.loss_rad else 0
                if h["loss_run"] >= n_loss:
                    h["lost"] = i - n_loss + 1
            entry = h["entry"] if math.isfinite(h["entry"]) else 0.0
            if h["dev"][k] > max(self.exit_rad, self.exit_fraction * entry):
                end = h["last_still"]
                while end + 1 < i and self.buf.quiet(end + 1):
                    end += 1
                out += self._finish(end, held_to_end=False)
            i += 1
        self._pos = max(self._pos, hi)
        return out

    def _fill_up(self, hi: int) -> None:
        """The earth's vertical in the body frame per row, and its running sum."""
        n0 = len(self._up)
        if hi <= n0:
            return
        with np.errstate(invalid="ignore"):
            up = up_in_body(self.buf.q[n0:hi])
        ok = np.all(np.isfinite(up), axis=1)
        up = np.where(ok[:, None], up, 0.0)
        last = self._upc[-1]
        self._up = np.vstack([self._up, up])
        c = np.cumsum(np.hstack([up, ok[:, None].astype(float)]), axis=0) + last
        self._upc = np.vstack([self._upc, c])

    def _mean_up(self, i0: int, i1: int) -> np.ndarray:
        c = self._upc[i1 + 1] - self._upc[i0]
        v = c[:3] / max(c[3], 1.0)
        return v / max(float(np.linalg.norm(v)), 1e-12)

    def _entry(self, i0: int, i1: int) -> float:
        u = self._mean_up(i0, i1)
        return float(np.arccos(np.clip(u @ self._before, -1.0, 1.0)))

    def _start(self, s: int) -> None:
        n_ref = max(1, round(self.ref_s * self.fs))
        while s > 0 and self.buf.quiet(s - 1) and np.all(np.isfinite(self.buf.q[s - 1])):
            s -= 1
        ref = mean_orientation(self.buf.q[s:s + n_ref])
        entry = self._entry(s, s + n_ref - 1) if self._before is not None else math.nan
        self._h = {"start": s, "ref": ref, "entry": entry, "lost": None, "loss_run": 0,
                   "last_still": s,
                   "b0": s, "c": np.zeros(0), "dev": np.zeros(0)}
        self._state = _HOLD
        if self.posture is None:
            self.posture = classify_posture(ref[None, :])
            self.measured = measurement_note(self.posture)
            if self.posture != self.ex.posture:
                self.messages.append(f"the pelvis was {self.posture} in the hold; "
                                     f"{self.ex.task} is done {self.ex.posture}: check the "
                                     "task")

    def _finish(self, end: int, held_to_end: bool) -> list[ExerciseHold]:
        h, t = self._h, self.buf.t
        self._state, self._run = _WAIT, 0
        s = h["start"]
        self._before = None
        hold_s = float(t[end] - t[s])
        if hold_s < self.min_hold_s:
            self.messages.append(f"a {hold_s:.1f}-s hold at {t[s]:.1f} s: shorter than "
                                 f"{self.min_hold_s:.1f} s, not counted")
            return []
        sl = slice(s, end + 1)
        q, gyr = self.buf.q[sl], self.buf.gyr[sl]
        ctrl = control_metrics(self.ex, q, gyr, h["ref"], self.fs, self.lowpass_hz)
        c = self.ex.control(relative_angles(q, h["ref"]))
        tt = t[sl]
        ok = np.isfinite(c)
        drift = (float(np.polyfit(tt[ok] - tt[0], c[ok], 1)[0]) if ok.sum() > 2
                 else math.nan)
        half = (end - s + 1) // 2
        g2 = np.einsum("ij,ij->i", gyr, gyr)
        sway1 = float(np.sqrt(np.nanmean(g2[:half]))) if half else math.nan
        sway2 = float(np.sqrt(np.nanmean(g2[half:])))
        lost = h["lost"]
        lost_ok = lost is not None and lost <= end
        msgs = []
        if held_to_end:
            msgs.append(f"held to the end of the data: hold time at least {hold_s:.1f} s")
        hold = ExerciseHold(
            index=len(self.holds), t_start_s=float(t[s]), t_end_s=float(t[end]),
            hold_s=hold_s, held_to_end=held_to_end,
            t_control_lost_s=float(t[lost]) if lost_ok else math.nan,
            control_lost_after_s=float(t[lost] - t[s]) if lost_ok else math.nan,
            lost_by=self._lost_by() if lost_ok else "",
            entry_rad=h["entry"], drift_radps=drift, sway_first_half_radps=sway1,
            sway_second_half_radps=sway2, control=ctrl, messages=msgs)
        self.holds.append(hold)
        return [hold]

    def _lost_by(self) -> str:
        m = self.ex.metrics[0]
        return (f"{m.meaning} over {math.degrees(self.ex.loss_rad):.0f}° for "
                f"{self.loss_s:.1f} s")


def _inclination_change(q: np.ndarray, q_ref: np.ndarray) -> np.ndarray:
    """Angle (rad) between the earth's vertical seen in the body frame of ``q`` (N, 4)
    and of ``q_ref``: how much the pelvis's inclination changed, whatever it turned about
    the vertical (turning round on a mat is no entry into a position)."""
    u = up_in_body(q)
    u0 = up_in_body(q_ref)[0]
    return np.arccos(np.clip(u @ u0, -1.0, 1.0))


__all__ = ["ExerciseHold", "HoldSegmenter"]
