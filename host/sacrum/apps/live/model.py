"""What the live window draws: the session's published state and the snapshot of it.

The engine thread feeds a :class:`LiveView` (under the session's lock) with every update
of the scorer; any thread takes a :class:`LiveSnapshot` of it at any time (the window one
per frame). The dataclasses here are what the window's panels read.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from sacrum.apps.live.buffers import SampleRing
from sacrum.io.decode import LossReport

#: Tasks the window offers (SPEC task names) and their labels.
TASK_LABELS = {
    "walk": "walk", "stairs-up": "stairs up", "stairs-down": "stairs down",
    "single-leg-stance-left": "single-leg stance L", "single-leg-stance-right":
    "single-leg stance R", "step-down-left": "step-down L", "step-down-right": "step-down R",
}
CURVE_POINTS = 101  # gait cycle 0..100 %


class Publisher:
    """The lock under which the session's state is changed and read, and the sequence
    number that says it changed (``publish()``, called under the lock; the window draws a
    snapshot only when ``seq`` moved). Shared by the session and its parts."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.seq = 0

    def publish(self) -> None:
        self.seq += 1


@dataclass(frozen=True)
class StrideCurve:
    """One stride from an initial contact, normalised to 0-100 % of the gait cycle.

    side: stance side of the IC ("L" | "R"). obliquity_rad, tilt_rad: (101,) in the sacrum
    convention (docs/pelvic-angles.md). used: the step was used in the summaries.
    drop_deg: the step's contralateral drop (deg, + = swing side down).
    """

    t_ic_s: float
    side: str
    obliquity_rad: np.ndarray
    tilt_rad: np.ndarray
    used: bool
    drop_deg: float


@dataclass(frozen=True)
class Cue:
    """A biofeedback cue: the step at ``t_ic_s`` (session time, s) on ``side`` had a
    contralateral drop of ``drop_deg`` over the threshold; it came out at ``t_emit_s``."""

    t_emit_s: float
    t_ic_s: float
    side: str
    drop_deg: float


@dataclass
class CalibrationState:
    """The manual standing calibration: state "idle" | "countdown" | "accepted" | "rejected".

    remaining_s: of the countdown (s, session time); message: the outcome in words.
    calibrated: whether the pipeline has a calibration (its own, from the first standing,
    or a manual one); reference: its kind, "standing" or "walking" (the still period was
    sitting: zeroed on the walking mean until a standing, docs/pelvic-angles.md "Zero").
    """

    state: str = "idle"
    remaining_s: float = 0.0
    message: str = ""
    calibrated: bool = False
    reference: str = ""

    @property
    def zero(self) -> str:
        """Which zero the angles are shown from, in the words the window uses."""
        if not self.calibrated:
            return "not calibrated: cues off"
        return "relative to walking mean" if self.reference == "walking" else \
            "relative to standing"


@dataclass
class LinkStatus:
    """What the connection panel shows.

    state: "idle" | "connecting" | "connected" | "disconnected" | "ended" | "error" |
    "stopped"; message: details in words; rate_hz: the device's sample rate (Hz).
    """

    state: str = "idle"
    message: str = ""
    kind: str = ""
    device: dict[str, Any] = field(default_factory=dict)
    rate_hz: float = math.nan
    rssi_dbm: int | None = None
    battery_percent: int | None = None
    reconnects: int = 0
    disconnects: int = 0
    loss: LossReport = field(default_factory=LossReport)
    bad_items: int = 0
    analysis_errors: int = 0
    recording: str | None = None  # the capture being written
    recording_bytes: int = 0
    recording_error: str = ""


