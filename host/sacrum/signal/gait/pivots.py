"""Steps 2(e)-2(g) of the gait stage: the soft steps the candidates miss or mistime.

``TurnGapFiller``: the pivot steps of a turn. ``ClosingStep``: the last step of a walk.
Both put an IC where the walking says there is a step and the vertical acceleration has
only a weak landing, timed as ``IcCandidates`` times its ICs. ``LateTurnStep``: a turning
step timed at its later bump, moved back to its soft landing.
"""

from __future__ import annotations

import numpy as np

from sacrum.signal.gait.candidates import IcCandidates
from sacrum.signal.gait.samples import SampleBuffer
from sacrum.signal.gait.steps import Chain, Step, median_recent_step


def strongest_landing(ic: IcCandidates, buf: SampleBuffer, lo: int, hi: int, *,
                      min_rise_mps2: float, min_jerk_mps3: float = 0.0,
                      above_pre: bool = False) -> int | None:
    """The IC index (absolute, timed as ``ic`` times its ICs) of the jerk maximum of
    highest score ((c) of ``IcCandidates``) with index in [lo, hi], a rise ((a)) of at
    least ``min_rise_mps2`` and a jerk of at least ``min_jerk_mps3``; ``above_pre``: its
    peak also above the pre-window ((b)). None if there is none, or if a sample of its
    support is missing or not in ``buf`` yet."""
    h, wp, wr = ic.h, ic.w_pre, ic.w_rise
    seg0 = lo - wp - h - 1
    av = buf.get("av", seg0, hi + wr + h + 2)[:, 0]
    ok = buf.get("valid", seg0, hi + wr + h + 2)
    if len(av) < hi + wr + h + 2 - seg0 or not ok.all():
        return None
    a = np.convolve(av, ic.lp, mode="valid")             # a[k] ↔ sample seg0 + h + k
    j = np.zeros_like(a)
    j[1:-1] = (a[2:] - a[:-2]) * (0.5 * ic.rate_hz)
    best, best_k = -np.inf, -1
    for k in range(lo - seg0 - h, hi - seg0 - h + 1):
        if not (j[k] >= j[k - 1] and j[k] > j[k + 1] and j[k] > 0):
            continue
        top = a[k:k + wr + 1].max()
        rise = top - a[k - wp:k + 1].min()
        score = j[k] * min(rise, 3.0)
        if (rise >= min_rise_mps2 and j[k] >= min_jerk_mps3 and score > best
                and not (above_pre and a[k - wp:k - 1].max() >= top)):
            best, best_k = score, k
    if best_k < 0:
        return None
    idx = seg0 + h + best_k
    if ic.w_refine > 0:
        af = np.convolve(av, ic.lp_landmark, mode="valid")
        r0 = best_k - ic.w_refine
        idx = seg0 + h + r0 + int(np.argmax(
            af[r0 + 1:best_k + ic.w_refine + 2] - af[r0 - 1:best_k + ic.w_refine]))
    return idx


def turning_interval(buf: SampleBuffer, steps: list[Step], prev: Step, nxt: Step,
                     min_ratio: float, min_yaw_dps: float) -> float | None:
    """The median of the chain's last four steps (samples) if the interval from ``prev``
    (the newest of ``steps``) to ``nxt`` is at least ``min_ratio`` × it and a turn (mean
    |yaw rate| over its valid samples at least ``min_yaw_dps``), else None."""
    if len(steps) < 3:
        return None
    ref = median_recent_step(steps)
    if not ref > 0 or nxt.idx - prev.idx < min_ratio * ref:
        return None
    wz = buf.get("wz", prev.idx, nxt.idx)[:, 0]
    ok = buf.get("valid", prev.idx, nxt.idx)
    if not ok.any() or np.degrees(np.abs(wz[ok]).mean()) < min_yaw_dps:
        return None
    return ref


