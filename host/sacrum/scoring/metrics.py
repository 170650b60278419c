"""Walking metrics: per step (contralateral pelvic drop, ranges of motion, tilt) and per task.

The stage after ``gait`` in the host pipeline (docs/pipeline.md): pelvic angles and gait
events in, one :class:`StepMetrics` per step out (:class:`StepMetricsStream`, live, or
:func:`step_metrics`, offline: the same stream fed everything), then one
:class:`WalkSummary` per task (:func:`summarize_walk`): cadence, step and stride times,
per-side medians, symmetry, variability, regularity, harmonic ratios and gait-cycle curves.

Conventions: angles as docs/pelvic-angles.md defines them (obliquity positive = left side
up / right side down, tilt anterior positive, rotation positive = right side forward; zero =
the standing calibration). Radians in, degrees out: the results are what a clinician reads,
so they are the report edge (house style) and say ``_deg`` in their names. Sides are those
of the leg **in stance**: a step of stance side "L" runs from a left initial contact (IC) to
the next (right) IC, the left foot on the ground, the right leg swinging.

Accelerations for regularity and harmonic ratios are the sacrum's own acceleration in the
progression frame (:func:`body_acceleration`): x forward along the walking direction
(anterior-posterior, AP), y left (medio-lateral, ML), z up (vertical, V), gravity removed.
"""

from __future__ import annotations

import bisect
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from sacrum.signal.angles import OBLIQUITY, ROTATION, TILT
from sacrum.signal.gait import GaitEvent, Stride, Turn
from sacrum.signal.quaternion import quat_rotate
from sacrum.units import G_MPS2

log = logging.getLogger(__name__)

SIDES = ("L", "R")
#: Why a step is not used in the summaries, in the order they are checked (the first wins).
EXCLUSION_REASONS = ("gap", "turn", "irregular", "bout-edge")
_SIDE_WORD = {"L": "left", "R": "right"}
_T_TOL_S = 1e-6  # two event times closer than this are the same sample
#: The range of motion of a stride is the span between these percentiles of its samples
#: (a robust range: heel-strike transients of a few samples do not set it; docs/scoring.md).
ROM_PERCENTILES = (5.0, 95.0)
#: Longest span (s) between the two valid samples around a run of missing ones that the
#: step metrics bridge by linear interpolation (up to 5 lost samples at 100 Hz).
MAX_BRIDGE_S = 0.06
#: Below this mean of the two sides' drops (deg) the drop symmetry index is not given: a 1°
#: measurement error (McGinley et al. 2009) over a mean drop under 5° is more than the
#: index's 20 % band (a 1.2° and a 1.5° drop would read 22 %).
#: Likewise for the obliquity range: a 1.3° error is its index's 15 % band at 8.7°.
MIN_SI_DROP_DEG = 5.0
MIN_SI_OBLIQUITY_ROM_DEG = 8.7


def _bridge_gaps(t: np.ndarray, a: np.ndarray, max_span_s: float) -> np.ndarray:
    """``a`` with every run of NaN rows whose valid neighbours lie at most ``max_span_s``
    apart filled by linear interpolation in time (each column); longer runs, and runs at
    either end (no neighbour), stay NaN. "At most" to a quarter of the run's own sample
    interval: a device clock's timestamps move by a fraction of a period (a 5-sample run of
    a 100-Hz capture can span 60.6 ms), and the decision is about samples, not µs."""
    bad = ~np.isfinite(a).all(axis=1)
    if not bad.any():
        return a
    out = a.copy()
    edges = np.flatnonzero(np.diff(np.r_[0, bad.astype(np.int8), 0]))
    for s0, e0 in zip(edges[0::2], edges[1::2], strict=True):   # rows s0..e0-1 missing
        if s0 == 0 or e0 == len(a):
            continue
        span = t[e0] - t[s0 - 1]
        if span > max_span_s + max(_T_TOL_S, span / (4 * (e0 - s0 + 1))):
            continue
        w = (t[s0:e0] - t[s0 - 1]) / (t[e0] - t[s0 - 1])
        out[s0:e0] = a[s0 - 1] + w[:, None] * (a[e0] - a[s0 - 1])
    return out


def robust_range(x: np.ndarray, percentiles: tuple[float, float] = ROM_PERCENTILES) -> float:
    """The span between two percentiles of ``x`` (same unit as ``x``; NaN when empty).

    With the default 5th-95th percentiles a sinusoid's range reads 1.2 % below its
    peak-to-peak, while a transient shorter than 5 % of the samples (a heel-strike jolt of a
    few samples in a stride of 100) does not move it: max − min is set by the two most
    extreme samples, a quantile span by the bulk of them (Wilcox RR. Introduction to Robust
    Estimation and Hypothesis Testing. 3rd ed. Academic Press; 2012).
    """
    x = np.asarray(x, float)
    if not len(x):
        return math.nan
    lo, hi = np.percentile(x, percentiles)
    return float(hi - lo)


# ---- per step -----------------------------------------------------------------------------

@dataclass(frozen=True)
class StepMetrics:
    """One step: the stance of one leg from its initial contact to the next (contralateral) IC.

    stance_side: "L" | "R", the leg in stance (the IC that starts the step).
    t_ic_s: time of that IC (s, on the recording's time axis).
    step_time_s: from this IC to the next IC (s).
    stride_time_s: from this IC to the next IC of the same foot (s); NaN when that stride is
        not complete (the next-but-one IC is missing, in another bout or on the wrong side)
        or turns (it overlaps a turn while the step does not).
    contralateral_drop_deg: the peak drop of the swing side of the pelvis below the standing
        zero during loading response and mid-stance (deg): the largest obliquity towards the
        swing side in the first ``drop_window_pct`` (60 %) of the step, i.e. 0-30 % of the
        gait cycle (Perry & Burnfield 2010). For left stance the right side drops, which is a
        positive obliquity; for right stance the left side, negative obliquity; so the value
        is ``+obliquity`` (L) or ``-obliquity`` (R). Positive = the swing side went below its
        standing height (a Trendelenburg-type drop); negative = it stayed above it throughout
        (hip hiking). NaN where samples are missing in that window.
    drop_time_pct: when that peak occurs, in % of the step time (0 = this IC, 100 = the next
        IC; half of it is % of the gait cycle).
    obliquity_rom_deg, tilt_rom_deg, rotation_rom_deg: robust range of each angle over
        the stride that starts at this IC (deg): the span from its 5th to its 95th
        percentile (:func:`robust_range`), not max - min, which heel-strike transients
        inflate; NaN without a complete stride or when samples are missing in it.
    mean_tilt_deg: mean tilt over the step (deg; anterior positive, relative to standing).
    excluded: None (used in the summaries) or the reason it is not, the first that applies
        of: "gap" (missing samples inside the step or its stride that could not be bridged:
        a run longer than ``max_bridge_s``), "turn" (the step overlaps a detected turn; a
        step whose stride, but not the step itself, overlaps one is used without its
        stride: stride_time_s and the ranges NaN), "irregular" (the next IC is
        on the same side, the step time is off the recent median by more than
        ``max_stride_ratio``, or the gait stage did not use its stride), "bout-edge" (the
        first ``edge_steps`` steps of a walk, a step without a complete stride at its end, or
        a step after the gait stage's bout had ended: steps on the spot).
    bout: the gait stage's bout index of this IC.
    """

    stance_side: str
    t_ic_s: float
    step_time_s: float
    stride_time_s: float
    contralateral_drop_deg: float
    drop_time_pct: float
    obliquity_rom_deg: float
    tilt_rom_deg: float
    rotation_rom_deg: float
    mean_tilt_deg: float
    excluded: str | None
    bout: int = -1


