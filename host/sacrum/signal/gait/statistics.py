"""Step 9 of the gait stage: a closed bout's strides, cadence and stride-time medians."""

from __future__ import annotations

import math

import numpy as np

from sacrum.signal.gait.bouts import MAX_STRIDE_RATIO
from sacrum.signal.gait.results import GaitBout, Stride, Turn
from sacrum.signal.gait.steps import Step


class BoutStatistics:
    """Strides and summary figures of a walking bout, once it is closed.

    **Steps** (over the bout's ICs up to its last forward step, ``BoutRules.bout_steps``;
    run when the bout is closed and the turn detector has passed its end):

    1. *Strides.* IC → IC of the same foot (the second IC after it); stance = IC → FC of the
       same foot (the FC found after the next IC), swing = FC → the stride's last IC; NaN
       where that FC was not found.
    2. *Used strides.* A stride overlapping a turn, or irregular (not within
       ``MAX_STRIDE_RATIO`` of the bout's median stride time, give or take ``tol_s``), is
       kept but not used for the medians.
    3. *Figures.* Medians of stride, stance and swing time over the used strides; step time
       = stride time / 2; cadence_straight_spm = 120 / stride time. ``cadence_spm`` over
       the whole bout (turns included): 60 × steps / (last IC − first IC), where an
       interval of about k typical step times counts as k steps (steps missed, e.g. in a
       gap), one longer than ``max_step_s`` as one (a standstill inside the bout).

    **Data.** The bout's ICs (time, side, FC); the turns found (``TurnDetector``).

    **Parameters.** max_step_s = 1.5: longest step (s) (40 steps/min). tol_s = 0.005: a
    stride time within half a 100-Hz sample of the regularity band's edge is inside it (a
    median of sample-quantised times is often exactly an edge, so float rounding or a
    device clock's µs would decide it: the same tie as ``StepMetricsStream.step_time_tol_s``).

    **References.** Micó-Amigo ME et al. Assessing real-world gait with digital technology?
    Validation, insights and recommendations from the Mobilise-D consortium. J NeuroEng
    Rehabil 2023 (stride and cadence definitions).
    """

    def __init__(self, *, max_step_s: float = 1.5, tol_s: float = 0.005) -> None:
        self.max_step_s = max_step_s
        self.tol_s = tol_s

    def cadence(self, t: np.ndarray) -> float:
        """Steps per minute over the IC times t (step 3)."""
        if len(t) < 2 or t[-1] <= t[0]:
            return math.nan
        d = np.diff(t)
        n_steps = np.maximum(1, np.round(d / np.median(d)))
        n_steps[d > self.max_step_s] = 1
        return float(60.0 * n_steps.sum() / (t[-1] - t[0]))

    def summarise(self, bout: int, steps: list[Step],
                  all_turns: list[Turn]) -> tuple[GaitBout, list[Stride]]:
        """The bout (index ``bout``) and its strides, from its ICs and the turns so far."""
        t = np.array([s.t_s for s in steps])
        turns = tuple(tr for tr in all_turns
                      if tr.t_end_s >= t[0] and tr.t_start_s <= t[-1])
        strides = []
        for k in range(len(steps) - 2):
            a, m, b = steps[k], steps[k + 1], steps[k + 2]
            stance = m.fc_t_s - a.t_s
            swing = b.t_s - m.fc_t_s
            in_turn = any(tr.t_end_s >= a.t_s and tr.t_start_s <= b.t_s for tr in turns)
            strides.append([a, b, stance, swing, in_turn])
        st = np.array([b.t_s - a.t_s for a, b, *_ in strides])
        med = float(np.median(st)) if len(st) else math.nan
        out = []
        for (a, b, stance, swing, in_turn), s_t in zip(strides, st, strict=True):
            regular = (med / MAX_STRIDE_RATIO - self.tol_s <= s_t
                       <= med * MAX_STRIDE_RATIO + self.tol_s)
            out.append(Stride(bout, a.side, a.t_s, b.t_s, float(s_t), float(stance),
                              float(swing), in_turn, bool(regular and not in_turn)))
        used = [s for s in out if s.used]

        def _median(xs):
            xs = [x for x in xs if np.isfinite(x)]
            return float(np.median(xs)) if xs else math.nan

        stride_time = _median([s.stride_time_s for s in used])
        summary = GaitBout(
            index=bout, t_start_s=float(t[0]), t_end_s=float(t[-1]), n_steps=len(t),
            cadence_spm=self.cadence(t),
            cadence_straight_spm=120.0 / stride_time if np.isfinite(stride_time) else math.nan,
            stride_time_s=stride_time, step_time_s=stride_time / 2.0,
            stance_s=_median([s.stance_s for s in used]),
            swing_s=_median([s.swing_s for s in used]),
            n_strides=len(out), n_strides_used=len(used), turns=turns)
        return summary, out
