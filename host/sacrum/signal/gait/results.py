"""The gait stage's results: events, turns, strides, bouts and pauses (small frozen dataclasses).

Times are seconds on the input time axis.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GaitEvent:
    """One gait event.

    t_s: time of the event (s, on the input time axis).
    kind: "IC" (initial contact: the foot lands) or "FC" (final contact: the foot leaves).
    side: "L" or "R": the foot that lands (IC) or leaves (FC) ("" in
        :meth:`GaitEventDetector.provisional` while the walking direction is unknown).
    bout: index of the walking bout (0, 1, ... in order of detection); -1 for a provisional
        event (:meth:`GaitEventDetector.provisional`).
    """

    t_s: float
    kind: str
    side: str
    bout: int


@dataclass(frozen=True)
class Turn:
    """A turn: t_start_s, t_end_s (s); angle_deg (yaw change, + = to the left, counter-clockwise
    seen from above); peak_rate_dps (largest smoothed yaw rate, deg/s)."""

    t_start_s: float
    t_end_s: float
    angle_deg: float
    peak_rate_dps: float


@dataclass(frozen=True)
class Stride:
    """One stride: from an IC to the next IC of the same foot.

    bout, side ("L"|"R"); t_start_s, t_end_s; stride_time_s; stance_s (IC to this foot's FC)
    and swing_s (FC to the next IC), NaN where the FC was not found; in_turn: overlaps a
    detected turn; used: counted in the bout's stride statistics (not in a turn and not
    irregular: stride time within ``MAX_STRIDE_RATIO`` of the bout's median).
    """

    bout: int
    side: str
    t_start_s: float
    t_end_s: float
    stride_time_s: float
    stance_s: float
    swing_s: float
    in_turn: bool
    used: bool


@dataclass(frozen=True)
class GaitBout:
    """A walking bout found by the detector.

    index; t_start_s, t_end_s (first IC, and the IC that ends the bout's last forward step:
    the ICs returned after it, steps on the spot after the walk, are not part of it);
    n_steps (number of ICs from t_start_s to t_end_s);
    cadence_spm: steps per minute over the whole bout (turns included), 60 × steps /
    (t_end - t_start), where an interval of about k typical step times counts as k steps
    (steps missed), one longer than ``max_step_s`` as one (a standstill);
    stride_time_s, stance_s, swing_s, step_time_s: medians over the strides used for
    statistics (NaN when none); cadence_straight_spm = 120 / stride_time_s (turns excluded);
    n_strides, n_strides_used; turns: the turns that overlap the bout.
    """

    index: int
    t_start_s: float
    t_end_s: float
    n_steps: int
    cadence_spm: float
    cadence_straight_spm: float
    stride_time_s: float
    step_time_s: float
    stance_s: float
    swing_s: float
    n_strides: int
    n_strides_used: int
    turns: tuple[Turn, ...] = ()


@dataclass(frozen=True)
class Pause:
    """A standing pause: an interruption of walking between two bouts no longer than
    ``max_pause_s`` during which the vertical acceleration stayed low (t_start_s = last IC of
    the bout before, t_end_s = first IC of the bout after)."""

    t_start_s: float
    t_end_s: float
