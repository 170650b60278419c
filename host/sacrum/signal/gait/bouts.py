"""Step 3 of the gait stage: which runs of ICs are walking bouts, where they start and end."""

from __future__ import annotations

import numpy as np

from sacrum.signal.gait.results import Pause
from sacrum.signal.gait.samples import SampleBuffer
from sacrum.signal.gait.steps import Chain, Step

#: Steps (or strides) within this ratio of each other are regular (a bout's confirmation,
#: the strides used for its statistics).
MAX_STRIDE_RATIO = 1.5


class BoutRules:
    """Chains of ICs, and the rules that make a chain a walking bout.

    **Steps.**

    1. *Chains.* Consecutive ICs no more than ``max_break_s`` apart form a chain; a chain
       ends when no IC follows within ``max_break_s`` or when a run of missing samples
       longer than ``max_gap_s`` starts (``SampleBuffer.long_gaps``). An IC closer to the
       previous one than ``min_step_ratio`` × the chain's recent step time is dropped (a
       split step: :meth:`is_split`).
    2. *Confirmation* (:meth:`confirm`). A chain becomes a walking bout at its
       ``min_forward_run``-th consecutive forward step (progression index ≥
       ``min_progression``, ``WalkingDirection``) if those steps are regular (durations
       within ``MAX_STRIDE_RATIO`` of each other), or else once it has ``min_bout_steps``
       ICs from its first forward step on, with ``min_progressive_steps`` forward steps
       among them. Chains that never qualify (fidgeting, shuffling on the spot, sitting
       down) produce no events.
    3. *Start.* The bout starts at the first forward step: steps in place before it (weight
       shifts, gait initiation) are left out, and so is that step's IC when the interval
       from it to the next is shorter than ``min_first_step_ratio`` × the median of the
       following ones (it was the first toe-off, not a landing).
    4. *End* (:meth:`bout_steps`). From the confirmation on every IC that continues the
       chain is returned with the bout's index: non-forward steps are turns if walking goes
       on, or steps on the spot after the walk if it does not, and an IC is returned before
       that is known. When the chain has ended, the bout is taken to end with its last
       forward step (the offline events, ``detect_events``, stop there).
    5. *Pauses* (:meth:`pause`). An interruption between two bouts no longer than
       ``max_pause_s`` with a mean |a_v| of at most ``pause_max_abs_av_mps2`` is a standing
       pause.

    **Data.** The chain's ICs with their progression index; a_v of a ``SampleBuffer`` for
    the pauses.

    **Parameters** (chosen leave-one-subject-out on the seven people of
    bench/gait_subjects.py where said).

    max_break_s = 3.0
        Longest interval between two ICs inside a bout (s): a standstill up to this long
        does not end it (the Mobilise-D walking-bout rule: mobgap's ``WbAssembly`` ends a
        bout at a break longer than 3 s).
    min_forward_run = 2
        Consecutive regular forward steps that confirm a bout at once.
    min_bout_steps = 4, min_progressive_steps = 2
        Otherwise: ICs needed from the first forward step on (two strides, one of each
        foot), and forward steps among them.
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
    min_progression = 0.3
        Progression index that counts as a forward step. The index is a normalised
        correlation; how closely the pelvis follows the inverted pendulum differs between
        people (0.3-0.5 over most steps of IPOL subject 3, trial 3), and at 0.5 (set on one
        person) a walk of such a person ended, for the bout statistics and the offline
        events, at the first run of steps below it. 0.3 was the leave-one-subject-out choice
        in 7 of 7 folds (0.2 / 0.3 / 0.4 / 0.5).
    max_pause_s = 10.0, pause_max_abs_av_mps2 = 0.5
        Longest interruption between bouts still called a pause (s); mean |a_v| below this.

    **References.** Micó-Amigo ME et al. Assessing real-world gait with digital technology?
    Validation, insights and recommendations from the Mobilise-D consortium. J NeuroEng
    Rehabil 2023 (the walking-bout rule). Mobilise-D pipelines find bouts with a separate
    gait-sequence detector; here they come from the ICs themselves.
    """

    SPLIT_STEPS = 3              # steps whose shortest the split ratio refers to

    def __init__(self, rate_hz: float, *, max_break_s: float = 3.0,
                 min_forward_run: int = 2, min_bout_steps: int = 4,
                 min_progressive_steps: int = 2, min_step_ratio: float = 0.0,
                 min_first_step_ratio: float = 0.85, min_progression: float = 0.3,
                 max_pause_s: float = 10.0, pause_max_abs_av_mps2: float = 0.5) -> None:
        self.max_break = round(max_break_s * rate_hz)
        self.min_forward_run = min_forward_run
        self.min_bout_steps = min_bout_steps
        self.min_progressive_steps = min_progressive_steps
        self.min_step_ratio = min_step_ratio
        self.min_first_step_ratio = min_first_step_ratio
        self.min_progression = min_progression
        self.max_pause_s = max_pause_s
        self.pause_max_abs_av_mps2 = pause_max_abs_av_mps2

    def is_split(self, chain: Chain, idx: int) -> bool:
        """Step 1: the IC at idx, after the chain's newest, is a second impact of that step."""
        if len(chain.steps) <= self.SPLIT_STEPS:
            return False
        prev = chain.steps[-1]
        recent = np.diff([s.idx for s in chain.steps[-self.SPLIT_STEPS - 1:]])
        return idx - prev.idx < self.min_step_ratio * float(recent.min())

    def confirm(self, chain: Chain) -> int | None:
        """Steps 2 and 3 for an unconfirmed chain: the position in ``chain.steps`` of the
        bout's first IC if the chain is a walking bout now, else None."""
        steps = chain.steps
        # progression is known for every step but the last (it needs the next IC)
        prog = [i for i, s in enumerate(steps[:-1]) if s.progression >= self.min_progression]
        if not prog:
            return None
        first = prog[0]
        run = any(all(i + j in prog for j in range(self.min_forward_run))
                  and self.regular(steps[i:i + self.min_forward_run + 1])
                  for i in prog)
        if not (run or (len(steps) - first >= self.min_bout_steps
                        and len(prog) >= self.min_progressive_steps)):
            return None
        d = np.diff([s.idx for s in steps[first:]])
        if len(d) >= 2 and d[0] < self.min_first_step_ratio * float(np.median(d[1:])):
            first += 1           # the first toe-off, not a landing (see min_first_step_ratio)
        return first

    @staticmethod
    def regular(steps: list[Step]) -> bool:
        """The steps' durations are within ``MAX_STRIDE_RATIO`` of each other."""
        d = np.diff([s.idx for s in steps])
        return len(d) > 0 and d.max() <= MAX_STRIDE_RATIO * d.min()

    def bout_steps(self, chain: Chain) -> list[Step]:
        """Step 4: the ICs of a closed bout, from its first forward step to the end of its
        last one. The ICs returned after that (steps in place, turning or sitting down
        after the walk, returned live before it was known that walking had stopped) are
        left out."""
        steps = [s for s in chain.steps if s.emitted]
        last = max(i for i, s in enumerate(steps[:-1]) if s.progression >= self.min_progression)
        return steps[:last + 2]

    def pause(self, buf: SampleBuffer, prev_end: tuple[int, float] | None,
              first: Step) -> Pause | None:
        """Step 5: the standing pause between the previous bout's end (index, time) and the
        first IC of this one, if it is one."""
        if prev_end is None or first.t_s - prev_end[1] > self.max_pause_s:
            return None
        av = buf.get("av", prev_end[0], first.idx)[:, 0]
        valid = buf.get("valid", prev_end[0], first.idx)
        if valid.any() and float(np.mean(np.abs(av[valid]))) <= self.pause_max_abs_av_mps2:
            return Pause(prev_end[1], first.t_s)
        return None
