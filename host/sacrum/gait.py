"""Gait events from a lower-back (sacral) IMU: initial and final contacts, sides, bouts, turns.

The stage after ``orientation`` (and ``mounting``) in the host pipeline
(docs/pipeline.md). ``GaitEventDetector`` is a streaming processor: feed it
chunks of samples with ``update()``; it returns the gait events that became
final in that chunk: once a walking bout is under way, within one step of when
they happened (see "Latency" in ``GaitEventDetector``). ``flush()`` ends a
recording (it decides the last half second and closes the open bout). Feeding
a recording whole or in chunks of any size, down to one sample, gives the same
events, bouts, strides and turns.

``detect_events()`` is the offline convenience (whole recording, orientation
from ``sacrum.signal.orientation.orientation_offline`` when not given) and
``write_events_csv()`` writes the
``t,event,side`` table used by the ``sacrum events`` command.

Frames: the sensor frame is whatever the sensor is; ``q_sensor_to_earth``
(w, x, y, z) rotates sensor vectors into a z-up earth frame whose heading is
arbitrary (6D fusion). The body (pelvis) frame is x forward, y left, z up
(protocol/SPEC.md). No axis of the sensor is assumed to point anywhere: the
vertical comes from the orientation, the walking direction from the walking
itself (see ``GaitEventDetector``).
"""

from __future__ import annotations

import csv
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.signal import butter, firwin, group_delay, sosfilt, sosfilt_zi

from sacrum.signal.mounting import MountingError, estimate_mounting
from sacrum.signal.orientation import orientation_offline
from sacrum.signal.quaternion import quat_conjugate, quat_rotate
from sacrum.units import G_MPS2

log = logging.getLogger(__name__)


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




