"""Step 1 of the gait stage: the samples in the earth frame, short runs of lost samples bridged.

``SampleBuffer`` holds what the other algorithms of ``sacrum.signal.gait`` read, by absolute
sample index: vertical and horizontal acceleration, yaw rate, orientation, time and a
validity flag.
"""

from __future__ import annotations

import math

import numpy as np

from sacrum.signal.quaternion import quat_conjugate, quat_rotate, quat_to_matrix
from sacrum.units import G_MPS2


def from_earth(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Earth-frame vectors v (N, 3) into the sensor frame: q* v q."""
    return quat_rotate(quat_conjugate(q), v)


def earth_xy_rows(q: np.ndarray) -> np.ndarray:
    """The earth x and y rows (N, 2, 3) of the rotation matrices of unit quaternions q
    (sensor → earth): ``r @ v_s`` is a sensor vector's horizontal part in the earth frame,
    ``v_e @ r`` (per sample) a horizontal earth vector in the sensor frame."""
    return quat_to_matrix(q)[:, :2, :]


class SampleBuffer:
    """The samples of a recording in the earth frame, for the gait algorithms (step 1).

    **Steps.** Rotate acceleration and angular rate into the earth frame with
    ``q_sensor_to_earth``; vertical acceleration ``a_v`` = earth z minus g
    (``sacrum.units.G_MPS2``), horizontal acceleration ``a_h``, yaw rate ``w_z`` (earth z:
    independent of the mounting). A lost sample (NaN in any input) becomes zeros flagged
    invalid. A run of at most ``max_bridge_s`` lost samples between two received ones is
    bridged (linear in a_v, a_h, w_z, normalised linear in q) once its end has come; until
    then nothing from its start on is used (``settled`` stops there), so the result does
    not depend on the chunking. (Radio loss comes as many such short runs: 4 % of samples on
    average, up to 16 %, in runs of 1-10 samples in the IPOL recordings, where requiring
    every sample of an IC's support cost most of the steps.) Longer runs stay missing; a run
    longer than ``max_gap_s`` is reported by :meth:`long_gaps` (it ends a walking bout).

    **Data.** ``add(t_s, acc_mps2, gyr_radps, q_sensor_to_earth)``: acc in m/s² (gravity
    included) and gyr in rad/s in the sensor frame, q (w, x, y, z) sensor → earth, z up.
    A NaN time (a lost sample without one) continues the sample clock.

    **Parameters.** rate_hz (Hz); max_bridge_s = 0.1: no longer than the shortest period
    the landmark low-pass keeps (1 / 10 Hz), so a bridged stretch is about as smooth as the
    filters make the signal anyway; 0.1 was the leave-one-subject-out choice in all 7 folds
    of bench/gait_subjects.py (0 / 0.05 / 0.1; 0.15 gave the same results as 0.1); the wait
    for a gap's end adds at most this to the latency of the events after it. max_gap_s =
    0.5.

    **State.** ``n`` samples received; ``settled``: samples final (no gap left to bridge);
    ``base``: absolute index of the oldest sample held; ``n_bridged``: lost samples bridged.
    """

    def __init__(self, rate_hz: float, max_bridge_s: float = 0.1,
                 max_gap_s: float = 0.5) -> None:
        self.rate_hz = float(rate_hz)
        self._max_bridge = round(max_bridge_s * rate_hz)
        self._max_gap = max(1, round(max_gap_s * rate_hz))
        self.reset()

    def reset(self) -> None:
        """Forget everything (a new recording)."""
        self.n = 0                                   # samples received
        self.settled = 0                             # samples final (no gap left to bridge)
        self._open_gap: int | None = None            # start of a bridgeable gap at the end
        self.n_bridged = 0                           # lost samples bridged
        self.base = 0                                # absolute index of buffer element 0
        self._buf = {k: np.zeros((0, d)) for k, d in
                     (("av", 1), ("ah", 2), ("wz", 1), ("q", 4))}
        self._buf["rxy"] = np.zeros((0, 2, 3))
        self._buf["t"] = np.zeros(0)
        self._buf["valid"] = np.zeros(0, bool)
        self._buf["rx"] = np.zeros(0, bool)          # received (not bridged)
        self._invalid_run = 0                        # length of the current run of missing samples
        self._gap_checked = 0

    def add(self, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray,
            q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Add a chunk (arrays already shaped (n,), (n, 3), (n, 3), (n, 4)); bridge what can
        be bridged. Returns the chunk's times (NaN ones filled), yaw rate (rad/s, 0 where
        lost) and validity, as received (before bridging)."""
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
        self._append(t=t, av=av[:, None], ah=ah, wz=wz[:, None], q=qn, valid=valid,
                     rx=valid.copy(), rxy=earth_xy_rows(qn))
        self.n += len(t)
        self._bridge_gaps()
        return t, wz, valid

    def get(self, name: str, start: int, stop: int) -> np.ndarray:
        """Buffered samples [start, stop) by absolute index (clipped to what is held):
        "av" (N, 1), "ah" (N, 2), "wz" (N, 1), "q" (N, 4), "t" (N,), "valid" (N,:
        received or bridged), "rx" (N,: received), "rxy" (N, 2, 3): ``earth_xy_rows`` of
        q (the per-step algorithms' rotations, made once)."""
        lo = max(start, self.base) - self.base
        hi = max(min(stop, self.n), self.base) - self.base
        return self._buf[name][lo:hi]

    def time_at(self, idx: int) -> float:
        """Time of absolute sample idx (extrapolated outside the buffer)."""
        tb = self._buf["t"]
        k = idx - self.base
        if 0 <= k < len(tb):
            return float(tb[k])
        if len(tb) == 0:
            return idx / self.rate_hz
        ref = 0 if k < 0 else len(tb) - 1
        return float(tb[ref] + (k - ref) / self.rate_hz)

    def long_gaps(self, stop: int) -> list[int]:
        """Sample indices in [checked so far, stop) where a run of missing samples exceeds
        ``max_gap_s`` (the run length is carried across calls)."""
        valid = self.get("valid", self._gap_checked, stop)
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

    def trim(self, keep: int, history: int, oldest_step: int | None) -> None:
        """Forget samples no longer needed: beyond ``keep`` samples back (or the IC index
        ``oldest_step`` still in use, if older), less ``history``; only once more than
        2 × ``keep`` are held."""
        n_buf = len(self._buf["t"])
        if n_buf <= 2 * keep:
            return
        oldest_needed = self.n - keep
        if oldest_step is not None:
            oldest_needed = min(oldest_needed, oldest_step)
        cut = max(0, oldest_needed - history - self.base)
        if cut > 0:
            for k in self._buf:
                self._buf[k] = self._buf[k][cut:]
            self.base += cut

    def _fill_time(self, t: np.ndarray) -> np.ndarray:
        """NaN times (a lost sample without a time): continue the sample clock."""
        t = t.copy()
        prev = self._buf["t"][-1] if len(self._buf["t"]) else math.nan
        for i in range(len(t)):
            if not np.isfinite(t[i]):
                t[i] = prev + 1.0 / self.rate_hz if np.isfinite(prev) else (
                    (self.n + i) / self.rate_hz)
            prev = t[i]
        return t

    def _bridge_gaps(self) -> None:
        """Runs of at most ``max_bridge_s`` missing samples between two received ones are
        filled in (linear in a_v, a_h, w_z; normalised linear in q). Until a run at the end
        of the data is closed (or grows too long to bridge), the samples from its start on
        are not final: ``settled`` stops there, and nothing after it is used."""
        start = self._open_gap if self._open_gap is not None else self.settled
        valid = self.get("valid", start, self.n)
        self._open_gap = None
        if valid.all():
            self.settled = self.n
            return
        d = np.diff(np.concatenate([[1], valid.astype(np.int8), [1]]))
        for a, b in zip(np.flatnonzero(d == -1), np.flatnonzero(d == 1), strict=True):
            a_abs, b_abs = start + a, start + b
            prev_ok = a_abs > self.base and bool(self._buf["valid"][a_abs - 1 - self.base])
            if not prev_ok or b - a > self._max_bridge:
                continue
            if b_abs == self.n:                  # still open: wait for its end
                self._open_gap = a_abs
                break
            lo, hi = a_abs - 1 - self.base, b_abs - self.base
            w = (np.arange(1, b - a + 1) / (b - a + 1))[:, None]
            for k in ("av", "ah", "wz", "q"):
                x = self._buf[k]
                end = x[hi] if k != "q" or x[lo] @ x[hi] >= 0 else -x[hi]
                x[lo + 1:hi] = (1 - w) * x[lo] + w * end
            qq = self._buf["q"][lo + 1:hi]
            qq /= np.linalg.norm(qq, axis=1, keepdims=True)
            self._buf["rxy"][lo + 1:hi] = earth_xy_rows(qq)
            self._buf["valid"][lo + 1:hi] = True
            self.n_bridged += int(b - a)
        self.settled = self.n if self._open_gap is None else self._open_gap

    def _append(self, **arrays) -> None:
        for k, v in arrays.items():
            self._buf[k] = np.concatenate([self._buf[k], v])