class StepMetricsStream:
    """Per-step pelvic metrics from pelvic angles and initial contacts, live.

    A streaming processor: ``update(t_s, angles_rad, events, turns=())`` returns the steps
    that became final in that chunk; ``flush()`` ends a recording; ``reset()`` starts over.
    Feeding a recording whole or in chunks of any size gives the same steps (as long as
    each event is passed no later than ``event_latency_s`` after it happened, which the
    gait stage guarantees, and the same turns are known).

    **Data required.** ``t_s`` (N,) s, increasing; ``angles_rad`` (N, 3) tilt, obliquity,
    rotation (rad; docs/pelvic-angles.md, as ``sacrum.signal.pipeline`` gives them: relative to
    the standing calibration and the progression heading), NaN rows for lost samples;
    ``events``: the gait events that became final (``GaitEvent``; only ICs are used, FCs
    are ignored); ``turns``: the turns known so far (``sacrum.signal.gait.Turn``; any repeats are
    ignored); offline also the gait stage's ``strides``.

    **Steps.**

    1. Buffer the samples (the last ``history_s``) and the ICs in time order.
    2. Walks: consecutive ICs of the same bout no more than ``max_step_s`` apart belong to
       one walk. An IC followed by none within ``max_step_s`` (the end of a walk, a
       standstill) starts no step. The step of IC k ends at IC k+1; its stride at IC k+2
       when the sides alternate (k and k+2 on one side, k+1 on the other) in the same walk.
    3. A step is final when IC k+2 has arrived and the samples up to it are in, or, when no
       IC can still come (none within ``max_step_s`` + ``event_latency_s``, a new bout, or
       ``flush``), with what there is.
    4. Metrics (``StepMetrics``): the drop window is the first ``drop_window_pct`` of the
       step (samples from the IC to IC + drop_window_pct·step time); the peak of
       ±obliquity in it (+ for left stance, - for right stance) and its time; ranges of
       motion over the stride's samples (IC k to IC k+2, both included; rotation unwrapped
       first) as the span between the ``rom_percentiles`` of those samples; mean tilt
       over the step's samples (IC k included, IC k+1 not). In each window a run of
       missing samples whose valid neighbours are at most ``max_bridge_s`` apart is
       bridged by linear interpolation first.
    5. Exclusion, the first that applies: missing samples (NaN) left in the step or its
       stride → "gap"; the step (IC k to IC k+1) overlaps a turn → "turn" (when only its
       stride overlaps one, the step is kept with its stride time and ranges NaN: its drop
       and timing come before the turn, its stride turns; a gait-stage stride ``in_turn``
       likewise); the next IC on the same side, or (after 3 regular steps of the
       walk) a step time outside [median/``max_stride_ratio``, median·``max_stride_ratio``]
       of the last 10 regular steps, or the gait stage's stride not ``used`` → "irregular"
       (``retempo_steps`` alternating steps in a row outside that band but within it of
       each other become the recent steps: the walk changed tempo, as from running back to
       walking, and a median that only regular steps move would never follow);
       the first ``edge_steps`` steps of a walk (gait initiation, not yet steady walking;
       cf. Lindemann et al. 2008 on the distance to steady speed), a step without a complete
       stride (the end of a walk), or, with ``strides`` given, a step whose IC starts none
       of its bout's strides (steps after the bout's last forward step) → "bout-edge".

    **Parameters.**

    drop_window_pct = 60.0
        Part of the step searched for the peak drop (% of the step time). Loading response
        (0-10 % of the gait cycle) and mid-stance (10-30 %) are the first 30 % of the
        cycle (Perry & Burnfield 2010), i.e. the first 60 % of the step (a step is half a
        cycle); the hip abductors hold the pelvis level then, and it is where a
        Trendelenburg drop shows. Terminal stance (the rest of the step) is left out: there
        the pelvis turns towards the next step.
    max_step_s = 1.5
        Longest step (s), as the gait stage's ``max_step_s``: a longer interval is a
        standstill and ends the walk.
    max_stride_ratio = 1.5
        Regularity band around the recent median step time (the gait stage's
        ``MAX_STRIDE_RATIO``).
    step_time_tol_s = 0.005
        A step time within this of the band's edge counts as inside it: step times are
        known to a sample (half a 100-Hz sample), and a median of them divided by 1.5 often
        is one exactly (39 samples against a median of 58.5), so which side of the edge
        such a step fell on was decided by float rounding, or by the few µs a capture's
        device clock moves a sample time (IPOL 3-4 as a CSV and as its firmware-in-the-loop
        capture: 0.39000 against 0.38999 and 0.38997 against 0.39004, one step apart and
        2.8 points of score; bench/consistency.py).
    edge_steps = 1
        Steps at the start of each walk marked "bout-edge".
    retempo_steps = 3
        Alternating steps in a row off the regularity band, and within it of each other,
        that become the walk's tempo (step 5); 3, as many as the band needs to start.
    event_latency_s = 0.75
        Longest delay of an IC event after the IC (s); the gait stage's is at most 0.72 s at
        100 Hz (0.52 s after steps up to 0.62 s; ``GaitEventDetector``, "Latency"). Only
        used to decide that no more ICs will come.
    history_s = 20.0
        Samples kept (s). An IC older than the buffer gives a "gap" step (logged).
    rom_percentiles = (5.0, 95.0)
        Percentiles whose span is a stride's range of motion (:func:`robust_range`). Peak to
        peak (0, 100) read the rotation range 3.3° larger than optical motion capture on
        held-out walk tests: the pelvis's yaw jolts at heel strike for a few samples; the
        5th-95th span is 1.2 % below peak to peak on a clean sinusoid and ignores transients
        shorter than 5 % of the stride (about 55 ms at 100 steps/min).
    max_bridge_s = 0.06
        Longest span (s) between the valid samples around lost ones that is bridged by
        linear interpolation (5 lost samples at 100 Hz; 0: none). Over 60 ms a pelvic angle
        moves along a smooth curve: at a drop's peak (about 4° at 1 Hz, so |θ''| ≈ 160°/s²)
        the chord misses the curve by at most |θ''|·h²/8 ≈ 0.07°, far below the
        measurement error, while a single lost radio packet (4 % on the held-out walk tests)
        would otherwise exclude the whole step: on the ipol walk tests 141 of 157 "gap"
        steps had no run longer than 5 samples. A step is final only once the samples up to
        ``max_bridge_s`` after its end are in, so chunking does not change it.

    **Latency.** A step comes when the IC ending its stride arrives: one stride after the
    step's IC plus the gait stage's event latency (about 1.5 s at 105 steps/min). The last
    step of a walk comes ``max_step_s + event_latency_s`` after the walk's last IC.

    **Live turns.** The gait stage reports a turn once it has ended; a step emitted before
    the turn overlapping it was known is not marked "turn". Offline (:func:`step_metrics`)
    all turns are known.

    **References.** Perry J, Burnfield JM. Gait Analysis: Normal and Pathological Function.
    2nd ed. Thorofare: SLACK; 2010 (phases of stance; pelvic drop in loading response).
    Trendelenburg F. Ueber den Gang bei angeborener Hüftgelenksluxation. Dtsch Med
    Wochenschr 1895;21. Lindemann U, Najafi B, Zijlstra W, et al. Distance to achieve steady
    state walking speed in frail elderly persons. Gait Posture 2008;27:91-96.
    """

    def __init__(self, *, drop_window_pct: float = 60.0, max_step_s: float = 1.5,
                 max_stride_ratio: float = 1.5, step_time_tol_s: float = 0.005,
                 edge_steps: int = 1, event_latency_s: float = 0.75, history_s: float = 20.0,
                 rom_percentiles: tuple[float, float] = ROM_PERCENTILES,
                 max_bridge_s: float = MAX_BRIDGE_S, retempo_steps: int = 3) -> None:
        if not 0.0 < drop_window_pct <= 100.0:
            raise ValueError(f"drop_window_pct must be in (0, 100] %, got {drop_window_pct}")
        lo, hi = (float(x) for x in rom_percentiles)
        if not 0.0 <= lo < hi <= 100.0:
            raise ValueError(f"rom_percentiles must be two percentiles 0 <= lo < hi <= 100, got "
                             f"{rom_percentiles}")
        self.rom_percentiles = (lo, hi)
        if not 0.0 <= max_bridge_s <= 0.2:
            raise ValueError(f"max_bridge_s must be in [0, 0.2] s, got {max_bridge_s}")
        self.max_bridge_s = float(max_bridge_s)
        if not max_stride_ratio > 1.0:
            raise ValueError(f"max_stride_ratio must be > 1, got {max_stride_ratio}")
        self.drop_window_pct = float(drop_window_pct)
        self.max_step_s = float(max_step_s)
        self.max_stride_ratio = float(max_stride_ratio)
        self.step_time_tol_s = float(step_time_tol_s)
        self.edge_steps = int(edge_steps)
        if retempo_steps < 3:
            raise ValueError(f"retempo_steps must be at least 3 (a median), got {retempo_steps}")
        self.retempo_steps = int(retempo_steps)
        self.event_latency_s = float(event_latency_s)
        self.history_s = float(history_s)
        self.reset()

    def reset(self) -> None:
        """Forget everything (a new recording)."""
        self._t = np.zeros(0)
        self._a = np.zeros((0, 3))
        self._t_now = -math.inf
        self._ics: list[GaitEvent] = []         # waiting, in time order
        self._ic_t: list[float] = []            # their times
        self._prev: GaitEvent | None = None     # the last IC taken off the queue
        self._done: list[GaitEvent] = []        # the last 32 of them (repeats are ignored)
        self._walk_steps = 0                    # steps emitted in the current walk
        self._recent: list[float] = []          # step times of the walk's recent regular steps
        self._off_tempo: list[float] = []       # consecutive steps off that median (s)
        self._turns: list[Turn] = []
        self._turn_keys: set[tuple[float, float]] = set()
        self._strides: dict[tuple[str, int, float], Stride] = {}
        self._stride_bouts: set[int] = set()
        self.n_late_events = 0                  # new ICs older than one already used (ignored)

    # -- input --------------------------------------------------------------------------
    def update(self, t_s, angles_rad, events: Iterable[GaitEvent] = (),
               turns: Iterable[Turn] = (), *, strides: Iterable[Stride] = ()
               ) -> list[StepMetrics]:
        """Add samples, events and turns; return the steps that became final (time order)."""
        t = np.asarray(t_s, float).reshape(-1)
        a = np.asarray(angles_rad, float).reshape(-1, 3)
        if len(t) != len(a):
            raise ValueError(f"t_s and angles_rad must have the same number of rows, got "
                             f"{len(t)} and {len(a)}")
        self._add_samples(t, a)
        for tr in turns:
            key = (tr.t_start_s, tr.t_end_s)
            if key not in self._turn_keys:
                self._turn_keys.add(key)
                self._turns.append(tr)
        for s in strides:
            self._strides[(s.side, s.bout, round(s.t_start_s, 6))] = s
            self._stride_bouts.add(s.bout)
        for e in events:
            if e.kind == "IC":
                self._add_ic(e)
        out = self._advance(final=False)
        self._trim()
        return out

    def flush(self) -> list[StepMetrics]:
        """End of the recording: the steps still waiting for ICs that will not come."""
        return self._advance(final=True)

    def _add_samples(self, t: np.ndarray, a: np.ndarray) -> None:
        if not len(t):
            return
        if not np.isfinite(t).all():  # a lost time stamp: the row counts as a missing sample
            prev = self._t[-1] if len(self._t) else np.nan
            t, a = t.copy(), a.copy()
            for i in range(len(t)):
                if not np.isfinite(t[i]):
                    t[i] = prev
                    a[i] = np.nan
                prev = t[i]
            keep = np.isfinite(t)
            t, a = t[keep], a[keep]
        self._t = np.concatenate([self._t, t])
        self._a = np.concatenate([self._a, a])
        if len(self._t):
            self._t_now = max(self._t_now, float(self._t[-1]))

    def _add_ic(self, e: GaitEvent) -> None:
        i = bisect.bisect_left(self._ic_t, e.t_s - _T_TOL_S)
        if (i < len(self._ic_t) and self._ic_t[i] <= e.t_s + _T_TOL_S) or any(
                abs(x.t_s - e.t_s) <= _T_TOL_S for x in self._done):
            return                              # passed again: already have it
        if self._prev is not None and e.t_s < self._prev.t_s:
            self.n_late_events += 1
            log.warning("IC at %.3f s came after the steps around it were final; ignored",
                        e.t_s)
            return
        self._ics.insert(i, e)
        self._ic_t.insert(i, e.t_s)

    def _trim(self) -> None:
        keep_from = self._t_now - self.history_s
        if self._ics:
            keep_from = min(keep_from, self._ics[0].t_s)
        cut = int(np.searchsorted(self._t, keep_from - _T_TOL_S))
        if cut > 0:
            self._t = self._t[cut:]
            self._a = self._a[cut:]

    # -- steps 2, 3 ------------------------------------------------------------------------
    def _continues(self, x: GaitEvent, y: GaitEvent) -> bool:
        return x.bout == y.bout and 0.0 < y.t_s - x.t_s <= self.max_step_s

    def _closed_after(self, e: GaitEvent) -> bool:
        """No IC continuing the walk after e can still arrive."""
        return self._t_now > e.t_s + self.max_step_s + self.event_latency_s

    def _advance(self, final: bool) -> list[StepMetrics]:
        out: list[StepMetrics] = []
        while self._ics:
            a = self._ics[0]
            b = self._ics[1] if len(self._ics) > 1 else None
            c = self._ics[2] if len(self._ics) > 2 else None
            if b is None:
                if not (final or self._closed_after(a)):
                    break
                self._pop()                     # the last IC of a walk: no step
                continue
            if not self._continues(a, b):
                self._pop()
                continue
            if c is None and not (final or self._closed_after(b)):
                break
            end = (c if c is not None and self._continues(b, c)
                   and c.side == a.side != b.side else None)
            t_end = (end or b).t_s
            if not final and self._t_now < t_end + self.max_bridge_s - _T_TOL_S:
                break                           # the samples up to the end are not in yet
            out.append(self._step(a, b, end))
            self._pop()
        return out

    def _pop(self) -> None:
        self._prev = self._ics.pop(0)
        self._ic_t.pop(0)
        self._done = [*self._done[-31:], self._prev]

    # -- steps 4, 5 ------------------------------------------------------------------------
    def _window(self, t0: float, t1: float, include_end: bool) -> tuple[np.ndarray, np.ndarray,
                                                                         bool]:
        """Samples with t0 <= t <= t1 (or < t1), short gaps bridged (step 4); and whether the
        buffer covers t0."""
        i0 = int(np.searchsorted(self._t, t0 - _T_TOL_S, "left"))
        i1 = int(np.searchsorted(self._t, t1 + _T_TOL_S if include_end else t1 - _T_TOL_S,
                                 "right" if include_end else "left"))
        covered = len(self._t) > 0 and self._t[0] <= t0 + _T_TOL_S
        a = self._a[i0:i1]
        if self.max_bridge_s > 0 and len(a) and not np.isfinite(a).all():
            j0 = int(np.searchsorted(self._t, t0 - self.max_bridge_s - _T_TOL_S, "left"))
            j1 = int(np.searchsorted(self._t, self._t[i1 - 1] + self.max_bridge_s + _T_TOL_S,
                                     "right"))
            a = _bridge_gaps(self._t[j0:j1], self._a[j0:j1], self.max_bridge_s)[i0 - j0:i1 - j0]
        return self._t[i0:i1], a, covered

    def _step(self, a: GaitEvent, b: GaitEvent, end: GaitEvent | None) -> StepMetrics:
        new_walk = self._prev is None or not self._continues(self._prev, a)
        if new_walk:
            self._walk_steps = 0
            self._recent, self._off_tempo = [], []
        step_s = b.t_s - a.t_s
        stride_s = end.t_s - a.t_s if end is not None else math.nan
        sign = 1.0 if a.side == "L" else -1.0

        # drop: first drop_window_pct of the step
        t_w, ang_w, cov_w = self._window(a.t_s, a.t_s + self.drop_window_pct / 100 * step_s,
                                         include_end=True)
        obl = ang_w[:, OBLIQUITY] * sign
        gap = not cov_w or len(obl) == 0 or bool(np.isnan(obl).any())
        if gap:
            drop_deg = drop_pct = math.nan
        else:
            k = int(np.argmax(obl))
            drop_deg = math.degrees(float(obl[k]))
            drop_pct = 100.0 * float(t_w[k] - a.t_s) / step_s
        # mean tilt over the step
        _, ang_s, cov_s = self._window(a.t_s, b.t_s, include_end=False)
        tilt = ang_s[:, TILT]
        if not cov_s or len(tilt) == 0 or np.isnan(ang_s).any():
            gap = True
            mean_tilt_deg = math.nan
        else:
            mean_tilt_deg = math.degrees(float(tilt.mean()))
        # ranges of motion over the stride
        roms = [math.nan] * 3
        if end is not None:
            _, ang_r, cov_r = self._window(a.t_s, end.t_s, include_end=True)
            if not cov_r or len(ang_r) < 2 or np.isnan(ang_r).any():
                gap = True
            else:
                rot = np.unwrap(ang_r[:, ROTATION])
                roms = [math.degrees(robust_range(x, self.rom_percentiles)) for x in
                        (ang_r[:, OBLIQUITY], ang_r[:, TILT], rot)]
        if gap and not cov_w:
            log.warning("step at %.3f s: its samples are no longer held (history_s = %g s)",
                        a.t_s, self.history_s)

        excluded = self._exclusion(a, b, end, gap, step_s)
        if excluded is None and end is not None and self._stride_in_turn(a, end):
            stride_s = math.nan                 # the step is straight, its stride turns
            roms = [math.nan] * 3
        if (excluded is None or excluded == "bout-edge") and a.side != b.side:
            self._recent = [*self._recent[-9:], step_s]
        self._retempo(step_s, excluded, a.side != b.side)
        self._walk_steps += 1
        return StepMetrics(
            stance_side=a.side, t_ic_s=float(a.t_s), step_time_s=float(step_s),
            stride_time_s=float(stride_s), contralateral_drop_deg=drop_deg,
            drop_time_pct=drop_pct, obliquity_rom_deg=roms[0], tilt_rom_deg=roms[1],
            rotation_rom_deg=roms[2], mean_tilt_deg=mean_tilt_deg, excluded=excluded,
            bout=int(a.bout))

    def _outside_tempo(self, step_s: float) -> bool:
        """The step time is outside the regularity band of the recent median (step 5)."""
        if len(self._recent) < 3:
            return False
        med = float(np.median(self._recent))
        tol = self.step_time_tol_s
        return not (med / self.max_stride_ratio - tol <= step_s
                    <= med * self.max_stride_ratio + tol)

    def _retempo(self, step_s: float, excluded: str | None, alternating: bool) -> None:
        """Step 5's new tempo: ``retempo_steps`` steps in a row off the median, alternating
        and within the band of each other, are the walk's tempo now (they stay excluded)."""
        if not alternating or excluded not in (None, "bout-edge", "irregular"):
            return
        if excluded != "irregular" or not self._outside_tempo(step_s):
            self._off_tempo = []
            return
        self._off_tempo = [*self._off_tempo[-(self.retempo_steps - 1):], step_s]
        if (len(self._off_tempo) == self.retempo_steps
                and max(self._off_tempo) <= self.max_stride_ratio * min(self._off_tempo)):
            self._recent, self._off_tempo = list(self._off_tempo), []

    def _stride_in_turn(self, a: GaitEvent, end: GaitEvent) -> bool:
        """The stride from ``a`` to ``end`` overlaps a turn (or the gait stage says so)."""
        stride = self._strides.get((a.side, a.bout, round(a.t_s, 6)))
        return (stride is not None and stride.in_turn) or any(
            tr.t_end_s >= a.t_s and tr.t_start_s <= end.t_s for tr in self._turns)

    def _exclusion(self, a: GaitEvent, b: GaitEvent, end: GaitEvent | None, gap: bool,
                   step_s: float) -> str | None:
        if gap:
            return "gap"
        stride = self._strides.get((a.side, a.bout, round(a.t_s, 6)))
        if any(tr.t_end_s >= a.t_s and tr.t_start_s <= b.t_s for tr in self._turns) or (
                end is None and stride is not None and stride.in_turn):
            return "turn"
        if a.side == b.side:
            return "irregular"
        if self._outside_tempo(step_s):
            return "irregular"
        if stride is not None and not stride.used and not stride.in_turn:
            return "irregular"
        if self._walk_steps < self.edge_steps or end is None:
            return "bout-edge"
        if stride is None and a.bout in self._stride_bouts:
            return "bout-edge"
        return None


