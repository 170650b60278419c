"""Was the still period the angles were zeroed on sitting? A sit-to-stand found after it,
streaming (``Pipeline`` step 2; offline, ``pipeline._was_sitting``)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass
class SitToStand:
    """What :class:`SittingCheck` found: the still period before was sitting.

    index: the sample (in the chunk given to ``update``) it decided at, the last of the
    window; lean_rad: the peak forward lean of the sit-to-stand (rad, from the old zero);
    tilt_mean_rad: the mean tilt over the window after it (rad, from the old zero);
    q_window: the window's orientations (M, 4), the new zero's data."""

    index: int
    lean_rad: float
    tilt_mean_rad: float
    q_window: np.ndarray


class SittingCheck:
    """A still period that was sitting, told by what follows it; streaming.

    A standing calibration is only as good as the standing: a still period with the pelvis
    upright may have been sitting. What follows tells: rising from a chair leans the trunk
    and pelvis forward by 30-60° (Schenkman et al. 1990), and walking measured from a
    seated zero reads strongly anterior (the pelvis tilts back by about 10-25° when
    seated).

    **Data required.** After :meth:`arm` (an automatic standing calibration), per chunk
    the tilt (rad, N) relative to that calibration and the orientations ``q`` (N, 4).

    **Steps** (a state machine over the samples, vectorised per phase, so any chunking
    gives the same output):

    1. *Lean*: wait for the tilt to exceed ``sit_lean_rad`` (a sit-to-stand). Given up
       ``sit_watch_s`` after arming without one: the standing was one (so the check costs
       nothing in a long recording).
    2. *Back*: the lean is over once the tilt is below half its peak.
    3. *Window*: the mean tilt over the next ``sit_window_s`` of valid samples. Above
       ``sit_tilt_rad``: sitting (:meth:`update` returns a :class:`SitToStand`); else a
       forward bend while standing, and the standing zero stands. Either way the check is
       over until armed again.

    **Parameters.** ``rate_hz`` (Hz); ``sit_lean_rad`` (rad, 30°); ``sit_tilt_rad`` (rad,
    8°); ``sit_window_s`` (s, 4.0); ``sit_watch_s`` (s, 60).

    **References.** Schenkman M, Berger RA, Riley PO, Mann RW, Hodge WA. Whole-body
    movements during rising to standing from sitting. Phys Ther 1990;70:638-648.
    """

    def __init__(self, rate_hz: float, *, sit_lean_rad: float = math.radians(30.0),
                 sit_tilt_rad: float = math.radians(8.0), sit_window_s: float = 4.0,
                 sit_watch_s: float = 60.0) -> None:
        self.rate_hz = float(rate_hz)
        self.sit_lean_rad = sit_lean_rad
        self.sit_tilt_rad = sit_tilt_rad
        self.sit_window_n = max(1, round(sit_window_s * rate_hz))
        self.sit_watch_n = max(1, round(sit_watch_s * rate_hz))
        self.reset()

    def reset(self) -> None:
        """Disarmed."""
        self.armed = False
        self._lean = self._back = False
        self._n = self._seen = 0
        self._sum = self._lean_peak_rad = 0.0
        self._q: list[np.ndarray] = []

    def arm(self) -> None:
        """Watch what follows a calibration that has just been made (from the next sample)."""
        self.reset()
        self.armed = True

    def update(self, tilt_rad: np.ndarray, q: np.ndarray) -> SitToStand | None:
        """The sit-to-stand, when the window completes in this chunk and reads sitting;
        else None (the check continues, or is over: ``armed`` says which)."""
        if not self.armed:
            return None
        tilt = np.asarray(tilt_rad, float)
        i = 0
        n = len(tilt)
        while i < n:
            x = tilt[i:]
            ok = np.isfinite(x)
            if not self._lean:  # step 1
                hit = np.flatnonzero(ok & (x > self.sit_lean_rad))
                left = self.sit_watch_n - self._seen
                if not hit.size or hit[0] >= left:
                    self._seen += min(n - i, left)
                    if self._seen >= self.sit_watch_n:
                        self.reset()  # no sit-to-stand: the standing was one
                    return None
                self._lean, i = True, i + int(hit[0])
                continue
            if not self._back:  # step 2: the lean is over once down to half its peak
                peak = np.maximum.accumulate(np.where(ok, x, -np.inf))
                peak = np.maximum(peak, self._lean_peak_rad)
                down = np.flatnonzero(ok & (x < 0.5 * peak))
                if not down.size:
                    self._lean_peak_rad = float(peak[-1])
                    return None
                self._lean_peak_rad = float(peak[down[0]])
                self._back, i = True, i + int(down[0])
                continue
            take = np.flatnonzero(ok)[:self.sit_window_n - self._n]  # step 3
            self._n += len(take)
            self._sum += float(x[take].sum())
            self._q.append(q[i + take])
            if self._n < self.sit_window_n:
                return None
            end = i + int(take[-1])
            mean = self._sum / self._n
            found = SitToStand(end, self._lean_peak_rad, mean, np.concatenate(self._q))
            self.reset()
            if mean <= self.sit_tilt_rad:
                return None  # a forward bend while standing: the standing zero stands
            return found
        return None

    def flush(self) -> None:
        """Nothing is held back: a window that has not completed decides nothing."""
        return None


__all__ = ["SitToStand", "SittingCheck"]
