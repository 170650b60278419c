"""Step 2 of the gait stage: initial-contact candidates from the vertical acceleration."""

from __future__ import annotations

import itertools

import numpy as np
from scipy.signal import firwin

from sacrum.signal.gait.samples import SampleBuffer
from sacrum.signal.gait.steps import small_median


class IcCandidates:
    """Initial contacts (ICs) as the steepest rise of the vertical acceleration, streaming.

    **Steps.** Low-pass ``a_v`` (zero-phase FIR, 0.2 s long, Hamming window,
    ``lp_cutoff_hz``) and differentiate (jerk). An IC candidate is a local maximum of the
    jerk - the steepest point of the rise of vertical acceleration when the landing foot
    takes the body's weight - such that

    (a) the rise, from the lowest ``a_v`` in the preceding ``pre_window_s`` to the highest in
        the following ``rise_window_s``, is at least ``min_rise_mps2``;
    (b) the peak it leads to is higher than every ``a_v`` in the preceding ``pre_window_s``
        (this drops the second, smaller bump of a step, at the other foot's push-off, which
        follows the heel-strike peak);
    (c) its score, jerk × min(rise, 3 m/s²), is the largest within ±w, the suppression
        window: ``min_step_s``, or ``nms_step_frac`` × the median interval between the last
        five ICs decided before it (intervals up to 1.5 s) where that is longer, at most
        ``nms_max_s`` (a slower walker's loading and push-off bumps come later after the
        landing, past ``min_step_s``, and past the pre-window that (b) looks back over);
    (d) no sample of its support is missing (after ``SampleBuffer``'s bridging).

    (a), (b) and (d) are known ``rise_window_s`` after the candidate (plus the FIR's half
    length, 0.1 s); (c) is decided as soon as no later candidate within w can outscore it:
    w + 0.1 s after it when the jerk there, × 3 m/s², stays below its score (a bound on any
    later score), at most w + ``rise_window_s`` + 0.1 s after it, when a later candidate has
    to be scored first. w depends only on the ICs decided before, in order, so the result is
    the same as deciding with the whole recording.

    *Timing.* The IC's time is that of the jerk maximum, within ``ic_refine_s`` of the
    candidate, of ``a_v`` low-passed at ``landmark_lp_cutoff_hz`` (the low cut-off chooses
    which rise is the landing; the higher one times it): :meth:`refine`, also used by the
    pivot and closing steps (``sacrum.signal.gait.pivots``) and, for the FC's signal, by
    ``FinalContacts``. Except:

    (e) *the first bump.* Some people's trunk shows, 0.15-0.2 s after the heel strike, a
        second bump larger and steeper than the landing's own rise (the loading response
        and the other foot's push-off, whose bump McCamley et al. 2012 take as the FC),
        and (c) then chooses the second bump's rise. When, between the lowest a_v of the
        pre-window and the candidate, an earlier jerk maximum of at least
        ``first_bump_jerk`` × the candidate's jerk rises into a bump of its own - by the
        point where a_v falls fastest before the candidate's rise, a_v is still
        ``min_rise_mps2`` above the trough and has fallen from the bump's top by at least
        ``first_bump_dip`` × the candidate's rise - the IC is timed at that first rise
        (:meth:`_first_bump`, then :meth:`refine`). Only the time moves: the candidate's
        index stays the IC's index for the side, the FC and the step intervals
        (``GaitEventDetector``; a first-bump time before the FC of the IC before is not
        used).

    **Data.** ``a_v`` (m/s², gravity removed) from a ``SampleBuffer``.

    **Parameters** (chosen leave-one-subject-out on the seven people of
    bench/gait_subjects.py where said).

    lp_cutoff_hz = 5.0
        Low-pass of a_v for finding and scoring the candidates (Hz; their time comes from
        ``landmark_lp_cutoff_hz``). 5 Hz in 7 of 7 folds among 4 / 5 / 6 / 8 Hz with the IC
        timed at 12 Hz; without that, 5 Hz in 4 folds among 3-12 Hz, 6 in 2, 4 in 1; it was
        12 Hz, set on one person: at the trunk the heel-strike transient is a 0.1-0.2-s
        rise, often with a second bump (loading, the other foot's push-off) 0.1-0.15 s after
        it; at a higher cut-off that bump's jerk outscores the landing for some people.
    landmark_lp_cutoff_hz = 10.0, ic_refine_s = 0.05
        Where the events are timed (Hz, s): the IC is the jerk maximum of a_v low-passed at
        ``landmark_lp_cutoff_hz`` within ``ic_refine_s`` of the chosen candidate, and the FC
        is found in the same signal. The low ``lp_cutoff_hz`` chooses which rise is the
        landing, this one says when within it (the heel-strike rise lasts 30-60 ms; the
        push-off bump of the FC is small and close). Leave-one-subject-out among off /
        (0.05 s; 8, 10, 12, 15 Hz) chose (0.05 s, 10 Hz) in 5 of 7 folds, off and 12 Hz in
        one each: F1@0.1 0.879 → 0.891 pooled, median timing error 20 ms either way (30 ms
        at 12-15 Hz), cadence error 1.67 → 1.72 spm. ``ic_refine_s`` = 0 times the IC at
        the candidate itself. Two other timings were tried and not kept (2026-12-01): the
        10-Hz a_v peak less a constant (the folds chose 20-50 ms: F1@0.1 0.897 → 0.900
        held out, timing error 20 → 30 ms, turns 0.881 → 0.861), and the jerk maximum but
        no more than a constant before that peak (the folds chose 50-100 ms; 0.897 → 0.899,
        cadence error 1.40 → 1.48 spm).
    min_rise_mps2 = 1.0
        Smallest weight-acceptance rise of a_v that counts as a step (about 0.1 g; healthy
        adults 2-6 m/s², slow walkers 1-2 m/s²).
    pre_window_s = 0.25, rise_window_s = 0.1
        Windows before/after a candidate for the rise (s); the heel-strike peak follows the
        IC by 30-100 ms. rise_window_s was 0.15; 0.1 was the leave-one-subject-out choice in
        all 7 folds (0.1 / 0.15 / 0.2): a longer window reaches the second bump.
    min_step_s = 0.25
        Shortest step (s) (cadence ≤ 240 steps/min): the non-maximum suppression window.
    nms_step_frac = 0.4, nms_max_s = 0.5
        (c)'s window in steps of the recent walking, and its longest (s); 0 keeps it at
        ``min_step_s``. With 0.4 the window grows only after steps longer than 0.62 s
        (slower than 96 steps/min). Chosen on the seven people first, and among the values
        that tie there on their trials replayed slower (bench/gait_subjects.py ``--sweep
        nms_step_frac=0.4,0,0.5,0.6 [--sweep-slow 1.25,1.5]``, 2026-12-02; the replays,
        ``sacrum.testing.slowed``, stand in for slower walkers than the data hold). At the
        trials' own speed, leave-one-subject-out chose 0 in 7 of 7 folds, and 0.4 gives
        the same events on every trial; 0.5 and more changed them: F1@0.25 0.974 → 0.975,
        cadence error 1.36 → 1.47 spm at 0.5 (IPOL 6 2.55 → 3.22: in 6-5 an extra IC had
        offset a missed one), 1.60 spm at 0.6. Replayed 1.25 × slower, 0.4: F1 0.951 →
        0.954, cadence error 4.46 → 3.93 spm; 1.5 × slower 0.930 → 0.931, 4.75 → 3.99 spm
        (IPOL 2, whose bumps then come 0.3-0.45 s after the landing: 11.4 → 2.3 spm).
        Choosing on the trials and their replays together (``--sweep-slow``) picks 0.5 in 7
        of 7 folds (held out 1.25 ×: 3.23 spm, 1.5 ×: 3.18 spm) at the cost above on the
        real walks, so 0.5 was not taken.
    first_bump_dip = 0.1, first_bump_jerk = 0.5
        (e): the dip after the first bump (fraction of the candidate's rise) and its jerk
        (fraction of the candidate's); ``first_bump_dip`` = 0 turns (e) off. Chosen
        leave-one-subject-out on the seven people of bench/gait_subjects.py among off and
        (0.05, 0.1, 0.15, 0.2) × (0, 0.5, 0.7, 1.0): (0.1, 0.5) in 5 of 7 folds, (0.05,
        0.5) for IPOL 2, (0.15, 0.5) for IPOL 3, (0.1, 0.7) for IPOL 6 (2026-12-01; the
        same with the offline orientation before and after 1cefeea). Held out, F1@0.1 0.897
        → 0.903 pooled (IPOL 3 0.887 → 0.912, IPOL 4 0.843 → 0.859, IPOL 6 0.888 → 0.921;
        IPOL 2 0.779 → 0.718, whose reference marks the second bump on some of its steps;
        IPOL 1, 5 and HA001 unchanged), cadence error 1.40 → 1.38 spm (IPOL 4 0.86 → 0.68,
        IPOL 2 2.63 → 2.81); F1@0.25 (straight and in turns), the median timing error and the side
        accuracy unchanged for every person. Without the dip condition (any earlier
        rise, or one of a given fraction of the candidate's rise) the rule moved slow
        walkers' ICs to the rise before the landing (IPOL 1 and 2 lost 0.1-0.3 of their
        F1@0.1) and was not chosen.

    **State.** The candidates found and not yet forgotten (``_found``: index, score, rise,
    IC index, index of the IC's time), how far they have been looked for (``found_upto``),
    the first one not yet decided, the last five decided (``_recent``: (c)'s window);
    ``n_rejected``: candidates dropped for a missing sample (d).

    **Deviation from the paper.** McCamley et al. (2012) take the IC where the smoothed
    vertical acceleration rises into the heel-strike peak as the minimum of a Gaussian-CWT
    of the integrated signal, which moves the estimate away from the IC by up to the
    wavelet's width; here it is the steepest point of that rise (jerk maximum) after a
    short zero-phase low-pass.

    **References.** McCamley J, Donati M, Grimpampi E, Mazzà C. An enhanced estimate of
    initial contact and final contact instants of time using lower trunk inertial sensor
    data. Gait Posture 2012;36:316-318 (the FC at the bump after the IC). Zijlstra W, Hof AL.
    Assessment of spatio-temporal gait parameters from trunk accelerations during human
    walking. Gait Posture 2003;18:1-10. Perry J, Burnfield JM. Gait Analysis: Normal and
    Pathological Function. 2nd ed. SLACK, 2010 (loading response, contralateral pre-swing).
    """

    def __init__(self, rate_hz: float, *, lp_cutoff_hz: float = 5.0,
                 landmark_lp_cutoff_hz: float = 10.0, ic_refine_s: float = 0.05,
                 min_rise_mps2: float = 1.0, pre_window_s: float = 0.25,
                 rise_window_s: float = 0.1, min_step_s: float = 0.25,
                 first_bump_dip: float = 0.1, first_bump_jerk: float = 0.5,
                 nms_step_frac: float = 0.4, nms_max_s: float = 0.5) -> None:
        fs = self.rate_hz = float(rate_hz)
        self.nms_step_frac = nms_step_frac
        self.min_rise_mps2 = min_rise_mps2
        self.first_bump_dip = first_bump_dip
        self.first_bump_jerk = first_bump_jerk
        # derived: FIR low-passes 0.2 s long (Hamming window), zero phase by centring
        self.h = max(2, round(0.1 * fs))
        self.lp = firwin(2 * self.h + 1, lp_cutoff_hz, fs=fs)
        self.lp_landmark = firwin(2 * self.h + 1, landmark_lp_cutoff_hz, fs=fs)
        self.w_pre = max(2, round(pre_window_s * fs))
        self.w_rise = max(2, round(rise_window_s * fs))
        self.w_refine = max(0, min(round(ic_refine_s * fs), self.w_pre, self.w_rise))
        self.w_nms = max(1, round(min_step_s * fs))
        self.w_nms_max = (max(self.w_nms, round(nms_max_s * fs)) if nms_step_frac > 0
                          else self.w_nms)
        self._max_interval = round(1.5 * fs)
        # samples after a candidate before (a), (b), (d) can be checked, before its (c) can
        # be decided at the earliest (the latest is w_nms + w_found), and before it for
        # context
        self.w_found = self.w_rise + self.h + 2
        self.decide_min = self.w_nms + self.h + 2
        self.history = self.w_nms_max + self.w_pre + self.h + 2
        self.reset()

    def reset(self) -> None:
        """Forget everything (a new recording)."""
        self.found_upto = 0                          # candidates found for samples < this
        # (index, score, rise, IC index, index of the IC's time)
        self._found: list[tuple[int, float, float, int, int]] = []
        self._next = 0                               # first of them not decided yet
        self.n_rejected = 0
        self._recent: list[int] = []                 # the last five ICs decided: (c)'s window

    def decide(self, buf: SampleBuffer,
               final: bool = False) -> tuple[list[tuple[int, float]], int, int | None]:
        """Find candidates in the new data, decide them (non-maximum suppression) as early
        as the data allows. Returns (the ICs decided, as (IC index, rise, index of the IC's
        time: (e)), in order; the
        frontier: every candidate before it is decided; the new end of the search, or None
        if it did not move). ``final``: the recording has ended."""
        found_stop = buf.n if final else buf.settled - self.w_found
        advanced = None
        if found_stop > self.found_upto:
            self._found += self._candidates(buf, self.found_upto, found_stop)
            self.found_upto = advanced = found_stop
        bound = None if final else self._competitor_bound(buf)
        decided = []
        while self._next < len(self._found):
            verdict = self._nms(self._next, bound)
            if verdict is None:
                break
            if verdict:
                f = self._found[self._next]
                decided.append((f[3], f[2], f[4]))
                self._recent = [*self._recent[-4:], f[0]]
            self._next += 1
        frontier = (self._found[self._next][0] if self._next < len(self._found)
                    else self.found_upto)
        # forget found candidates that can no longer be a competitor
        oldest = frontier - self.w_nms_max - 1
        drop = 0
        while drop < self._next and self._found[drop][0] < oldest:
            drop += 1
        del self._found[:drop]
        self._next -= drop
        return decided, frontier, advanced

    def refine(self, jf: np.ndarray, k: int) -> int:
        """The IC's index for a candidate at k: the largest ``jf`` (landmark jerk, -inf at
        both ends) within ``ic_refine_s`` of it, in ``jf``'s indexing."""
        lo_k = max(0, k - self.w_refine)
        return lo_k + int(np.argmax(jf[lo_k:k + self.w_refine + 1]))

    def _candidates(self, buf: SampleBuffer, start: int,
                    stop: int) -> list[tuple[int, float, float, int]]:
        """IC candidates with index in [start, stop) that pass (a), (b) and (d), with their
        scores; non-maximum suppression (c) is ``_nms``'s."""
        h, wp, wr = self.h, self.w_pre, self.w_rise
        seg0 = max(buf.base, start - self.history)
        seg1 = min(buf.n, stop + self.w_found)
        av = buf.get("av", seg0, seg1)[:, 0]
        valid = buf.get("valid", seg0, seg1)
        m = len(av)
        if m < 2 * h + 3:
            return []
        a = np.convolve(av, self.lp, mode="valid")          # a[k] ↔ sample seg0 + h + k
        a0 = seg0 + h
        j = np.zeros_like(a)
        j[1:-1] = (a[2:] - a[:-2]) * (0.5 * self.rate_hz)
        # local maxima of jerk
        k = np.arange(1, len(a) - 1)
        k = k[(j[k] >= j[k - 1]) & (j[k] > j[k + 1]) & (j[k] > 0)]
        # each needs pre and rise windows inside the low-passed segment
        k = k[(k - wp >= 0) & (a0 + k >= start) & (a0 + k < stop)]
        valid_cum = np.concatenate([[0], np.cumsum(~valid)])
        if self.w_refine > 0:
            # the jerk at the landmark cut-off, for the IC's time
            af = np.convolve(av, self.lp_landmark, mode="valid")
            jf = np.full_like(af, -np.inf)
            jf[1:-1] = af[2:] - af[:-2]
        out = []
        for kk in k:
            nxt = a[kk:min(len(a), kk + wr + 1)]
            prv = a[kk - wp:kk + 1]
            rise = nxt.max() - prv.min()
            if rise < self.min_rise_mps2:
                continue
            if a[kk - wp:max(kk - 1, kk - wp + 1)].max() >= nxt.max():
                continue
            idx = a0 + kk
            lo = max(0, idx - wp - h - seg0)
            hi = min(m, idx + wr + h + 1 - seg0)
            if valid_cum[hi] - valid_cum[lo] > 0:
                self.n_rejected += 1
                continue
            t_idx = a0 + self.refine(jf, kk) if self.w_refine > 0 else idx
            time_idx = t_idx
            k1 = self._first_bump(a, j, kk, rise) if self.first_bump_dip > 0 else None
            if k1 is not None:
                time_idx = a0 + (self.refine(jf, k1) if self.w_refine > 0 else k1)
            out.append((int(idx), float(j[kk] * min(rise, 3.0)), float(rise), int(t_idx),
                        int(time_idx)))
        return out

    def _first_bump(self, a: np.ndarray, j: np.ndarray, kk: int, rise: float) -> int | None:
        """(e) for the candidate at ``kk`` (indices of ``a``, the low-passed a_v, and ``j``,
        its jerk): the first jerk maximum after the lowest ``a`` of the pre-window, of at
        least ``first_bump_jerk`` × the candidate's jerk, that rises into a bump of its own
        (see the class docstring), or None."""
        lo = kk - self.w_pre
        m = lo + int(np.argmin(a[lo:kk + 1]))            # the trough before the landing
        for k in range(m + 1, kk - 1):
            if not (j[k] >= j[k - 1] and j[k] > j[k + 1]
                    and j[k] >= self.first_bump_jerk * j[kk]):
                continue
            km = k + 1 + int(np.argmin(j[k + 1:kk]))     # where the bump falls fastest
            if not (j[km] < 0 and a[km] - a[m] >= self.min_rise_mps2):
                continue
            pk = k + int(np.argmax(a[k:km + 1]))         # the bump's top
            if a[pk] - a[km] >= self.first_bump_dip * rise:
                return k
        return None

    def _window(self) -> int:
        """(c)'s window w (samples) for the next decision, from the ICs decided before it."""
        if not self.nms_step_frac > 0 or len(self._recent) < 4:
            return self.w_nms
        d = [b - a for a, b in itertools.pairwise(self._recent) if b - a <= self._max_interval]
        if len(d) < 3:
            return self.w_nms
        w = round(self.nms_step_frac * small_median(d))
        return int(min(self.w_nms_max, max(self.w_nms, w)))

    def _competitor_bound(self, buf: SampleBuffer) -> tuple[int, np.ndarray]:
        """(first, jerk): the jerk of samples first, first + 1, ... up to the newest one whose
        jerk is known, from ``found_upto`` on. A candidate there, not found yet, scores at
        most 3 × its jerk."""
        h = self.h
        lo = max(self.found_upto - h - 1, buf.base)
        av = buf.get("av", lo, buf.settled)[:, 0]
        if len(av) < 2 * h + 3:
            return buf.settled, np.zeros(0)
        a = np.convolve(av, self.lp, mode="valid")          # a[k] ↔ sample lo + h + k
        return lo + h + 1, (a[2:] - a[:-2]) * (0.5 * self.rate_hz)

    def _nms(self, pos: int, bound: tuple[int, np.ndarray] | None) -> bool | None:
        """(c) for found candidate ``pos``: True (an IC), False (suppressed), or None (a
        candidate that could still beat it has not been found yet). With ``bound`` None (end
        of the recording) the candidates found are all there are."""
        found = self._found
        i, s = found[pos][:2]
        wn = self._window()
        # _found is in index order: only the neighbours within wn can compete
        k = pos - 1
        while k >= 0 and found[k][0] >= i - wn:
            if found[k][1] >= s:  # an equal score earlier wins
                return False
            k -= 1
        k = pos + 1
        while k < len(found) and found[k][0] <= i + wn:
            if found[k][1] > s:
                return False
            k += 1
        if bound is None or i + wn < self.found_upto:
            return True
        first, jerk = bound
        lo = max(self.found_upto, i + 1)
        if lo < first or i + wn >= first + len(jerk):
            return None                                      # jerk not known yet
        if np.any(3.0 * jerk[lo - first:i + wn + 1 - first] > s):
            return None
        return True