class TurnGapFiller:
    """Pivot steps in turns (step 2(e)).

    In a turn the steps are short and soft: the body's weight is taken on a pivoting foot
    with a vertical rise of 0.2-0.6 m/s², below ``IcCandidates``' (a), and the trunk's yaw
    hides the rest, so whole steps go missing (a 2-s hole in a U-turn walked at 0.6 s per
    step).

    **Steps.** When an IC is decided whose interval from the IC before it

    1. is at least ``fill_gap_ratio`` × the median of the chain's last four steps, and
    2. the mean |yaw rate| over that interval is at least ``fill_min_yaw_dps`` (a turn, not
       a standstill),
    3. the interval is taken to hold round(interval / (``fill_step_ratio`` × that median))
       steps, at least two (``fill_step_ratio`` > 1: turning steps are longer than straight
       ones), and
    4. the ICs between are put at the largest 5-Hz jerk maximum (of any rise) within
       ±``fill_window`` of a step of each one's even share of the interval, timed as
       ``IcCandidates`` times its ICs; none where there is no jerk maximum, or where it
       would land before the FC of the IC before.

    They are returned before the IC that revealed the hole (their data is in by then), so
    the order and the latency bound are kept.

    **Data.** a_v and the yaw rate of a ``SampleBuffer``; the chain's ICs so far.

    **Parameters.** fill_gap_ratio = 2.0 (0 turns it off), fill_step_ratio = 1.2,
    fill_min_yaw_dps = 30 (°/s), fill_window = 0.3 (steps). Chosen leave-one-subject-out on
    the seven people of bench/gait_subjects.py: (``fill_gap_ratio``, ``fill_step_ratio``) =
    (2.0, 1.2) in 7 of 7 folds among (1.6-2.0, 1.0-1.6), F1@0.25 in turns 0.847 → 0.881
    pooled (ipol 2 0.462 → 0.571, ipol 3 0.812 → 0.914), cadence error 1.72 → 1.66 spm; with
    a ``fill_step_ratio`` of 1 (one step per median step time) the cadence error rose to
    1.85 spm (turning steps are longer: too many ICs were put in). ``fill_window`` 0.3 in 7
    of 7 folds (0.15 / 0.3 / 0.5), ``fill_min_yaw_dps`` 30 in 5 of 7 (15 / 30 / 50 / 80; 50
    gave the same events, 15 and 80 were chosen once each).

    **State.** ``n_filled``: the ICs put in so far.

    **References.** The rule is ours (no paper's); the turn itself is El-Gohary's
    (``TurnDetector``), measured here from the raw yaw rate so that it is known when the IC
    is decided.
    """

    def __init__(self, ic: IcCandidates, *, fill_gap_ratio: float = 2.0,
                 fill_min_yaw_dps: float = 30.0, fill_window: float = 0.3,
                 fill_step_ratio: float = 1.2) -> None:
        self._ic = ic
        self.fill_gap_ratio = fill_gap_ratio
        self.fill_min_yaw_dps = fill_min_yaw_dps
        self.fill_window = fill_window
        self.fill_step_ratio = fill_step_ratio
        self.reset()

    def reset(self) -> None:
        """Forget everything (a new recording)."""
        self.n_filled = 0

    def fill(self, buf: SampleBuffer, steps: list[Step], prev: Step, nxt: Step) -> list[Step]:
        """The ICs to put between ``prev`` (the chain's newest IC, of ``steps``) and the
        newly decided ``nxt``, in time order (none if the interval is no turn with steps
        missed)."""
        if not self.fill_gap_ratio > 0:
            return []
        ref = turning_interval(buf, steps, prev, nxt, self.fill_gap_ratio,
                               self.fill_min_yaw_dps)
        if ref is None:
            return []
        ic = self._ic
        gap = nxt.idx - prev.idx
        n_fill = max(1, round(gap / (self.fill_step_ratio * ref)) - 1)
        if n_fill < 1:
            return []
        h = ic.h
        av = buf.get("av", prev.idx - h, nxt.idx + h + 1)[:, 0]
        if len(av) < gap + 2 * h + 1:
            return []
        a = np.convolve(av, ic.lp, mode="valid")             # a[k] ↔ sample prev.idx + k
        j = np.zeros_like(a)
        j[1:-1] = a[2:] - a[:-2]
        af = np.convolve(av, ic.lp_landmark, mode="valid")
        jf = np.full_like(af, -np.inf)
        jf[1:-1] = af[2:] - af[:-2]
        ok = buf.get("valid", prev.idx, nxt.idx + 1)
        peak = np.zeros(len(j), bool)
        peak[1:-1] = (j[1:-1] >= j[:-2]) & (j[1:-1] > j[2:]) & (j[1:-1] > 0) & ok[1:-1]
        half = max(1, round(self.fill_window * gap / (n_fill + 1)))
        out: list[Step] = []
        last = 0
        for m in range(1, n_fill + 1):
            c = round(m * gap / (n_fill + 1))
            lo = max(c - half, last + ic.w_nms)
            hi = min(c + half, gap - ic.w_nms)
            if hi < lo:
                continue
            ks = np.flatnonzero(peak[lo:hi + 1]) + lo
            if len(ks) == 0:
                continue
            k = int(ks[np.argmax(j[ks])])
            if ic.w_refine > 0:
                r0 = max(1, k - ic.w_refine)
                k = r0 + int(np.argmax(jf[r0:min(len(jf) - 1, k + ic.w_refine + 1)]))
            t = float(buf.get("t", prev.idx + k, prev.idx + k + 1)[0])
            last_fc = out[-1].fc_t_s if out else prev.fc_t_s
            if np.isfinite(last_fc) and t <= last_fc:
                continue                 # the foot cannot land before it has left
            out.append(Step(idx=prev.idx + k, t_s=t))
            last = k
        self.n_filled += len(out)
        return out


