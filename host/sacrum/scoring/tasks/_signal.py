"""Signal helpers of the task detectors: runs of a mask, gaps bridged (and said), moving
means, window slopes, the step period, a linear-phase FIR low-pass."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.signal import firwin

from sacrum.scoring.tasks.common import _rate_hz


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Half-open index ranges of the True runs of a boolean array."""
    m = np.r_[False, np.asarray(mask, bool), False]
    edges = np.flatnonzero(np.diff(m.astype(np.int8)))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


@dataclass
class _Gaps:
    valid: np.ndarray          # (N,) bool: a value after bridging
    n_bridged: int
    long: list[tuple[float, float]]   # (t_start, t_end) of gaps left open (s)
    missing: list[tuple[float, float]]

    def messages(self, what: str) -> list[str]:
        out = []
        if self.n_bridged:
            out.append(f"{self.n_bridged} short gap(s) in the {what} bridged by interpolation")
        for t0, t1 in self.long:
            out.append(f"{t1 - t0:.2f}-s gap in the {what} at {t0:.2f} s: not analysed "
                       f"across it")
        return out


def _bridge(t: np.ndarray, x: np.ndarray, max_gap_s: float) -> tuple[np.ndarray, _Gaps]:
    """Fill NaN runs of the rows of x (N, k) no longer than ``max_gap_s`` by linear
    interpolation; longer ones (and ones at the ends) stay NaN."""
    x = np.array(x, float)
    bad = ~np.isfinite(x).all(axis=1)
    n = len(x)
    n_bridged, long, missing = 0, [], []
    fs = _rate_hz(t)
    for a, b in _runs(bad):
        t0 = float(t[a - 1]) if a > 0 else float(t[a])
        t1 = float(t[b]) if b < n else float(t[b - 1])
        missing.append((t0, t1))
        dur = (b - a + 1) / fs if math.isfinite(fs) else math.inf
        if a > 0 and b < n and dur <= max_gap_s:
            w = (np.arange(a, b) - (a - 1)) / (b - (a - 1))
            x[a:b] = x[a - 1] + w[:, None] * (x[b] - x[a - 1])
            n_bridged += 1
        else:
            x[a:b] = np.nan
            long.append((t0, t1))
    return x, _Gaps(np.isfinite(x).all(axis=1), n_bridged, long, missing)


def _moving_mean(x: np.ndarray, n: int) -> np.ndarray:
    """Centred moving mean over n samples (shrinking at the ends), of a finite 1-D array."""
    n = max(1, int(n))
    c = np.r_[0.0, np.cumsum(x)]
    i = np.arange(len(x))
    lo = np.clip(i - n // 2, 0, len(x))
    hi = np.clip(i - n // 2 + n, 0, len(x))
    return (c[hi] - c[lo]) / np.maximum(hi - lo, 1)


def _window_slopes(y: np.ndarray, starts: np.ndarray, n: int, fs: float) -> np.ndarray:
    """Least-squares slope (units/s) of y over the windows [s, s+n) (y finite there)."""
    j = np.arange(len(y), dtype=float)
    c0 = np.r_[0.0, np.cumsum(y)]
    c1 = np.r_[0.0, np.cumsum(j * y)]
    s0 = c0[starts + n] - c0[starts]
    s1 = c1[starts + n] - c1[starts] - starts * s0          # Σ k·y, k = 0..n-1
    k_mean = (n - 1) / 2.0
    sxx = n * (n * n - 1) / 12.0
    return (s1 - k_mean * s0) / sxx * fs


def _slope(t: np.ndarray, y: np.ndarray) -> float:
    ok = np.isfinite(t) & np.isfinite(y)
    if ok.sum() < 3:
        return math.nan
    tc = t[ok] - t[ok].mean()
    return float((tc * (y[ok] - y[ok].mean())).sum() / (tc * tc).sum())


def _step_period(x: np.ndarray, fs: float, lag_s: tuple[float, float],
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Dominant step period (s) and step regularity of each row of x (windows of vertical
    acceleration): the first peak of the unbiased autocorrelation, normalised by its zero
    lag (Moe-Nilssen & Helbostad 2004), within ``lag_s`` that reaches 70 % of the highest
    peak there (the step, not the stride, when both are in range)."""
    n_win, n = x.shape
    x = x - x.mean(axis=1, keepdims=True)
    nfft = 1 << math.ceil(math.log2(2 * n))
    lo, hi = max(1, int(lag_s[0] * fs)), min(n - 2, math.ceil(lag_s[1] * fs))
    period = np.full(n_win, np.nan)
    reg = np.zeros(n_win)
    if hi <= lo + 1:
        return period, reg
    for b in range(0, n_win, 1024):          # batches: memory stays bounded on long records
        f = np.fft.rfft(x[b:b + 1024], nfft, axis=1)
        ac = np.fft.irfft(f * np.conj(f), nfft, axis=1)[:, :hi + 2]
        ac = ac / (n - np.arange(hi + 2))                    # unbiased
        with np.errstate(invalid="ignore", divide="ignore"):
            ac = ac / ac[:, :1]                              # normalised by the zero lag
        seg = ac[:, lo - 1:hi + 2]
        peak = (seg[:, 1:-1] >= seg[:, :-2]) & (seg[:, 1:-1] > seg[:, 2:])
        val = np.where(peak, seg[:, 1:-1], -np.inf)
        best = val.max(axis=1)
        strong = peak & (val >= 0.7 * best[:, None]) & (best[:, None] > 0)
        has = strong.any(axis=1)
        first = np.argmax(strong, axis=1)
        rows = np.flatnonzero(has)
        lag = lo + first[rows]
        period[b + rows] = lag / fs
        reg[b + rows] = val[rows, first[rows]]
    return period, reg


def _fir_lowpass(x: np.ndarray, cutoff_hz: float, fs: float, length_s: float = 0.5,
                 ) -> np.ndarray:
    """Zero-phase FIR low-pass of the columns of x (finite support: the output at a
    sample depends only on the ±length_s/2 around it)."""
    n = round(length_s * fs) | 1
    if cutoff_hz >= fs / 2 or len(x) < n:
        return np.array(x, float)
    h = firwin(n, cutoff_hz, fs=fs)
    pad = n // 2
    xp = np.pad(np.asarray(x, float), [(pad, pad)] + [(0, 0)] * (x.ndim - 1), mode="edge")
    if x.ndim == 1:
        return np.convolve(xp, h, mode="valid")
    return np.stack([np.convolve(xp[:, k], h, mode="valid") for k in range(x.shape[1])], axis=1)


def _deg(x: float) -> float:
    return float(math.degrees(x)) if x is not None and math.isfinite(x) else math.nan
