"""The samples a segmenter keeps, and the derived per-sample arrays both segmenters use.

Rows are appended as chunks arrive; derived values (the still flag) are filled in for
rows whose centred window is complete, so a value never changes once computed and the
segmenters give the same results however the stream is cut into chunks.
"""

from __future__ import annotations

import numpy as np


class _Growable:
    """An (N, k) float array that grows by appending rows, amortised O(1) per row."""

    def __init__(self, cols: int) -> None:
        self._a = np.empty((256, cols))
        self.n = 0

    def append(self, rows: np.ndarray) -> None:
        m = len(rows)
        if self.n + m > len(self._a):
            new = np.empty((max(2 * len(self._a), self.n + m), self._a.shape[1]))
            new[:self.n] = self._a[:self.n]
            self._a = new
        self._a[self.n:self.n + m] = rows
        self.n += m

    @property
    def a(self) -> np.ndarray:
        return self._a[:self.n]


class SampleBuffer:
    """t (s), q_body_to_earth (4), gyr_body_radps (3), acc_body_mps2 (3, or NaN) per row,
    and the still flag: over a centred window of ``still_s``, the mean angular velocity
    (the net turn: a slow movement) below ``still_radps`` and the RMS angular speed (a
    shake) below ``shake_radps``."""

    def __init__(self, rate_hz: float, still_s: float, still_radps: float,
                 shake_radps: float = 0.35) -> None:
        self.fs = float(rate_hz)
        self.h = max(1, round(still_s * self.fs / 2))
        self.still_radps = still_radps
        self.shake_radps = shake_radps
        self.rows = _Growable(11)
        self.still = _Growable(1)
        self.speed2 = _Growable(4)

    @property
    def n(self) -> int:
        return self.rows.n

    def append(self, t, q, gyr, acc) -> None:
        t = np.asarray(t, float).reshape(-1)
        n = len(t)
        q = np.asarray(q, float).reshape(n, 4)
        gyr = np.asarray(gyr, float).reshape(n, 3)
        acc = np.full((n, 3), np.nan) if acc is None else np.asarray(acc, float).reshape(n, 3)
        self.rows.append(np.hstack([t[:, None], q, gyr, acc]))
        s2 = np.einsum("ij,ij->i", gyr, gyr)
        self.speed2.append(np.hstack([s2[:, None], gyr]))

    def fill_still(self, final: bool) -> int:
        """Compute the still flag for every row whose window is complete (all at
        ``final``); returns the number of rows with a still flag."""
        n, h = self.n, self.h
        done = self.still.n
        upto = n if final else max(0, n - h)
        if upto <= done:
            return done
        lo = max(0, done - h)
        hi = min(n, upto + h)
        x = self.speed2.a[lo:hi]
        ok = np.all(np.isfinite(x), axis=1)
        c = np.vstack([np.zeros((1, 4)), np.cumsum(np.where(ok[:, None], x, 0.0), axis=0)])
        k = np.concatenate([[0], np.cumsum(ok)])
        idx = np.arange(done, upto)
        a = np.maximum(idx - h, 0) - lo
        b = np.minimum(idx + h + 1, n) - lo
        cnt = k[b] - k[a]
        with np.errstate(invalid="ignore", divide="ignore"):
            m = (c[b] - c[a]) / cnt[:, None]
        rms = np.sqrt(m[:, 0])
        net = np.sqrt(np.sum(m[:, 1:] ** 2, axis=1))
        still = (cnt > 0) & (net < self.still_radps) & (rms < self.shake_radps)
        self.still.append(still.astype(float)[:, None])
        return self.still.n

    def quiet(self, i: int, half_s: float = 0.05) -> bool:
        """The RMS angular speed over ±``half_s`` around row i is below ``still_radps``
        (a short window: where exactly a movement starts or ends)."""
        k = max(1, round(half_s * self.fs))
        s2 = self.speed2.a[max(0, i - k):i + k + 1, 0]
        s2 = s2[np.isfinite(s2)]
        return bool(len(s2)) and float(np.sqrt(s2.mean())) < self.still_radps

    @property
    def t(self) -> np.ndarray:
        return self.rows.a[:, 0]

    @property
    def q(self) -> np.ndarray:
        return self.rows.a[:, 1:5]

    @property
    def gyr(self) -> np.ndarray:
        return self.rows.a[:, 5:8]

    @property
    def acc(self) -> np.ndarray:
        return self.rows.a[:, 8:11]