def _from_earth(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Earth-frame vectors v (N, 3) into the sensor frame: q* v q."""
    return quat_rotate(quat_conjugate(q), v)


@dataclass
class _Step:
    idx: int                     # absolute sample index of the IC
    t_s: float
    rise: float = math.inf       # weight-acceptance rise of a_v (m/s², step 2(a))
    side: str = ""
    evidence: float = 0.0        # medio-lateral velocity at the IC, m/s, + = moving right
    side_vec: np.ndarray = field(default_factory=lambda: np.zeros(3))  # see _side_features
    progression: float = math.nan  # forward-progression index of the step starting here
    fc_t_s: float = math.nan     # final contact (of the other foot) during this step
    fc_hi: int = 0               # FC searched up to this many samples after the IC
    need: int = 0                # samples after the IC needed to finish it (side, FC)
    w_side: int = 0              # half-width of the side window (samples)
    finished: bool = False       # side evidence and FC computed
    emitted: bool = False


@dataclass
class _Chain:
    steps: list[_Step] = field(default_factory=list)
    bout: int = -1               # >= 0 once confirmed as a walking bout
    closing_checked: int = -1    # IC index after which a closing step was looked for


class GaitEventDetector:
    """Initial/final contacts, sides, walking bouts and turns from a sacral IMU, in real time.

    A streaming processor: ``update(t_s, acc_mps2, gyr_radps, q_sensor_to_earth)`` returns the
    events that became final, ``flush()`` finalises what is pending at the end of a recording,
    ``reset()`` starts over. Results so far: ``bouts``, ``strides``, ``turns``, ``pauses``.

    **Data required.** Accelerometer (m/s², gravity included) and gyroscope (rad/s) in the
    sensor frame, and ``q_sensor_to_earth`` (w, x, y, z, earth z up; any heading) at a constant
    rate ``rate_hz``. Any mounting: everything below is computed in the earth frame. Lost
    samples are NaN rows (in any of the inputs).

    **Steps.**

    1. *Earth frame.* Rotate acceleration and angular rate into the earth frame; vertical
       acceleration ``a_v`` = earth z minus g (``sacrum.units.G_MPS2``), horizontal acceleration
       ``a_h``, yaw rate ``w_z`` (earth z: independent of the mounting). A run of at most
       ``max_bridge_s`` lost samples between two received ones is bridged (linear in a_v, a_h, w_z,
       normalised linear in q) once its end has come; until then nothing from its start on is used,
       so the result does not depend on the chunking. (Radio loss comes as many such short runs: 4 %
       of samples on average, up to 16 %, in runs of 1-10 samples in the IPOL recordings, where
       requiring every sample of an IC's support cost most of the steps.) Longer runs stay missing.
    2. *IC candidates.* Low-pass ``a_v`` (zero-phase FIR, ``lp_cutoff_hz``) and differentiate
       (jerk). An IC candidate is a local maximum of the jerk - the steepest point of the rise
       of vertical acceleration when the landing foot takes the body's weight - such that
       (a) the rise, from the lowest ``a_v`` in the preceding ``pre_window_s`` to the highest in
       the following ``rise_window_s``, is at least ``min_rise_mps2``; (b) the peak it leads to is
       higher than every ``a_v`` in the preceding ``pre_window_s`` (this drops the second, smaller
       bump of a step, at the other foot's push-off, which follows the heel-strike peak);
       (c) its score, jerk × min(rise, 3 m/s²), is the largest within ±``min_step_s``; (d) no
       sample of its support is missing (after step 1's bridging). (a), (b) and (d) are
       known ``rise_window_s`` after the candidate (plus the FIR's half length, 0.1 s); (c)
       is decided as soon as no later candidate within ``min_step_s`` can outscore it:
       ``min_step_s`` + 0.1 s after it when the jerk there, × 3 m/s², stays below its score
       (a bound on any later score), at most ``min_step_s + rise_window_s`` + 0.1 s after
       it, when a later candidate has to be scored first. The result is the same as
       deciding with the whole recording.
       The IC's time is then that of the jerk maximum, within ``ic_refine_s`` of the
       candidate, of ``a_v`` low-passed at ``landmark_lp_cutoff_hz`` (the low cut-off chooses
       which rise is the landing; the higher one times it).
       (e) *Pivot steps in turns.* In a turn the steps are short and soft: the body's
       weight is taken on a pivoting foot with a vertical rise of 0.2-0.6 m/s², below (a),
       and the trunk's yaw hides the rest, so whole steps go missing (a 2-s hole in a U-turn
       walked at 0.6 s per step). When an IC is decided whose interval from the IC before it
       is at least ``fill_gap_ratio`` × the median of the chain's last four steps, and the
       mean |yaw rate| over that interval is at least ``fill_min_yaw_dps`` (a turn, not a
       standstill), the interval is taken to hold round(interval / (``fill_step_ratio`` ×
       that median)) steps, at least two (``fill_step_ratio`` > 1: turning steps are longer
       than straight ones), and the ICs between are put at the largest 5-Hz jerk maximum (of
       any rise) within ±``fill_window`` of a step of each one's even share of the
       interval, timed as above; none where there is no jerk maximum. They are returned
       before the IC that revealed the hole (their data is in by then), so the order and
       the latency bound are kept.
       This rule is ours (no paper's); the turn itself is El-Gohary's (step 8), measured
       here from the raw yaw rate so that it is known when the IC is decided.
       (f) *The closing step.* A walker stops by bringing the trailing foot beside the other;
       that last landing is soft (a rise of 0.5-0.9 m/s² in the IPOL walks, below (a), and
       (b) often fails on the push-off bump of the step before), and it was the IC most often
       missed on straight walking. When, in a bout, no IC has come for ``close_wait`` × the
       median of the last four steps after the newest one (and the yaw rate over that time
       is below ``fill_min_yaw_dps``: not a turn), the closing step is the candidate of
       highest score (c) from ``close_min_steps`` to ``close_max_steps`` steps after that IC
       with a rise of at least ``close_min_rise_mps2`` and a jerk of at least
       ``close_min_jerk_mps3`` (no (b)), timed as above, if there is one and none of its
       support is missing. It is returned when it is found, up to ``close_wait`` steps
       after it (1.4 s at 105 steps/min): past the one-step latency of the other ICs.
    3. *Chains and bouts.* Consecutive ICs no more than ``max_break_s`` apart form a chain; a
       chain ends when no IC follows within ``max_break_s`` or when a run of missing samples
       longer than ``max_gap_s`` starts. A chain becomes a walking bout at its
       ``min_forward_run``-th consecutive forward step (progression index ≥
       ``min_progression``, step 4) if those steps are regular (durations within
       ``MAX_STRIDE_RATIO`` of each other), or else once it has ``min_bout_steps`` ICs from
       its first forward step on, with ``min_progressive_steps`` forward steps among them.
       An IC closer to the previous one than ``min_step_ratio`` × the chain's recent step
       time is dropped (a split step).
       The bout starts at the first forward step: steps in place before it (weight shifts,
       gait initiation) are left out, and so is that step's IC when the interval from it to
       the next is shorter than ``min_first_step_ratio`` × the median of the following ones
       (it was the first toe-off, not a landing). Chains that never qualify (fidgeting,
       shuffling on the spot, sitting down) produce no events. From then on every IC that
       continues the chain is returned with the bout's index: non-forward steps are turns if
       walking goes on, or steps on the spot after the walk if it does not, and an IC is
       returned before that is known. When the chain has ended, the bout (``GaitBout``, its
       strides) is taken to end with its last forward step; ``detect_events`` (offline)
       returns only the events up to there.
    4. *Walking direction.* Over each step (IC to next IC) the forward acceleration of the
       pelvis follows the vertical velocity with opposite sign (inverted pendulum: the body
       speeds up forward while it falls from mid-stance and slows down while it rises). The
       vector Σ (a_h − mean)·(−(v_v − trend)) dt over a step, with v_v the vertical velocity
       integrated over the step and detrended (zero at both ICs), points forward. It is rotated
       into the sensor frame, where the forward direction is fixed for a rigid mounting, and
       accumulated over steps (each step's weight decays with ``forward_memory_steps``), so
       turns do not disturb it. The normalised projection of one step's vector onto the
       accumulated direction is that step's progression index (+1: walking straight on).
       With ``q_sensor_to_body`` given, its x axis is the forward direction instead.
    5. *Side.* Medio-lateral axis = forward × up (to the right). The pelvis moves towards the
       foot that lands: at a left IC its medio-lateral velocity points left. Medio-lateral
       velocity at the IC relative to the mean of the velocities W before and W after it,
       without integration drift: (∫_{-W}^{0} a_ml dt − ∫_{0}^{W} a_ml dt) / 4 (a constant
       offset of a_ml cancels), W = the previous step, but no more than the data that is in
       when the IC is returned (step 7). Negative → "L". (For W = one step on both sides this
       is the velocity at IC k minus the mean of those at IC k−1 and k+1.) Where that
       evidence is weak - its magnitude below ``side_min_rel`` × the median over the bout's
       last eight ICs (from the fourth IC on) - the side is the other one than the IC
       before's: in walking the feet alternate (our rule; McCamley's and Ullrich's
       classifiers decide each IC on its own). Weak evidence
       comes in turns, where the pelvis' sway is mixed with the yaw, and at an IC of step
       2(e) or 2(f).
    6. *FC.* The other foot's final contact during the step starting at IC k: the largest
       local maximum of low-passed ``a_v`` between ``fc_min_delay_s`` after the IC (past the
       heel-strike peak) and half the previous step (at most ``fc_max_delay_s``), after the
       first local minimum following the heel-strike peak (the push-off bump), in ``a_v``
       low-passed at ``landmark_lp_cutoff_hz`` (the bump is small and 0.1-0.2 s after the IC:
       at ``lp_cutoff_hz`` it merges into the heel-strike peak); side = the other foot. A
       candidate that would land before that FC is not an IC.
    7. *Emission.* IC k, its side and the FC after it are returned together, once IC k is
       decided (step 2) and its FC window plus the FIR's half length has passed. The ICs of a
       bout before its confirmation (step 3) are returned when it is confirmed.
    8. *Turns* (El-Gohary et al. 2014, as in mobgap's ``TdElGohary``, in the earth frame):
       yaw rate low-passed (4th-order Butterworth, ``turn_lowpass_hz``, causal; times corrected
       by its group delay at 0 Hz); a turn is a run where the smoothed rate exceeds
       ``turn_lower_dps`` (boundaries) and peaks above ``turn_peak_dps``, with an angle of at
       least ``turn_min_angle_deg`` and a duration within ``turn_duration_s``.
    9. *Bout statistics* (when a bout is closed and the turn detector has passed its end; over
       its ICs up to its last forward step):
       strides IC→IC of the same foot; stance = IC → FC of the same foot, swing = FC → next
       IC; strides overlapping a turn or irregular (not within ``MAX_STRIDE_RATIO`` of the
       bout's median) are kept but not used for the medians; a pause between two bouts no
       longer than ``max_pause_s`` with low vertical acceleration is a standing pause.

    **Parameters** (defaults are physiological ranges, except where said: chosen
    leave-one-subject-out on the seven people of bench/gait_subjects.py):

    rate_hz
        Sample rate (Hz).
    q_sensor_to_body
        Optional mounting (w, x, y, z); its body x axis is taken as forward. Default: estimated.
    lp_cutoff_hz = 5.0
        Low-pass of a_v for finding and scoring the candidates (Hz; their time comes from
        ``landmark_lp_cutoff_hz``). Chosen leave-one-subject-out on seven people
        (bench/gait_subjects.py: 5 Hz in 7 of 7 folds among 4 / 5 / 6 / 8 Hz with the IC
        timed at 12 Hz; without that, 5 Hz in 4 folds among 3-12 Hz, 6 in 2, 4 in 1; it was
        12 Hz, set on one person): at the trunk the heel-strike transient is a 0.1-0.2-s
        rise, often with a second bump (loading, the other foot's push-off) 0.1-0.15 s after
        it; at a higher cut-off that bump's jerk outscores the landing for some people.
    landmark_lp_cutoff_hz = 10.0, ic_refine_s = 0.05
        Where the events are timed (Hz, s): the IC is the jerk maximum of a_v low-passed at
        ``landmark_lp_cutoff_hz`` within ``ic_refine_s`` of the chosen candidate (step 2), and
        the FC is found in the same signal (step 6). The low ``lp_cutoff_hz`` chooses which
        rise is the landing, this one says when within it (the heel-strike rise lasts 30-60
        ms; the push-off bump of the FC is small and close). Leave-one-subject-out among off
        / (0.05 s; 8, 10, 12, 15 Hz) chose (0.05 s, 10 Hz) in 5 of 7 folds, off and 12 Hz in
        one each: F1@0.1 0.879 → 0.891 pooled, median timing error 20 ms either way (30 ms
        at 12-15 Hz), cadence error 1.67 → 1.72 spm. ``ic_refine_s`` = 0 times the IC at the
        candidate itself.
    min_rise_mps2 = 1.0
        Smallest weight-acceptance rise of a_v that counts as a step (about 0.1 g; healthy
        adults 2-6 m/s², slow walkers 1-2 m/s²).
    pre_window_s = 0.25, rise_window_s = 0.1
        Windows before/after a candidate for the rise (s); the heel-strike peak follows the IC
        by 30-100 ms. rise_window_s was 0.15; 0.1 was the leave-one-subject-out choice in all
        7 folds (0.1 / 0.15 / 0.2): a longer window reaches the second bump.
    min_step_s = 0.25
        Shortest step (s) (cadence ≤ 240 steps/min): non-maximum suppression window.
    max_step_s = 1.5
        Longest step (s) (40 steps/min); a longer interval between two ICs of a bout is a
        standstill (for ``GaitBout.cadence_spm``).
    max_break_s = 3.0
        Longest interval between two ICs inside a bout (s): a standstill up to this long does
        not end it (the Mobilise-D walking-bout rule: mobgap's ``WbAssembly`` ends a bout at a
        break longer than 3 s).
    max_gap_s = 0.5
        A run of missing samples longer than this ends the bout.
    max_bridge_s = 0.1
        Longest run of lost samples bridged in step 1 (s): no longer than the shortest period
        the landmark low-pass keeps (1 / 10 Hz), so a bridged stretch is about as smooth as
        the filters make the signal anyway. 0.1 was the leave-one-subject-out choice in all
        7 folds (0 / 0.05 / 0.1; 0.15 gave the same results as 0.1). The wait for a gap's
        end adds at most this to the latency of the events after it.
    min_forward_run = 2
        Consecutive regular forward steps that confirm a bout at once (step 3).
    min_bout_steps = 4, min_progressive_steps = 2
        Otherwise: ICs needed from the first forward step on (two strides, one of each foot),
        and forward steps among them.
    min_step_ratio = 0.0 (off)
        When > 0, an IC less than this fraction of the shortest of the chain's last three
        steps after the previous IC is rejected as a second impact of the same step (a split
        step); the later of the two is dropped because the earlier one is already returned.
        Off by default: leave-one-subject-out chose 0 in 7 of 7 folds (0 / 0.6 / 0.7; 6 of 7
        among 0-0.8 with earlier defaults). Set on one person at 0.7 against the median of
        the last three steps, it dropped every other step of walkers whose steps it had once
        missed (a missed step doubles an interval; the median then rejects the next real
        step, and so on); the shortest recent step is not inflated by one miss.
    min_first_step_ratio = 0.85
        Walking from standing, the first event the jerk finds is often the first toe-off
        (the weight goes onto the stance leg), whose interval to the first landing is a
        swing (about 0.8 of a step: swing is ~40 % of the stride), whereas a first real step
        from standing is no shorter than the next ones. In the seven people's bouts the
        first interval was 0.52-0.89 × the bout's median step at a toe-off, 0.93-1.44 × at a
        landing; 0.8-0.9 give nearly the same events (leave-one-subject-out among 0 / 0.8 /
        0.85 / 0.9 chose 0.85 in 6 folds, 0.8 in one). At the confirmation the reference is
        the median of the intervals after the first (one or more). 0 turns it off.
    fill_gap_ratio = 2.0, fill_step_ratio = 1.2, fill_min_yaw_dps = 30, fill_window = 0.3
        Step 2(e) (``fill_gap_ratio`` = 0 turns it off). Chosen leave-one-subject-out on
        the seven people: (``fill_gap_ratio``, ``fill_step_ratio``) = (2.0, 1.2) in 7 of 7
        folds among (1.6-2.0, 1.0-1.6), F1@0.25 in turns 0.847 → 0.881 pooled (ipol 2
        0.462 → 0.571, ipol 3 0.812 → 0.914), cadence error 1.72 → 1.66 spm; with a
        ``fill_step_ratio`` of 1 (one step per median step time) the cadence error rose to
        1.85 spm (turning steps are longer: too many ICs were put in). ``fill_window`` 0.3
        in 7 of 7 folds (0.15 / 0.3 / 0.5), ``fill_min_yaw_dps`` 30 in 5 of 7 (15 / 30 / 50 /
        80; 50 gave the same events, 15 and 80 were chosen once each).
    close_min_rise_mps2 = 0.2, close_wait = 2.5, close_min_steps = 0.8,
    close_max_steps = 1.2, close_min_jerk_mps3 = 2.0
        Step 2(f) (``close_min_rise_mps2`` = 0 turns it off). Leave-one-subject-out
        ``close_min_rise_mps2`` among 0 / 0.2 / 0.3 / 0.4 / 0.5 (window 0.6-1.4 steps)
        chose 0.3 in the six IPOL folds and 0 (off) in the HA001 fold (trained on the IPOL
        people only): held out, F1@0.25 on straight walking 0.975 → 0.981 pooled, F1@0.1
        0.892 → 0.895, cadence error 1.66 → 1.68 spm (1.40 with 0.3 for every person:
        HA001's bouts end with such steps too). The window then: ``close_min_steps`` 0.8 in
        6 of 7 folds (0.5-0.8), ``close_max_steps`` 1.2 in 6 of 7 (1.2 / 1.4 / 1.6), the pair
        (0.8, 1.2) in 7 of 7 (the closing steps of the IPOL walks come 0.8-0.95 steps after
        the IC before). ``close_wait`` (with 0.5): 3.5 in 4 folds, 2.5 in 2, 2 in 1; 2.5 is
        kept (the shorter wait, nearly the same events). With that window, rechosen:
        ``close_min_rise_mps2`` 0.2 in the six IPOL folds, 0.4 in the HA001 fold (0.2 and
        0.3 give nearly the same events; held out, cadence error 1.68 spm pooled, HA001
        3.41; 1.40 and 1.96 with 0.2 for everyone). Without the condition on the yaw
        rate the search also fired in U-turns and cost F1 there (0.881 → 0.868).
        ``close_min_jerk_mps3``: 0, 1 and 2 give the same events on all seven people (4 and
        more lose closing steps); 2 is taken because the walking phantom of
        tests/test_metrics.py, whose step oscillation fades out over 0.6 s after its last
        (full) heel strike, otherwise gets a closing step from that fade (a jerk of about
        1 m/s³), which is no landing.
    side_min_rel = 0.4
        Step 5 (0 turns it off). Leave-one-subject-out among 0 / 0.15 / ... / 0.8: 0.4 in 6
        of 7 folds, 0.5 in one; side accuracy held out 0.988 → 0.994 pooled without the two
        trials whose reference sides are swapped (every person ≥ 0.989; 0.978 → 0.989 for
        IPOL 6). Of the wrong sides before, 9 of 14 had an evidence below 0.3 × the
        median; of the right ones, 1 % were below 0.38 × on straight walking.
    min_progression = 0.3
        Progression index that counts as a forward step. The index is a normalised
        correlation; how closely the pelvis follows the inverted pendulum differs between
        people (0.3-0.5 over most steps of IPOL subject 3, trial 3), and at 0.5 (set on one
        person) a walk of such a person ended, for the bout statistics and the offline
        events, at the first run of steps below it. 0.3 was the leave-one-subject-out choice
        in 7 of 7 folds (0.2 / 0.3 / 0.4 / 0.5).
    forward_memory_steps = 100
        Memory of the walking-direction estimate (steps).
    fc_min_delay_s = 0.08, fc_max_delay_s = 0.4
        FC is searched from this long after the IC (s), past the heel-strike peak, to half the
        previous step but no further than fc_max_delay_s (the double support after an IC lasts
        0.1-0.3 s; at most about 25 % of a slow 1.6-s stride), nor than 2 × min_step_s.
    max_pause_s = 10.0, pause_max_abs_av_mps2 = 0.5
        Longest interruption between bouts still called a pause (s); mean |a_v| below this.
    turn_lowpass_hz = 0.5, turn_peak_dps = 15, turn_lower_dps = 5,
    turn_min_angle_deg = 45, turn_duration_s = (0.5, 10)
        Turn detection (El-Gohary et al. 2014; mobgap defaults).

    **Latency** is the time from an IC to the end of the chunk that first returns it (fed one
    sample at a time; a chunk adds up to its own duration). An IC of a confirmed bout comes,
    with its side and the FC after it, max(decision, min(previous step / 2, ``fc_max_delay_s``)
    + 0.1 s + 2 samples) after it, where the decision (step 2) takes ``min_step_s`` + 0.1 s +
    2 samples (0.37 s at 100 Hz) or, when a later candidate has to be scored first,
    ``rise_window_s`` more (0.47 s). So the latency never exceeds 0.52 s (at 100 Hz, default
    parameters, no lost samples; a bridged gap, step 1, adds up to ``max_bridge_s``): 0.47 s
    for steps up to 0.7 s, 0.52 s only after a step longer than 0.8 s, whose FC window
    (``fc_max_delay_s``) is the longer wait. For steady walking with step time T it is
    max(0.37 s, T/2 + 0.12 s): 0.40 s at 105 steps/min. That is within one step - returned
    before the next IC happens - for T > 0.37 s (below 160 steps/min), and for every step
    longer than 0.52 s. These times count from the candidate; the IC's own time (step 2) is
    up to ``ic_refine_s`` earlier or later. The 0.1 s
    is the zero-phase FIR's half length. Exceptions: the closing step of a walk (step 2(f))
    is returned ``close_wait`` steps after the IC before it; the ICs of a bout before its
    confirmation are returned with the IC that confirms it (the first one 2 steps + its
    decision after it, when the bout is confirmed at its second forward step), and ICs in
    the last 0.52 s of a recording are returned by ``flush()``. A live display need not wait
    for the confirmation: :meth:`provisional` has each IC of the unconfirmed steps with the
    same latency as inside a bout.

    **Deviations from the papers.** IC detection follows the principle of McCamley et al.
    (2012) - the IC is where the smoothed vertical acceleration rises into the heel-strike
    peak - but takes the steepest point of that rise (jerk maximum) after a short zero-phase
    low-pass instead of the minimum of a Gaussian-CWT of the integrated signal, which moves
    the estimate away from the IC by up to the wavelet's width. The side uses the
    medio-lateral velocity of the pelvis at IC, computed over windows around the IC (no
    band-pass, no phase lag), instead of the band-passed yaw/roll rate of McCamley et al.
    (2012) and Ullrich et al. (2021); the earth-frame yaw rate is mounting-independent but
    was found less consistent at IC. Walking bouts are found by the detector itself
    (Mobilise-D pipelines use a separate gait-sequence detector). Turns are detected in the
    earth frame with a causal filter (mobgap: sensor frame, zero-phase).

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

    MAX_STRIDE_RATIO = 1.5

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
        close_min_rise_mps2: float = 0.2,
        close_min_steps: float = 0.8,
        close_min_jerk_mps3: float = 2.0,
        close_max_steps: float = 1.2,
        close_wait: float = 2.5,
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
        self.rate_hz = float(rate_hz)
        self.q_sensor_to_body = None if q_sensor_to_body is None else np.asarray(
            q_sensor_to_body, float)
        self.lp_cutoff_hz = lp_cutoff_hz
        self.landmark_lp_cutoff_hz = landmark_lp_cutoff_hz
        self.ic_refine_s = ic_refine_s
        self.min_rise_mps2 = min_rise_mps2
        self.pre_window_s = pre_window_s
        self.rise_window_s = rise_window_s
        self.min_step_s = min_step_s
        self.max_step_s = max_step_s
        self.max_break_s = max_break_s
        self.max_gap_s = max_gap_s
        self.max_bridge_s = max_bridge_s
        self.min_bout_steps = min_bout_steps
        self.min_forward_run = min_forward_run
        self.min_progressive_steps = min_progressive_steps
        self.min_step_ratio = min_step_ratio
        self.min_first_step_ratio = min_first_step_ratio
        self.fill_gap_ratio = fill_gap_ratio
        self.fill_min_yaw_dps = fill_min_yaw_dps
        self.fill_window = fill_window
        self.fill_step_ratio = fill_step_ratio
        self.close_min_rise_mps2 = close_min_rise_mps2
        self.close_min_steps = close_min_steps
        self.close_min_jerk_mps3 = close_min_jerk_mps3
        self.close_max_steps = close_max_steps
        self.close_wait = close_wait
        self.side_min_rel = side_min_rel
        self._split_steps = 3        # steps whose median the ratio refers to
        self.min_progression = min_progression
        self.forward_memory_steps = forward_memory_steps
        self.fc_min_delay_s = fc_min_delay_s
        self.fc_max_delay_s = fc_max_delay_s
        self.max_pause_s = max_pause_s
        self.pause_max_abs_av_mps2 = pause_max_abs_av_mps2
        self.turn_lowpass_hz = turn_lowpass_hz
        self.turn_peak_dps = turn_peak_dps
        self.turn_lower_dps = turn_lower_dps
        self.turn_min_angle_deg = turn_min_angle_deg
        self.turn_duration_s = turn_duration_s

        fs = self.rate_hz
        # FIR low-pass: 0.2 s long (Hamming window), zero phase by centring.
        self._h = max(2, round(0.1 * fs))
        self._lp = firwin(2 * self._h + 1, lp_cutoff_hz, fs=fs)
        self._lp_landmark = firwin(2 * self._h + 1, landmark_lp_cutoff_hz, fs=fs)
        self._w_pre = max(2, round(pre_window_s * fs))
        self._w_rise = max(2, round(rise_window_s * fs))
        self._w_refine = max(0, min(round(ic_refine_s * fs), self._w_pre, self._w_rise))
        self._w_nms = max(1, round(min_step_s * fs))
        self._max_break = round(max_break_s * fs)
        self._max_gap = max(1, round(max_gap_s * fs))
        self._max_bridge = round(max_bridge_s * fs)
        self._fc_min = max(1, round(fc_min_delay_s * fs))
        # at most 2 × min_step_s: an IC is finished before the next one can be decided
        self._fc_max = max(self._fc_min, min(round(fc_max_delay_s * fs), 2 * self._w_nms))
        # samples after a candidate before (a), (b), (d) of step 2 can be checked, before its
        # (c) can be decided at the earliest (the latest is _w_nms + _w_found), and before it
        # for context
        self._w_found = self._w_rise + self._h + 2
        self._decide_min = self._w_nms + self._h + 2
        self._history = self._w_nms + self._w_pre + self._h + 2
        self._forward_decay = math.exp(-1.0 / forward_memory_steps)
        self._turn_sos = butter(4, turn_lowpass_hz, fs=fs, output="sos")
        b, a = butter(4, turn_lowpass_hz, fs=fs)
        self._turn_delay = round(float(group_delay((b, a), w=[1e-6], fs=fs)[1][0]))
        # keep enough raw history for the longest step window, pauses and FC search
        self._keep = round((4 * max_break_s + max_pause_s + 2.0) * fs) + self._history
        self.reset()

    # ------------------------------------------------------------------ public API

    def reset(self) -> None:
        """Forget everything (a new recording)."""
        self._n = 0                                  # samples received
        self._settled = 0                            # samples final (no gap left to bridge)
        self._open_gap: int | None = None            # start of a bridgeable gap at the end
        self.n_bridged = 0                           # lost samples bridged (step 1)
        self._base = 0                               # absolute index of buffer element 0
        self._buf = {k: np.zeros((0, d)) for k, d in
                     (("av", 1), ("ah", 2), ("wz", 1), ("q", 4))}
        self._buf["t"] = np.zeros(0)
        self._buf["valid"] = np.zeros(0, bool)
        self._found_upto = 0                         # candidates found for samples < this
        self._found: list[tuple[int, float, float, int]] = []  # (index, score, rise, IC index)
        self._next = 0                               # first of them not decided yet
        self._gaps: list[int] = []                   # long gaps not passed to the chains yet
        self._invalid_run = 0                        # length of the current run of missing samples
        self._gap_checked = 0
        self._chain = _Chain()
        self._pending: _Step | None = None           # newest IC, not finished yet
        self._n_bouts = 0
        self._forward_s = (np.zeros(3) if self.q_sensor_to_body is None
                           else _from_earth(self.q_sensor_to_body[None, :],
                                            np.array([[1.0, 0.0, 0.0]]))[0])
        self._forward_fixed = self.q_sensor_to_body is not None
        self._turn_zi = sosfilt_zi(self._turn_sos) * 0.0
        self._turn_n = 0                             # samples through the turn filter
        self._turn_seg: dict | None = None           # open turn candidate
        self._turn_pending: dict | None = None       # closed candidate waiting for a merge
        self.turns: list[Turn] = []
        self.bouts: list[GaitBout] = []
        self.strides: list[Stride] = []
        self.pauses: list[Pause] = []
        self._closed_chains: list[_Chain] = []       # bouts waiting for turn detection
        self._prev_bout_end: tuple[int, float] | None = None
        self.n_rejected_chains = 0                   # candidate chains that were not walking
        self.n_rejected_candidates = 0
        self.n_filled = 0                            # ICs put into turn gaps (step 2(e))
        self.n_closing = 0                           # closing steps found (step 2(f))

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
        # 1. earth frame; missing samples become zeros flagged invalid
        valid = (np.isfinite(t) & np.isfinite(acc).all(1) & np.isfinite(gyr).all(1)
                 & np.isfinite(q).all(1))
        qn = np.where(valid[:, None], q, [1.0, 0.0, 0.0, 0.0])
        qn = qn / np.linalg.norm(qn, axis=1, keepdims=True)
        a_e = quat_rotate(qn, np.where(valid[:, None], acc, 0.0))
        w_e = quat_rotate(qn, np.where(valid[:, None], gyr, 0.0))
        av = np.where(valid, a_e[:, 2] - G_MPS2, 0.0)
        ah = np.where(valid[:, None], a_e[:, :2], 0.0)
        wz = np.where(valid, w_e[:, 2], 0.0)
        if not np.isfinite(t).all():
            t = self._fill_time(t)
        self._append(t=t, av=av[:, None], ah=ah, wz=wz[:, None], q=qn, valid=valid)
        self._n += n
        self._bridge_gaps()

        events: list[GaitEvent] = []
        self._run_turns(wz, valid)
        self._decide(events)
        self._finalise_bouts()
        self._trim()
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
            f = self._forward_s
            nf = float(np.linalg.norm(f))
            side = ("R" if float(f @ s.side_vec) > 0 else "L") if nf > 0 else ""
            out.append(GaitEvent(s.t_s, "IC", side, -1))
            if np.isfinite(s.fc_t_s) and side:
                out.append(GaitEvent(s.fc_t_s, "FC", "L" if side == "R" else "R", -1))
        return out

    def flush(self) -> list[GaitEvent]:
        """End of the recording: decide what can be decided and close the open bout."""
        events: list[GaitEvent] = []
        self._decide(events, final=True)
        self._close_chain(events)
        self._flush_turns()
        self._finalise_bouts(final=True)
        return events

    # ------------------------------------------------------------------ buffers

    def _fill_time(self, t: np.ndarray) -> np.ndarray:
        """NaN times (a lost sample without a time): continue the sample clock."""
        t = t.copy()
        prev = self._buf["t"][-1] if len(self._buf["t"]) else math.nan
        for i in range(len(t)):
            if not np.isfinite(t[i]):
                t[i] = prev + 1.0 / self.rate_hz if np.isfinite(prev) else (
                    (self._n + i) / self.rate_hz)
            prev = t[i]
        return t

    def _bridge_gaps(self) -> None:
        """Step 1: runs of at most ``max_bridge_s`` missing samples between two received
        ones are filled in (linear in a_v, a_h, w_z; normalised linear in q). Until a run at
        the end of the data is closed (or grows too long to bridge), the samples from its
        start on are not final: ``_settled`` stops there, and nothing after it is used."""
        start = self._open_gap if self._open_gap is not None else self._settled
        valid = self._get("valid", start, self._n)
        self._open_gap = None
        if valid.all():
            self._settled = self._n
            return
        d = np.diff(np.concatenate([[1], valid.astype(np.int8), [1]]))
        for a, b in zip(np.flatnonzero(d == -1), np.flatnonzero(d == 1), strict=True):
            a_abs, b_abs = start + a, start + b
            prev_ok = a_abs > self._base and bool(self._buf["valid"][a_abs - 1 - self._base])
            if not prev_ok or b - a > self._max_bridge:
                continue
            if b_abs == self._n:                 # still open: wait for its end
                self._open_gap = a_abs
                break
            lo, hi = a_abs - 1 - self._base, b_abs - self._base
            w = (np.arange(1, b - a + 1) / (b - a + 1))[:, None]
            for k in ("av", "ah", "wz", "q"):
                x = self._buf[k]
                end = x[hi] if k != "q" or x[lo] @ x[hi] >= 0 else -x[hi]
                x[lo + 1:hi] = (1 - w) * x[lo] + w * end
            qq = self._buf["q"][lo + 1:hi]
            qq /= np.linalg.norm(qq, axis=1, keepdims=True)
            self._buf["valid"][lo + 1:hi] = True
            self.n_bridged += int(b - a)
        self._settled = self._n if self._open_gap is None else self._open_gap

    def _append(self, **arrays) -> None:
        for k, v in arrays.items():
            self._buf[k] = np.concatenate([self._buf[k], v])

    def _trim(self) -> None:
        n_buf = len(self._buf["t"])
        if n_buf <= 2 * self._keep:
            return
        oldest_needed = self._n - self._keep
        if self._chain.steps:
            oldest_needed = min(oldest_needed, self._chain.steps[max(0, len(self._chain.steps)
                                                                     - 3)].idx)
        cut = max(0, oldest_needed - self._history - self._base)
        if cut > 0:
            for k in self._buf:
                self._buf[k] = self._buf[k][cut:]
            self._base += cut

    def _get(self, name: str, start: int, stop: int) -> np.ndarray:
        """Buffered samples [start, stop) by absolute index (clipped to what is held)."""
        lo = max(start, self._base) - self._base
        hi = max(min(stop, self._n), self._base) - self._base
        return self._buf[name][lo:hi]

    # ------------------------------------------------------------------ 2. candidates

    def _decide(self, events: list[GaitEvent], final: bool = False) -> None:
        """Find candidates, decide them (non-maximum suppression) as early as the data
        allows, and pass them and the long gaps to the chains in sample order."""
        found_stop = self._n if final else self._settled - self._w_found
        if found_stop > self._found_upto:
            self._found += self._candidates(self._found_upto, found_stop)
            self._gaps += self._long_gaps(found_stop)
            self._found_upto = found_stop
        bound = None if final else self._competitor_bound()
        decided = []
        while self._next < len(self._found):
            verdict = self._nms(self._next, bound)
            if verdict is None:
                break
            if verdict:
                decided.append(self._found[self._next][3:1:-1])
            self._next += 1
        frontier = (self._found[self._next][0] if self._next < len(self._found)
                    else self._found_upto)
        gaps = [g for g in self._gaps if g < frontier]
        self._gaps = self._gaps[len(gaps):]
        for i, kind, rise in sorted([(i, 1, r) for i, r in decided]
                                    + [(g, 0, 0.0) for g in gaps]):
            self._finish_pending(events, final)
            self._closing_step(i, events, final)
            self._timeout(i, events)
            if kind == 0:
                self._close_chain(events)
            else:
                self._add_step(i, events, final, rise)
        self._closing_step(frontier, events, final)
        self._timeout(frontier, events)
        self._finish_pending(events, final)
        # forget found candidates that can no longer be a competitor
        oldest = frontier - self._w_nms - 1
        drop = 0
        while drop < self._next and self._found[drop][0] < oldest:
            drop += 1
        del self._found[:drop]
        self._next -= drop

    def _candidates(self, start: int, stop: int) -> list[tuple[int, float, float]]:
        """IC candidates with index in [start, stop) that pass (a), (b) and (d) of step 2,
        with their scores; non-maximum suppression (c) is ``_nms``'s."""
        h, wp, wr = self._h, self._w_pre, self._w_rise
        seg0 = max(self._base, start - self._history)
        seg1 = min(self._n, stop + self._w_found)
        av = self._get("av", seg0, seg1)[:, 0]
        valid = self._get("valid", seg0, seg1)
        m = len(av)
        if m < 2 * h + 3:
            return []
        a = np.convolve(av, self._lp, mode="valid")          # a[k] ↔ sample seg0 + h + k
        a0 = seg0 + h
        j = np.zeros_like(a)
        j[1:-1] = (a[2:] - a[:-2]) * (0.5 * self.rate_hz)
        # local maxima of jerk
        k = np.arange(1, len(a) - 1)
        k = k[(j[k] >= j[k - 1]) & (j[k] > j[k + 1]) & (j[k] > 0)]
        # each needs pre and rise windows inside the low-passed segment
        k = k[(k - wp >= 0) & (a0 + k >= start) & (a0 + k < stop)]
        valid_cum = np.concatenate([[0], np.cumsum(~valid)])
        if self._w_refine > 0:
            # the jerk at the landmark cut-off, for the IC's time (step 2)
            af = np.convolve(av, self._lp_landmark, mode="valid")
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
                self.n_rejected_candidates += 1
                continue
            t_idx = idx
            if self._w_refine > 0:
                lo_k = max(0, kk - self._w_refine)
                t_idx = a0 + lo_k + int(np.argmax(jf[lo_k:kk + self._w_refine + 1]))
            out.append((int(idx), float(j[kk] * min(rise, 3.0)), float(rise), int(t_idx)))
        return out

    def _competitor_bound(self) -> tuple[int, np.ndarray]:
        """(first, jerk): the jerk of samples first, first + 1, ... up to the newest one whose
        jerk is known, from ``_found_upto`` on. A candidate there, not found yet, scores at
        most 3 × its jerk."""
        h = self._h
        lo = max(self._found_upto - h - 1, self._base)
        av = self._get("av", lo, self._settled)[:, 0]
        if len(av) < 2 * h + 3:
            return self._settled, np.zeros(0)
        a = np.convolve(av, self._lp, mode="valid")          # a[k] ↔ sample lo + h + k
        return lo + h + 1, (a[2:] - a[:-2]) * (0.5 * self.rate_hz)

    def _nms(self, pos: int, bound: tuple[int, np.ndarray] | None) -> bool | None:
        """Step 2(c) for found candidate ``pos``: True (an IC), False (suppressed), or None
        (a candidate that could still beat it has not been found yet). With ``bound`` None
        (end of the recording) the candidates found are all there are."""
        found = self._found
        i, s = found[pos][:2]
        wn = self._w_nms
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
        if bound is None or i + wn < self._found_upto:
            return True
        first, jerk = bound
        lo = max(self._found_upto, i + 1)
        if lo < first or i + wn >= first + len(jerk):
            return None                                      # jerk not known yet
        if np.any(3.0 * jerk[lo - first:i + wn + 1 - first] > s):
            return None
        return True

    def _long_gaps(self, stop: int) -> list[int]:
        """Sample indices in [gap_checked, stop) where a run of missing samples exceeds
        max_gap (the run length is carried across calls)."""
        valid = self._get("valid", self._gap_checked, stop)
        out = []
        run = self._invalid_run
        i0 = self._gap_checked
        if valid.all():
            run = 0
        else:
            for k, ok in enumerate(valid):
                if ok:
                    run = 0
                else:
                    run += 1
                    if run == self._max_gap + 1:
                        out.append(i0 + k)
        self._invalid_run = run
        self._gap_checked = max(self._gap_checked, stop)
        return out

    # ------------------------------------------------------------------ 3.-7. chains

    def _closing_step(self, now: int, events: list[GaitEvent], final: bool) -> None:
        """Step 2(f): the closing step of a walk. When no IC has come within
        ``close_wait`` × the median of the bout's last four steps of the bout's newest IC
        by ``now`` (every candidate before ``now`` is decided), the walker has stopped,
        and the trailing foot's last landing beside the other is soft: its rise is often
        below (a), and the push-off bump of the step before can fail (b). It is the
        candidate of highest score (step 2(c)'s) from ``close_min_steps`` to
        ``close_max_steps`` steps after that IC with a rise of at least
        ``close_min_rise_mps2`` and a jerk of at least ``close_min_jerk_mps3`` (no (b)),
        timed as in step 2, if there is one and no sample of its support is missing."""
        chain = self._chain
        if (chain.bout < 0 or not self.close_min_rise_mps2 > 0 or len(chain.steps) < 3
                or self._pending is not None):
            return
        last = chain.steps[-1]
        if chain.closing_checked >= last.idx:
            return
        ref = float(np.median(np.diff([st.idx for st in chain.steps[-5:]])))
        lo = last.idx + max(self._w_nms, round(self.close_min_steps * ref))
        hi = last.idx + round(self.close_max_steps * ref)
        h, wp, wr = self._h, self._w_pre, self._w_rise
        if (now <= last.idx + self.close_wait * ref or hi < lo
                or (not final and hi + wr + h + 2 > self._settled)):
            return
        chain.closing_checked = last.idx
        wz = self._get("wz", last.idx, hi)[:, 0]
        if np.degrees(np.abs(wz).mean()) >= self.fill_min_yaw_dps:
            return                       # turning on the spot: step 2(e)'s, not a stop
        seg0 = lo - wp - h - 1
        av = self._get("av", seg0, hi + wr + h + 2)[:, 0]
        ok = self._get("valid", seg0, hi + wr + h + 2)
        if len(av) < hi + wr + h + 2 - seg0 or not ok.all():
            return
        a = np.convolve(av, self._lp, mode="valid")            # a[k] ↔ sample seg0 + h + k
        j = np.zeros_like(a)
        j[1:-1] = (a[2:] - a[:-2]) * (0.5 * self.rate_hz)
        best, best_k = -np.inf, -1
        for k in range(lo - seg0 - h, hi - seg0 - h + 1):
            if not (j[k] >= j[k - 1] and j[k] > j[k + 1] and j[k] > 0):
                continue
            rise = a[k:k + wr + 1].max() - a[k - wp:k + 1].min()
            score = j[k] * min(rise, 3.0)
            if (rise >= self.close_min_rise_mps2 and j[k] >= self.close_min_jerk_mps3
                    and score > best):
                best, best_k = score, k
        if best_k < 0:
            return
        idx = seg0 + h + best_k
        if self._w_refine > 0:
            af = np.convolve(av, self._lp_landmark, mode="valid")
            r0 = best_k - self._w_refine
            idx = seg0 + h + r0 + int(np.argmax(
                af[r0 + 1:best_k + self._w_refine + 2] - af[r0 - 1:best_k + self._w_refine]))
        t = float(self._get("t", idx, idx + 1)[0])
        if np.isfinite(last.fc_t_s) and t <= last.fc_t_s:
            return
        self.n_closing += 1
        self._append_step(_Step(idx=idx, t_s=t), last, events, final)

    def _timeout(self, now: int, events: list[GaitEvent]) -> None:
        steps = self._chain.steps
        if steps and now - steps[-1].idx > self._max_break:
            self._close_chain(events)

    def _add_step(self, idx: int, events: list[GaitEvent], final: bool = False,
                  rise: float = math.inf) -> None:
        """A new IC, just decided: extend the chain (steps 3, 4), confirm the bout (step 7);
        the IC is finished (side, FC) and emitted once the data it needs is in."""
        self._finish_pending(events, final)
        chain = self._chain
        step = _Step(idx=idx, t_s=float(self._get("t", idx, idx + 1)[0]), rise=rise)
        prev = chain.steps[-1] if chain.steps else None
        if prev is not None and step.t_s <= prev.fc_t_s:
            # the foot cannot land before it has left: the FC before it is final already
            self.n_rejected_candidates += 1
            return
        if prev is not None and len(chain.steps) > self._split_steps:
            # a step far shorter than the last ones is a second impact of the same step
            recent = np.diff([s.idx for s in chain.steps[-self._split_steps - 1:]])
            if idx - prev.idx < self.min_step_ratio * float(recent.min()):
                self.n_rejected_candidates += 1
                return
        if prev is not None:
            for fill in self._turn_gap_fillers(prev, step):
                self._append_step(fill, prev, events, final, before=step)
                prev = fill
        self._append_step(step, prev, events, final)

    def _append_step(self, step: _Step, prev: _Step | None, events: list[GaitEvent],
                     final: bool, before: _Step | None = None) -> None:
        """Extend the chain by IC ``step`` after ``prev`` (steps 3, 4); finish and emit it
        when its data is in. ``before``: a later IC already decided (``step`` is a turn-gap
        filler, step 2(e)): its FC must come before that IC, and it is finished at once."""
        chain = self._chain
        if prev is not None:
            self._step_features(prev, step)
            step_len = step.idx - prev.idx
        else:
            step_len = 2 * self._w_nms
        step.fc_hi = min(step_len // 2, self._fc_max)
        step.need = max(self._decide_min, step.fc_hi + self._h + 2)
        step.w_side = min(step_len, step.need)
        chain.steps.append(step)
        self._pending = step
        self._maybe_confirm(events)
        if before is None:
            self._finish_pending(events, final)
            return
        self._pending = None
        self._side_features(step)
        step.fc_t_s = self._fc_of(step)
        if not step.fc_t_s < before.t_s:
            step.fc_t_s = math.nan
        step.finished = True
        if chain.bout >= 0:
            self._emit(step, chain.bout, events)

    def _turn_gap_fillers(self, prev: _Step, nxt: _Step) -> list[_Step]:
        """Step 2(e): ICs to put between ``prev`` and the newly decided ``nxt`` when the
        interval is a turn with steps missed (pivot steps: their vertical rise is too small
        for (a)). The interval must be at least ``fill_gap_ratio`` × the median of the
        chain's last four steps and the mean |yaw rate| over it at least
        ``fill_min_yaw_dps``; it is taken to hold round(interval / step) - 1 steps, each
        placed at the largest jerk maximum within ±``fill_window`` steps of its even share
        of the interval (none where there is none), timed as in step 2."""
        if not self.fill_gap_ratio > 0:
            return []
        steps = self._chain.steps
        if len(steps) < 3:
            return []
        ref = float(np.median(np.diff([s.idx for s in steps[-5:]])))
        gap = nxt.idx - prev.idx
        if not ref > 0 or gap < self.fill_gap_ratio * ref:
            return []
        wz = self._get("wz", prev.idx, nxt.idx)[:, 0]
        ok = self._get("valid", prev.idx, nxt.idx)
        if not ok.any() or (np.degrees(np.abs(wz[ok]).mean()) < self.fill_min_yaw_dps):
            return []
        n_fill = max(1, round(gap / (self.fill_step_ratio * ref)) - 1)
        if n_fill < 1:
            return []
        h = self._h
        av = self._get("av", prev.idx - h, nxt.idx + h + 1)[:, 0]
        if len(av) < gap + 2 * h + 1:
            return []
        a = np.convolve(av, self._lp, mode="valid")            # a[k] ↔ sample prev.idx + k
        j = np.zeros_like(a)
        j[1:-1] = a[2:] - a[:-2]
        af = np.convolve(av, self._lp_landmark, mode="valid")
        jf = np.full_like(af, -np.inf)
        jf[1:-1] = af[2:] - af[:-2]
        ok = self._get("valid", prev.idx, nxt.idx + 1)
        peak = np.zeros(len(j), bool)
        peak[1:-1] = (j[1:-1] >= j[:-2]) & (j[1:-1] > j[2:]) & (j[1:-1] > 0) & ok[1:-1]
        half = max(1, round(self.fill_window * gap / (n_fill + 1)))
        out: list[_Step] = []
        last = 0
        for m in range(1, n_fill + 1):
            c = round(m * gap / (n_fill + 1))
            lo = max(c - half, last + self._w_nms)
            hi = min(c + half, gap - self._w_nms)
            if hi < lo:
                continue
            ks = np.flatnonzero(peak[lo:hi + 1]) + lo
            if len(ks) == 0:
                continue
            k = int(ks[np.argmax(j[ks])])
            if self._w_refine > 0:
                r0 = max(1, k - self._w_refine)
                k = r0 + int(np.argmax(jf[r0:min(len(jf) - 1, k + self._w_refine + 1)]))
            t = float(self._get("t", prev.idx + k, prev.idx + k + 1)[0])
            last_fc = out[-1].fc_t_s if out else prev.fc_t_s
            if np.isfinite(last_fc) and t <= last_fc:
                continue                 # the foot cannot land before it has left
            out.append(_Step(idx=prev.idx + k, t_s=t))
            last = k
        self.n_filled += len(out)
        return out

    def _finish_pending(self, events: list[GaitEvent], final: bool = False) -> None:
        """Side and FC of the newest IC once ``need`` samples after it are in (steps 5, 6);
        emitted if its chain is a bout. The next IC is decided later than that (at least
        ``min_step_s`` + ``_decide_min`` after this one, and ``need`` is at most that), so
        this always comes first; ``final``: with the data there is (end of the recording)."""
        s = self._pending
        if s is None or (not final and s.idx + s.need >= self._settled):
            return
        self._pending = None
        self._side_features(s)
        s.fc_t_s = self._fc_of(s)
        s.finished = True
        if self._chain.bout >= 0:
            self._emit(s, self._chain.bout, events)

    def _step_features(self, a: _Step, b: _Step) -> None:
        """Forward direction and progression index of the step a→b (step 4)."""
        dt = 1.0 / self.rate_hz
        ah = self._get("ah", a.idx, b.idx)
        av = self._get("av", a.idx, b.idx)[:, 0]
        q = self._get("q", a.idx, b.idx)
        if len(av) < 2:
            return
        v = np.cumsum(av) * dt
        v = v - np.linspace(0.0, v[-1], len(v))               # detrend: zero at both ICs
        v = v - v.mean()
        ahc = ah - ah.mean(axis=0)
        c_e = np.zeros((len(v), 3))
        c_e[:, :2] = ahc * (-v[:, None])
        c_s = _from_earth(q, c_e).sum(axis=0) * dt
        if not self._forward_fixed:
            self._forward_s = self._forward_decay * self._forward_s + c_s
        f_s = self._forward_s
        # forward axis in the earth frame at each sample
        f_e = quat_rotate(q, np.broadcast_to(f_s, (len(q), 3)))[:, :2]
        f_e = f_e / np.maximum(np.linalg.norm(f_e, axis=1, keepdims=True), 1e-12)
        a_f = (ahc * f_e).sum(axis=1)
        norm = math.sqrt(float((a_f ** 2).sum() * (v ** 2).sum()))
        a.progression = float((a_f * -v).sum() / norm) if norm > 0 else 0.0

    def _side_features(self, s: _Step) -> None:
        """Medio-lateral velocity change around IC s, as a sensor-frame vector (step 5).

        With W = ``s.w_side`` samples, the medio-lateral velocity at the IC relative to the
        mean of the velocities W before and W after it is
        (∫_{-W}^{0} a_ml dt - ∫_{0}^{W} a_ml dt) / 4 (a constant offset of a_ml cancels).
        a_ml = (f × up)·a_h = f · (up × a_h) is linear in the forward axis f, so the sum is kept
        as the vector Σ ±(up × a_h) in the sensor frame and projected on the forward axis when
        the side is decided (by then the walking direction is known even for a first bout).
        """
        w = s.w_side
        lo = max(s.idx - w + 1, self._base)
        ah = self._get("ah", lo, s.idx + w + 1)
        q = self._get("q", lo, s.idx + w + 1)
        n_before = s.idx + 1 - lo
        m_e = np.zeros((len(ah), 3))
        m_e[:, 0] = -ah[:, 1]
        m_e[:, 1] = ah[:, 0]
        m_s = _from_earth(q, m_e)
        s.side_vec = 0.25 / self.rate_hz * (m_s[:n_before].sum(axis=0)
                                            - m_s[n_before:].sum(axis=0))

    def _decide_side(self, s: _Step) -> None:
        f = self._forward_s
        nf = float(np.linalg.norm(f))
        s.evidence = float(f @ s.side_vec) / nf if nf > 0 else 0.0
        s.side = "R" if s.evidence > 0 else "L"
        if not self.side_min_rel > 0:
            return
        before = [x for x in self._chain.steps if x.emitted and x is not s][-8:]
        if len(before) < 4:
            return
        typical = float(np.median([abs(x.evidence) for x in before]))
        if abs(s.evidence) < self.side_min_rel * typical:
            s.side = "L" if before[-1].side == "R" else "R"    # too weak: the feet alternate

    def _fc_of(self, a: _Step) -> float:
        """FC of the other foot during the step starting at IC a (step 6)."""
        h = self._h
        hi = a.idx + a.fc_hi
        lo = a.idx + self._fc_min
        if hi - lo < 3:
            return math.nan
        av = self._get("av", a.idx - h, hi + h + 1)[:, 0]
        if len(av) < 2 * h + 1 + (hi - a.idx):
            return math.nan
        x = np.convolve(av, self._lp_landmark, mode="valid")   # x[k] ↔ sample a.idx + k
        # heel-strike peak: max within the rise window, then the first local minimum after it
        pk = int(np.argmax(x[:min(len(x), self._w_rise + 1)]))
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
        return float(self._get("t", a.idx + best, a.idx + best + 1)[0])

    def _maybe_confirm(self, events: list[GaitEvent]) -> None:
        """Confirm the chain as a bout and emit its ICs so far (steps 3, 7)."""
        chain = self._chain
        steps = chain.steps
        if chain.bout >= 0:
            return
        # progression is known for every step but the last (it needs the next IC)
        prog = [i for i, s in enumerate(steps[:-1]) if s.progression >= self.min_progression]
        if not prog:
            return
        first = prog[0]
        run = any(all(i + j in prog for j in range(self.min_forward_run))
                  and self._regular(steps[i:i + self.min_forward_run + 1])
                  for i in prog)
        if run or (len(steps) - first >= self.min_bout_steps
                   and len(prog) >= self.min_progressive_steps):
            d = np.diff([s.idx for s in steps[first:]])
            if len(d) >= 2 and d[0] < self.min_first_step_ratio * float(np.median(d[1:])):
                first += 1       # the first toe-off, not a landing (see min_first_step_ratio)
            chain.bout = self._n_bouts
            self._n_bouts += 1
            self._check_pause(steps[first])
            for s in steps[first:]:
                if s.finished:
                    self._emit(s, chain.bout, events)

    def _regular(self, steps: list[_Step]) -> bool:
        d = np.diff([s.idx for s in steps])
        return len(d) > 0 and d.max() <= self.MAX_STRIDE_RATIO * d.min()

    def _check_pause(self, first: _Step) -> None:
        """A standing pause between the previous bout and this one (step 9)."""
        prev = self._prev_bout_end
        if prev is None or first.t_s - prev[1] > self.max_pause_s:
            return
        av = self._get("av", prev[0], first.idx)[:, 0]
        valid = self._get("valid", prev[0], first.idx)
        if valid.any() and float(np.mean(np.abs(av[valid]))) <= self.pause_max_abs_av_mps2:
            self.pauses.append(Pause(prev[1], first.t_s))

    def _emit(self, s: _Step, bout: int, events: list[GaitEvent]) -> None:
        self._decide_side(s)
        s.emitted = True
        events.append(GaitEvent(s.t_s, "IC", s.side, bout))
        if np.isfinite(s.fc_t_s):
            events.append(GaitEvent(s.fc_t_s, "FC", "L" if s.side == "R" else "R", bout))

    def _close_chain(self, events: list[GaitEvent]) -> None:
        self._finish_pending(events, final=True)
        chain = self._chain
        if chain.bout >= 0:
            self._closed_chains.append(chain)
            end = self._bout_steps(chain)[-1]
            self._prev_bout_end = (end.idx, end.t_s)
        elif chain.steps:
            self.n_rejected_chains += 1
        self._chain = _Chain()

    # ------------------------------------------------------------------ 8. turns

    def _run_turns(self, wz: np.ndarray, valid: np.ndarray) -> None:
        w_dps, self._turn_zi = sosfilt(self._turn_sos, np.degrees(wz), zi=self._turn_zi)
        dt = 1.0 / self.rate_hz
        lower = self.turn_lower_dps
        for k in range(len(w_dps)):
            w = w_dps[k]
            i = self._turn_n + k
            seg = self._turn_seg
            moving = abs(w) >= lower and valid[k]
            if seg is not None and (not moving or np.sign(w) != seg["sign"]):
                self._close_turn_candidate(i)
                seg = None
            if moving:
                if seg is None:
                    self._turn_seg = seg = {"start": i, "sign": np.sign(w), "angle": 0.0,
                                            "peak": 0.0}
                seg["angle"] += w * dt
                seg["peak"] = max(seg["peak"], abs(w))
            if self._turn_pending is not None and i - self._turn_pending["end"] > 0.05 / dt:
                self._accept_turn(self._turn_pending)
                self._turn_pending = None
        self._turn_n += len(w_dps)

    def _close_turn_candidate(self, end: int) -> None:
        seg = self._turn_seg
        self._turn_seg = None
        if seg is None or seg["peak"] < self.turn_peak_dps:
            return
        seg["end"] = end
        pend = self._turn_pending
        if (pend is not None and pend["sign"] == seg["sign"]
                and seg["start"] - pend["end"] <= 0.05 * self.rate_hz):
            pend["end"] = end
            pend["angle"] += seg["angle"]
            pend["peak"] = max(pend["peak"], seg["peak"])
            return
        if pend is not None:
            self._accept_turn(pend)
        self._turn_pending = seg

    def _accept_turn(self, seg: dict) -> None:
        dur = (seg["end"] - seg["start"]) / self.rate_hz
        lo, hi = self.turn_duration_s
        if abs(seg["angle"]) < self.turn_min_angle_deg or not lo <= dur <= hi:
            return
        t0 = self._time_at(seg["start"] - self._turn_delay)
        t1 = self._time_at(seg["end"] - self._turn_delay)
        self.turns.append(Turn(t0, t1, float(seg["angle"]), float(seg["peak"])))

    def _flush_turns(self) -> None:
        if self._turn_seg is not None:
            self._close_turn_candidate(self._turn_n)
        if self._turn_pending is not None:
            self._accept_turn(self._turn_pending)
            self._turn_pending = None

    def _time_at(self, idx: int) -> float:
        """Time of absolute sample idx (extrapolated outside the buffer)."""
        tb = self._buf["t"]
        k = idx - self._base
        if 0 <= k < len(tb):
            return float(tb[k])
        if len(tb) == 0:
            return idx / self.rate_hz
        ref = 0 if k < 0 else len(tb) - 1
        return float(tb[ref] + (k - ref) / self.rate_hz)

    # ------------------------------------------------------------------ 9. bout statistics

    def _finalise_bouts(self, final: bool = False) -> None:
        while self._closed_chains:
            chain = self._closed_chains[0]
            end = chain.steps[-1].idx
            turn_open = self._turn_seg is not None or self._turn_pending is not None
            if not final and (self._turn_n - self._turn_delay <= end or turn_open):
                return
            self._closed_chains.pop(0)
            self._bout_summary(chain)

    def _cadence(self, t: np.ndarray) -> float:
        """Steps per minute over the bout; an interval of about n typical steps (a step missed
        by the detector, e.g. in a gap) counts as n steps, one longer than ``max_step_s`` (a
        standstill inside the bout) as one."""
        if len(t) < 2 or t[-1] <= t[0]:
            return math.nan
        d = np.diff(t)
        n_steps = np.maximum(1, np.round(d / np.median(d)))
        n_steps[d > self.max_step_s] = 1
        return float(60.0 * n_steps.sum() / (t[-1] - t[0]))

    def _bout_steps(self, chain: _Chain) -> list[_Step]:
        """The ICs of a closed bout: from its first forward step to the end of its last one.
        The ICs returned after that (steps in place, turning or sitting down after the walk,
        returned live before it was known that walking had stopped) are left out."""
        steps = [s for s in chain.steps if s.emitted]
        last = max(i for i, s in enumerate(steps[:-1]) if s.progression >= self.min_progression)
        return steps[:last + 2]

    def _bout_summary(self, chain: _Chain) -> None:
        steps = self._bout_steps(chain)
        t = np.array([s.t_s for s in steps])
        turns = tuple(tr for tr in self.turns
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
            regular = (med / self.MAX_STRIDE_RATIO <= s_t <= med * self.MAX_STRIDE_RATIO)
            out.append(Stride(chain.bout, a.side, a.t_s, b.t_s, float(s_t), float(stance),
                              float(swing), in_turn, bool(regular and not in_turn)))
        used = [s for s in out if s.used]

        def _median(xs):
            xs = [x for x in xs if np.isfinite(x)]
            return float(np.median(xs)) if xs else math.nan

        stride_time = _median([s.stride_time_s for s in used])
        bout = GaitBout(
            index=chain.bout, t_start_s=float(t[0]), t_end_s=float(t[-1]), n_steps=len(t),
            cadence_spm=self._cadence(t),
            cadence_straight_spm=120.0 / stride_time if np.isfinite(stride_time) else math.nan,
            stride_time_s=stride_time, step_time_s=stride_time / 2.0,
            stance_s=_median([s.stance_s for s in used]),
            swing_s=_median([s.swing_s for s in used]),
            n_strides=len(out), n_strides_used=len(used), turns=turns)
        self.bouts.append(bout)
        self.strides.extend(out)


# ----------------------------------------------------------------------------------------------


def detect_events(
    t_s: np.ndarray,
    acc_mps2: np.ndarray,
    gyr_radps: np.ndarray,
    q_sensor_to_earth: np.ndarray | None = None,
    rate_hz: float | None = None,
    **params,
) -> tuple[list[GaitEvent], list[GaitBout]]:
    """Offline: gait events and bouts of a whole recording.

    Orientation, when not given, is ``orientation_offline``'s (lost samples stay NaN). The rate
    defaults to the median sample interval of ``t_s``. ``params`` go to ``GaitEventDetector``;
    without ``q_sensor_to_body`` the mounting is ``sacrum.signal.mounting.estimate_mounting``'s, as
    ``sacrum.signal.pipeline.analyze_recording`` estimates it, so that both find the same steps
    (the detector's own walking-direction estimate, step 4, only where the mounting cannot
    be told from the recording).
    Returns (events in time order, bouts); the detector's strides and turns are lost here -
    use ``GaitEventDetector`` directly for them. Offline the end of each bout is known: the
    events are those of the bouts (``GaitBout.t_start_s`` to ``t_end_s``, each IC with the FC
    after it), without the ICs a real-time run returns after a bout's last forward step.
    """
    t = np.asarray(t_s, float)
    acc = np.asarray(acc_mps2, float)
    gyr = np.asarray(gyr_radps, float)
    if rate_hz is None:
        dt = np.diff(t[np.isfinite(t)])
        if len(dt) == 0 or not np.median(dt) > 0:
            raise ValueError("cannot tell the sample rate from t_s: pass rate_hz")
        rate_hz = 1.0 / float(np.median(dt))
    if q_sensor_to_earth is None:
        q_sensor_to_earth = orientation_offline(acc, gyr, rate_hz)
    if params.get("q_sensor_to_body") is None:
        try:
            params["q_sensor_to_body"] = estimate_mounting(
                q_sensor_to_earth, acc, gyr, rate_hz).q_sensor_to_body
        except MountingError as e:
            log.info("mounting not estimated (%s): the walking direction from the steps", e)
    det = GaitEventDetector(rate_hz, **params)
    live = det.update(t, acc, gyr, q_sensor_to_earth) + det.flush()
    return events_in_bouts(live, det.bouts), det.bouts


def events_in_bouts(events: list[GaitEvent], bouts: list[GaitBout]) -> list[GaitEvent]:
    """The events (as returned by ``GaitEventDetector``) that lie in their bout's span, an FC
    with the IC before it."""
    span = {b.index: (b.t_start_s, b.t_end_s) for b in bouts}
    out, keep = [], False
    for e in events:
        if e.kind == "IC":
            t0, t1 = span.get(e.bout, (math.inf, -math.inf))
            keep = t0 <= e.t_s <= t1
        if keep:
            out.append(e)
    return out


def write_events_csv(events: list[GaitEvent], path: str | Path) -> None:
    """Write events as CSV rows ``t,event,side`` (t in seconds, event IC|FC, side L|R)."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["t", "event", "side"])
        for e in sorted(events, key=lambda e: e.t_s):
            w.writerow([f"{e.t_s:.3f}", e.kind, e.side])