def step_metrics(t_s, angles_rad, events: Iterable[GaitEvent], strides: Iterable[Stride] = (),
                 turns: Iterable[Turn] = (), **params) -> list[StepMetrics]:
    """Offline: :class:`StepMetricsStream` fed the whole recording, then flushed.

    ``strides`` and ``turns`` are the gait stage's (``RecordingAnalysis.gait.strides`` and
    ``.turns``); with strides, the gait stage's judgement of each stride (``used``,
    ``in_turn``) and of where its bouts end is applied too (step 5 of the stream).
    ``params`` go to :class:`StepMetricsStream`.
    """
    stream = StepMetricsStream(**params)
    out = stream.update(t_s, angles_rad, list(events), list(turns), strides=list(strides))
    return out + stream.flush()


# ---- turns ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class TurnMetrics:
    """One turn of the walking, as a measure (the gait stage's :class:`sacrum.signal.gait.Turn`).

    index: 0, 1, ... in time order. t_start_s, t_end_s: where the smoothed yaw rate rose above
    and fell below the gait stage's turn threshold (s). duration_s: t_end_s - t_start_s.
    angle_deg: the heading change, unsigned (deg; a U-turn is about 180).
    direction: "left" (counter-clockwise seen from above) or "right".
    peak_rate_dps: the largest smoothed yaw rate in it (deg/s). mean_rate_dps: angle_deg /
    duration_s. n_steps: initial contacts from t_start_s to t_end_s (both feet), the
    steps taken to turn; None when the gait stage found none there (a turn is walked in
    steps: soft pivot steps it could not find, often with the walk split into two bouts
    around the turn; the count is unknown, not 0). bout: the gait stage's bout the turn
    overlaps (-1: none).

    Turning is a measure in its own right: a slower turn, a lower peak rate and more
    steps to turn 180° go with poorer balance and mobility (Salarian et al. 2009 for the
    instrumented Timed Up and Go; El-Gohary et al. 2014 for turns from a lumbar IMU in
    daily life; Mancini et al. 2015, 2016: peak turn velocity and steps per turn, in the
    clinic and at home).

    References: Salarian A, Horak FB, Zampieri C, et al. iTUG, a sensitive and reliable
    measure of mobility. IEEE Trans Neural Syst Rehabil Eng 2010;18:303-310 (the iTUG
    turn; first as an EMBC 2009 paper). El-Gohary M, Pearson S, McNames J, et al.
    Continuous monitoring of turning in patients with movement disability. Sensors
    2014;14:356-369. Mancini M, El-Gohary M, Pearson S, et al. Continuous monitoring of
    turning in Parkinson's disease: rehabilitation potential. NeuroRehabilitation
    2015;37:3-10. Mancini M, Schlueter H, El-Gohary M, et al. Continuous monitoring of
    turning mobility and its association to falls and cognitive function: a pilot study.
    J Gerontol A Biol Sci Med Sci 2016;71:1102-1108.
    """

    index: int
    t_start_s: float
    t_end_s: float
    duration_s: float
    angle_deg: float
    direction: str
    peak_rate_dps: float
    mean_rate_dps: float
    n_steps: int | None
    bout: int = -1


