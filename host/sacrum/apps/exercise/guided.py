"""The guided session's state machine: a programme followed live, without Qt.

:class:`GuidedSession` takes the pelvis's samples as they come (body orientation, body
angular rate and acceleration: :func:`sacrum.scoring.exercises.posture.body_orientation`
of the live fusion) and walks through the programme's :class:`~.programme.Block` s:

1. **prepare** (``Programme.prepare_s``), then each block in turn;
2. **exercise**: the block's task starts (``on_task(task)``: the live session writes
   task_start into the capture) and a fresh segmenter of the task
   (:func:`sacrum.scoring.exercises.segmenter`, the one ``sacrum analyze`` runs on the
   task's samples) is fed every sample from the next chunk on;
3. the set is **done** when its full repetitions reach the target (partials do not
   count), or, for a hold, when the hold in progress has lasted ``hold_s`` (the cue
   says "release") and the pelvis has left the position (or ``release_timeout_s``
   passed);
4. **finishing** ``settle_s`` more (the last repetition's end is inside the task, as the
   offline segmenter needs it), then the task stops (``on_task(None)``), the segmenter
   is flushed (as the offline run flushes at the task's end) and the block's result
   kept;
5. **rest** for the block's ``rest_after_s`` (a countdown), then the next block (2); after
   the last, **finished**.

A **cue** (:class:`GuidedCue`) comes only inside a repetition or a hold, never in rest or
between repetitions: inside a repetition when the exercise's own metric signal
(``RepetitionSegmenter.current()["metrics_rad"]``, against the rest before the movement)
passes the threshold (once per repetition); in a hold when its control signal
(``Exercise.control`` of the angles against the hold's start) passes it (again after it
came back below 70 % of it, at most every ``cue_gap_s``). The threshold is the block's
``cue_deg``, else the ``normal_max`` of the exercise's band (exercise_bands.toml): where
its control score starts to fall.

Times are the session's (s). Lost samples: NaN rows are inserted where the time axis
jumps, as the offline analysis has them.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from sacrum.apps.exercise.programme import Block, Programme
from sacrum.scoring.exercises import HoldSegmenter, exercise, load_exercise_bands, segmenter
from sacrum.scoring.exercises.posture import relative_angles

log = logging.getLogger(__name__)

PREPARE, EXERCISE, FINISHING, REST, FINISHED = (
    "prepare", "exercise", "finishing", "rest", "finished")
REARM_FRACTION = 0.7


@dataclass
class GuidedCue:
    """A cue: at ``t_s`` in block ``block`` the pelvis passed the threshold; value_deg:
    the signal then (deg); what: "repetition" or "hold"; side: the block's side ("L",
    "R" or "" — the visual flash's side)."""

    t_s: float
    block: int
    value_deg: float
    what: str
    side: str = ""


@dataclass
class BlockResult:
    """What the live session counted in one block (one set of one side).

    n_repetitions (full), n_partial, hold_s (the longest hold, s; held exercises),
    n_holds, rep_values_deg: per repetition (partials included) the own metric (deg),
    with rep_partial and rep_sides; cues: their number; t_start_s / t_end_s: the task's
    span (session time); completed: the target was reached (False: skipped, or the data
    ended first).
    """

    block: Block
    t_start_s: float
    t_end_s: float = math.nan
    n_repetitions: int = 0
    n_partial: int = 0
    hold_s: float | None = None
    n_holds: int = 0
    rep_values_deg: list[float] = field(default_factory=list)
    rep_partial: list[bool] = field(default_factory=list)
    rep_sides: list[str | None] = field(default_factory=list)
    cues: int = 0
    completed: bool = False

    def as_dict(self) -> dict:
        b = self.block
        return {"block": b.index, "task": b.task, "label": b.label,
                "set_number": b.set_number, "n_sets": b.n_sets, "side": b.side,
                "target_repetitions": b.repetitions, "target_hold_s": b.hold_s,
                "t_start_s": self.t_start_s, "t_end_s": self.t_end_s,
                "n_repetitions": self.n_repetitions, "n_partial": self.n_partial,
                "hold_s": self.hold_s, "n_holds": self.n_holds,
                "repetition_metric_deg": self.rep_values_deg,
                "repetition_partial": self.rep_partial, "cues": self.cues,
                "completed": self.completed}


