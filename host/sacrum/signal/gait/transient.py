"""Step 2(h) of the gait stage: an IC retimed at the onset of its heel-strike transient."""

from __future__ import annotations

import numpy as np

from sacrum.signal.gait.samples import SampleBuffer


class HeelStrikeTransient:
    """Times an IC at the onset of the broadband jerk burst the heel strike sends up the
    trunk, where that onset is clearly away from the IC's low-passed time.

    **Why.** ``IcCandidates`` times an IC at the steepest rise of ``a_v`` low-passed at 10
    Hz. Where a person's landing rise is broad (IPOL 4: it starts 0.2 s before the foot
    reference's IC) that point is 80 ms early; where it is steep it is right. The
    heel strike itself is an impact: the magnitude of the change of the 3-D acceleration
    between consecutive samples, unfiltered, jumps at it. Aligned on the foot sensors'
    ICs, that jump comes at the reference IC, or within 20-40 ms of it (HA001, whose sensor
    shows a 4 × weaker burst), for every person of bench/gait_subjects.py, however broad
    or steep their low-passed rise (bench/README.md, "Eighth session").

    **Steps.**

    1. j[i] = |a[i+1] − a[i]| × rate (m/s³), a the earth-frame acceleration of
       ``SampleBuffer`` (a_h, a_v) as received: NaN where either sample was lost
       (bridged samples are interpolated and have no transient).
    2. j smoothed by a centred mean over ``smooth_s``; its rise g[i] = j_s[i + L] −
       j_s[i − L], L = ``lag_s``.
    3. The onset is the largest g within ±``window_s`` of the IC's time; the IC takes it
       when it is more than ``min_shift_s`` away (closer, the low-passed time is as good
       and steadier), when every sample from the IC to the onset and ``lag_s`` +
       ``smooth_s`` either side was received (a steeper rise among lost samples would
       leave only its shoulder as the largest g), and after ``not_before_s`` (the FC of
       the IC before: a foot cannot land before the other has left).

    **Data.** a_v, a_h (m/s²) and which samples were received, from a ``SampleBuffer``,
    ``window_s`` + ``lag_s`` + ``smooth_s`` around the IC (all in before the IC is
    finished, so it adds no latency).

    **Parameters** (s). window_s = 0.08 (0 turns the step off), min_shift_s = 0.03,
    lag_s = 0.03, smooth_s = 0.03. Leave-one-subject-out on the seven people of
    bench/gait_subjects.py among window_s 0 / 0.06 / 0.08 / 0.1 × min_shift_s 0.03-0.06:
    (0.08, 0.03) in 6 of 7 folds, (0.08, 0.04) in one (bench/README.md, "Eighth
    session"). ``GaitEventDetector`` has it on (``transient_window_s`` = 0.08). A landing
    with no impact at all (a smooth pulse, as the phantoms had before their
    ``heel_strike_impact``) can have its steepest jerk rise on the pulse's own flank, 30-50
    ms before the low-passed IC, and such an IC moves there (3-6 of 30 on the walking
    phantom without its impact, none with it: tests/test_gait.py).

    **Deviation from the papers.** McCamley et al. (2012) and the detectors after them
    time the IC on the low-passed trunk acceleration alone; the impact's onset is our
    rule. It needs the IMU's own bandwidth well above 10 Hz (every sensor in the data
    here samples at 100 Hz).

    **References.** McCamley J, Donati M, Grimpampi E, Mazzà C. An enhanced estimate of
    initial contact and final contact instants of time using lower trunk inertial sensor
    data. Gait Posture 2012;36:316-318.
    """

    def __init__(self, rate_hz: float, *, window_s: float = 0.08, min_shift_s: float = 0.03,
                 lag_s: float = 0.03, smooth_s: float = 0.03) -> None:
        self.rate_hz = fs = float(rate_hz)
        self.window_s, self.min_shift_s = window_s, min_shift_s
        # in samples: on the time axis a shift of exactly min_shift_s would fall either side
        # of it by the clock's drift (device and capture time give one answer)
        self.min_shift = round(min_shift_s * fs)
        self.w = round(window_s * fs)
        self.lag = max(1, round(lag_s * fs))
        self.smooth = max(1, round(smooth_s * fs))

    def onset(self, buf: SampleBuffer, idx: int,
              not_before_s: float = -np.inf) -> float | None:
        """The IC's new time (s) for an IC at sample ``idx``, or None: keep its time (no
        clear onset away from it, lost samples in the way, or the window not in ``buf``)."""
        w, lag, sm = self.w, self.lag, self.smooth
        if w <= 0:
            return None
        h = sm // 2
        lo, hi = idx - w - lag - h, idx + w + lag + (sm - 1 - h) + 2   # samples [lo, hi)
        if lo < buf.base or hi > buf.settled:
            return None
        a = np.concatenate([buf.get("ah", lo, hi), buf.get("av", lo, hi)], axis=1)
        a[~buf.get("rx", lo, hi)] = np.nan
        j = np.linalg.norm(np.diff(a, axis=0), axis=1) * self.rate_hz   # j[k] ↔ lo + k
        js = np.convolve(j, np.ones(sm) / sm, mode="valid")             # ↔ lo + h + k
        g = js[2 * lag:] - js[:-2 * lag]                                 # ↔ lo + h + lag + k
        if np.isnan(g).all():
            return None
        i_on = lo + h + lag + int(np.nanargmax(g))
        # every sample from the IC to the onset, and the rise around both, received: a
        # steeper rise lost in between would leave only its shoulder as the largest g
        a0, a1 = min(i_on, idx) - lag - sm, max(i_on, idx) + lag + sm + 1
        if not buf.get("rx", max(a0, lo), min(a1, hi)).all():
            return None
        t_on = float(buf.get("t", i_on, i_on + 1)[0])
        if abs(i_on - idx) <= self.min_shift or not t_on > not_before_s:
            return None
        return t_on