@dataclass
class LiveSnapshot:
    """A consistent copy of the session's state for drawing (SI inside; the ``*_deg``
    fields come from the scorer's summary, which is in degrees).

    seq: increases with every published change. t_now_s: the newest sample (session time).
    t_s, angles_rad: the last ``span_s`` of samples (NaN rows = lost).
    events: gait events in that span as (t_s, "IC"|"FC", "L"|"R").
    stance: stance phases in that span as (side, t_start_s, t_end_s).
    tasks: (task, t_start_s, t_end_s or None while running); task: the current one.
    marks: (t_s, note). gaps: (t_start_s, t_end_s) of lost samples in the span.
    curves: the last strides for the overlay (final: every used stride of the final
    analysis). cues: all cues so far.
    cues_per_min: cues in the last 60 s of session time.
    steps_total, steps_used: steps that came out so far, and those used. steps_outside:
    of steps_total, those outside every task of a capture with tasks (final only: the
    summaries, and the report's counts, leave them out).
    cadence_spm, drop_deg ({"L", "R"}): the rolling summary's (NaN before one).
    score: 0-100 or None; score_interval: its 90 % interval (low, high) or None (not
    estimated); components: {name: points or None}; message: the score's. final: these
    numbers are the offline analysis of the session's capture (``LiveSession.converge``, once
    the data has ended), not the live rolling ones; so are the angles, events, stance
    phases, turns, heading flags and curves (``converge.FinalSeries``): the live stream's
    own stay in the view's ring.
    During a single-leg stance or step-down/up task these are the task's own (live, by
    sacrum.scoring.livetask), and task_summary is its summary (report units, as ``sacrum
    analyze``'s tasks[]); None otherwise.
    threshold_deg: {"L", "R"} the cue thresholds. newest_arrival_ns: perf_counter_ns of
    the packet that brought the newest sample (for latency measurements).
    turns: the gait stage's turns in the span as (t_start_s, t_end_s, angle_deg; + left),
    known once each has ended. heading_settled: (N,) bool with ``t_s``: the progression
    heading was settled (``PipelineChunk.heading_settled``; where not, the rotation is not
    against a straight walking direction: in a turn and for about a stride after it).
    """

    seq: int
    t_now_s: float
    t_s: np.ndarray
    angles_rad: np.ndarray
    events: list[tuple[float, str, str]]
    stance: list[tuple[str, float, float]]
    tasks: list[tuple[str, float, float | None]]
    task: str | None
    marks: list[tuple[float, str]]
    gaps: list[tuple[float, float]]
    curves: list[StrideCurve]
    cues: list[Cue]
    cues_per_min: float
    steps_total: int
    steps_used: int
    cadence_spm: float
    drop_deg: dict[str, float]
    score: float | None
    components: dict[str, float | None]
    message: str
    threshold_deg: dict[str, float]
    link: LinkStatus
    calibration: CalibrationState
    newest_arrival_ns: int
    task_summary: dict | None = None
    turns: list[tuple[float, float, float]] = field(default_factory=list)
    score_interval: tuple[float, float] | None = None
    final: bool = False
    heading_settled: np.ndarray | None = None
    running: Any = None  # sacrum.scoring.running.LiveRunningState: running steps, cues, rate
    steps_outside: int = 0


def steps_used_words(snap: LiveSnapshot, used: str = "used") -> str:
    """"7 used" or, with steps outside every task, "7 used, 2 outside every task": the
    step count beside ``steps_total`` wherever the view says it."""
    out = f", {snap.steps_outside} outside every task" if snap.steps_outside else ""
    return f"{snap.steps_used} {used}{out}"