@dataclass
class GuidedState:
    """What a view shows (a copy, safe to keep): state (prepare, exercise, finishing,
    rest, finished); block (the current or next; None when finished); n_blocks;
    n_full, n_partial, in_repetition; held_s (the hold so far, s; NaN: not in a hold);
    hold_done (the hold time is reached: release); remaining_s (prepare or rest
    countdown, s); metric (the own metric's name) and threshold_deg / poor_deg (the cue
    threshold and the band's poor edge); rep_values_deg, rep_partial: the set's
    repetitions so far; live_value_deg: the cue signal now (NaN outside a repetition or
    hold); cues: every cue so far; results: the finished blocks; t_s: the newest sample."""

    state: str
    block: Block | None
    n_blocks: int
    n_full: int = 0
    n_partial: int = 0
    in_repetition: bool = False
    held_s: float = math.nan
    hold_done: bool = False
    remaining_s: float = math.nan
    metric: str = ""
    threshold_deg: float = math.nan
    poor_deg: float = math.nan
    rep_values_deg: list[float] = field(default_factory=list)
    rep_partial: list[bool] = field(default_factory=list)
    live_value_deg: float = math.nan
    cues: list[GuidedCue] = field(default_factory=list)
    results: list[BlockResult] = field(default_factory=list)
    t_s: float = math.nan


def cue_threshold_deg(block: Block, bands: dict) -> tuple[str, float, float]:
    """(metric name, cue threshold, poor edge) of a block, deg: the block's ``cue_deg``
    or the band's ``normal_max``; the band's ``poor_max``."""
    ex = exercise(block.task)
    band = bands.get("control", {}).get(ex.base, {})
    metric = band.get("metric", ex.metrics[0].name)
    normal = float(band.get("normal_max", 3.0))
    poor = float(band.get("poor_max", 2 * normal))
    thr = block.cue_deg if block.cue_deg is not None else normal
    return metric, float(thr), max(poor, float(thr))


