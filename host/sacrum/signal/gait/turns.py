"""Step 8 of the gait stage: turns, from the yaw rate in the earth frame."""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import butter, group_delay, sosfilt, sosfilt_zi

from sacrum.signal.gait.results import Turn


class TurnDetector:
    """Turns as runs of high yaw rate (El-Gohary et al. 2014, as mobgap's ``TdElGohary``).

    **Steps.**

    1. Low-pass the earth-frame yaw rate (4th-order Butterworth, ``turn_lowpass_hz``,
       causal; times corrected by its group delay at 0 Hz).
    2. A candidate is a run where the smoothed rate's magnitude is at least
       ``turn_lower_dps`` (its boundaries), of one sign, without a run of lost samples
       longer than ``max_gap_s``. Over a shorter one the last received rate is held (the
       filter's input and the angle's): a 0.5-Hz turn hardly changes in 0.5 s, and
       recordings that lose a packet every few (the IPOL walk tests: 10-16 % in bursts of
       up to 0.11 s) would otherwise cut a U-turn into runs shorter than
       ``turn_min_angle_deg`` (4 of 34 IPOL U-turns were missed so).
    3. It counts if it peaks above ``turn_peak_dps``; two such runs of the same sign no more
       than 0.05 s apart are merged.
    4. A turn has an angle (the integral of the smoothed rate) of at least
       ``turn_min_angle_deg`` and a duration within ``turn_duration_s``.

    **Data.** ``update(t_s, wz_radps, valid)``: the samples' times (s; no NaN), the yaw rate
    (rad/s, earth z, + = to the left; 0 where lost) and whether each sample was received.

    **Parameters.** turn_lowpass_hz = 0.5, turn_peak_dps = 15, turn_lower_dps = 5,
    turn_min_angle_deg = 45, turn_duration_s = (0.5, 10): El-Gohary's, mobgap's defaults.
    max_gap_s = 0.5: the gait stage's (``SampleBuffer``: a longer gap breaks the walking).

    **State.** The filter's state, the samples filtered (``n``), the open candidate and the
    closed one waiting for a merge, the last ``delay`` + 1 sample times; ``delay``: the
    group delay (samples, a derived coefficient).

    **Output.** ``update`` and ``flush`` return the turns accepted in that call (``Turn``,
    in time order).

    **Deviation.** In the earth frame with a causal filter (mobgap: the sensor frame,
    zero-phase), so that it runs live.

    **References.** El-Gohary M, Pearson S, McNames J, Mancini M, Horak F, Mellone S,
    Chiari L. Continuous monitoring of turning in patients with movement disability.
    Sensors 2014;14:356-369.
    """

    def __init__(self, rate_hz: float, *, turn_lowpass_hz: float = 0.5,
                 turn_peak_dps: float = 15.0, turn_lower_dps: float = 5.0,
                 turn_min_angle_deg: float = 45.0,
                 turn_duration_s: tuple[float, float] = (0.5, 10.0),
                 max_gap_s: float = 0.5) -> None:
        fs = self.rate_hz = float(rate_hz)
        self.max_gap_s = max_gap_s
        self._max_gap = round(max_gap_s * fs)
        self.turn_peak_dps = turn_peak_dps
        self.turn_lower_dps = turn_lower_dps
        self.turn_min_angle_deg = turn_min_angle_deg
        self.turn_duration_s = turn_duration_s
        self._sos = butter(4, turn_lowpass_hz, fs=fs, output="sos")
        b, a = butter(4, turn_lowpass_hz, fs=fs)
        self.delay = round(float(group_delay((b, a), w=[1e-6], fs=fs)[1][0]))
        self.reset()

    def reset(self) -> None:
        """Forget everything (a new recording)."""
        self._zi = sosfilt_zi(self._sos) * 0.0
        self.n = 0                                   # samples through the filter
        self._seg: dict | None = None                # open turn candidate
        self._pending: dict | None = None            # closed candidate waiting for a merge
        self._t = np.zeros(0)                        # times of samples _t0, _t0 + 1, ...
        self._t0 = 0
        self._t_first = math.nan                     # time of sample 0
        self._held_dps = 0.0                         # the last received rate (°/s)
        self._lost_run = 0                           # lost samples since it

    @property
    def open(self) -> bool:
        """A turn may still be under way (a candidate not yet closed or accepted)."""
        return self._seg is not None or self._pending is not None

    def update(self, t_s: np.ndarray, wz_radps: np.ndarray, valid: np.ndarray) -> list[Turn]:
        """The next chunk; returns the turns accepted in it."""
        t = np.asarray(t_s, float)
        if len(t) == 0:
            return []
        if self.n == 0:
            self._t_first = float(t[0])
        self._t = np.concatenate([self._t, t])
        # step 2: the last received rate held over a short lost run (vectorised; the held
        # value and the run carry over from the chunk before)
        raw = np.degrees(np.asarray(wz_radps, float))
        ok = np.asarray(valid, bool)
        k = np.arange(len(t))
        last = np.maximum.accumulate(np.where(ok, k, -1))  # last received sample, -1: none
        run = np.where(last >= 0, k - last, self._lost_run + k + 1)
        held = np.where(last >= 0, raw[np.maximum(last, 0)], self._held_dps)
        bridged = ok | (run <= self._max_gap)        # received, or in a short lost run
        raw = np.where(ok, raw, np.where(bridged, held, 0.0))
        if last[-1] >= 0:
            self._held_dps = float(raw[last[-1]])
        self._lost_run = int(run[-1])                # 0 when the last sample came
        w_dps, self._zi = sosfilt(self._sos, raw, zi=self._zi)
        dt = 1.0 / self.rate_hz
        lower = self.turn_lower_dps
        out: list[Turn] = []
        for k in range(len(w_dps)):
            w = w_dps[k]
            i = self.n + k
            seg = self._seg
            moving = abs(w) >= lower and bridged[k]
            if seg is not None and (not moving or np.sign(w) != seg["sign"]):
                self._close_candidate(i, out)
                seg = None
            if moving:
                if seg is None:
                    self._seg = seg = {"start": i, "sign": np.sign(w), "angle": 0.0,
                                       "peak": 0.0, "t_start": self._time_at(i - self.delay)}
                seg["angle"] += w * dt
                seg["peak"] = max(seg["peak"], abs(w))
            if self._pending is not None and i - self._pending["end"] > 0.05 / dt:
                self._accept(self._pending, out)
                self._pending = None
        self.n += len(w_dps)
        keep = self.delay + 1                        # the times a later call still needs
        if len(self._t) > keep:
            self._t0 += len(self._t) - keep
            self._t = self._t[-keep:]
        return out

    def flush(self) -> list[Turn]:
        """End of the recording: close the open candidate; returns the turns accepted."""
        out: list[Turn] = []
        if self._seg is not None:
            self._close_candidate(self.n, out)
        if self._pending is not None:
            self._accept(self._pending, out)
            self._pending = None
        return out

    def _time_at(self, idx: int) -> float:
        """Time of sample idx (≤ the newest; before the first, extrapolated from it)."""
        if idx < 0:
            return self._t_first + idx / self.rate_hz
        return float(self._t[idx - self._t0])

    def _close_candidate(self, end: int, out: list[Turn]) -> None:
        seg = self._seg
        self._seg = None
        if seg is None or seg["peak"] < self.turn_peak_dps:
            return
        seg["end"] = end
        seg["t_end"] = self._time_at(end - self.delay)
        pend = self._pending
        if (pend is not None and pend["sign"] == seg["sign"]
                and seg["start"] - pend["end"] <= 0.05 * self.rate_hz):
            pend["end"] = end
            pend["t_end"] = seg["t_end"]
            pend["angle"] += seg["angle"]
            pend["peak"] = max(pend["peak"], seg["peak"])
            return
        if pend is not None:
            self._accept(pend, out)
        self._pending = seg

    def _accept(self, seg: dict, out: list[Turn]) -> None:
        dur = (seg["end"] - seg["start"]) / self.rate_hz
        lo, hi = self.turn_duration_s
        if abs(seg["angle"]) < self.turn_min_angle_deg or not lo <= dur <= hi:
            return
        out.append(Turn(seg["t_start"], seg["t_end"], float(seg["angle"]), float(seg["peak"])))
