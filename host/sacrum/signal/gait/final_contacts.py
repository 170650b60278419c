"""Step 6 of the gait stage: the final contact (toe-off) of the other foot after each IC."""

from __future__ import annotations

import math

import numpy as np

from sacrum.signal.gait.candidates import IcCandidates
from sacrum.signal.gait.samples import SampleBuffer
from sacrum.signal.gait.steps import Step


class FinalContacts:
    """The other foot's final contact (FC) during the step starting at an IC.

    **Steps.** In ``a_v`` low-passed at the landmark cut-off (``IcCandidates``'
    ``landmark_lp_cutoff_hz``: the push-off bump is small and 0.1-0.2 s after the IC, and at
    the candidates' cut-off it merges into the heel-strike peak):

    1. the heel-strike peak: the largest value within ``rise_window_s`` of the IC;
    2. the first local minimum after it;
    3. the FC is the largest local maximum after that minimum, from ``fc_min_delay_s``
       after the IC (past the heel-strike peak) to half the previous step (at most
       ``fc_max_delay_s``, nor 2 × ``min_step_s``): the push-off bump of the other foot
       (McCamley et al. 2012 take the FC at a maximum of the vertical signal after the IC
       too). Its side is the other foot. NaN where there is none.

    A candidate that would land before that FC is not an IC (``GaitEventDetector``).

    **Data.** a_v of a ``SampleBuffer``; the IC's ``fc_hi`` (samples after it searched).

    **Parameters.** fc_min_delay_s = 0.08, fc_max_delay_s = 0.4: the double support after
    an IC lasts 0.1-0.3 s; at most about 25 % of a slow 1.6-s stride.

    **References.** McCamley J, Donati M, Grimpampi E, Mazzà C. An enhanced estimate of
    initial contact and final contact instants of time using lower trunk inertial sensor
    data. Gait Posture 2012;36:316-318.
    """

    def __init__(self, ic: IcCandidates, *, fc_min_delay_s: float = 0.08,
                 fc_max_delay_s: float = 0.4) -> None:
        fs = ic.rate_hz
        self._ic = ic
        self.fc_min = max(1, round(fc_min_delay_s * fs))
        # at most 2 × min_step_s: an IC is finished before the next one can be decided
        self.fc_max = max(self.fc_min, min(round(fc_max_delay_s * fs), 2 * ic.w_nms))

    def find(self, buf: SampleBuffer, a: Step) -> float:
        """FC time (s) of the other foot during the step starting at IC a, or NaN."""
        h = self._ic.h
        hi = a.idx + a.fc_hi
        lo = a.idx + self.fc_min
        if hi - lo < 3:
            return math.nan
        av = buf.get("av", a.idx - h, hi + h + 1)[:, 0]
        if len(av) < 2 * h + 1 + (hi - a.idx):
            return math.nan
        x = np.convolve(av, self._ic.lp_landmark, mode="valid")   # x[k] ↔ sample a.idx + k
        # heel-strike peak: max within the rise window, then the first local minimum after it
        pk = int(np.argmax(x[:min(len(x), self._ic.w_rise + 1)]))
        k0 = lo - a.idx
        kmin = None
        for k in range(max(pk + 1, 1), len(x) - 1):
            if x[k] <= x[k - 1] and x[k] < x[k + 1]:
                kmin = k
                break
        if kmin is None:
            return math.nan
        best, best_v = None, -np.inf
        for k in range(max(kmin + 1, k0), len(x) - 1):
            if x[k] >= x[k - 1] and x[k] > x[k + 1] and x[k] > best_v:
                best, best_v = k, x[k]
        if best is None:
            return math.nan
        return float(buf.get("t", a.idx + best, a.idx + best + 1)[0])
