"""Running gait events from a sacral IMU: initial contact and toe-off per step, sides, flight,
and each step labelled running or walking, streaming (docs/running.md).

The running counterpart of the walking gait stage (``sacrum.signal.gait``): the same inputs
(``update(t_s, acc_mps2, gyr_radps, q_sensor_to_earth)``), the same streaming contract
(``sacrum.streaming``: parameters in ``__init__``, ``update`` returns what became final,
``flush`` ends the recording, ``reset`` starts over; any chunking gives the same steps), so
the live view and the offline analysis run the same processor. Walking steps are only
*labelled* here (to find where a session runs and where it walks); their events are the
walking stage's job.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from sacrum.signal.quaternion import matrix_to_quat, quat_conjugate, quat_rotate
from sacrum.units import G_MPS2

#: Sample rate from which running events and impacts are resolved (see :func:`running_rate_ok`).
MIN_RUNNING_RATE_HZ = 200.0
#: Contact and flight times are wanted to ±15 ms (issue 17); each event to about half that.
EVENT_TOLERANCE_S = 0.0075


def running_rate_ok(rate_hz: float) -> tuple[bool, str]:
    """Whether ``rate_hz`` (Hz) is enough for running metrics, and why (one sentence to show).

    A running contact lasts 0.18-0.30 s and starts with an impact transient of 10-30 ms at the
    pelvis; contact and flight times are wanted to ±15 ms, i.e. each event (initial contact,
    toe-off) to about ±7.5 ms. The events are interpolated between samples, but the rise they
    are timed on has only ``rate × 0.03`` samples: at 100 Hz three, one or two of them on the
    impact itself, whose height (and so the timing of the threshold crossing and the braking
    peak) then depends on where the samples fall. Hence a sample period no longer than the
    event tolerance's 7.5 ms rounded to the device's rates: 200 Hz. (On the phantom of
    docs/running.md, 100 Hz is at the edge of the tolerances, contact time up to 15 ms and
    vertical oscillation up to 1.2 cm off, where 200 Hz stays 3-5 times inside them.)
    """
    if not (rate_hz > 0 and math.isfinite(rate_hz)):
        return False, (f"no sample rate ({rate_hz!r} Hz): running metrics need "
                       f"{MIN_RUNNING_RATE_HZ:.0f} Hz")
    if rate_hz + 1e-9 >= MIN_RUNNING_RATE_HZ:
        return True, (f"{rate_hz:g} Hz: running contacts and impacts are resolved "
                      f"(a sample every {1000 / rate_hz:.1f} ms)")
    return False, (f"{rate_hz:g} Hz is too low for running metrics: a sample every "
                   f"{1000 / rate_hz:.0f} ms leaves the 10-30 ms landing impact with "
                   f"{rate_hz * 0.03:.0f} samples or fewer, so contact and flight times "
                   f"(wanted to ±15 ms) and braking are not reliable; set the sensor to "
                   f"{MIN_RUNNING_RATE_HZ:.0f} Hz")


def level_acceleration(q_sensor_to_earth, acc_mps2, q_sensor_to_body) -> np.ndarray:
    """The sacrum's acceleration (N, 3), m/s², gravity removed, in the level pelvis frame:
    x forward (the pelvis's forward axis projected on the horizontal), y left (horizontal),
    z up. Unlike ``sacrum.scoring.metrics.body_acceleration`` it needs no progression heading
    (the pelvis turns ±5° about it in running; cos 5° = 0.996). NaN rows stay NaN."""
    q = np.asarray(q_sensor_to_earth, float).reshape(-1, 4)
    acc = np.asarray(acc_mps2, float).reshape(-1, 3)
    fwd_sensor = quat_rotate(quat_conjugate(np.asarray(q_sensor_to_body, float)),
                             np.array([1.0, 0.0, 0.0]))
    with np.errstate(invalid="ignore", divide="ignore"):
        a_e = quat_rotate(q, acc)
        fwd = quat_rotate(q, np.broadcast_to(fwd_sensor, acc.shape))
        fwd[:, 2] = 0.0
        fwd /= np.linalg.norm(fwd, axis=1, keepdims=True)
    left = np.stack([-fwd[:, 1], fwd[:, 0]], 1)
    return np.stack([np.einsum("ij,ij->i", a_e[:, :2], fwd[:, :2]),
                     np.einsum("ij,ij->i", a_e[:, :2], left), a_e[:, 2] - G_MPS2], 1)


@dataclass(frozen=True)
class RunningStep:
    """One step of a running (or walking) bout.

    mode: "run" (this contact ended in a flight phase before the next contact, with a
        running contact's force and cadence: the detector's step 6) or "walk" (no flight
        after it: the pelvis never left its support).
    t_ic_s: initial contact (s). After a flight (running, and the first walking step after
        running): from the rise of vertical acceleration out of the flight (the detector's
        step 3). Without a flight before it (walking, and the first running step after
        walking): only the time the vertical specific force rose through 1 g +
        ``walk_band_g`` (a coarse step marker, 0.05-0.15 s after a walking heel strike, a
        few ms after a running one; the walking stage times walking contacts).
    t_to_s: toe-off of the same foot (s; NaN when walking).
    t_next_ic_s: the next step's initial contact in the same bout (s; NaN for the last).
    side: "L" | "R", the foot in contact (running); "" for walking steps.
    contact_s: t_to − t_ic (s); flight_s: from this toe-off to the next contact (s); step_s:
        t_next_ic − t_ic (s); NaN where not defined.
    peak_vertical_mps2: highest vertical specific force in the contact (m/s², 1 g standing).
    bout: index of the bout (running or walking, :class:`RunningBout`).
    """

    t_ic_s: float
    t_to_s: float
    t_next_ic_s: float
    side: str
    mode: str
    bout: int
    contact_s: float
    flight_s: float
    step_s: float
    peak_vertical_mps2: float


@dataclass(frozen=True)
class RunningBout:
    """Steps of one mode in a row: index, mode ("run" | "walk"), t_start_s (first IC),
    t_end_s (the last step's end: the next IC, or its toe-off, or its IC), n_steps,
    cadence_spm = 60 × n_steps / (t_end − t_start) (steps per minute)."""

    index: int
    mode: str
    t_start_s: float
    t_end_s: float
    n_steps: int
    cadence_spm: float


@dataclass
class _Step:
    t_ic: float
    mode: str                     # provisional until closed (step 8), then final
    landed: bool = False          # a flight came before this contact
    t_to: float = math.nan
    t_next: float = math.nan
    evidence: float = math.nan
    peak: float = math.nan
    side: str = ""
    anchored: bool = False        # the rise of this running contact has passed 1 g + band
    closed: bool = False          # t_next known, or the chain ended


@dataclass
class _State:
    code: int = -1                 # the flight comparator's level at the last sample
    wcode: int = -1                # the walking comparator's level at the last sample
    ground: int = -1               # flight comparator's memory: -1 unknown, 0 air, 1 ground
    wlast: int = -1                # walking comparator's memory: -1 unknown, 0 low, 2 high
    air_start: int = -1            # global index of the first sample of the current flight
    air_end: int = -1              # one past its last sample
    base: float = 0.0              # median vertical specific force of the last flight
    open_run: _Step | None = None  # a running contact landed, not yet taken off
    open_walk: _Step | None = None  # a contact without a flight before it, not taken off
    steps: list = field(default_factory=list)   # the chain's steps not yet passed on
    parity: int = -1               # the current run of running steps: side parity, or -1
    run_k: int = 0                 # running steps sided in that run
    run_steps_s: list = field(default_factory=list)   # their step times


class RunningEventDetector:
    """Initial contacts, toe-offs, sides and walk/run labels from a sacral IMU, streaming.

    **Data required.** Accelerometer (m/s², gravity included) in the sensor frame,
    ``q_sensor_to_earth`` (w, x, y, z; any heading) and the mounting ``q_sensor_to_body``
    (its forward and left axes give the medio-lateral direction for the sides), at a constant
    ``rate_hz``; 200 Hz or more for running (:func:`running_rate_ok`). Lost samples are NaN rows.
    ``gyr_radps`` is accepted (the walking detector's signature) but not used.

    **Steps.**

    1. *Level frame.* Vertical specific force ``f_v`` = earth-z of the rotated accelerometer
       (1 g standing, 0 in free fall), and the horizontal medio-lateral acceleration along the
       pelvis's left axis (:func:`level_acceleration`).
    2. *Flight and contact.* A comparator with hysteresis: ``f_v`` below ``flight_g`` × g is
       flight (the sacrum in free fall, but for soft-tissue wobble), above ``contact_g`` × g
       contact. In walking ``f_v`` stays well above the flight level (its lowest was 0.42-0.8
       g in 37 real walks of seven people, tests/test_running.py), so there is no flight
       (Patoz et al. 2022 time running contacts with a threshold on the sacrum's vertical
       acceleration in the same way).
    3. *Initial contact*: at a flight → contact transition, the least-squares line through
       the rising flank (the samples from the flight level, ``flight_g`` × g, to the first
       above ``contact_g`` × g) is followed back to the flight's own level (the median ``f_v``
       of the flight): the start of the rise, not the crossing (which lags the contact by the
       rise time to the threshold: 5-20 ms), at most ``max_rise_s`` before the crossing.
    4. *Toe-off*: at a contact → flight transition, likewise the line through the falling
       flank (from (2 × ``contact_g`` − ``flight_g``) × g down to the flight level: more
       samples than the rise, as the force falls slowly; a line fitted over them is less
       noisy than one through two samples) followed forward to the previous flight's
       level, at most ``max_rise_s`` after the crossing of ``contact_g`` × g.
    5. *Walking steps*: a second comparator around 1 g (± ``walk_band_g`` × g): each upward
       crossing is a step unless it falls inside a running contact (between a landing and its
       toe-off). Such a step is a walking step: no flight before it.
    6. *Steps, chains and the walk/run label*: each initial contact (running or walking)
       ends the step before it. A step start within ``min_step_s`` of the previous one is
       ignored (a second bump of the same landing); no start for ``max_step_s``, or a lost
       sample, ends the chain (its last step has no next contact). A step is labelled when
       it ends, from three features of the vertical specific force (the flight, the impact
       and the cadence): it is a running step when its contact ended in a flight (a toe-off
       into free fall, step 4, before the next contact: a running step is a contact and the
       flight after it), the contact's force peaked at ``min_peak_g`` × g or more, and the
       step lasted no more than 60 / ``min_run_cadence_spm`` s; otherwise a walking step.
       Labelling a step by the flight *after* its contact (not before it) puts a walk → run
       transition at the first running contact (the one that takes off), and a run → walk
       transition at the first contact that does not: both at the step where they happen,
       not one step late. The bounds are physical, not fitted: in steady running the
       contact's mean vertical force is g × step / contact > g (the body neither rises
       nor sinks from step to step), its spring-mass half-sine peak π/2 × g × step /
       contact ≥ 1.57 g (Blickhan 1989), and measured peaks are 2-3 g (Cavanagh &
       Lafortune 1980), so a "flight" whose contact never carries more than 1.2 g is a dip
       (a stumble, the sensor's wobble), not a running contact; running cadences are
       140-210 steps/min (Cavanagh & Kram 1989; issue 17), so a flight in a step longer
       than 0.5 s (120 steps/min) is a jump or a hop, not a running step.
    7. *Sides* of running steps (the foot in contact from a sacral sensor, as Lee et al. 2010;
       the signal here is the medio-lateral acceleration's mean over the contact): the
       ground pushes the pelvis away from the stance foot, so in left stance the mean
       medio-lateral acceleration over the contact points right. Consecutive running steps
       alternate; the parity of a run of them is decided on the first ``side_steps`` of it
       (the one that agrees with more of their evidence, summed), and a run starts again
       after a walking step, a chain break, or a step longer than ``max_step_ratio`` × the
       median of the run so far (a missed contact).
    8. *Bouts*: steps of one label in a row; the mode changes once ``min_bout_steps`` steps of
       the other mode follow each other (fewer are kept in the bout they interrupt, with their
       own label). Without a bout (start, after a chain break), steps before the first
       ``min_bout_steps`` of one mode in a row are dropped (``n_dropped``).

    **Emission.** A step is returned once the next contact (or the end of its chain) is known,
    its side is decided, and its bout is final: inside a running bout one step after it
    (about 0.35 s, plus its contact), at a bout's start and a mode change ``min_bout_steps``
    steps after it; ``flush()`` returns the rest.

    **Parameters.** ``rate_hz``; ``q_sensor_to_body``; ``flight_g`` = 0.3, ``contact_g`` = 0.6
    (fractions of g; between them the comparator keeps its state); ``walk_band_g`` = 0.1;
    ``min_step_s`` = 0.2 (cadence ≤ 300 steps/min); ``max_step_s`` = 1.5; ``max_contact_s``
    = 0.4 (the longest running contact: a second rise through 1 g + band after it, inside the
    same contact, is a walking step: the runner walks on without a flight); ``max_rise_s`` =
    0.05; ``side_steps`` = 4; ``max_step_ratio`` = 1.6; ``min_bout_steps`` = 4;
    ``min_peak_g`` = 1.2; ``min_run_cadence_spm`` = 120; ``history_s`` = 5 (samples kept).
    These are physiological or physical bounds, not fitted: no running recording with a
    reference was at hand (docs/running.md, "Validation"); real walking was used only to
    check that the flight level never fires.

    **Deviations.** Patoz et al. (2022) detect foot-strike and toe-off from thresholds on the
    sacral vertical acceleration; the extrapolation of the flank to the flight level
    (steps 3-4) is ours, so that the contact time does not depend on the threshold's height
    for a given rise. Lee et al. (2010) identify the foot in contact from the sacral sensor;
    the signal used here (the contact's mean medio-lateral acceleration) and the
    alternation vote are ours.

    **References.** Lee JB, Mellifont RB, Burkett BJ. The use of a single inertial sensor to
    identify stride, step, and stance durations of running gait. J Sci Med Sport
    2010;13:270-273. Blickhan R. The spring-mass model for running and hopping. J Biomech
    1989;22:1217-1227. Cavanagh PR, Lafortune MA. Ground reaction forces in distance
    running. J Biomech 1980;13:397-406. Cavanagh PR, Kram R. Stride length in distance
    running: velocity, body dimensions, and added mass effects. Med Sci Sports Exerc
    1989;21:467-479. Patoz A, Lussiana T, Breine B, Gindre C, Malatesta D. A single
    sacral-mounted inertial measurement unit to estimate peak vertical ground reaction force,
    contact time, and flight time in running. Sensors 2022;22:784 (doi:10.3390/s22030784).
    """

    def __init__(self, rate_hz: float, q_sensor_to_body, *, flight_g: float = 0.3,
                 contact_g: float = 0.6, walk_band_g: float = 0.1, min_step_s: float = 0.2,
                 max_step_s: float = 1.5, max_contact_s: float = 0.4, side_steps: int = 4,
                 max_step_ratio: float = 1.6, min_bout_steps: int = 4,
                 max_rise_s: float = 0.05, min_peak_g: float = 1.2,
                 min_run_cadence_spm: float = 120.0, history_s: float = 5.0) -> None:
        if not rate_hz > 0:
            raise ValueError(f"rate_hz must be positive, not {rate_hz!r}")
        if not 0 < flight_g < contact_g:
            raise ValueError("flight_g must be positive and below contact_g")
        self.rate_hz = float(rate_hz)
        self.q_sensor_to_body = np.asarray(q_sensor_to_body, float)
        self.flight_g, self.contact_g, self.walk_band_g = flight_g, contact_g, walk_band_g
        self.min_step_s, self.max_step_s = min_step_s, max_step_s
        self.max_contact_s, self.max_rise_s = max_contact_s, max_rise_s
        self.side_steps, self.max_step_ratio = int(side_steps), max_step_ratio
        self.min_bout_steps, self.history_s = int(min_bout_steps), history_s
        self.min_peak_g, self.min_run_cadence_spm = min_peak_g, min_run_cadence_spm
        # derived coefficients
        self._lo, self._hi = flight_g * G_MPS2, contact_g * G_MPS2
        self._wlo, self._whi = (1 - walk_band_g) * G_MPS2, (1 + walk_band_g) * G_MPS2
        self._min_peak = min_peak_g * G_MPS2
        self._max_run_step = 60.0 / min_run_cadence_spm
        self.reset()

    # ---- streaming interface ----------------------------------------------------------------

    def reset(self) -> None:
        """Forget the stream (parameters kept)."""
        self._t = np.zeros(0)
        self._fv = np.zeros(0)
        self._fml = np.zeros(0)
        self.level_mps2 = np.zeros((0, 3))  # the last chunk's level acceleration (step 1)
        self._i0 = 0                      # global index of the buffer's first sample
        self._s = _State()
        self._bout: dict | None = None    # the open bout: index, mode, t_start, t_end, n
        self._pending: list[_Step] = []   # steps waiting for their bout
        self._bouts: list[RunningBout] = []
        self._n_bouts = 0
        self.n_dropped = 0

    @property
    def bouts(self) -> list[RunningBout]:
        """The bouts so far (the open one last, as it stands)."""
        return [*self._bouts, *([self._bout_record(self._bout)] if self._bout else [])]

    def update(self, t_s, acc_mps2, gyr_radps, q_sensor_to_earth) -> list[RunningStep]:
        """The steps that became final with this chunk (see the class docstring). The chunk's
        level acceleration (step 1, :func:`level_acceleration`) is left in ``level_mps2``
        for a metrics stage to reuse."""
        t = np.asarray(t_s, float).reshape(-1)
        if not len(t):
            self.level_mps2 = np.zeros((0, 3))
            return []
        a = level_acceleration(q_sensor_to_earth, acc_mps2, self.q_sensor_to_body)
        self.level_mps2 = a
        start = self._i0 + len(self._t)
        self._t = np.concatenate([self._t, t])
        self._fv = np.concatenate([self._fv, a[:, 2] + G_MPS2])
        self._fml = np.concatenate([self._fml, a[:, 1]])
        out = self._scan(start)
        self._trim()
        return out

    def flush(self) -> list[RunningStep]:
        """The end of the recording: the open chain ends, every held step is returned."""
        return self._end_chain()

    def _trim(self) -> None:
        """Keep ``history_s`` of samples, and whatever an open contact or flight still needs."""
        s = self._s
        t_keep = self._t[-1] - self.history_s
        if s.open_run is not None:
            t_keep = min(t_keep, s.open_run.t_ic - 0.05)
        keep = int(np.searchsorted(self._t, t_keep, "left"))
        if s.ground == 0 and s.air_start >= self._i0:
            keep = min(keep, s.air_start - self._i0)
        if keep > 0:
            self._t, self._fv, self._fml = self._t[keep:], self._fv[keep:], self._fml[keep:]
            self._i0 += keep

    # ---- steps 2-5: the comparators -----------------------------------------------------------

    @staticmethod
    def _codes(f: np.ndarray, lo: float, hi: float) -> np.ndarray:
        c = np.where(f < lo, 0, np.where(f > hi, 2, 1))
        return np.where(np.isfinite(f), c, -1)

    def _scan(self, start: int) -> list[RunningStep]:
        s = self._s
        f = self._fv[start - self._i0:]
        code, wcode = self._codes(f, self._lo, self._hi), self._codes(f, self._wlo, self._whi)
        prev_c = np.r_[s.code, code[:-1]]
        prev_w = np.r_[s.wcode, wcode[:-1]]
        out: list[RunningStep] = []
        for j in np.flatnonzero((code != prev_c) | (wcode != prev_w)):
            g = start + int(j)
            out += self._timeout(float(self._t[g - self._i0]))
            c, w = int(code[j]), int(wcode[j])
            if c == -1:                                   # a lost sample: the chain ends
                s.ground, s.wlast = -1, -1
                out += self._end_chain()
                continue
            if prev_c[j] == 0:
                s.air_end = g
            if c == 0 and s.ground != 0:
                if s.ground == 1 and (s.open_run or s.open_walk) is not None:
                    self._take_off(g)
                s.ground, s.air_start = 0, g
            elif c == 2 and s.ground != 1:
                if s.ground == 0:
                    out += self._land(g)
                s.ground = 1
            if w == 2 and s.wlast == 0:
                out += self._walk_anchor(g)
            if w != 1:
                s.wlast = w
        if len(code):
            s.code, s.wcode = int(code[-1]), int(wcode[-1])
            out += self._timeout(float(self._t[-1]))
        return out

    def _crossing(self, g: int, level: float) -> tuple[float, float]:
        """When f_v crosses ``level`` between samples g-1 and g (s), and its slope (m/s³)."""
        j = g - self._i0
        f0, f1 = self._fv[j - 1], self._fv[j]
        t0, t1 = self._t[j - 1], self._t[j]
        slope = (f1 - f0) / (t1 - t0)
        return float(t0 + (level - f0) / slope), float(slope)

    def _line_to(self, j0: int, j1: int, level: float, t_cross: float) -> float:
        """When the least-squares line through buffer samples j0..j1-1 (the flank) reaches
        ``level`` (s), clipped to within ``max_rise_s`` of ``t_cross``; ``t_cross`` itself when
        the line is flat."""
        t, f = self._t[j0:j1], self._fv[j0:j1]
        tm, fm = float(t.mean()), float(f.mean())
        den = float(np.sum((t - tm) ** 2))
        slope = float(np.sum((t - tm) * (f - fm))) / den if den > 0 else 0.0
        if slope == 0.0 or not math.isfinite(slope):
            return t_cross
        t_event = tm + (level - fm) / slope
        return min(max(t_event, t_cross - self.max_rise_s), t_cross + self.max_rise_s)

    def _land(self, g: int) -> list[RunningStep]:
        """Step 3: a flight ends at sample g (the first above the contact level)."""
        s = self._s
        j = g - self._i0
        if j < 1:
            return []
        a0 = max(s.air_start - self._i0, 0)
        a1 = max(min(s.air_end if s.air_end > s.air_start else g, g) - self._i0, a0 + 1)
        s.base = float(np.median(self._fv[a0:a1]))
        t_cross, _ = self._crossing(g, self._hi)
        k = j - 1                                  # the rising flank: back to the flight level
        while k > a1 - 1 and k > 0 and self._fv[k - 1] >= self._lo:
            k -= 1
        t_ic = self._line_to(k, j + 1, s.base, t_cross)
        s.open_run = None
        return self._start_step(min(t_ic, t_cross), landed=True)

    def _take_off(self, g: int) -> None:
        """Step 4: a contact ends at sample g (the first below the flight level)."""
        s = self._s
        step = s.open_run if s.open_run is not None else s.open_walk
        s.open_run = s.open_walk = None
        j = g - self._i0
        i0 = int(np.searchsorted(self._t, step.t_ic, "left"))
        above = np.flatnonzero(self._fv[i0:j] > self._hi)
        if not len(above):
            return
        last = i0 + int(above[-1])                       # buffer index of the last high sample
        t_cross, _ = self._crossing(self._i0 + last + 1, self._hi)
        k = last                                   # the falling flank: from 1.5 × the contact
        top = 2 * self._hi - self._lo              # level down to the flight level
        while k > i0 and self._fv[k - 1] <= top:
            k -= 1
        step.t_to = max(self._line_to(k, j, s.base, t_cross), t_cross)
        i1 = int(np.searchsorted(self._t, step.t_to, "right"))
        step.evidence = float(np.mean(self._fml[i0:i1]))
        step.peak = float(np.max(self._fv[i0:i1]))

    def _walk_anchor(self, g: int) -> list[RunningStep]:
        """Step 5: f_v rose through 1 g + band at sample g."""
        s = self._s
        if g - self._i0 < 1 or s.ground == 0:
            return []
        t_cross, _ = self._crossing(g, self._whi)
        run = s.open_run
        if run is not None:
            if not run.anchored or t_cross - run.t_ic <= self.max_contact_s:
                run.anchored = True              # the rise of the running contact itself
                return []
            s.open_run = None                    # that contact ended without a flight
        return self._start_step(t_cross, landed=False)

    def _timeout(self, t_now: float) -> list[RunningStep]:
        s = self._s
        if s.steps and t_now - s.steps[-1].t_ic > self.max_step_s:
            return self._end_chain()
        return []

    # ---- steps 6-7: steps, chains and sides -------------------------------------------------

    def _start_step(self, t_ic: float, landed: bool) -> list[RunningStep]:
        s = self._s
        out: list[RunningStep] = []
        if s.steps and t_ic - s.steps[-1].t_ic < self.min_step_s:
            return out
        if s.steps and t_ic - s.steps[-1].t_ic > self.max_step_s:
            out += self._end_chain()
        if s.steps:
            last = s.steps[-1]
            last.t_next = t_ic
            self._close(last)
            if last is s.open_run:
                s.open_run = None
            if last is s.open_walk:
                s.open_walk = None
        step = _Step(t_ic=t_ic, mode="run" if landed else "walk", landed=landed)
        s.steps.append(step)
        if landed:
            s.open_run = step
        else:
            s.open_walk = step
        return out + self._side_and_emit()

    def _close(self, st: _Step) -> None:
        """Step 6, the walk/run label of a step once its end is known: running when its
        contact ended in a flight (a toe-off into free fall before the next contact), with a
        contact peak of at least ``min_peak_g`` × g and, when the next contact is known, a step
        no longer than 60 / ``min_run_cadence_spm`` s; walking otherwise."""
        st.closed = True
        flight = st.t_to == st.t_to
        step_s = st.t_next - st.t_ic
        st.mode = "run" if (flight and st.peak >= self._min_peak
                            and not step_s > self._max_run_step) else "walk"

    def _end_chain(self) -> list[RunningStep]:
        s = self._s
        if s.steps and s.steps[-1].landed and s.steps[-1].t_to != s.steps[-1].t_to:
            s.steps.pop()                        # a landing that never took off: a stop
            self.n_dropped += 1
            if s.steps:
                s.steps[-1].t_next = math.nan
        for st in s.steps:
            self._close(st)
        out = self._side_and_emit(final=True)
        s.steps, s.open_run, s.open_walk = [], None, None
        s.parity, s.run_k, s.run_steps_s = -1, 0, []
        return out + self._close_bout()

    def _side_and_emit(self, final: bool = False) -> list[RunningStep]:
        """Step 7 on the chain's closed steps, in order; the sided ones go on to step 8."""
        s = self._s
        ready: list[_Step] = []
        while s.steps and s.steps[0].closed:
            st = s.steps[0]
            if st.mode == "walk":
                s.parity, s.run_k, s.run_steps_s = -1, 0, []
                ready.append(s.steps.pop(0))
                continue
            if s.parity < 0:
                run: list[_Step] = []
                for x in s.steps:
                    if x.mode != "run" or not x.closed or len(run) == self.side_steps:
                        break
                    run.append(x)
                nxt = s.steps[len(run)] if len(run) < len(s.steps) else None
                if len(run) < self.side_steps and not final and not (
                        nxt is not None and nxt.closed and nxt.mode == "walk"):
                    break                        # wait for more evidence
                ev = np.array([x.evidence for x in run])
                ev = np.where(np.isfinite(ev), ev, 0.0)
                left_first = np.where(np.arange(len(run)) % 2 == 0, -1.0, 1.0)
                s.parity = 0 if float(np.sum(left_first * ev)) >= 0 else 1
                s.run_k = 0
            st.side = "L" if (s.run_k + s.parity) % 2 == 0 else "R"
            s.run_k += 1
            ready.append(s.steps.pop(0))
            step_s = st.t_next - st.t_ic
            if step_s != step_s:                 # the chain ends here
                s.parity, s.run_k, s.run_steps_s = -1, 0, []
            elif len(s.run_steps_s) >= 2 and step_s > self.max_step_ratio * float(
                    np.median(s.run_steps_s[-8:])):
                s.parity, s.run_k, s.run_steps_s = -1, 0, []   # a missed contact
            else:
                s.run_steps_s.append(step_s)
        out: list[RunningStep] = []
        for st in ready:
            out += self._to_bout(st)
        return out

    # ---- step 8: bouts ------------------------------------------------------------------------

    @staticmethod
    def _record(st: _Step, bout: int) -> RunningStep:
        run = st.mode == "run"
        return RunningStep(
            t_ic_s=float(st.t_ic), t_to_s=float(st.t_to) if run else math.nan,
            t_next_ic_s=float(st.t_next), side=st.side if run else "", mode=st.mode,
            bout=bout, contact_s=float(st.t_to - st.t_ic) if run else math.nan,
            flight_s=float(st.t_next - st.t_to) if run else math.nan,
            step_s=float(st.t_next - st.t_ic), peak_vertical_mps2=float(st.peak))

    @staticmethod
    def _bout_record(b: dict) -> RunningBout:
        dur = b["t_end"] - b["t_start"]
        return RunningBout(b["index"], b["mode"], b["t_start"], b["t_end"], b["n"],
                           60.0 * b["n"] / dur if dur > 0 else math.nan)

    def _add(self, st: _Step, out: list[RunningStep]) -> None:
        b = self._bout
        b["n"] += 1
        for end in (st.t_next, st.t_to, st.t_ic):
            if end == end:
                b["t_end"] = max(b["t_end"], end)
                break
        out.append(self._record(st, b["index"]))

    def _to_bout(self, st: _Step) -> list[RunningStep]:
        out: list[RunningStep] = []
        b = self._bout
        if b is not None and st.mode == b["mode"]:
            for x in self._pending:              # an interruption too short: kept in the bout
                self._add(x, out)
            self._pending = []
            self._add(st, out)
            return out
        self._pending.append(st)
        tail = self._pending[-self.min_bout_steps:]
        if len(tail) < self.min_bout_steps or any(x.mode != st.mode for x in tail):
            return out
        lead = self._pending[:-self.min_bout_steps]
        if b is not None:
            for x in lead:
                self._add(x, out)
            b["t_end"] = min(b["t_end"], tail[0].t_ic)
            self._bouts.append(self._bout_record(b))
        else:
            self.n_dropped += len(lead)
        self._bout = {"index": self._n_bouts, "mode": st.mode, "t_start": tail[0].t_ic,
                      "t_end": tail[0].t_ic, "n": 0}
        self._n_bouts += 1
        self._pending = []
        for x in tail:
            self._add(x, out)
        return out

    def _close_bout(self) -> list[RunningStep]:
        out: list[RunningStep] = []
        if self._bout is not None:
            for x in self._pending:
                self._add(x, out)
            self._bouts.append(self._bout_record(self._bout))
        else:
            self.n_dropped += len(self._pending)
        self._pending, self._bout = [], None
        return out


def estimate_running_mount(t_s, acc_mps2, q_sensor_to_earth, steps: list[RunningStep], *,
                           min_contacts: int = 20, min_agree: float = 0.7) -> np.ndarray:
    """The mounting ``q_sensor_to_body`` (4,) from running contacts, where the walking
    ``MountingEstimator`` cannot be used (on a session that runs it finds no forward: the
    running windows do not look like walking).

    Steps: 1. *Up*: the earth's vertical in the sensor frame, averaged over the contacts' steps
    (the mean running posture; the standing calibration levels it later,
    ``PelvicAngles.calibrate``). 2. *Forward*: in a running contact the ground first brakes
    the body, then pushes it on (the fore-aft ground reaction force is negative in the first
    half of the contact and positive in the second: Cavanagh & Lafortune 1980), so the
    horizontal acceleration weighted by −sin(2π τ / t_c) over a contact (τ from its IC, t_c its
    contact time) points forward, while the medio-lateral push (one half-sine over the
    contact) is orthogonal to that weight. Each contact's vector is taken into the sensor
    frame sample by sample (the mounting is fixed there) and they are summed; forward is
    the sum, made orthogonal to up. 3. Left = up × forward. ``steps``: a detector's steps
    (any mounting given to it: initial contacts and toe-offs do not depend on it).

    Raises ValueError when fewer than ``min_contacts`` running contacts with a toe-off are
    given, or fewer than ``min_agree`` of their vectors point within 90° of the sum (no
    consistent braking direction).

    Reference: Cavanagh PR, Lafortune MA. Ground reaction forces in distance running. J Biomech
    1980;13:397-406. The weighting is ours.
    """
    t = np.asarray(t_s, float).reshape(-1)
    q = np.asarray(q_sensor_to_earth, float).reshape(-1, 4)
    acc = np.asarray(acc_mps2, float).reshape(-1, 3)
    contacts = [s for s in steps if s.mode == "run" and s.contact_s == s.contact_s]
    if len(contacts) < min_contacts:
        raise ValueError(f"{len(contacts)} running contacts; {min_contacts} are needed to find "
                         "the mounting from running: give the mounting (--mount) instead")
    with np.errstate(invalid="ignore"):
        a_e = quat_rotate(q, acc)
        a_e[:, 2] = 0.0
        a_h_sensor = quat_rotate(quat_conjugate(q), a_e)
        up_sensor = quat_rotate(quat_conjugate(q), np.broadcast_to([0.0, 0.0, 1.0], acc.shape))
    vectors, ups = [], []
    for st in contacts:
        i0, i1 = np.searchsorted(t, [st.t_ic_s, st.t_to_s])
        tau = t[i0:i1] - st.t_ic_s
        v = a_h_sensor[i0:i1]
        if len(tau) < 3 or not np.isfinite(v).all():
            continue
        vectors.append(np.sum(-np.sin(2 * np.pi * tau / st.contact_s)[:, None] * v, axis=0))
        ups.append(np.nanmean(up_sensor[i0:i1], axis=0))
    if len(vectors) < min_contacts:
        raise ValueError(f"{len(vectors)} running contacts without lost samples; "
                         f"{min_contacts} are needed: give the mounting (--mount) instead")
    vectors = np.array(vectors)
    up = np.mean(ups, axis=0)
    up /= np.linalg.norm(up)
    fwd = vectors.sum(axis=0)
    fwd -= (fwd @ up) * up
    agree = float(np.mean(vectors @ fwd > 0))
    if agree < min_agree or not np.linalg.norm(fwd) > 0:
        raise ValueError(f"no consistent forward direction in the running contacts "
                         f"({100 * agree:.0f} % agree, {100 * min_agree:.0f} % needed): give "
                         "the mounting (--mount)")
    fwd /= np.linalg.norm(fwd)
    left = np.cross(up, fwd)
    return matrix_to_quat(np.vstack([fwd, left, up]))


def detect_running(t_s, acc_mps2, q_sensor_to_earth, q_sensor_to_body, rate_hz: float,
                   **params) -> tuple[list[RunningStep], list[RunningBout]]:
    """Offline: the detector fed the whole recording, flushed; (steps, bouts)."""
    det = RunningEventDetector(rate_hz, q_sensor_to_body, **params)
    steps = det.update(t_s, acc_mps2, None, q_sensor_to_earth) + det.flush()
    return steps, det.bouts


__all__ = ["MIN_RUNNING_RATE_HZ", "RunningBout", "RunningEventDetector", "RunningStep",
           "detect_running", "estimate_running_mount", "level_acceleration", "running_rate_ok"]
