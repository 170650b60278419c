"""``GaitEventDetector``: the gait stage's streaming facade over its algorithms."""

from __future__ import annotations

import math

import numpy as np

from sacrum.signal.gait.bouts import MAX_STRIDE_RATIO, BoutRules
from sacrum.signal.gait.candidates import IcCandidates
from sacrum.signal.gait.direction import WalkingDirection
from sacrum.signal.gait.final_contacts import FinalContacts
from sacrum.signal.gait.pivots import ClosingStep, LateTurnStep, TurnGapFiller
from sacrum.signal.gait.results import GaitBout, GaitEvent, Pause, Stride, Turn
from sacrum.signal.gait.samples import SampleBuffer
from sacrum.signal.gait.sides import SIDE_CONTEXT, SideClassifier
from sacrum.signal.gait.statistics import BoutStatistics
from sacrum.signal.gait.steps import Chain, Step
from sacrum.signal.gait.transient import HeelStrikeTransient
from sacrum.signal.gait.turns import TurnDetector


class GaitEventDetector:
    """Initial/final contacts, sides, walking bouts and turns from a sacral IMU, in real time.

    A streaming processor: ``update(t_s, acc_mps2, gyr_radps, q_sensor_to_earth)`` returns the
    events that became final, ``flush()`` finalises what is pending at the end of a recording,
    ``reset()`` starts over. Results so far: ``bouts``, ``strides``, ``turns``, ``pauses``.
    Feeding a recording whole or in chunks of any size, down to one sample, gives the same
    events, bouts, strides and turns.

    **Data required.** Accelerometer (m/s², gravity included) and gyroscope (rad/s) in the
    sensor frame, and ``q_sensor_to_earth`` (w, x, y, z, earth z up; any heading) at a constant
    rate ``rate_hz``. Any mounting: everything is computed in the earth frame. Lost samples
    are NaN rows (in any of the inputs).

    **Steps**, one algorithm each (their classes document the method, its parameters, where
    it deviates from the paper, and the references):

    1. *Earth frame*, short runs of lost samples bridged: ``SampleBuffer``.
    2. *IC candidates*: the steepest rise of the vertical acceleration
       (McCamley et al. 2012), ``IcCandidates`` (timed at a landing's first bump where a
       larger second bump follows it, its (e)); (e) pivot steps in turns,
       ``TurnGapFiller``; (f) the soft closing step of a walk, and the soft third
       landing that makes a chain of two a bout, ``ClosingStep``; (g) a
       turning step timed at its later bump, moved back to its soft landing when that
       evens it and the next step, ``LateTurnStep``; (h) an IC retimed at the onset of
       its heel-strike transient, ``HeelStrikeTransient``. An IC
       that would land before the FC of the IC before it is no IC.
    3. *Chains and bouts*: ``BoutRules``.
    4. *Walking direction* and each step's progression index: ``WalkingDirection``.
    5. *Side* of each IC: ``SideClassifier``.
    6. *FC* of the other foot after each IC: ``FinalContacts``.
    7. *Emission.* IC k, its side and the FC after it are returned together, once IC k is
       decided (step 2) and its FC window plus the FIR's half length has passed. The ICs of
       a bout before its confirmation (step 3) are returned when it is confirmed. An IC
       that step 2(g) holds back is returned when the next IC is added (or its chain ends).
    8. *Turns* (El-Gohary et al. 2014): ``TurnDetector``.
    9. *Bout statistics* (strides, stance, swing, cadence): ``BoutStatistics``, when a bout
       is closed and the turn detector has passed its end; standing pauses between bouts:
       ``BoutRules.pause``.

    **Parameters** (keyword; defaults are physiological ranges, except where the class says
    they were chosen leave-one-subject-out on the seven people of bench/gait_subjects.py).

    rate_hz
        Sample rate (Hz); at least 4 × the higher low-pass cut-off.
    q_sensor_to_body
        Optional mounting (w, x, y, z); its body x axis is taken as forward. Default:
        learnt from the walking (``WalkingDirection``).
    max_bridge_s = 0.1, max_gap_s = 0.5
        ``SampleBuffer``.
    lp_cutoff_hz = 5.0, landmark_lp_cutoff_hz = 10.0, ic_refine_s = 0.05, min_rise_mps2 =
    1.0, pre_window_s = 0.25, rise_window_s = 0.1, min_step_s = 0.25, first_bump_dip = 0.1,
    first_bump_jerk = 0.5, nms_step_frac = 0.4, nms_max_s = 0.5
        ``IcCandidates``.
    fill_gap_ratio = 2.0, fill_min_yaw_dps = 30, fill_window = 0.3, fill_step_ratio = 1.2
        ``TurnGapFiller``.
    late_ratio = 1.3, late_window = 0.4, late_min_rise_mps2 = 0.5
        ``LateTurnStep`` (its yaw-rate bound is ``fill_min_yaw_dps``).
    close_min_rise_mps2 = 0.2, close_min_steps = 0.8, close_max_steps = 1.2,
    close_min_jerk_mps3 = 2.0, close_wait = 2.5, confirm_min_rise_mps2 = 0.2
        ``ClosingStep`` (its yaw-rate bound is ``fill_min_yaw_dps``; the chain of two it
        completes must start with a forward step, by ``min_progression``).
    transient_window_s = 0.08, transient_min_shift_s = 0.03
        ``HeelStrikeTransient`` (its ``window_s``, ``min_shift_s``; a window of 0 turns it
        off), chosen leave-one-subject-out on the seven people of bench/gait_subjects.py
        (bench/README.md, "Eighth session" and "Ninth session").
    max_break_s = 3.0, min_bout_steps = 4, min_forward_run = 2, min_progressive_steps = 2,
    min_step_ratio = 0.0, min_first_step_ratio = 0.85, min_progression = 0.3, max_pause_s =
    10.0, pause_max_abs_av_mps2 = 0.5
        ``BoutRules``.
    forward_memory_steps = 100
        ``WalkingDirection``.
    side_min_rel = 0.4
        ``SideClassifier``.
    fc_min_delay_s = 0.08, fc_max_delay_s = 0.4
        ``FinalContacts``.
    turn_lowpass_hz = 0.5, turn_peak_dps = 15, turn_lower_dps = 5, turn_min_angle_deg = 45,
    turn_duration_s = (0.5, 10)
        ``TurnDetector``.
    max_step_s = 1.5
        ``BoutStatistics``.

    Each parameter is also an attribute of the same name (read it; set it in ``__init__``).

    **Counters.** ``n_bridged`` lost samples bridged, ``n_rejected_candidates`` candidates
    dropped (a missing sample, landing before the FC before it, a split step),
    ``n_rejected_chains`` chains that were no walking, ``n_filled`` pivot steps and
    ``n_closing`` closing steps put in, ``n_moved`` late turning steps moved to their
    landing, ``n_retimed`` ICs timed at their heel-strike transient.

    **Latency** is the time from an IC to the end of the chunk that first returns it (fed
    one sample at a time; a chunk adds up to its own duration). An IC of a confirmed bout
    comes, with its side and the FC after it, max(decision, min(previous step / 2,
    ``fc_max_delay_s``) + 0.1 s + 2 samples) after it, where the decision (step 2) takes w +
    0.1 s + 2 samples, w the suppression window of ``IcCandidates`` (c) (``min_step_s``,
    0.25 s, or 0.4 × the recent step time where that is longer, after steps over 0.62 s; at
    most ``nms_max_s``, 0.5 s): 0.37 s at 100 Hz for steps up to 0.62 s; when a later
    candidate has to be scored first, ``rise_window_s`` more. So the latency is at most 0.47
    s after steps up to 0.62 s, max(0.52 s, 0.4 × the step + 0.22 s) after longer ones (0.52
    s is the FC window, ``fc_max_delay_s``, after a step over 0.8 s), and never more than
    0.72 s (at 100 Hz, default parameters, no lost samples; a bridged gap, step 1, adds up
    to ``max_bridge_s``). For steady walking with step time T it is max(0.37 s, T/2 + 0.12
    s): 0.40 s at 105 steps/min. That is within one step - returned before the next IC
    happens - for T > 0.37 s (below 160 steps/min). These times count from the candidate;
    the IC's own time (step 2) is up to ``ic_refine_s`` earlier or later, or, timed at a
    first bump (``IcCandidates`` (e)), up to ``pre_window_s`` earlier. The 0.1 s is the
    zero-phase FIR's half length. Exceptions: the closing step of a walk (step 2(f)) is
    returned ``close_wait`` steps after the IC before it, and so is a chain's soft third
    landing (with the chain's ICs, when it confirms the bout); an IC held back by step 2(g) (a
    turning step 1.3 or more median steps after the IC before, with a soft landing
    earlier) is returned with the next IC, about one step later (at most ``max_break_s``
    when none comes); the ICs of a bout before its
    confirmation are returned with the IC that confirms it (the first one 2 steps + its
    decision after it, when the bout is confirmed at its second forward step), and ICs in
    the last 0.72 s (at most) of a recording are returned by ``flush()``. A live display
    need not wait for the confirmation: :meth:`provisional` has each IC of the unconfirmed
    steps with the same latency as inside a bout.

    **References.** McCamley J, Donati M, Grimpampi E, Mazzà C. An enhanced estimate of
    initial contact and final contact instants of time using lower trunk inertial sensor
    data. Gait Posture 2012;36:316-318. Zijlstra W, Hof AL. Assessment of spatio-temporal gait
    parameters from trunk accelerations during human walking. Gait Posture 2003;18:1-10.
    Ullrich M et al. Machine learning-based distinction of left and right foot contacts in
    lower back inertial sensor gait data. IEEE EMBC 2021. El-Gohary M et al. Continuous
    monitoring of turning in patients with movement disability. Sensors 2014;14:356-369.
    Micó-Amigo ME et al. Assessing real-world gait with digital technology? Validation,
    insights and recommendations from the Mobilise-D consortium. J NeuroEng Rehabil 2023.
    """

    MAX_STRIDE_RATIO = MAX_STRIDE_RATIO

    def __init__(
        self,
        rate_hz: float,
        q_sensor_to_body: np.ndarray | None = None,
        *,
        lp_cutoff_hz: float = 5.0,
        landmark_lp_cutoff_hz: float = 10.0,
        ic_refine_s: float = 0.05,
        min_rise_mps2: float = 1.0,
        pre_window_s: float = 0.25,
        rise_window_s: float = 0.1,
        min_step_s: float = 0.25,
        first_bump_dip: float = 0.1,
        first_bump_jerk: float = 0.5,
        nms_step_frac: float = 0.4,
        nms_max_s: float = 0.5,
        max_step_s: float = 1.5,
        max_break_s: float = 3.0,
        max_gap_s: float = 0.5,
        max_bridge_s: float = 0.1,
        min_bout_steps: int = 4,
        min_forward_run: int = 2,
        min_progressive_steps: int = 2,
        min_step_ratio: float = 0.0,
        min_first_step_ratio: float = 0.85,
        fill_gap_ratio: float = 2.0,
        fill_min_yaw_dps: float = 30.0,
        fill_window: float = 0.3,
        fill_step_ratio: float = 1.2,
        late_ratio: float = 1.3,
        late_window: float = 0.4,
        late_min_rise_mps2: float = 0.5,
        close_min_rise_mps2: float = 0.2,
        close_min_steps: float = 0.8,
        close_min_jerk_mps3: float = 2.0,
        close_max_steps: float = 1.2,
        close_wait: float = 2.5,
        confirm_min_rise_mps2: float = 0.2,
        transient_window_s: float = 0.08,
        transient_min_shift_s: float = 0.03,
        side_min_rel: float = 0.4,
        min_progression: float = 0.3,
        forward_memory_steps: float = 100.0,
        fc_min_delay_s: float = 0.08,
        fc_max_delay_s: float = 0.4,
        max_pause_s: float = 10.0,
        pause_max_abs_av_mps2: float = 0.5,
        turn_lowpass_hz: float = 0.5,
        turn_peak_dps: float = 15.0,
        turn_lower_dps: float = 5.0,
        turn_min_angle_deg: float = 45.0,
        turn_duration_s: tuple[float, float] = (0.5, 10.0),
    ) -> None:
        if not rate_hz > 0:
            raise ValueError(f"rate_hz must be positive, got {rate_hz}")
        top_hz = max(lp_cutoff_hz, landmark_lp_cutoff_hz)
        if rate_hz < 4 * top_hz:
            raise ValueError(
                f"rate_hz = {rate_hz} Hz is too low for gait events: use at least "
                f"{4 * top_hz:g} Hz (or lower lp_cutoff_hz and landmark_lp_cutoff_hz)")
        params = dict(locals())
        for k in ("self", "rate_hz", "q_sensor_to_body", "top_hz"):
            params.pop(k)
        for k, v in params.items():
            setattr(self, k, v)            # every parameter, readable by its name
        fs = self.rate_hz = float(rate_hz)
        self.q_sensor_to_body = None if q_sensor_to_body is None else np.asarray(
            q_sensor_to_body, float)

        self._samples = SampleBuffer(fs, max_bridge_s=max_bridge_s, max_gap_s=max_gap_s)
        self._ic = IcCandidates(
            fs, lp_cutoff_hz=lp_cutoff_hz, landmark_lp_cutoff_hz=landmark_lp_cutoff_hz,
            ic_refine_s=ic_refine_s, min_rise_mps2=min_rise_mps2, pre_window_s=pre_window_s,
            rise_window_s=rise_window_s, min_step_s=min_step_s,
            first_bump_dip=first_bump_dip, first_bump_jerk=first_bump_jerk,
            nms_step_frac=nms_step_frac, nms_max_s=nms_max_s)
        self._filler = TurnGapFiller(
            self._ic, fill_gap_ratio=fill_gap_ratio, fill_min_yaw_dps=fill_min_yaw_dps,
            fill_window=fill_window, fill_step_ratio=fill_step_ratio)
        self._late = LateTurnStep(
            self._ic, late_ratio=late_ratio, late_window=late_window,
            late_min_rise_mps2=late_min_rise_mps2, turn_min_yaw_dps=fill_min_yaw_dps)
        self._closing = ClosingStep(
            self._ic, close_min_rise_mps2=close_min_rise_mps2, close_min_steps=close_min_steps,
            close_max_steps=close_max_steps, close_min_jerk_mps3=close_min_jerk_mps3,
            close_wait=close_wait, turn_min_yaw_dps=fill_min_yaw_dps,
            confirm_min_rise_mps2=confirm_min_rise_mps2, min_progression=min_progression)
        self._transient = HeelStrikeTransient(
            fs, window_s=transient_window_s, min_shift_s=transient_min_shift_s)
        self._rules = BoutRules(
            fs, max_break_s=max_break_s, min_forward_run=min_forward_run,
            min_bout_steps=min_bout_steps, min_progressive_steps=min_progressive_steps,
            min_step_ratio=min_step_ratio, min_first_step_ratio=min_first_step_ratio,
            min_progression=min_progression, max_pause_s=max_pause_s,
            pause_max_abs_av_mps2=pause_max_abs_av_mps2)
        self._direction = WalkingDirection(fs, self.q_sensor_to_body,
                                           forward_memory_steps=forward_memory_steps)
        self._sides = SideClassifier(fs, side_min_rel=side_min_rel)
        self._fcs = FinalContacts(self._ic, fc_min_delay_s=fc_min_delay_s,
                                  fc_max_delay_s=fc_max_delay_s)
        self._turns = TurnDetector(
            fs, turn_lowpass_hz=turn_lowpass_hz, turn_peak_dps=turn_peak_dps,
            turn_lower_dps=turn_lower_dps, turn_min_angle_deg=turn_min_angle_deg,
            turn_duration_s=turn_duration_s, max_gap_s=max_gap_s)
        self._statistics = BoutStatistics(max_step_s=max_step_s)
        # keep enough raw history for the longest step window, pauses and FC search
        self._keep = round((4 * max_break_s + max_pause_s + 2.0) * fs) + self._ic.history
        self.reset()

    # ------------------------------------------------------------------ public API

    def reset(self) -> None:
        """Forget everything (a new recording)."""
        for part in (self._samples, self._ic, self._filler, self._late, self._closing,
                     self._direction, self._turns):
            part.reset()
        self._gaps: list[int] = []                   # long gaps not passed to the chains yet
        self._chain = Chain()
        self._pending: Step | None = None            # newest IC, not finished yet
        self._held: Step | None = None               # finished, its time not yet (2(g))
        self._n_bouts = 0
        self._closed_chains: list[Chain] = []        # bouts waiting for turn detection
        self._prev_bout_end: tuple[int, float] | None = None
        self.bouts: list[GaitBout] = []
        self.strides: list[Stride] = []
        self.turns: list[Turn] = []
        self.pauses: list[Pause] = []
        self.n_rejected_chains = 0                   # candidate chains that were not walking
        self.n_retimed = 0                           # ICs timed at their transient (2(h))
        self._n_rejected_steps = 0                   # decided ICs dropped by the chain rules

    @property
    def n_bridged(self) -> int:
        return self._samples.n_bridged

    @property
    def n_rejected_candidates(self) -> int:
        return self._ic.n_rejected + self._n_rejected_steps

    @property
    def n_filled(self) -> int:
        return self._filler.n_filled

    @property
    def n_moved(self) -> int:
        return self._late.n_moved

    @property
    def n_closing(self) -> int:
        return self._closing.n_found

    def update(self, t_s, acc_mps2, gyr_radps, q_sensor_to_earth) -> list[GaitEvent]:
        """Add samples; return the events that became final (time order)."""
        t = np.asarray(t_s, float).reshape(-1)
        acc = np.asarray(acc_mps2, float).reshape(-1, 3)
        gyr = np.asarray(gyr_radps, float).reshape(-1, 3)
        q = np.asarray(q_sensor_to_earth, float).reshape(-1, 4)
        n = len(t)
        if not (len(acc) == len(gyr) == len(q) == n):
            raise ValueError(
                f"t_s, acc_mps2, gyr_radps and q_sensor_to_earth must have the same number of "
                f"rows, got {n}, {len(acc)}, {len(gyr)}, {len(q)}")
        if n == 0:
            return []
        t, wz, valid = self._samples.add(t, acc, gyr, q)        # step 1
        events: list[GaitEvent] = []
        self.turns += self._turns.update(t, wz, valid)          # step 8
        self._decide(events)                                    # steps 2-7
        self._finalise_bouts()                                  # step 9
        steps = self._chain.steps
        self._samples.trim(self._keep, self._ic.history,
                           steps[max(0, len(steps) - 3)].idx if steps else None)
        return events

    def provisional(self) -> list[GaitEvent]:
        """The finished ICs (with side and FC) of the steps being walked that no bout holds
        yet, with ``bout`` = -1: what a live display shows within one step, before the bout
        is confirmed (``update`` returns them, with their bout, once it is; if it never is,
        they were fidgeting or shuffling, and the display drops them). Each IC is here as
        soon as it would be returned inside a confirmed bout (see "Latency"); its side rests
        on the walking direction known so far, which for a first bout is less sure."""
        chain = self._chain
        if chain.bout >= 0:
            return []
        out: list[GaitEvent] = []
        for s in chain.steps:
            if not s.finished:
                continue
            side = SideClassifier.provisional_side(s, self._direction.forward_s)
            out.append(GaitEvent(s.t_s, "IC", side, -1))
            if np.isfinite(s.fc_t_s) and side:
                out.append(GaitEvent(s.fc_t_s, "FC", "L" if side == "R" else "R", -1))
        return out

    def flush(self) -> list[GaitEvent]:
        """End of the recording: decide what can be decided and close the open bout."""
        events: list[GaitEvent] = []
        self._decide(events, final=True)
        self._close_chain(events)
        self.turns += self._turns.flush()
        self._finalise_bouts(final=True)
        return events

    # ------------------------------------------------------------------ steps 2-7

    def _decide(self, events: list[GaitEvent], final: bool = False) -> None:
        """Decide the candidates as early as the data allows (step 2) and pass them and the
        long gaps to the chains in sample order."""
        decided, frontier, searched_to = self._ic.decide(self._samples, final)
        if searched_to is not None:
            self._gaps += self._samples.long_gaps(searched_to)
        gaps = [g for g in self._gaps if g < frontier]
        self._gaps = self._gaps[len(gaps):]
        for i, kind, rise, ti in sorted([(i, 1, r, ti) for i, r, ti in decided]
                                        + [(g, 0, 0.0, g) for g in gaps]):
            self._finish_pending(events, final)
            self._closing_step(i, events, final)
            self._timeout(i, events)
            if kind == 0:
                self._close_chain(events)
            else:
                self._add_step(i, events, final, rise, ti)
        self._closing_step(frontier, events, final)
        self._timeout(frontier, events)
        self._finish_pending(events, final)

    def _closing_step(self, now: int, events: list[GaitEvent], final: bool) -> None:
        """Step 2(f) by sample ``now`` (every candidate before it decided)."""
        chain = self._chain
        if self._pending is not None:
            return
        step = self._closing.find(self._samples, chain, now, final)
        if step is not None:
            self._append_step(step, chain.steps[-1], events, final)

    def _timeout(self, now: int, events: list[GaitEvent]) -> None:
        steps = self._chain.steps
        if steps and now - steps[-1].idx > self._rules.max_break:
            self._close_chain(events)

    def _add_step(self, idx: int, events: list[GaitEvent], final: bool = False,
                  rise: float = math.inf, time_idx: int | None = None) -> None:
        """A new IC, just decided: extend the chain (steps 3, 4), confirm the bout (step 7);
        the IC is finished (side, FC) and emitted once the data it needs is in."""
        self._finish_pending(events, final)
        chain = self._chain
        prev = chain.steps[-1] if chain.steps else None
        t_s = float(self._samples.get("t", idx, idx + 1)[0])
        if time_idx is not None and time_idx != idx:
            # timed at the first bump (IcCandidates (e)), unless the foot had not left yet
            t_first = float(self._samples.get("t", time_idx, time_idx + 1)[0])
            if prev is None or not t_first <= prev.fc_t_s:
                t_s = t_first
        step = Step(idx=idx, t_s=t_s, rise=rise)
        if prev is not None and step.t_s <= prev.fc_t_s:
            # the foot cannot land before it has left: the FC before it is final already
            self._n_rejected_steps += 1
            return
        if prev is not None and self._rules.is_split(chain, idx):
            # a step far shorter than the last ones is a second impact of the same step
            self._n_rejected_steps += 1
            return
        if prev is not None:
            fills = self._filler.fill(self._samples, chain.steps, prev, step)
            for fill in fills:
                self._append_step(fill, prev, events, final, before=step)
                prev = fill
            if not fills:
                t_land = self._late.landing(self._samples, chain.steps, prev, step)
                if t_land is not None and t_land < step.t_s:
                    step.t_land = t_land                            # step 2(g)
        self._append_step(step, prev, events, final)

    def _append_step(self, step: Step, prev: Step | None, events: list[GaitEvent],
                     final: bool, before: Step | None = None) -> None:
        """Extend the chain by IC ``step`` after ``prev`` (steps 3, 4); finish and emit it
        when its data is in. ``before``: a later IC already decided (``step`` is a turn-gap
        filler, step 2(e)): its FC must come before that IC, and it is finished at once."""
        chain = self._chain
        self._resolve_held(events, step.t_s)
        if prev is not None:
            self._direction.step(self._samples, prev, step)
            step_len = step.idx - prev.idx
        else:
            step_len = 2 * self._ic.w_nms
        step.fc_hi = min(step_len // 2, self._fcs.fc_max)
        step.need = max(self._ic.decide_min, step.fc_hi + self._ic.h + 2)
        step.w_side = min(step_len, step.need)
        chain.steps.append(step)
        self._pending = step
        self._maybe_confirm(events)
        if before is None:
            self._finish_pending(events, final)
            return
        self._pending = None
        self._sides.features(self._samples, step)
        step.fc_t_s = self._fcs.find(self._samples, step)
        if not step.fc_t_s < before.t_s:
            step.fc_t_s = math.nan
        self._retime(step)
        step.finished = True
        if chain.bout >= 0:
            self._emit(step, chain.bout, events)

    def _finish_pending(self, events: list[GaitEvent], final: bool = False) -> None:
        """Side and FC of the newest IC once ``need`` samples after it are in (steps 5, 6);
        emitted if its chain is a bout. The next IC is decided later than that (at least
        ``min_step_s`` + the FIR's half length after this one, and ``need`` is at most
        that), so this always comes first; ``final``: with the data there is (end of the
        recording)."""
        s = self._pending
        if s is None or (not final and s.idx + s.need >= self._samples.settled):
            return
        self._pending = None
        self._sides.features(self._samples, s)
        s.fc_t_s = self._fcs.find(self._samples, s)
        if not math.isfinite(s.t_land):
            self._retime(s)              # a held IC is retimed once its time is known
        s.finished = True
        if math.isfinite(s.t_land):
            self._held = s               # its time waits for the next IC (step 2(g))
        elif self._chain.bout >= 0:
            self._emit(s, self._chain.bout, events)

    def _resolve_held(self, events: list[GaitEvent], t_next_s: float | None) -> None:
        """Step 2(g): the held IC takes its landing's time if that makes its step and the
        next one more even (``t_next_s``: the next IC's time; None: there is none, the time
        stays); then it is emitted like any other."""
        s = self._held
        if s is None:
            return
        self._held = None
        # s is the chain's newest IC (nothing was appended after it yet), so the IC before
        # it, as it is now (moved too, if it was held), is the one before that
        if t_next_s is not None and self._late.more_even(
                s, self._chain.steps[-2].t_s, t_next_s):
            s.t_s = s.t_land
        self._retime(s)
        if self._chain.bout >= 0:
            self._emit(s, self._chain.bout, events)

    def _retime(self, s: Step) -> None:
        """Step 2(h): IC ``s`` (the chain's newest) timed at its heel-strike transient's
        onset where that is clearly away from its time (``HeelStrikeTransient``)."""
        buf = self._samples
        steps = self._chain.steps
        prev_fc = steps[-2].fc_t_s if len(steps) >= 2 and steps[-1] is s else -math.inf
        i = s.idx + round((s.t_s - buf.time_at(s.idx)) * self.rate_hz)
        t = self._transient.onset(buf, i, prev_fc if math.isfinite(prev_fc) else -math.inf)
        if t is not None:
            s.t_s = t
            self.n_retimed += 1

    def _maybe_confirm(self, events: list[GaitEvent]) -> None:
        """Confirm the chain as a bout and emit its ICs so far (steps 3, 7)."""
        chain = self._chain
        if chain.bout >= 0:
            return
        first = self._rules.confirm(chain)
        if first is None:
            return
        chain.bout = self._n_bouts
        self._n_bouts += 1
        pause = self._rules.pause(self._samples, self._prev_bout_end, chain.steps[first])
        if pause is not None:
            self.pauses.append(pause)
        for s in chain.steps[first:]:
            if s.finished and s is not self._held:
                self._emit(s, chain.bout, events)

    def _emit(self, s: Step, bout: int, events: list[GaitEvent]) -> None:
        # the side rule reads the last SIDE_CONTEXT ICs emitted before s: scan back for them
        # (a list of all of them made each bout quadratic in its steps: an hour-long walk
        # spent 1.4 s here)
        before: list[Step] = []
        for x in reversed(self._chain.steps):
            if x.emitted and x is not s:
                before.append(x)
                if len(before) == SIDE_CONTEXT:
                    break
        before.reverse()
        self._sides.decide(s, self._direction.forward_s, before)
        s.emitted = True
        events.append(GaitEvent(s.t_s, "IC", s.side, bout))
        if np.isfinite(s.fc_t_s):
            events.append(GaitEvent(s.fc_t_s, "FC", "L" if s.side == "R" else "R", bout))

    def _close_chain(self, events: list[GaitEvent]) -> None:
        self._finish_pending(events, final=True)
        self._resolve_held(events, None)
        chain = self._chain
        if chain.bout >= 0:
            self._closed_chains.append(chain)
            end = self._rules.bout_steps(chain)[-1]
            self._prev_bout_end = (end.idx, end.t_s)
        elif chain.steps:
            self.n_rejected_chains += 1
        self._chain = Chain()

    # ------------------------------------------------------------------ step 9

    def _finalise_bouts(self, final: bool = False) -> None:
        while self._closed_chains:
            chain = self._closed_chains[0]
            end = chain.steps[-1].idx
            turns = self._turns
            if not final and (turns.n - turns.delay <= end or turns.open):
                return
            self._closed_chains.pop(0)
            bout, strides = self._statistics.summarise(
                chain.bout, self._rules.bout_steps(chain), self.turns)
            self.bouts.append(bout)
            self.strides.extend(strides)
