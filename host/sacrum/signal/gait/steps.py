"""The detector's working records: one per IC (``Step``) and one per run of ICs (``Chain``).

Internal to ``sacrum.signal.gait``: the algorithms fill in a ``Step``'s fields as the data
they need comes in; the public results are ``sacrum.signal.gait.results``'.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Step:
    """An IC and what is known about the step that starts there."""

    idx: int                     # absolute sample index of the IC (its candidate's)
    t_s: float                   # its time (IcCandidates (e): up to 0.25 s before idx)
    rise: float = math.inf       # weight-acceptance rise of a_v (m/s², IcCandidates (a))
    side: str = ""
    evidence: float = 0.0        # medio-lateral velocity at the IC, m/s, + = moving right
    side_vec: np.ndarray = field(default_factory=lambda: np.zeros(3))  # SideClassifier's
    progression: float = math.nan  # forward-progression index of the step starting here
    fc_t_s: float = math.nan     # final contact (of the other foot) during this step
    t_land: float = math.nan     # LateTurnStep's earlier landing (s), if it has one
    fc_hi: int = 0               # FC searched up to this many samples after the IC
    need: int = 0                # samples after the IC needed to finish it (side, FC)
    w_side: int = 0              # half-width of the side window (samples)
    finished: bool = False       # side evidence and FC computed
    emitted: bool = False


@dataclass
class Chain:
    """Consecutive ICs no more than ``max_break_s`` apart; a walking bout once confirmed."""

    steps: list[Step] = field(default_factory=list)
    bout: int = -1               # >= 0 once confirmed as a walking bout
    closing_checked: int = -1    # IC index after which a closing step was looked for


def median_recent_step(steps: list[Step], n_ics: int = 5) -> float:
    """Median IC-to-IC interval (samples) over the last ``n_ics`` ICs of ``steps`` (at
    least two). Plain Python: ``np.median`` of four numbers cost more than the rest of the
    per-step work it served (19,000 calls in an hour's walk)."""
    idx = [s.idx for s in steps[-n_ics:]]
    return small_median([b - a for a, b in itertools.pairwise(idx)])


def small_median(values: list[float]) -> float:
    """``np.median`` of a short list (same value), without numpy's per-call overhead."""
    d = sorted(values)
    m = len(d) // 2
    return float(d[m]) if len(d) % 2 else (d[m - 1] + d[m]) / 2