class ClosingStep:
    """The soft closing step of a walk (step 2(f)).

    A walker stops by bringing the trailing foot beside the other; that last landing is
    soft (a rise of 0.5-0.9 m/s² in the IPOL walks, below ``IcCandidates``' (a), and (b)
    often fails on the push-off bump of the step before), and it was the IC most often
    missed on straight walking.

    **Steps.** When, in a bout, no IC has come for ``close_wait`` × the median of the last
    four steps after the newest one (every candidate before then is decided) and the mean
    |yaw rate| over that time is below ``turn_min_yaw_dps`` (not a turn: ``TurnGapFiller``'s
    case), the closing step is the jerk maximum of highest score ((c) of ``IcCandidates``)
    from ``close_min_steps`` to ``close_max_steps`` steps after that IC with a rise of at
    least ``close_min_rise_mps2`` and a jerk of at least ``close_min_jerk_mps3`` (no (b)),
    timed as ``IcCandidates`` times its ICs, if there is one, none of its support is
    missing, and it lands after the FC of the IC before. It is looked for once per IC. It
    is returned when it is found, up to ``close_wait`` steps after it (1.4 s at 105
    steps/min): past the one-step latency of the other ICs.

    *The third landing of a short walk.* The same search after a chain of two ICs that is
    not a bout yet, whose step is forward (progression index at least ``min_progression``,
    ``BoutRules``'), with a least rise of ``confirm_min_rise_mps2``: a walk of a few steps whose
    third landing is soft has otherwise no third IC, the chain never becomes a bout
    (``BoutRules`` needs two forward steps) and the walk is lost (a slower walker's
    landings rise less: Mobilise-D HA/001's short walk at 29-33 s of its daily activities,
    replayed 1.25 × slower, has a third landing of 0.74 m/s²). Once the landing is in, the
    chain is confirmed or not by ``BoutRules`` as any other.

    **Data.** a_v and the yaw rate of a ``SampleBuffer``; the bout's ICs so far.

    **Parameters.** close_min_rise_mps2 = 0.2 (0 turns it off), close_wait = 2.5,
    close_min_steps = 0.8, close_max_steps = 1.2 (steps), close_min_jerk_mps3 = 2.0,
    turn_min_yaw_dps (``TurnGapFiller``'s ``fill_min_yaw_dps``), min_progression
    (``BoutRules``'). Leave-one-subject-out on
    the seven people of bench/gait_subjects.py: ``close_min_rise_mps2`` among 0 / 0.2 / 0.3
    / 0.4 / 0.5 (window 0.6-1.4 steps) chose 0.3 in the six IPOL folds and 0 (off) in the
    HA001 fold (trained on the IPOL people only): held out, F1@0.25 on straight walking
    0.975 → 0.981 pooled, F1@0.1 0.892 → 0.895, cadence error 1.66 → 1.68 spm (1.40 with 0.3
    for every person: HA001's bouts end with such steps too). The window then:
    ``close_min_steps`` 0.8 in 6 of 7 folds (0.5-0.8), ``close_max_steps`` 1.2 in 6 of 7
    (1.2 / 1.4 / 1.6), the pair (0.8, 1.2) in 7 of 7 (the closing steps of the IPOL walks
    come 0.8-0.95 steps after the IC before). ``close_wait`` (with 0.5): 3.5 in 4 folds, 2.5
    in 2, 2 in 1; 2.5 is kept (the shorter wait, nearly the same events). With that window,
    rechosen: ``close_min_rise_mps2`` 0.2 in the six IPOL folds, 0.4 in the HA001 fold (0.2
    and 0.3 give nearly the same events; held out, cadence error 1.68 spm pooled, HA001
    3.41; 1.40 and 1.96 with 0.2 for everyone). Without the condition on the yaw rate the
    search also fired in U-turns and cost F1 there (0.881 → 0.868).
    ``close_min_jerk_mps3``: 0, 1 and 2 give the same events on all seven people (4 and
    more lose closing steps); 2 is taken because the walking phantom of
    tests/test_metrics.py, whose step oscillation fades out over 0.6 s after its last (full)
    heel strike, otherwise gets a closing step from that fade (a jerk of about 1 m/s³),
    which is no landing.
    ``confirm_min_rise_mps2`` = 0.2 (0 turns it off; seventh session, 2026-12-03): among
    0 / 0.2 / 0.35 / 0.5 / 0.7, on the seven people's trials and their replays 1.25 × and
    1.5 × slower together (bench/gait_subjects.py ``--sweep`` with ``--sweep-slow
    1.25,1.5``), 0.2 in the six IPOL folds (0.2-0.5 tie); the HA001 fold, trained on the
    IPOL people alone, where every value gives the same events, cannot tell (it took 0,
    listed first), so the gain below is HA001's own and not a held-out figure. At the
    trials' own speed every value gives the same events on all seven people, and slowed
    it changes only HA001's: 1.25 × slower the cadence error falls 3.48 → 2.12 spm pooled
    (HA001 9.92 → 2.76: a whole short walk found, each added IC within 0.1 s of a
    reference IC), F1@0.25 0.962 → 0.964; 1.5 × 3.67 → 2.47 spm. Kept because it costs
    nothing anywhere in the data and a slow walker's short walks are what it finds.

    **State.** ``n_found``: closing steps found so far (which IC was last looked after is
    the chain's ``closing_checked``).

    **References.** The rule is ours (no paper's).
    """

    def __init__(self, ic: IcCandidates, *, close_min_rise_mps2: float = 0.2,
                 close_min_steps: float = 0.8, close_max_steps: float = 1.2,
                 close_min_jerk_mps3: float = 2.0, close_wait: float = 2.5,
                 turn_min_yaw_dps: float = 30.0, confirm_min_rise_mps2: float = 0.2,
                 min_progression: float = 0.3) -> None:
        self._ic = ic
        self.confirm_min_rise_mps2 = confirm_min_rise_mps2
        self.min_progression = min_progression
        self.close_min_rise_mps2 = close_min_rise_mps2
        self.close_min_steps = close_min_steps
        self.close_max_steps = close_max_steps
        self.close_min_jerk_mps3 = close_min_jerk_mps3
        self.close_wait = close_wait
        self.turn_min_yaw_dps = turn_min_yaw_dps
        self.reset()

    def reset(self) -> None:
        """Forget everything (a new recording)."""
        self.n_found = 0

    def find(self, buf: SampleBuffer, chain: Chain, now: int, final: bool) -> Step | None:
        """The closing step after the newest IC of the bout ``chain``, if, by sample ``now``
        (every candidate before it decided), the walk has stopped and there is one; for a
        chain of two forward ICs that is not a bout yet, its third landing."""
        if chain.bout >= 0:
            min_rise = self.close_min_rise_mps2
            if not min_rise > 0 or len(chain.steps) < 3:
                return None
        else:
            min_rise = self.confirm_min_rise_mps2
            if (not min_rise > 0 or len(chain.steps) != 2
                    or not chain.steps[0].progression >= self.min_progression):
                return None
        last = chain.steps[-1]
        if chain.closing_checked >= last.idx:
            return None
        ic = self._ic
        ref = median_recent_step(chain.steps)
        lo = last.idx + max(ic.w_nms, round(self.close_min_steps * ref))
        hi = last.idx + round(self.close_max_steps * ref)
        h, wr = ic.h, ic.w_rise
        if (now <= last.idx + self.close_wait * ref or hi < lo
                or (not final and hi + wr + h + 2 > buf.settled)):
            return None
        chain.closing_checked = last.idx
        wz = buf.get("wz", last.idx, hi)[:, 0]
        if np.degrees(np.abs(wz).mean()) >= self.turn_min_yaw_dps:
            return None                  # turning on the spot: TurnGapFiller's, not a stop
        idx = strongest_landing(ic, buf, lo, hi, min_rise_mps2=min_rise,
                                min_jerk_mps3=self.close_min_jerk_mps3)
        if idx is None:
            return None
        t = float(buf.get("t", idx, idx + 1)[0])
        if np.isfinite(last.fc_t_s) and t <= last.fc_t_s:
            return None
        self.n_found += 1
        return Step(idx=idx, t_s=t)