def turn_metrics(turns: Iterable[Turn], events: Iterable[GaitEvent] = ()) -> list[TurnMetrics]:
    """The turns as measures (:class:`TurnMetrics`), in time order; ``events``: the gait
    events (their ICs are counted into each turn's ``n_steps`` and give its bout)."""
    ics = sorted((e for e in events if e.kind == "IC"), key=lambda e: e.t_s)
    out = []
    for i, tr in enumerate(sorted(turns, key=lambda x: x.t_start_s)):
        inside = [e for e in ics if tr.t_start_s - _T_TOL_S <= e.t_s <= tr.t_end_s + _T_TOL_S]
        dur = float(tr.t_end_s - tr.t_start_s)
        ang = abs(float(tr.angle_deg))
        near = inside or [e for e in ics if abs(e.t_s - tr.t_start_s) <= 2.0]
        out.append(TurnMetrics(
            index=i, t_start_s=float(tr.t_start_s), t_end_s=float(tr.t_end_s), duration_s=dur,
            angle_deg=ang, direction="left" if tr.angle_deg > 0 else "right",
            peak_rate_dps=float(abs(tr.peak_rate_dps)),
            mean_rate_dps=ang / dur if dur > 0 else math.nan, n_steps=len(inside) or None,
            bout=int(near[0].bout) if near else -1))
    return out


def summarize_turns(turns: Sequence[TurnMetrics]) -> dict:
    """A task's turns in a few numbers: {"n_turns", "n_left", "n_right", and the medians
    over the turns "duration_s", "angle_deg", "peak_rate_dps", "mean_rate_dps",
    "n_steps"} (medians NaN without turns; n_steps over the turns whose steps were
    found)."""
    def med(name: str) -> float:
        v = [getattr(t, name) for t in turns]
        v = [x for x in v if x is not None and math.isfinite(x)]
        return float(np.median(v)) if v else math.nan

    return {"n_turns": len(turns), "n_left": sum(t.direction == "left" for t in turns),
            "n_right": sum(t.direction == "right" for t in turns),
            "duration_s": med("duration_s"), "angle_deg": med("angle_deg"),
            "peak_rate_dps": med("peak_rate_dps"), "mean_rate_dps": med("mean_rate_dps"),
            "n_steps": med("n_steps")}


# ---- accelerations ------------------------------------------------------------------------

def body_acceleration(q_sensor_to_earth, acc_mps2, heading_rad) -> np.ndarray:
    """The sacrum's acceleration in the progression frame (N, 3), m/s², gravity removed.

    Steps: rotate the sensor's specific force into the earth frame with
    ``q_sensor_to_earth``; subtract gravity (9.80665 m/s² along earth z); turn about the
    vertical by -``heading_rad`` (the progression heading, rad, counter-clockwise from
    earth x, e.g. ``RecordingAnalysis.heading_rad``). Columns: x forward along the walking
    direction (AP, horizontal), y left (ML, horizontal), z up (V). The frame is level, not
    the pelvis's own: tilt and obliquity do not leak gravity into AP and ML (the
    horizontal-vertical frame Moe-Nilssen 1998 recommends for trunk accelerometry).
    NaN rows stay NaN; ``heading_rad`` is one value or (N,).

    Reference: Moe-Nilssen R. A new method for evaluating motor control in gait under
    real-life environmental conditions. Part 1: The instrument. Clin Biomech
    1998;13:320-327.
    """
    q = np.asarray(q_sensor_to_earth, float).reshape(-1, 4)
    acc = np.asarray(acc_mps2, float).reshape(-1, 3)
    if len(q) != len(acc):
        raise ValueError(f"q_sensor_to_earth and acc_mps2 must have the same number of rows, "
                         f"got {len(q)} and {len(acc)}")
    h = np.broadcast_to(np.asarray(heading_rad, float), (len(q),))
    with np.errstate(invalid="ignore"):
        a_e = quat_rotate(q, acc)
    c, s = np.cos(h), np.sin(h)
    return np.stack([c * a_e[:, 0] + s * a_e[:, 1], -s * a_e[:, 0] + c * a_e[:, 1],
                     a_e[:, 2] - G_MPS2], axis=1)


# ---- per task -----------------------------------------------------------------------------

@dataclass
class WalkSummary:
    """A task's walking (a set of steps) summarised. NaN always comes with a ``messages`` line.

    n_steps_used, n_steps_excluded: steps used in the values below, and not.
    excluded_reasons: {reason: count} of the excluded steps (``StepMetrics.excluded``).
    cadence_spm: steps per minute of the used steps, 60 / mean step time (steady walking:
        turns, pauses and walk ends are not in it).
    step_time_s, stride_time_s: {"mean", "sd", "L_mean", "L_sd", "R_mean", "R_sd"} (s) over
        the used steps (stride: those with a complete stride), all and by stance side (the
        side of the IC that starts it).
    stance_pct, swing_pct: the same keys, stance (IC to the same foot's FC) and swing as %
        of the stride, from the gait stage's strides (``strides``) that start at a used step
        and that it used; NaN without strides.
    contralateral_drop_deg: {"L", "R"} median peak drop over the used steps of each stance
        side (deg; positive = the swing side below its standing height; see StepMetrics).
    contralateral_drop_sd_deg: {"L", "R"} their standard deviation (deg).
    obliquity_rom_deg, tilt_rom_deg, rotation_rom_deg: {"L", "R"} median range of motion
        over the strides that start at a used step of that stance side (deg).
    mean_tilt_deg: mean of the steps' mean tilts (deg, anterior positive, from standing).
    symmetry_index: {"drop", "obliquity_rom", "step_time"} (%): SI = 100·|L − R| /
        (0.5·(L + R)) of the per-side values above (step time: means) — Robinson et al.
        1987 (they keep the sign; here it is the size of the asymmetry). 0 = symmetric;
        a 4° vs 9° drop gives 76.9 %. NaN unless both sides have positive values (with one
        value ≤ 0 the index has no meaning: a message says so); the drop index also needs
        a mean drop of at least ``min_si_drop_deg`` (5°), the obliquity-range index a mean
        range of at least ``MIN_SI_OBLIQUITY_ROM_DEG`` (8.7°): a percentage of values of a
        few degrees is mostly measurement error (drops of 1.2° against 1.5° read 22 %), so
        they are compared in degrees (``side_difference_deg``, what the score reads). The
        strides from left and from right ICs share half their samples, so the obliquity
        range's asymmetry stays near 0 for a steady one-sided drop (the drop's shows it);
        it grows when the range changes from stride to stride.
    variability: {"step_time_cv_pct": per-side coefficients of variation of step time
        (SD/mean·100), averaged over the two sides (so a steady left-right difference is not
        counted: that is symmetry), without the times more than 3 robust SDs from the side's
        median (:func:`time_outliers_rows`: a mis-timed IC, not variability);
        "stride_time_cv_pct": the same of stride time;
        "drop_sd_deg", "obliquity_rom_sd_deg", "tilt_rom_sd_deg", "rotation_rom_sd_deg":
        within-side SDs pooled over the sides, sqrt(mean of the two variances)}.
    regularity: {"step_v", "stride_v", "step_ap", "stride_ap"}: the unbiased autocorrelation
        of the vertical (AP) acceleration, normalised to 1 at lag 0, at its first dominant
        peak (one step: step regularity) and second (one stride: stride regularity)
        (Moe-Nilssen & Helbostad 2004): 1 = identical steps (strides). Over runs of at least
        ``min_regularity_steps`` consecutive used steps, weighted by their length.
    harmonic_ratio: {"ap", "v", "ml"}: per stride (used step with a complete stride), the
        sum of the amplitudes of the even harmonics of the stride frequency over that of the
        odd ones (first 20 harmonics) for AP and V, odd over even for ML (Menz, Lord &
        Fitzpatrick 2003); median over strides. Higher = smoother, more symmetric.
    curves: {"pct": 0..100 (101 points), "L": {...}, "R": {...}, "convention": text}: per
        stance side, the strides from that side's IC, time-normalised to 0-100 % of the
        gait cycle: {"n": strides, "obliquity_deg"|"tilt_deg"|"rotation_deg":
        {"mean": [101], "sd": [101]}} in the sacrum convention (docs/pelvic-angles.md:
        obliquity + = left side up, rotation + = right side forward, for both sides; the
        per-side clinical form is ``sacrum.signal.angles.per_side``).
    messages: why any value is NaN, and what to keep in mind.
    n_steps_by_side: {"L", "R"} used steps of each stance side.
    mean_obliquity_deg: mean obliquity over the used steps (deg, + = left side up, from
        standing). Far from 0 it shifts the two sides' drops in opposite directions (a
        calibration not taken in quiet standing, or a leg-length difference): a message
        says so when it exceeds ``max_mean_obliquity_deg``; likewise a mean tilt beyond
        ``max_mean_tilt_deg``.
    side_difference_deg: {"drop", "obliquity_rom"}: |L − R| of the per-side values above
        (deg), the asymmetry in the angle's own unit; NaN unless both sides have a value.
    """

    n_steps_used: int
    n_steps_excluded: int
    excluded_reasons: dict[str, int]
    cadence_spm: float
    step_time_s: dict[str, float]
    stride_time_s: dict[str, float]
    stance_pct: dict[str, float]
    swing_pct: dict[str, float]
    contralateral_drop_deg: dict[str, float]
    contralateral_drop_sd_deg: dict[str, float]
    obliquity_rom_deg: dict[str, float]
    tilt_rom_deg: dict[str, float]
    rotation_rom_deg: dict[str, float]
    mean_tilt_deg: float
    symmetry_index: dict[str, float]
    variability: dict[str, float]
    regularity: dict[str, float]
    harmonic_ratio: dict[str, float]
    curves: dict
    messages: list[str] = field(default_factory=list)
    n_steps_by_side: dict[str, int] = field(default_factory=dict)
    mean_obliquity_deg: float = math.nan
    side_difference_deg: dict[str, float] = field(default_factory=dict)