class GuidedSession:
    """The programme followed live (module docstring).

    programme; rate_hz (Hz): the samples'; on_task(task or None): called when a block's
    task starts and stops (the live session writes them into the capture); bands: the
    exercise bands (packaged by default); settle_s (s): kept in the task after the set is
    done; release_timeout_s (s): after a hold's time is reached, how long to wait for the
    pelvis to leave the position before the set ends anyway; cue_gap_s (s): between two
    cues of one hold.
    """

    def __init__(self, programme: Programme, rate_hz: float, *,
                 on_task: Callable[[str | None], None] | None = None,
                 bands: dict | None = None, settle_s: float = 1.5,
                 release_timeout_s: float = 15.0, cue_gap_s: float = 3.0) -> None:
        self.programme = programme
        self.blocks = programme.blocks()
        self.rate_hz = float(rate_hz)
        self.on_task = on_task
        self.bands = bands or load_exercise_bands()
        self.settle_s = float(settle_s)
        self.release_timeout_s = float(release_timeout_s)
        self.cue_gap_s = float(cue_gap_s)
        self.reset()

    def reset(self) -> None:
        """Back to the start of the programme (before its first sample)."""
        self.state = PREPARE
        self.k = 0                              # the current (or next) block
        self.t_s = math.nan                     # the newest sample
        self._t_state_end = math.nan            # end of prepare / rest / finishing
        self._seg = None
        self._result: BlockResult | None = None
        self._started = False                   # a block is open: its segmenter gets samples
        self._seg_fed = False
        self._cued_onset = math.nan             # the repetition already cued
        self._hold_ref = None                   # q at the hold's start
        self._hold_armed = True
        self._hold_last_cue = -math.inf
        self._hold_done_at = math.nan
        self._n_holds_at_done = 0
        self._live_value = math.nan
        self._metric = self._thr = self._poor = None
        self._q_block: list[tuple[np.ndarray, np.ndarray]] = []   # (t, q) of the block
        self.cues: list[GuidedCue] = []
        self.results: list[BlockResult] = []

    # ---- feeding -----------------------------------------------------------------------
    def update(self, t_s, q_body_to_earth, gyr_body_radps, acc_body_mps2) -> list[GuidedCue]:
        """One chunk of samples (t (N,) s, q (N, 4), gyr (N, 3) rad/s, acc (N, 3) m/s²,
        body frame); returns the cues it raised."""
        t = np.asarray(t_s, float).reshape(-1)
        if not len(t):
            return []
        q = np.asarray(q_body_to_earth, float).reshape(-1, 4)
        gyr = np.asarray(gyr_body_radps, float).reshape(-1, 3)
        acc = np.asarray(acc_body_mps2, float).reshape(-1, 3)
        new: list[GuidedCue] = []
        if math.isnan(self.t_s):
            self._t_state_end = float(t[0]) + self.programme.prepare_s
        if self.state in (EXERCISE, FINISHING) and self._started:
            t, q, gyr, acc = self._with_gaps(t, q, gyr, acc)
            new = self._feed(t, q, gyr, acc)
        self.t_s = float(t[-1])
        self._advance(self.t_s)
        self.cues += new
        return new

    def _with_gaps(self, t, q, gyr, acc):
        """NaN rows where samples are missing (since the last chunk, or inside this one)."""
        period = 1.0 / self.rate_hz
        t0 = self.t_s if (self._seg_fed and math.isfinite(self.t_s)) else float(t[0]) - period
        k = np.round((t - t0) / period).astype(int)       # 1, 2, ... where nothing is lost
        if k[0] < 1 or np.any(np.diff(k) < 1) or k[-1] == len(k):
            return t, q, gyr, acc   # nothing lost (or a clock step: left as it came)
        n = int(k[-1])
        tt = t0 + period * np.arange(1, n + 1)
        tt[k - 1] = t
        out = [tt]
        for a in (q, gyr, acc):
            full = np.full((n, a.shape[1]), np.nan)
            full[k - 1] = a
            out.append(full)
        return tuple(out)

    def _feed(self, t, q, gyr, acc) -> list[GuidedCue]:
        seg, res, b = self._seg, self._result, self.blocks[self.k]
        self._seg_fed = True
        if isinstance(seg, HoldSegmenter):
            seg.update(t, q, gyr)
            self._q_block.append((t, q))   # the hold's start posture is looked up here
        else:
            seg.update(t, q, gyr, acc)
        new: list[GuidedCue] = []
        thr = math.radians(self._thr)
        if isinstance(seg, HoldSegmenter):
            cur = seg.current()
            self._live_value = math.nan
            if cur is not None:
                if self._hold_ref is None or self._hold_ref[0] != cur["t_start_s"]:
                    self._hold_ref = (cur["t_start_s"], self._q_at(cur["t_start_s"]))
                    self._hold_armed = True
                sig = seg.ex.control(relative_angles(q, self._hold_ref[1]))
                ok = np.isfinite(sig)
                if ok.any():
                    self._live_value = math.degrees(float(sig[ok][-1]))
                    above = np.flatnonzero(ok & (sig > thr))
                    if (self._hold_armed and len(above)
                            and t[above[0]] - self._hold_last_cue >= self.cue_gap_s):
                        i = above[0]
                        new.append(GuidedCue(float(t[i]), b.index,
                                             math.degrees(float(sig[i])), "hold",
                                             b.side or ""))
                        self._hold_armed = False
                        self._hold_last_cue = float(t[i])
                    if not self._hold_armed and sig[ok][-1] < REARM_FRACTION * thr:
                        self._hold_armed = True
                if self.state == EXERCISE and not math.isfinite(self._hold_done_at) and (
                        cur["held_s"] >= b.hold_s):
                    self._hold_done_at = float(t[-1])
                    self._n_holds_at_done = len(seg.holds)
            res.n_holds = len(seg.holds)
            held = [h.hold_s for h in seg.holds] + ([cur["held_s"]] if cur else [])
            res.hold_s = max(held) if held else None
        else:
            cur = seg.current()
            self._live_value = math.nan
            if cur["in_repetition"]:
                name = self._metric[:-4] + "_rad"
                v = cur["metrics_rad"].get(name)
                if v is not None and math.isfinite(v):
                    self._live_value = math.degrees(v)
                    if v > thr and cur["t_onset_s"] != self._cued_onset:
                        self._cued_onset = cur["t_onset_s"]
                        new.append(GuidedCue(cur["t_s"], b.index, math.degrees(v),
                                             "repetition", b.side or ""))
            self._take_reps(seg, res)
        res.cues += len(new)
        return new

    def _q_at(self, t0: float) -> np.ndarray:
        t = np.concatenate([a for a, _ in self._q_block])
        q = np.vstack([b for _, b in self._q_block])
        i = int(np.clip(np.searchsorted(t, t0), 0, len(t) - 1))
        return q[i]

    def _take_reps(self, seg, res: BlockResult) -> None:
        reps = seg.reps
        res.n_repetitions = sum(not r.partial for r in reps)
        res.n_partial = sum(r.partial for r in reps)
        name = self._metric[:-4] + "_rad"
        res.rep_values_deg = [math.degrees(r.control.get(name, math.nan)) for r in reps]
        res.rep_partial = [r.partial for r in reps]
        res.rep_sides = [r.side for r in reps]

    # ---- the states --------------------------------------------------------------------
    def _advance(self, now: float) -> None:
        if self.state == PREPARE or self.state == REST:
            if now >= self._t_state_end:
                self._start_block(now)
        elif self.state == EXERCISE:
            if self._set_done(now):
                self.state = FINISHING
                self._t_state_end = now + self.settle_s
        elif self.state == FINISHING and now >= self._t_state_end:
            self._end_block(now, completed=True)

    def _set_done(self, now: float) -> bool:
        b, res = self.blocks[self.k], self._result
        if not self._started:
            return False
        if b.held:
            if not math.isfinite(self._hold_done_at):
                return False
            left = len(self._seg.holds) > self._n_holds_at_done
            return left or now - self._hold_done_at >= self.release_timeout_s
        return res.n_repetitions >= b.repetitions

    def _start_block(self, now: float) -> None:
        b = self.blocks[self.k]
        self._seg = segmenter(b.task, self.rate_hz)
        self._seg_fed = False
        self._result = BlockResult(b, now)
        self._metric, self._thr, self._poor = cue_threshold_deg(b, self.bands)
        self._started = True    # fed from the next chunk on: the task starts after this one
        self._cued_onset = math.nan
        self._hold_ref = None
        self._hold_armed = True
        self._hold_last_cue = -math.inf
        self._hold_done_at = math.nan
        self._q_block = []
        self.state = EXERCISE
        if self.on_task is not None:
            self.on_task(b.task)

    def _end_block(self, now: float, *, completed: bool) -> None:
        seg, res = self._seg, self._result
        self._started = False
        if self._seg_fed:
            seg.flush()
        if isinstance(seg, HoldSegmenter):
            res.n_holds = len(seg.holds)
            res.hold_s = max((h.hold_s for h in seg.holds), default=None)
        else:
            self._take_reps(seg, res)
        res.t_end_s = now
        res.completed = completed
        self.results.append(res)
        if self.on_task is not None:
            self.on_task(None)
        b = self.blocks[self.k]
        self._seg, self._result, self._q_block = None, None, []
        self._live_value = math.nan
        self.k += 1
        if self.k >= len(self.blocks):
            self.state = FINISHED
        else:
            self.state = REST
            self._t_state_end = now + b.rest_after_s

    def skip(self) -> None:
        """End the current set now (the person cannot go on), or the rest or preparation."""
        now = self.t_s if math.isfinite(self.t_s) else 0.0
        if self.state in (EXERCISE, FINISHING):
            self._end_block(now, completed=False)
        elif self.state in (PREPARE, REST):
            self._t_state_end = now

    def finish(self) -> None:
        """The data ended: the open set ends where the data did (not completed)."""
        if self.state in (EXERCISE, FINISHING):
            self._end_block(self.t_s, completed=self.state == FINISHING)

    # ---- the view ----------------------------------------------------------------------
    def state_now(self) -> GuidedState:
        """A copy of the state for a view (:class:`GuidedState`)."""
        b = self.blocks[self.k] if self.k < len(self.blocks) else None
        g = GuidedState(self.state, b, len(self.blocks), cues=list(self.cues),
                        results=list(self.results), t_s=self.t_s)
        if b is not None:
            g.metric, g.threshold_deg, g.poor_deg = (
                (self._metric, self._thr, self._poor) if self._result is not None
                else cue_threshold_deg(b, self.bands))
        if self.state in (PREPARE, REST) and math.isfinite(self.t_s):
            g.remaining_s = max(0.0, self._t_state_end - self.t_s)
        res = self._result
        if res is not None:
            g.n_full, g.n_partial = res.n_repetitions, res.n_partial
            g.rep_values_deg, g.rep_partial = list(res.rep_values_deg), list(res.rep_partial)
            g.live_value_deg = self._live_value
            seg = self._seg
            if isinstance(seg, HoldSegmenter):
                cur = seg.current()
                g.held_s = cur["held_s"] if cur else math.nan
                g.hold_done = math.isfinite(self._hold_done_at)
            elif seg is not None and self._seg_fed:
                g.in_repetition = bool(seg.current()["in_repetition"])
        return g


__all__ = ["EXERCISE", "FINISHED", "FINISHING", "PREPARE", "REST", "BlockResult",
           "GuidedCue", "GuidedSession", "GuidedState", "cue_threshold_deg"]