class LateTurnStep:
    """The landing of a turning step whose later bump was taken for it (step 2(g)).

    In a turn the steps are slower and the trunk's loading and push-off bump comes 0.3-0.45
    s after the landing, past the pre-window of ``IcCandidates``' first-bump rule (e), while
    the landing itself is soft (a rise of 0.6-1.3 m/s²); (c) then takes the bump: an IC a
    third of a step late, its step too long and the next one too short.

    **Steps.** When an IC is decided (no pivot steps put in before it, step 2(e)) whose
    interval from the IC before it

    1. is at least ``late_ratio`` × the median of the chain's last four steps (from
       ``fill_gap_ratio`` × on, ``TurnGapFiller`` looks for missing steps first; this rule
       is for the intervals it put none into), and
    2. the mean |yaw rate| over that interval is at least ``fill_min_yaw_dps`` (a turn),
    3. its landing is the jerk maximum of highest score ((c) of ``IcCandidates``) from
       (1 - ``late_window``) to (1 + ``late_window``) median steps after the IC before, at
       least ``min_step_s`` before the IC, with a rise of at least ``late_min_rise_mps2``
       and a peak higher than the ``pre_window_s`` before it ((a) with a lower bound, (b)),
       timed as ``IcCandidates`` times its ICs, if there is one and it lands after the FC
       of the IC before (:meth:`landing`);
    4. the IC is held back until the next IC of the chain is known, and takes the landing's
       time if that makes its step and the next one more even (:meth:`more_even`); with no
       next IC (the chain ends) it keeps its own.

    4 is what separates a mistimed step from a slow one: a turning step that really is long
    is followed by a step of the usual length, a bump taken for the landing by one that is
    as much too short. Without it (the rule on 1-3 alone, tried 2026-12-01) 22 ICs moved on
    the seven people of bench/gait_subjects.py, 9 of them away from the reference, and
    turns got worse for three people. Only the time moves, as in (e): the candidate's index
    stays the IC's index for the side, the FC and the step intervals.

    **Latency.** A held IC is returned with the next IC's decision (``GaitEventDetector``:
    "Latency"): about one step later than the others, and only in turns, where no cue is
    given (docs/live.md).

    **Data.** a_v and the yaw rate of a ``SampleBuffer``; the chain's ICs so far.

    **Parameters.** late_ratio = 1.3 (0 turns it off), late_window = 0.4 (steps),
    late_min_rise_mps2 = 0.5 (m/s²); the yaw-rate bound is ``TurnGapFiller``'s. Chosen
    leave-one-subject-out on the seven people of bench/gait_subjects.py (2026-12-03;
    ``--sweep``, one at a time): 1.3 in 7 of 7 folds among off / 1.15 / 1.2 / 1.3 / 1.4 /
    1.5 / 1.7 (1.15-1.4 give the same events, ties going to the first listed), 0.4 in 7 of
    7 among 0.2-0.5 (0.5 the same events), 0.5 in 7 of 7 among 0.3-1.0 (0.3-0.6 the same
    events). It moves 8 ICs in the 37 trials, 4 of them onto the reference (IPOL 3-3,
    5-1, 6-3, HA001 79.0 s), 1 away from it (6-4, still within 0.25 s) and 3 that match
    no reference IC either way (2-4 and 3-6 in turns where the reference has a gap, HA001
    100.7 s outside its walking bouts): F1@0.25 in turns 0.881 → 0.912 pooled (IPOL 3
    0.914 → 0.944, 5 0.880 → 0.923, 6 0.828 → 0.897, HA001 0.839 → 0.903; IPOL 1, 2, 4
    unchanged), F1@0.1 0.911 → 0.914, cadence error 1.36 → 1.33 spm (HA001 1.96 → 1.86);
    side accuracy HA001 1.000 → 0.987 (the IC moved onto the reference's right IC at 78.99 s
    keeps the side read at its candidate, 79.45 s, a left landing the reference lacks).

    **State.** ``n_moved``: ICs moved so far.

    **References.** The rule is ours (no paper's), an extension of (e) to turning steps.
    """

    def __init__(self, ic: IcCandidates, *, late_ratio: float = 1.3,
                 late_window: float = 0.4, late_min_rise_mps2: float = 0.5,
                 turn_min_yaw_dps: float = 30.0) -> None:
        self._ic = ic
        self.late_ratio = late_ratio
        self.late_window = late_window
        self.late_min_rise_mps2 = late_min_rise_mps2
        self.turn_min_yaw_dps = turn_min_yaw_dps
        self.reset()

    def reset(self) -> None:
        """Forget everything (a new recording)."""
        self.n_moved = 0

    def landing(self, buf: SampleBuffer, steps: list[Step], prev: Step,
                nxt: Step) -> float | None:
        """The time (s) of the landing of ``nxt`` (newly decided, after ``prev``, the newest
        of ``steps``) if its candidate was a turning step's later bump, else None."""
        if not self.late_ratio > 0:
            return None
        ref = turning_interval(buf, steps, prev, nxt, self.late_ratio, self.turn_min_yaw_dps)
        if ref is None:
            return None
        ic = self._ic
        lo = prev.idx + max(ic.w_nms, round((1.0 - self.late_window) * ref))
        hi = min(prev.idx + round((1.0 + self.late_window) * ref), nxt.idx - ic.w_nms)
        if hi < lo:
            return None
        idx = strongest_landing(ic, buf, lo, hi, min_rise_mps2=self.late_min_rise_mps2,
                                above_pre=True)
        if idx is None:
            return None
        t = float(buf.get("t", idx, idx + 1)[0])
        if np.isfinite(prev.fc_t_s) and t <= prev.fc_t_s:
            return None
        return t

    def more_even(self, step: Step, t_prev_s: float, t_next_s: float) -> bool:
        """Whether ``step``'s landing (``t_land``) makes its step (from the IC before, at
        ``t_prev_s``) and the next one (to ``t_next_s``) more even than its time does;
        counted in ``n_moved`` if so."""
        before = abs((step.t_s - t_prev_s) - (t_next_s - step.t_s))
        after = abs((step.t_land - t_prev_s) - (t_next_s - step.t_land))
        if after < before:
            self.n_moved += 1
            return True
        return False