def _nan_dict(keys: Sequence[str]) -> dict[str, float]:
    return dict.fromkeys(keys, math.nan)


def _sd(x: np.ndarray) -> float:
    return float(np.std(x, ddof=1)) if len(x) >= 2 else math.nan


def _mean_sd_by_side(values: np.ndarray, sides: np.ndarray, min_n: int) -> dict[str, float]:
    out = {"mean": math.nan, "sd": math.nan}
    ok = np.isfinite(values)
    if ok.sum() >= min_n:
        out["mean"], out["sd"] = float(values[ok].mean()), _sd(values[ok])
    for side in SIDES:
        v = values[ok & (sides == side)]
        big = len(v) >= min_n
        out[f"{side}_mean"] = float(v.mean()) if big else math.nan
        out[f"{side}_sd"] = _sd(v) if big else math.nan
    return out


#: The per-step fields the step statistics (:func:`step_statistics`) are made of.
STEP_FIELDS = ("contralateral_drop_deg", "obliquity_rom_deg", "tilt_rom_deg",
               "rotation_rom_deg", "step_time_s", "stride_time_s")
_VARIABILITY_FIELDS = {"step_time_cv_pct": "step_time_s", "stride_time_cv_pct": "stride_time_s",
                       "drop_sd_deg": "contralateral_drop_deg",
                       "obliquity_rom_sd_deg": "obliquity_rom_deg",
                       "tilt_rom_sd_deg": "tilt_rom_deg", "rotation_rom_sd_deg": "rotation_rom_deg"}


def is_scored(step: StepMetrics) -> bool:
    """Whether the score counts this step: it is used in the summaries (``excluded`` is
    None). The live view gates its cues on this, so a cue never comes from a step the
    score leaves out (a turn, a gap, an irregular or edge step)."""
    return step.excluded is None