class LiveView:
    """The state the window is drawn from: the ring of the last ``history_s`` of angles
    (and heading settled), gait events, lost-sample gaps, per-stride curves for the
    overlay (the last ``overlay_strides``), cues, turns, tasks, marks, step counts, the
    rolling summary, score and message. Not thread-safe by itself: the session feeds and
    reads it under its lock."""

    def __init__(self, overlay_strides: int = 12) -> None:
        self.overlay_n = int(overlay_strides)
        self.reset()

    def reset(self) -> None:
        """Nothing shown: a new session."""
        self.ring: SampleRing | None = None
        self.events: deque[tuple[float, str, str]] = deque(maxlen=4000)
        self.gaps: deque[tuple[float, float]] = deque(maxlen=1000)
        self.curves: deque[StrideCurve] = deque(maxlen=self.overlay_n)
        self.cues: list[Cue] = []
        self.turns: list[tuple[float, float, float]] = []
        self.tasks: list[tuple[str, float, float | None]] = []
        self.marks: list[tuple[float, str]] = []
        self.task: str | None = None
        self.steps_total = 0
        self.steps_used = 0
        self.summary = None
        self.score = None
        self.message = "waiting for data"
        self.newest_arrival_ns = 0

    def start(self, rows: int) -> None:
        """The first samples came: a ring of ``rows`` samples."""
        self.ring = SampleRing(rows, width=4)

    @property
    def t_now_s(self) -> float:
        """The newest sample's session time (NaN before any)."""
        return self.ring.t_last_s if self.ring is not None else math.nan

    def append(self, t_s: np.ndarray, chunk) -> None:
        """A pipeline chunk's samples into the ring."""
        self.ring.append(t_s, ring_rows(chunk))

    def take_update(self, u, t_now_s: float, scorer, calibration: CalibrationState) -> None:
        """Steps, cues, curves, summary and score of one LiveUpdate of ``scorer``; the
        calibration state follows the pipeline's."""
        self.events.extend((e.t_s, e.kind, e.side) for e in u.chunk.events)
        for step, cue in zip(u.steps, u.cues, strict=True):
            self.steps_total += 1
            if cue:
                self.cues.append(Cue(t_now_s, step.t_ic_s, step.stance_side,
                                      float(step.contralateral_drop_deg)))
            curve = self.curve(step)
            if curve is not None:
                self.curves.append(curve)
        if getattr(u, "rescored", False):  # the mounting estimate: every step scored again
            self.steps_total = len(scorer.steps)
        if u.updated:  # a late turn can exclude steps already out: count them again
            self.steps_used = sum(s.excluded is None for s in scorer.steps)
            self.remark_curves(scorer.steps)
        self.summary, self.score = u.summary, u.score
        self.message = u.message
        calibration.calibrated = bool(u.chunk.calibrated) or calibration.calibrated
        cal = scorer.pipeline.calibration
        calibration.reference = cal.reference if cal is not None else ""
        turns = scorer.pipeline.gait.turns
        if len(turns) != len(self.turns):
            self.turns = [(tr.t_start_s, tr.t_end_s, tr.angle_deg) for tr in turns]

    def remark_curves(self, steps) -> None:
        """The overlay's strides say whether their step is used now (a turn found later
        excludes steps already drawn; the overlay's means must not include them)."""
        if not self.curves:
            return
        t0 = self.curves[0].t_ic_s
        used = {}
        for s in reversed(steps):
            if s.t_ic_s < t0 - 1e-9:
                break
            used[s.t_ic_s] = s.excluded is None
        for k, c in enumerate(self.curves):
            now = used.get(c.t_ic_s, c.used)
            if now != c.used:
                self.curves[k] = replace(c, used=now)

    def curve(self, step) -> StrideCurve | None:
        """The step's stride from the ring, normalised to the gait cycle (None: not all
        there)."""
        if not math.isfinite(step.stride_time_s) or self.ring is None:
            return None
        t0, t1 = step.t_ic_s, step.t_ic_s + step.stride_time_s
        t, a = self.ring.between(t0, t1)
        if len(t) < 4 or not np.all(np.isfinite(a[:, :2])):
            return None
        x = np.linspace(t0, t1, CURVE_POINTS)
        return StrideCurve(step.t_ic_s, step.stance_side, np.interp(x, t, a[:, 1]),
                           np.interp(x, t, a[:, 0]), step.excluded is None,
                           float(step.contralateral_drop_deg))

    def snapshot(self, span_s: float, *, seq: int, link: LinkStatus,
                 calibration: CalibrationState, threshold_deg: dict[str, float],
                 tracker=None, final: dict[str, Any] | None = None) -> LiveSnapshot:
        """The last ``span_s`` (s) as a :class:`LiveSnapshot`; ``tracker``: the held task's
        live processor (its score and summary shown), ``final``: the final analysis'
        values (:func:`~sacrum.apps.live.converge.final_values`), shown instead of the
        rolling ones."""
        if self.ring is not None and len(self.ring):
            t_now = self.ring.t_last_s
            t, rows = self.ring.since(t_now - span_s)
        else:
            t_now, t, rows = math.nan, np.zeros(0), np.zeros((0, 4))
        a, settled = rows[:, :3], rows[:, 3] > 0.5
        t0 = t_now - span_s if math.isfinite(t_now) else -math.inf
        events = [e for e in self.events if e[0] >= t0 - 2.0]
        stance_phases = stance(events)
        events = [e for e in events if e[0] >= t0]
        summ = self.summary
        score = self.score
        message = self.message
        held = tracker.last if tracker is not None else None
        if tracker is not None:  # a held task: its own score and reasons
            score = held.score if held is not None else None
            message = (held.score.message if held is not None
                       else f"{tracker.task}: waiting for its samples")
        cues = list(self.cues)
        snap = LiveSnapshot(
            seq=seq, t_now_s=t_now, t_s=t, angles_rad=a, events=events,
            stance=[s for s in stance_phases if s[2] >= t0],
            tasks=[x for x in self.tasks if x[2] is None or x[2] >= t0],
            task=self.task,
            marks=[m for m in self.marks if m[0] >= t0],
            gaps=[g for g in self.gaps if g[1] >= t0],
            curves=list(self.curves), cues=cues,
            cues_per_min=float(sum(c.t_emit_s > t_now - 60.0 for c in cues)),
            steps_total=self.steps_total, steps_used=self.steps_used,
            cadence_spm=summ.cadence_spm if summ is not None else math.nan,
            drop_deg=(dict(summ.contralateral_drop_deg) if summ is not None
                      else {"L": math.nan, "R": math.nan}),
            score=None if score is None else score.score,
            score_interval=(None if score is None or score.score is None
                            or score.interval is None or score.interval[0] is None
                            else tuple(score.interval)),
            components=({} if score is None else
                        {k: c.score_0_100 for k, c in score.components.items()}),
            message=message, threshold_deg=threshold_deg, link=link,
            task_summary=dict(held.summary) if held is not None else None,
            calibration=calibration,
            newest_arrival_ns=self.newest_arrival_ns,
            turns=[x for x in self.turns if x[1] >= t0],
            heading_settled=settled,
        )
        return snap if final is None else replace(snap, **final)


def ring_rows(chunk) -> np.ndarray:
    """A pipeline chunk's rows for the ring: the angles (rad) and the heading settled (0/1)."""
    settled = np.asarray(chunk.heading_settled, float).reshape(-1, 1)
    if len(settled) != len(chunk.angles_rad):
        settled = np.zeros((len(chunk.angles_rad), 1))
    return np.hstack([chunk.angles_rad, settled])


def stance(events: list[tuple[float, str, str]]) -> list[tuple[str, float, float]]:
    """Stance phases (side, IC time, that foot's next FC time) from time-ordered events."""
    out = []
    open_ic: dict[str, float] = {}
    for t, kind, side in sorted(events):
        if kind == "IC":
            open_ic[side] = t
        elif kind == "FC" and side in open_ic:
            t0 = open_ic.pop(side)
            if t - t0 < 2.5:  # a stance longer than this is standing, not a step
                out.append((side, t0, t))
    return out


__all__ = ["CURVE_POINTS", "TASK_LABELS", "CalibrationState", "Cue", "LinkStatus", "LiveSnapshot",
           "LiveView", "Publisher", "StrideCurve", "ring_rows", "stance"]
