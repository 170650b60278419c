"""Fixed-size ring buffer of samples for the live view (bounded memory whatever the session)."""

from __future__ import annotations

import numpy as np


class SampleRing:
    """The last ``capacity`` samples: time ``t_s`` (s, session time) and ``width`` columns
    per sample (the session's: tilt, obliquity, rotation in rad, and whether the heading
    was settled, 0/1). NaN rows mark lost samples. Not thread-safe by itself: the session
    appends and copies under its lock."""

    def __init__(self, capacity: int, width: int = 3) -> None:
        self.capacity = max(1, int(capacity))
        self.width = int(width)
        self._t = np.full(self.capacity, np.nan)
        self._a = np.full((self.capacity, self.width), np.nan)
        self._end = 0  # samples ever written
        self.t_last_s = float("nan")

    def __len__(self) -> int:
        return min(self._end, self.capacity)

    def append(self, t_s: np.ndarray, angles_rad: np.ndarray) -> None:
        t_s = np.asarray(t_s, float).reshape(-1)
        angles_rad = np.asarray(angles_rad, float).reshape(-1, self.width)
        n = len(t_s)
        if n == 0:
            return
        if n > self.capacity:  # only the newest fit
            t_s, angles_rad, n = t_s[-self.capacity:], angles_rad[-self.capacity:], self.capacity
        i = self._end % self.capacity
        first = min(n, self.capacity - i)
        self._t[i:i + first] = t_s[:first]
        self._a[i:i + first] = angles_rad[:first]
        if first < n:
            self._t[:n - first] = t_s[first:]
            self._a[:n - first] = angles_rad[first:]
        self._end += n
        self.t_last_s = float(t_s[-1])

    def _ordered(self) -> tuple[np.ndarray, np.ndarray]:
        n = len(self)
        if self._end <= self.capacity:
            return self._t[:n].copy(), self._a[:n].copy()
        i = self._end % self.capacity
        return np.r_[self._t[i:], self._t[:i]], np.concatenate([self._a[i:], self._a[:i]])

    def since(self, t0_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the samples with ``t_s >= t0_s``, oldest first."""
        t, a = self._ordered()
        k = int(np.searchsorted(t, t0_s, "left"))
        return t[k:], a[k:]

    def between(self, t0_s: float, t1_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the samples with ``t0_s <= t_s <= t1_s``."""
        t, a = self._ordered()
        lo = int(np.searchsorted(t, t0_s - 1e-9, "left"))
        hi = int(np.searchsorted(t, t1_s + 1e-9, "right"))
        return t[lo:hi], a[lo:hi]