def _nanmedian_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(median over the finite values of each row, their count); NaN for an empty row.
    Vectorised (np.nanmedian loops over rows for small arrays)."""
    n = np.isfinite(x).sum(axis=1)
    if x.shape[1] == 0:
        return np.full(len(x), np.nan), n
    srt = np.sort(x, axis=1)                   # NaN last
    lo = np.clip((n - 1) // 2, 0, None)[:, None]
    hi = np.clip(n // 2, 0, x.shape[1] - 1)[:, None]
    med = 0.5 * (np.take_along_axis(srt, lo, 1) + np.take_along_axis(srt, hi, 1))[:, 0]
    return np.where(n > 0, med, np.nan), n


def _nan_mean_sd_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, SD with ddof 1, count) over the finite values of each row."""
    ok = np.isfinite(x)
    n = ok.sum(axis=1)
    xs = np.where(ok, x, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = xs.sum(axis=1) / n
        var = (np.where(ok, x - mean[:, None], 0.0) ** 2).sum(axis=1) / (n - 1)
    mean = np.where(n > 0, mean, np.nan)
    sd = np.where(n >= 2, np.sqrt(np.maximum(var, 0.0)), np.nan)
    return mean, sd, n


#: Step and stride times further than this many robust SDs (1.4826 × MAD) from their median
#: are left out of the time CVs (``variability.*_time_cv_pct``), and the robust SD is taken
#: as at least ``_TIME_OUTLIER_FLOOR`` × the median (steady phantom walking has MAD 0).
_TIME_OUTLIER_SDS = 3.0
_TIME_OUTLIER_FLOOR = 0.01


def time_outliers_rows(x: np.ndarray) -> np.ndarray:
    """Which finite values of each row of ``x`` (step or stride times, s) are outliers for
    the time CVs: further than ``_TIME_OUTLIER_SDS`` robust SDs from the row's median.

    Why: one IC timed on the wrong bump (a turn's pivot, a walk's last soft step) makes one
    short and one long stride, and the SD of 15-30 strides takes it as variability. On the
    34 IPOL walk tests (bench/stride_variability.py, 2026-12-02) the used strides' CV read
    1.8 points (of %) above the reference's on average (median |error| 1.1), 0.4 (0.7)
    without such strides; per person pooled, 5 of 6 closer to the reference. Removing
    strides more than 3 SD from the median is the usual step of stride-time variability
    analysis (Hausdorff et al. 1998); the SD here is the robust one, which the outliers do
    not inflate (with the plain SD the bias stays +1.4; leave-one-person-out between the
    two, the robust one is chosen in 6 of 6 folds). A gait variable throughout keeps its
    spread: the cut scales with it; a very regular walker with wider tails loses more
    strides to it (IPOL 1: 14 %, its CV 1.3 points low), which the summary's message
    counts."""
    med, _ = _nanmedian_rows(x)
    mad, _ = _nanmedian_rows(np.abs(x - med[:, None]))
    scale = np.maximum(1.4826 * mad, _TIME_OUTLIER_FLOOR * np.abs(med))
    with np.errstate(invalid="ignore"):
        return np.isfinite(x) & (np.abs(x - med[:, None]) > _TIME_OUTLIER_SDS * scale[:, None])


def _si_rows(left: np.ndarray, right: np.ndarray, floor: float = 0.0) -> np.ndarray:
    """:func:`symmetry_index` row-wise; NaN unless both are finite and positive and their
    mean (the index's denominator) is at least ``floor``."""
    ok = (np.isfinite(left) & np.isfinite(right) & (left > 0) & (right > 0)
          & (0.5 * (left + right) >= floor))
    with np.errstate(invalid="ignore", divide="ignore"):
        si = 100.0 * np.abs(left - right) / (0.5 * (left + right))
    return np.where(ok, si, np.nan)


def step_statistics(values: dict[str, dict[str, np.ndarray]], *, min_steps_per_side: int = 5,
                    min_steps_variability: int = 15, min_si_drop_deg: float = MIN_SI_DROP_DEG,
                    min_si_obliquity_rom_deg: float = MIN_SI_OBLIQUITY_ROM_DEG,
                    wanted: Iterable[str] | None = None) -> dict[str, np.ndarray]:
    """The walking summary's step-derived values, for B sets of steps at once.

    ``values[side][field]``: (B, n_side) per-step values (``STEP_FIELDS``, NaN where a
    step has none) of each stance side; row b is one set of steps: the used steps
    themselves (B = 1, as :func:`summarize_walk` calls it) or one bootstrap resample
    (:func:`bootstrap_step_statistics`). Returns {metric path: (B,)} with the paths the
    bands use (``"contralateral_drop_deg.L"``, ``"symmetry_index.step_time"``,
    ``"variability.stride_time_cv_pct"``, ...), each computed as :class:`WalkSummary`
    documents it, so the summary and its bootstrap are one computation. ``wanted``: only
    these paths (and what they need) are computed (None: all).
    """
    want = None if wanted is None else set(wanted)

    def need(*paths: str) -> bool:
        return want is None or any(p in want for p in paths)

    out: dict[str, np.ndarray] = {}
    b = len(next(iter(values[SIDES[0]].values())))
    nan = np.full(b, np.nan)
    n_side = {sd: values[sd]["step_time_s"].shape[1] for sd in SIDES}
    memo: dict[tuple[str, str], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def mean_sd(sd: str, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if (sd, name) not in memo:
            memo[(sd, name)] = _nan_mean_sd_rows(values[sd][name])
        return memo[(sd, name)]

    si_needs = {"contralateral_drop_deg": ("symmetry_index.drop", "side_difference_deg.drop"),
                "obliquity_rom_deg": ("symmetry_index.obliquity_rom",
                                      "side_difference_deg.obliquity_rom")}
    for name in ("contralateral_drop_deg", "obliquity_rom_deg", "tilt_rom_deg",
                 "rotation_rom_deg"):
        for sd in SIDES:
            if need(f"{name}.{sd}", *si_needs.get(name, ())):
                med, n = _nanmedian_rows(values[sd][name])
                out[f"{name}.{sd}"] = np.where(n >= min_steps_per_side, med, np.nan)
            if name == "contralateral_drop_deg" and need(f"contralateral_drop_sd_deg.{sd}"):
                _, sdv, n = mean_sd(sd, name)
                out[f"contralateral_drop_sd_deg.{sd}"] = np.where(n >= min_steps_per_side, sdv,
                                                                  np.nan)
    for name in ("step_time_s", "stride_time_s"):
        if need(f"{name}.mean", f"{name}.sd"):
            both = np.concatenate([values[sd][name] for sd in SIDES], axis=1)
            mean, sdv, n = _nan_mean_sd_rows(both)
            out[f"{name}.mean"] = np.where(n >= min_steps_per_side, mean, np.nan)
            out[f"{name}.sd"] = np.where(n >= min_steps_per_side, sdv, np.nan)
        for sd in SIDES:
            extra = ("symmetry_index.step_time",) if name == "step_time_s" else ()
            if need(f"{name}.{sd}_mean", f"{name}.{sd}_sd", *extra):
                mean, sdv, n = mean_sd(sd, name)
                out[f"{name}.{sd}_mean"] = np.where(n >= min_steps_per_side, mean, np.nan)
                out[f"{name}.{sd}_sd"] = np.where(n >= min_steps_per_side, sdv, np.nan)
    if need("cadence_spm"):
        step_all = np.concatenate([values[sd]["step_time_s"] for sd in SIDES], axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            cad = 60.0 / np.nanmean(step_all, axis=1) if step_all.shape[1] else nan
        out["cadence_spm"] = cad if step_all.shape[1] >= min_steps_per_side else nan.copy()
    if need(*si_needs["contralateral_drop_deg"]):
        dl, dr = out["contralateral_drop_deg.L"], out["contralateral_drop_deg.R"]
        out["symmetry_index.drop"] = _si_rows(dl, dr, min_si_drop_deg)
        out["side_difference_deg.drop"] = np.abs(dl - dr)
    if need(*si_needs["obliquity_rom_deg"]):
        ol, orr = out["obliquity_rom_deg.L"], out["obliquity_rom_deg.R"]
        out["symmetry_index.obliquity_rom"] = _si_rows(ol, orr, min_si_obliquity_rom_deg)
        out["side_difference_deg.obliquity_rom"] = np.abs(ol - orr)
    if need("symmetry_index.step_time"):
        out["symmetry_index.step_time"] = _si_rows(out["step_time_s.L_mean"],
                                                   out["step_time_s.R_mean"])
    enough = min(n_side.values()) >= min_steps_variability
    for key, name in _VARIABILITY_FIELDS.items():
        if not need(f"variability.{key}"):
            continue
        if not enough:
            out[f"variability.{key}"] = nan.copy()
            continue
        per = []
        for sd in SIDES:
            mean, sdv, n = mean_sd(sd, name)
            ok = n >= min_steps_variability          # the gate counts every used step
            if key.endswith("_time_cv_pct"):         # mis-timed ICs' strides left out
                x = values[sd][name]
                mean, sdv, _ = _nan_mean_sd_rows(np.where(time_outliers_rows(x), np.nan, x))
            with np.errstate(invalid="ignore", divide="ignore"):
                per.append(np.where(ok, sdv / mean * 100.0 if key.endswith("_cv_pct")
                                    else sdv ** 2, np.nan))
        v = (per[0] + per[1]) / 2.0
        out[f"variability.{key}"] = v if key.endswith("_cv_pct") else np.sqrt(v)
    return out


def _values_by_side(used: Sequence[StepMetrics]) -> dict[str, dict[str, np.ndarray]]:
    """{side: {field: (n_side,) values}} of the used steps (``STEP_FIELDS``)."""
    return {sd: {f: np.array([getattr(s, f) for s in used if s.stance_side == sd], float)
                 for f in STEP_FIELDS} for sd in SIDES}


def bootstrap_step_statistics(steps: Sequence[StepMetrics], *, n_boot: int = 1000,
                              seed: int = 0, **params) -> dict[str, np.ndarray]:
    """:func:`step_statistics` of ``n_boot`` bootstrap resamples of the used steps.

    Each resample draws, with replacement, as many steps of each stance side as were used
    on that side (stratified by side: every resample has the same left/right counts, as the
    walking had), and keeps each step whole (its drop, ranges and times together, so their
    correlation stays). ``seed`` fixes the generator (numpy's PCG64): the same steps give
    the same resamples, so an analysis is deterministic. ``params`` go to
    :func:`step_statistics`. Returns {metric path: (n_boot,)}.

    Values the steps do not carry (regularity and harmonic ratios, from the acceleration
    of runs of steps) are not resampled: their uncertainty is not in the interval. The
    summary's minimum counts (``min_steps_per_side``, ``min_steps_variability``) decide
    which values exist; they are not applied again to each resample (by default 1 and 2
    here), where the finite values drawn vary: a steady median of 6 ranges must not
    become NaN in the resamples that drew the one step without a range twice.

    Reference: Efron B, Tibshirani RJ. An Introduction to the Bootstrap. Chapman & Hall;
    1993 (the percentile interval, ch. 13; stratified resampling, ch. 6).
    """
    rng = np.random.default_rng(seed)
    by_side = _values_by_side([s for s in steps if s.excluded is None])
    values = {}
    for sd in SIDES:
        n = len(by_side[sd]["step_time_s"])
        idx = rng.integers(0, n, size=(n_boot, n)) if n else np.zeros((n_boot, 0), int)
        values[sd] = {f: v[idx] for f, v in by_side[sd].items()}
    params = {"min_steps_per_side": 1, "min_steps_variability": 2} | params
    return step_statistics(values, **params)  # wanted= in params: only what is needed


def symmetry_index(left: float, right: float) -> float:
    """SI = 100·|L − R| / (0.5·(L + R)) (%), Robinson et al. 1987 (unsigned); NaN unless
    both are finite and positive: the index is defined for magnitudes, and a drop of
    opposite signs (one side rose) would read as hundreds of percent."""
    if not (math.isfinite(left) and math.isfinite(right)) or left <= 0 or right <= 0:
        return math.nan
    return 100.0 * abs(left - right) / (0.5 * (left + right))


def summarize_walk(steps: Sequence[StepMetrics], t_s, angles_rad, acc_body_mps2=None,
                   strides: Iterable[Stride] = (), *, min_steps_per_side: int = 5,
                   min_steps_variability: int = 15, min_regularity_steps: int = 6,
                   n_harmonics: int = 20, max_mean_tilt_deg: float = 10.0,
                   max_mean_obliquity_deg: float = 2.0,
                   min_si_drop_deg: float = MIN_SI_DROP_DEG) -> WalkSummary:
    """The walking of one task, summarised (:class:`WalkSummary`, every field documented).

    ``steps``: the task's :class:`StepMetrics`; ``t_s``, ``angles_rad``: the recording's
    samples (as given to :func:`step_metrics`), for the curves; ``acc_body_mps2``: the
    sacrum's acceleration in the progression frame (:func:`body_acceleration`) on the same
    rows, for regularity and harmonic ratios (without it those are NaN, said so);
    ``strides``: the gait stage's strides, for stance and swing.

    Steps:

    1. Used steps: those with ``excluded`` None; count the others by reason.
    2. Spatio-temporal: cadence, step and stride times (needs ``min_steps_per_side`` used
       steps, in all or per side), stance and swing from the matching gait-stage strides.
    3. Per stance side: median drop, its SD, median ROMs (``min_steps_per_side`` steps
       of that side: a median of fewer moves by a whole step's value when one step is
       added or removed); mean tilt.
    4. Symmetry indices from the per-side values (Robinson et al. 1987), and the side
       differences in degrees.
    5. Variability: per-side SDs and CVs (``min_steps_variability`` steps per side: an SD of
       fewer steps is too unreliable for stride-to-stride variability, about 30 steps
       being recommended, Galna et al. 2013); the time CVs without the times more than 3
       robust SDs from the median (``time_outliers_rows``; cf. Hausdorff et al. 1998).
    6. Regularity (Moe-Nilssen & Helbostad 2004) over runs of consecutive used steps:
       unbiased autocorrelation A(m) = Σ x_i x_(i+m) / (N − m), mean removed, divided by
       A(0); step regularity = the largest A within ±25 % of the run's median step time,
       stride regularity within ±25 % of its median stride time.
    7. Harmonic ratios (Menz et al. 2003): DFT of each stride's acceleration (IC to the
       same foot's next IC, end excluded) at 1..``n_harmonics`` cycles per stride; ratio
       of the summed amplitudes of the even to the odd harmonics (AP, V) or odd to even
       (ML); median over strides (at least ``min_steps_per_side``).
    8. Curves: each stride resampled (linear interpolation) to 101 points, 0-100 %; mean
       and SD per stance side.

    Deviations: Moe-Nilssen & Helbostad computed regularity over one straight 4-m
    walk, here over each run of steady steps (turns and walk ends left out), averaged;
    Menz et al. used the first 20 harmonics of the stride too, computed over whole strides
    found from the AP acceleration; here the strides come from the gait stage's ICs.

    References: Robinson RO, Herzog W, Nigg BM. Use of force platform variables to
    quantify the effects of chiropractic manipulation on gait symmetry. J Manipulative
    Physiol Ther 1987;10:172-176. Moe-Nilssen R, Helbostad JL. Estimation of gait cycle
    characteristics by trunk accelerometry. J Biomech 2004;37:121-126. Menz HB, Lord SR,
    Fitzpatrick RC. Acceleration patterns of the head and pelvis when walking on level and
    irregular surfaces. Gait Posture 2003;18:35-46. Galna B, Lord S, Rochester L. Is gait
    variability reliable in older adults and Parkinson's disease? Towards an optimal testing
    protocol. Gait Posture 2013;37:580-585. Hausdorff JM, Cudkowicz ME, Firtion R, Wei JY,
    Goldberger AL. Gait variability and basal ganglia disorders: stride-to-stride
    variations of gait cycle timing in Parkinson's disease and Huntington's disease. Mov
    Disord 1998;13:428-437.
    """
    steps = list(steps)
    msgs: list[str] = []
    used = [s for s in steps if s.excluded is None]
    excl = [s for s in steps if s.excluded is not None]
    reasons = {r: 0 for r in EXCLUSION_REASONS}
    for s in excl:
        reasons[s.excluded] = reasons.get(s.excluded, 0) + 1
    reasons = {r: n for r, n in reasons.items() if n}
    side = np.array([s.stance_side for s in used], dtype=object)
    n_side = {sd: int((side == sd).sum()) for sd in SIDES}

    def col(name: str) -> np.ndarray:
        return np.array([getattr(s, name) for s in used], float)

    # 1.
    if not steps:
        msgs.append("no steps: no walking was found in this task")
    elif not used:
        msgs.append(f"none of the {len(steps)} steps could be used ("
                    + ", ".join(f"{n} {r}" for r, n in reasons.items())
                    + "): nothing to summarise")
    elif excl:
        msgs.append(f"{len(used)} of {len(steps)} steps used; excluded: "
                    + ", ".join(f"{n} {r}" for r, n in reasons.items()))
    if steps and len({s.stance_side for s in steps}) == 1:
        only = steps[0].stance_side
        msgs.append(f"all {len(steps)} steps are {_SIDE_WORD[only]}-stance: only one side was "
                    "detected, so there is nothing for the other side and no symmetry index "
                    "(check the gait events' sides)")
    few = [sd for sd in SIDES if len(used) > 0 and n_side[sd] < min_steps_per_side]
    for sd in few:
        other = "R" if sd == "L" else "L"
        msgs.append(
            f"only {n_side[sd]} {_SIDE_WORD[sd]}-stance steps used: too few for the "
            f"{_SIDE_WORD[sd]} drop, ranges of motion and step times (at least "
            f"{min_steps_per_side} needed), so they are NaN"
            + ("; and no symmetry index without both sides" if n_side[other] else ""))
        if n_side[sd] == 0 and n_side[other]:
            msgs.append(f"no {_SIDE_WORD[sd]}-stance steps at all: only one side was detected "
                        "(check the gait events' sides)")

    # 2.-5.: one computation with the bootstrap (step_statistics, B = 1)
    stats = {k: float(v[0]) for k, v in step_statistics(
        {sd: {f: v[None, :] for f, v in d.items()} for sd, d in _values_by_side(used).items()},
        min_steps_per_side=min_steps_per_side, min_steps_variability=min_steps_variability,
        min_si_drop_deg=min_si_drop_deg).items()}

    def group(prefix: str, keys: Sequence[str]) -> dict[str, float]:
        return {k: stats[f"{prefix}.{k}"] for k in keys}

    # 2.
    cadence = stats["cadence_spm"]
    if used and len(used) < min_steps_per_side:
        msgs.append(f"cadence: only {len(used)} steps used (at least {min_steps_per_side} "
                    "needed)")
    time_keys = ("mean", "sd", "L_mean", "L_sd", "R_mean", "R_sd")
    step_time_s = group("step_time_s", time_keys)
    stride_time_s = group("stride_time_s", time_keys)
    stance_pct, swing_pct = _stance_swing(used, list(strides), min_steps_per_side, msgs)

    # 3.
    drop = group("contralateral_drop_deg", SIDES)
    drop_sd = group("contralateral_drop_sd_deg", SIDES)
    roms = {n: group(f"{n}_rom_deg", SIDES) for n in ("obliquity", "tilt", "rotation")}
    mt = col("mean_tilt_deg")
    mean_tilt = float(mt.mean()) if len(used) >= min_steps_per_side else math.nan
    t = np.asarray(t_s, float).reshape(-1)
    angles = np.asarray(angles_rad, float).reshape(-1, 3)
    if len(angles) != len(t):
        raise ValueError(f"angles_rad has {len(angles)} rows but t_s has {len(t)}")
    mean_obl = _mean_obliquity_deg(used, t, angles) if len(used) >= min_steps_per_side \
        else math.nan
    if abs(mean_tilt) > max_mean_tilt_deg:
        msgs.append(f"mean tilt while walking is {mean_tilt:+.1f}° from the calibration "
                    f"(more than {max_mean_tilt_deg:g}°): was the calibration taken in quiet "
                    "standing? (the pelvis tilts back when seated: a seated calibration makes "
                    "walking read strongly anterior)")
    if abs(mean_obl) > max_mean_obliquity_deg:
        msgs.append(f"mean obliquity while walking is {mean_obl:+.1f}° (+ = left side up) from "
                    f"the calibration: left-stance drops read about {abs(mean_obl):.1f}° "
                    f"{'larger' if mean_obl > 0 else 'smaller'} and right-stance drops "
                    f"{'smaller' if mean_obl > 0 else 'larger'} than from a level pelvis; check "
                    "the calibration posture (or a leg-length difference)")

    # 4.
    si = group("symmetry_index", ("drop", "obliquity_rom", "step_time"))
    diff = group("side_difference_deg", ("drop", "obliquity_rom"))
    if all(np.isfinite([drop["L"], drop["R"]])) and not np.isfinite(si["drop"]):
        msgs.append(f"drop symmetry index not given: the drops ({drop['L']:.1f}° left, "
                    f"{drop['R']:.1f}° right stance) average less than {min_si_drop_deg:g}° "
                    "or one is not positive, and a percentage of a small drop magnifies its "
                    "measurement error; the "
                    f"side difference is {diff['drop']:.1f}° (side_difference_deg.drop)")

    # 5.
    var = group("variability", tuple(_VARIABILITY_FIELDS))
    if used and min(n_side.values()) < min_steps_variability:
        msgs.append(f"variability: {n_side['L']} left- and {n_side['R']} right-stance steps "
                    f"used, at least {min_steps_variability} per side needed (variability of "
                    "fewer steps is not reliable; Galna et al. 2013 recommend about 30 steps)")
    elif used:
        for key in _VARIABILITY_FIELDS:
            if not math.isfinite(var[key]):
                msgs.append(f"variability: {key} has fewer than {min_steps_variability} "
                            "values on a side")
        by_side = _values_by_side(used)
        out_n = {name: sum(int(time_outliers_rows(by_side[sd][name][None, :]).sum())
                           for sd in SIDES) for name in ("step_time_s", "stride_time_s")}
        if any(out_n.values()):
            msgs.append(f"variability: {out_n['stride_time_s']} stride and "
                        f"{out_n['step_time_s']} step times more than {_TIME_OUTLIER_SDS:g} "
                        "robust SDs from their median left out of the time CVs (one "
                        "mis-timed initial contact makes a short and a long one; cf. "
                        "Hausdorff et al. 1998)")

    # 6., 7.
    runs = _runs(used)
    reg = _nan_dict(("step_v", "stride_v", "step_ap", "stride_ap"))
    hr = _nan_dict(("ap", "v", "ml"))
    if acc_body_mps2 is None:
        if used:
            msgs.append("regularity and harmonic ratios need the sacral acceleration "
                        "(acc_body_mps2): not given")
    elif used:
        acc = np.asarray(acc_body_mps2, float).reshape(-1, 3)
        if len(acc) != len(t):
            raise ValueError(f"acc_body_mps2 has {len(acc)} rows but t_s has {len(t)}; "
                             "give the acceleration of the same samples")
        reg = _regularity(runs, t, acc, min_regularity_steps, msgs)
        hr = _harmonic_ratios(used, t, acc, n_harmonics, min_steps_per_side, msgs)

    # 8.
    curves = _curves(used, t, angles, msgs)

    return WalkSummary(
        n_steps_used=len(used), n_steps_excluded=len(excl), excluded_reasons=reasons,
        cadence_spm=cadence, step_time_s=step_time_s, stride_time_s=stride_time_s,
        stance_pct=stance_pct, swing_pct=swing_pct, contralateral_drop_deg=drop,
        contralateral_drop_sd_deg=drop_sd, obliquity_rom_deg=roms["obliquity"],
        tilt_rom_deg=roms["tilt"], rotation_rom_deg=roms["rotation"], mean_tilt_deg=mean_tilt,
        symmetry_index=si, variability=var, regularity=reg, harmonic_ratio=hr, curves=curves,
        messages=msgs, n_steps_by_side=n_side, mean_obliquity_deg=mean_obl,
        side_difference_deg=diff)


def _mean_obliquity_deg(used: list[StepMetrics], t: np.ndarray, angles: np.ndarray) -> float:
    """Mean obliquity over the samples of the used steps (deg)."""
    total, n = 0.0, 0
    for s in used:
        i0 = int(np.searchsorted(t, s.t_ic_s - _T_TOL_S))
        i1 = int(np.searchsorted(t, s.t_ic_s + s.step_time_s - _T_TOL_S))
        x = angles[i0:i1, OBLIQUITY]
        x = x[np.isfinite(x)]
        total += float(x.sum())
        n += len(x)
    return math.degrees(total / n) if n else math.nan


def _stance_swing(used: list[StepMetrics], strides: list[Stride], min_n: int,
                  msgs: list[str]) -> tuple[dict[str, float], dict[str, float]]:
    keys = ("mean", "sd", "L_mean", "L_sd", "R_mean", "R_sd")
    if not used:
        return _nan_dict(keys), _nan_dict(keys)
    if not strides:
        msgs.append("stance and swing need the gait stage's strides (final contacts): "
                    "not given")
        return _nan_dict(keys), _nan_dict(keys)
    starts = {(s.stance_side, round(s.t_ic_s, 6)) for s in used}
    sel = [s for s in strides if s.used and (s.side, round(s.t_start_s, 6)) in starts
           and np.isfinite(s.stance_s) and np.isfinite(s.swing_s) and s.stride_time_s > 0]
    if len(sel) < min_n:
        msgs.append(f"stance and swing: only {len(sel)} strides with both contacts match the "
                    f"used steps (at least {min_n} needed)")
    sides = np.array([s.side for s in sel], dtype=object)
    stance = np.array([100.0 * s.stance_s / s.stride_time_s for s in sel])
    swing = np.array([100.0 * s.swing_s / s.stride_time_s for s in sel])
    return _mean_sd_by_side(stance, sides, min_n), _mean_sd_by_side(swing, sides, min_n)


def _runs(used: list[StepMetrics]) -> list[list[StepMetrics]]:
    """Runs of consecutive used steps (each starting where the previous one ended)."""
    runs: list[list[StepMetrics]] = []
    for s in sorted(used, key=lambda s: s.t_ic_s):
        if runs and runs[-1][-1].bout == s.bout and abs(
                runs[-1][-1].t_ic_s + runs[-1][-1].step_time_s - s.t_ic_s) <= _T_TOL_S:
            runs[-1].append(s)
        else:
            runs.append([s])
    return runs


def _unbiased_autocorrelation(x: np.ndarray, max_lag: int) -> np.ndarray:
    """A(m) = Σ x_i x_(i+m) / (N − m) for m = 0..max_lag, divided by A(0); mean removed."""
    x = x - x.mean()
    n = len(x)
    a = np.array([float(x[:n - m] @ x[m:]) / (n - m) for m in range(max_lag + 1)])
    return a / a[0] if a[0] > 0 else np.full_like(a, np.nan)


def _regularity(runs: list[list[StepMetrics]], t: np.ndarray, acc: np.ndarray, min_steps: int,
                msgs: list[str]) -> dict[str, float]:
    out = _nan_dict(("step_v", "stride_v", "step_ap", "stride_ap"))
    vals: dict[str, list[tuple[float, int]]] = {k: [] for k in out}
    for run in runs:
        if len(run) < min_steps:
            continue
        t0, t1 = run[0].t_ic_s, run[-1].t_ic_s + run[-1].step_time_s
        i0 = int(np.searchsorted(t, t0 - _T_TOL_S))
        i1 = int(np.searchsorted(t, t1 - _T_TOL_S))
        seg = acc[i0:i1]
        if len(seg) < 4 or np.isnan(seg).any():
            continue
        dt = (t[i1 - 1] - t[i0]) / max(1, i1 - 1 - i0)
        step_n = float(np.median([s.step_time_s for s in run])) / dt
        stride_n = 2.0 * step_n
        max_lag = min(len(seg) - 2, math.ceil(1.25 * stride_n))
        for axis, name in ((2, "v"), (0, "ap")):
            a = _unbiased_autocorrelation(seg[:, axis], max_lag)
            for key, lag in ((f"step_{name}", step_n), (f"stride_{name}", stride_n)):
                lo, hi = math.floor(0.75 * lag), min(max_lag, math.ceil(1.25 * lag))
                if hi > lo:
                    vals[key].append((float(np.max(a[lo:hi + 1])), len(seg)))
    for key, v in vals.items():
        if v:
            w = np.array([n for _, n in v], float)
            out[key] = float(np.average([x for x, _ in v], weights=w))
    if not vals["step_v"]:
        msgs.append(f"regularity: no run of at least {min_steps} consecutive used steps "
                    "(needed for the autocorrelation to reach a stride)")
    return out


def _harmonic_ratios(used: list[StepMetrics], t: np.ndarray, acc: np.ndarray, n_harm: int,
                     min_n: int, msgs: list[str]) -> dict[str, float]:
    out = _nan_dict(("ap", "v", "ml"))
    k = np.arange(1, n_harm + 1)
    even = k % 2 == 0
    ratios = []
    for s in used:
        if not math.isfinite(s.stride_time_s):
            continue
        i0 = int(np.searchsorted(t, s.t_ic_s - _T_TOL_S))
        i1 = int(np.searchsorted(t, s.t_ic_s + s.stride_time_s - _T_TOL_S))
        x = acc[i0:i1]
        n = len(x)
        if n < 2 * n_harm + 2 or np.isnan(x).any():
            continue
        amp = np.abs(np.fft.rfft(x, axis=0)[1:n_harm + 1])   # harmonics 1..n_harm, (n_harm, 3)
        with np.errstate(divide="ignore", invalid="ignore"):
            r_ap = amp[even, 0].sum() / amp[~even, 0].sum()
            r_ml = amp[~even, 1].sum() / amp[even, 1].sum()
            r_v = amp[even, 2].sum() / amp[~even, 2].sum()
        ratios.append((r_ap, r_v, r_ml))
    if len(ratios) < min_n:
        msgs.append(f"harmonic ratios: only {len(ratios)} complete strides (at least {min_n} "
                    "needed)")
        return out
    r = np.array(ratios)
    out["ap"], out["v"], out["ml"] = (float(np.nanmedian(r[:, i])) for i in range(3))
    return out


def stride_curve(t: np.ndarray, angles: np.ndarray, t_ic_s: float, stride_time_s: float,
                 pct: np.ndarray) -> np.ndarray | None:
    """One stride normalised to the gait cycle: ``angles`` (N, k) on the sample times ``t``
    (s) from the IC at ``t_ic_s`` to ``t_ic_s + stride_time_s``, interpolated at ``pct``
    (% of the stride), as (k, len(pct)) in ``angles``' own columns and units; None where
    the stride is not whole (fewer than two samples, or a run of lost samples that the
    step metrics would not bridge either: longer than ``MAX_BRIDGE_S``; shorter ones are
    bridged as there). The curves of the summaries (``curves``) and the live view's final
    overlay are cut by this one rule."""
    i0 = int(np.searchsorted(t, t_ic_s - _T_TOL_S))
    i1 = int(np.searchsorted(t, t_ic_s + stride_time_s + _T_TOL_S, "right"))
    ts, a = t[i0:i1], angles[i0:i1]
    if len(ts) and np.isnan(a).any():  # neighbours up to MAX_BRIDGE_S outside, as _window
        j0 = int(np.searchsorted(t, ts[0] - MAX_BRIDGE_S - _T_TOL_S))
        j1 = int(np.searchsorted(t, ts[-1] + MAX_BRIDGE_S + _T_TOL_S, "right"))
        a = _bridge_gaps(t[j0:j1], angles[j0:j1], MAX_BRIDGE_S)[i0 - j0:i1 - j0]
    if len(ts) < 2 or np.isnan(a).any():
        return None
    u = (ts - t_ic_s) / stride_time_s * 100.0
    return np.stack([np.interp(pct, u, a[:, j]) for j in range(a.shape[1])])


def _curves(used: list[StepMetrics], t: np.ndarray, angles: np.ndarray,
            msgs: list[str]) -> dict:
    pct = np.linspace(0.0, 100.0, 101)
    curves: dict = {"pct": pct.tolist(), "convention":
                    "sacrum body frame (docs/pelvic-angles.md): obliquity + = left side up, "
                    "tilt + = anterior, rotation + = right side forward; gait cycle from the "
                    "IC of the stance side"}
    names = (("tilt_deg", TILT), ("obliquity_deg", OBLIQUITY), ("rotation_deg", ROTATION))
    for sd in SIDES:
        rows = []
        for s in used:
            if s.stance_side != sd or not math.isfinite(s.stride_time_s):
                continue
            c = stride_curve(t, angles[:, [j for _, j in names]], s.t_ic_s, s.stride_time_s,
                             pct)
            if c is not None:
                rows.append(np.degrees(c))
        side_curves: dict = {"n": len(rows)}
        arr = np.array(rows) if rows else np.full((0, 3, 101), np.nan)
        for i, (name, _) in enumerate(names):
            mean = arr[:, i].mean(axis=0) if rows else np.full(101, np.nan)
            sdv = arr[:, i].std(axis=0, ddof=1) if len(rows) >= 2 else np.full(101, np.nan)
            side_curves[name] = {"mean": mean.tolist(), "sd": sdv.tolist()}
        curves[sd] = side_curves
        if used and len(rows) < 2:
            msgs.append(f"{_SIDE_WORD[sd]}-stance curves: {len(rows)} complete strides "
                        "(at least 2 needed for a mean and SD)")
    return curves


__all__ = ["EXCLUSION_REASONS", "MIN_SI_DROP_DEG", "ROM_PERCENTILES", "STEP_FIELDS",
           "StepMetrics", "StepMetricsStream", "TurnMetrics", "WalkSummary",
           "body_acceleration", "bootstrap_step_statistics", "is_scored", "robust_range",
           "step_metrics", "step_statistics", "summarize_turns", "summarize_walk",
           "symmetry_index", "turn_metrics"]
