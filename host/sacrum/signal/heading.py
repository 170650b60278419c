"""The progression heading: the direction of walking the pelvic rotation is measured
against, live (:class:`ProgressionHeading`, a trailing stride-long mean) and offline
(:func:`stride_heading`, a centred stride-long mean kept clear of turns).

The pelvis rotates about the walking direction once per stride (a transverse-plane
oscillation of about ±4-8° in healthy gait; Perry & Burnfield, *Gait Analysis*, 2nd ed.,
2010, ch. 7), so its heading averaged over exactly one stride is the walking direction.
"""

from __future__ import annotations

import math

import numpy as np


class ProgressionHeading:
    """Progression heading from the pelvis heading ψ, streaming (``Pipeline`` step 3).

    **Data required.** ``yaw_rad`` (N,): the pelvis heading ψ of each sample (earth frame,
    rad, :meth:`~sacrum.signal.angles.PelvicAngles.decompose` column ``ROTATION``), at
    ``rate_hz``; NaN for lost samples.

    **Steps**, per chunk (``update(yaw_rad) -> (heading_rad, settled)``):

    1. Unwrap ψ through NaN rows, continuing from the previous chunk.
    2. The stride: every ``stride_every_s`` of samples, the lag of the autocorrelation peak
       of the high-passed heading (less its centred ``heading_window_s`` mean: turns and
       drift out) over the last ``stride_span_s`` within ``stride_range_s``, refined by a
       parabola through the peak and its neighbours; the first peak at least 0.9 of the
       highest, so a multiple of the stride is not taken (the stride from the
       autocorrelation of a trunk signal as Moe-Nilssen & Helbostad 2004 do for trunk
       acceleration; here of the heading, whose period is the stride). It is used from then
       on as a fractional-length window; ``heading_window_s`` when there is no such
       periodicity (peak correlation below ``stride_min_r``: standing, turning on the
       spot). The blocks count samples, so any chunking gives the same output.
    3. Turns: a sample is *turning* when the mean pelvis heading over the window before it
       differs by more than ``heading_settle_rad`` from the mean over the window before
       that (whole strides: the pelvis' own rotation cancels, so in straight walking the
       change is the stride-to-stride variability, a degree or two; a mean, not single
       samples, as those vary by several degrees from stride to stride in real walks); a
       turning sample's window is half as long (one step: the lag behind the new
       direction halves, at the cost of up to 0.64 × the rotation amplitude).
    4. The heading: the trailing mean of the unwrapped ψ over the window (NaN samples left
       out), with half a stride of lag; *settled* once a whole window has passed without
       turning. The flag comes about half a second into a turn (the trailing mean has to
       move by ``heading_settle_rad`` first: the first samples of a turn are still called
       settled). A trailing window cannot do better than about a stride after a turn: the
       pelvis' own rotation and the end of a turn look alike for less than a stride;
       offline, :func:`stride_heading` knows the turns and does.

    **Parameters.** ``rate_hz`` (Hz); ``heading_window_s`` (s, 1.1: the default window);
    ``stride_range_s`` (s, (0.7, 2.0)); ``stride_every_s`` (s, 0.5); ``stride_span_s``
    (s, 5.0); ``stride_min_r`` (0.4, the least autocorrelation at the stride lag that
    counts as walking); ``heading_settle_rad`` (5°: a steady turn of that much per stride
    puts the trailing mean 2.5° behind, the tolerance of the rotation's zero; the slowest
    turn the gait stage counts, 45° in 10 s, turns 5° in a 1.1-s stride).

    **References.** Moe-Nilssen R, Helbostad JL. Estimation of gait cycle characteristics
    by trunk accelerometry. J Biomech 2004;37:121-126 (stride from the autocorrelation).
    """

    def __init__(self, rate_hz: float, *, heading_window_s: float = 1.1,
                 stride_range_s: tuple[float, float] = (0.7, 2.0), stride_every_s: float = 0.5,
                 stride_span_s: float = 5.0, stride_min_r: float = 0.4,
                 heading_settle_rad: float = math.radians(5.0)) -> None:
        self.rate_hz = float(rate_hz)
        self.heading_n = max(1, round(heading_window_s * rate_hz))
        self.heading_default_n = max(1.0, heading_window_s * rate_hz)  # samples, fractional
        self.stride_lags = (max(1, math.floor(stride_range_s[0] * rate_hz)),
                            max(2, math.ceil(stride_range_s[1] * rate_hz)))
        self.stride_every_n = max(1, round(stride_every_s * rate_hz))
        self._highpass_n = 2 * round(0.5 * self.heading_default_n) + 1  # odd: centred
        self.stride_span_n = max(self.stride_lags[1] + self._highpass_n + 2,
                                 round(stride_span_s * rate_hz))
        self.stride_min_r = stride_min_r
        self.heading_settle_rad = heading_settle_rad
        # history kept for the windows and the stride estimate
        self._history_n = max(self.stride_span_n,
                              math.ceil(max(self.heading_default_n, self.stride_lags[1])) + 1)
        self._fft_n = 1 << (2 * self.stride_span_n - 1).bit_length()
        self.reset()

    def reset(self) -> None:
        """Start again (a new calibration redefines the heading)."""
        self._yaw_tail = np.zeros(0)  # the last _history_n unwrapped yaws
        self._yaw_last = math.nan
        self._yaw_count = 0  # samples since the heading (re)started: the block clock
        self._window_n = self.heading_default_n  # the current window (samples)
        self._since_turning = 0  # samples since the last turning one (step 3)

    @property
    def window_n(self) -> float:
        """The current window (samples, fractional): the last stride estimated."""
        return self._window_n

    def flush(self) -> tuple[np.ndarray, np.ndarray]:
        """Nothing is held back (the heading of a sample is final in its chunk)."""
        return np.zeros(0), np.zeros(0, bool)

    def update(self, yaw_rad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(heading_rad, settled) of each sample of the pelvis heading ``yaw_rad`` (rad)."""
        yaw = np.asarray(yaw_rad, float).reshape(-1)
        # unwrap through NaN rows, continuing from the previous chunk
        out = np.full_like(yaw, np.nan)
        last = self._yaw_last
        ok = np.flatnonzero(np.isfinite(yaw))
        if ok.size:
            seq = np.unwrap(np.r_[last if math.isfinite(last) else yaw[ok[0]], yaw[ok]])[1:]
            out[ok] = seq
            self._yaw_last = float(seq[-1])
        n_tail, n = len(self._yaw_tail), len(yaw)
        allv = np.concatenate([self._yaw_tail, out])
        valid = np.isfinite(allv)
        # running sums with a leading zero: csum[m] is the sum of the first m samples
        csum = np.r_[0.0, np.cumsum(np.where(valid, allv, 0.0))]
        ccnt = np.r_[0.0, np.cumsum(valid)]
        # the window of each new sample: the stride estimated at the last block
        # boundary (a multiple of stride_every_n samples since the heading started)
        # at or before it, from the samples before that boundary
        c0 = self._yaw_count
        every = self.stride_every_n
        starts = np.arange((c0 // every + 1) * every, c0 + n + 1, every) - c0  # in the chunk
        windows = [self._window_n]
        for b in starts:
            end = b + n_tail  # the boundary's position in allv
            windows.append(self._stride_n(allv[max(0, end - self.stride_span_n):end]))
        self._window_n = windows[-1]
        window = np.asarray(windows)[np.searchsorted(starts, np.arange(n), "right")]
        self._yaw_count = c0 + n
        # turning: the one-stride mean heading moved by more than heading_settle_rad since
        # a stride before (two means over whole strides: the pelvis' own rotation cancels)
        grid = np.arange(len(csum), dtype=float)
        hi = np.arange(n_tail + 1, n_tail + n + 1, dtype=float)

        def mean_before(end):
            lo = np.maximum(end - window, 0.0)
            with np.errstate(invalid="ignore", divide="ignore"):
                return ((np.interp(end, grid, csum) - np.interp(lo, grid, csum))
                        / (np.interp(end, grid, ccnt) - np.interp(lo, grid, ccnt)))

        with np.errstate(invalid="ignore"):
            change = np.abs(mean_before(hi) - mean_before(hi - window))
            turning = (hi - 2 * window >= 0) & (change > self.heading_settle_rad)
        idx = np.arange(n)
        last = np.maximum.accumulate(np.where(turning, idx, -1)) if n else idx
        since = np.where(last >= 0, idx - last, self._since_turning + idx + 1)
        if n:
            self._since_turning = int(since[-1])
        # trailing mean over a fractional window (a step while turning), at fractional
        # positions of the sums
        lo = np.maximum(hi - np.where(turning, 0.5 * window, window), 0.0)
        i0 = np.minimum(np.floor(lo).astype(np.intp), len(allv) - 1)
        frac = lo - i0
        s_lo = csum[i0] + frac * (csum[i0 + 1] - csum[i0])
        c_lo = ccnt[i0] + frac * (ccnt[i0 + 1] - ccnt[i0])
        with np.errstate(invalid="ignore", divide="ignore"):
            count = ccnt[n_tail + 1:] - c_lo
            heading = np.where(count > 0.5, (csum[n_tail + 1:] - s_lo) / count, np.nan)
        self._yaw_tail = allv[-self._history_n:]
        return heading, (since >= window) & np.isfinite(heading)

    def _stride_n(self, y: np.ndarray) -> float:
        """The stride (samples, fractional) in the unwrapped pelvis heading ``y``: the lag
        of the autocorrelation peak of the high-passed heading within the stride range;
        the default window when there is no such periodicity."""
        lag_lo, lag_hi = self.stride_lags
        m = np.isfinite(y)
        if len(y) < self.stride_span_n or m.sum() < 0.8 * len(y):
            return self.heading_default_n
        # high-pass: less the centred mean over the default window, which takes out
        # turns and drift (their linear parts exactly) and keeps the stride's period
        w = self._highpass_n
        csum = np.r_[0.0, np.cumsum(np.where(m, y, 0.0))]
        ccnt = np.r_[0.0, np.cumsum(m)]
        count = ccnt[w:] - ccnt[:-w]
        mid = np.arange(len(count)) + (w - 1) // 2
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = (csum[w:] - csum[:-w]) / count
        m = m[mid] & (count > 0.5 * w)
        n_ok = int(m.sum())
        if n_ok < 0.5 * len(y):
            return self.heading_default_n
        d = np.where(m, y[mid] - mean, 0.0)
        # normalised autocorrelation: the correlation of the span's head and tail
        # ``lag`` apart (1 at the exact period of a periodic signal), by FFT
        fd = np.fft.rfft(d, self._fft_n)
        acf = np.fft.irfft(fd * fd.conj(), self._fft_n)[:lag_hi + 2]
        energy = np.r_[0.0, np.cumsum(d * d)]
        k = np.arange(lag_hi + 2)
        norm = np.sqrt(energy[len(d) - k] * (energy[-1] - energy[k]))
        if not energy[-1] > 1e-12 * n_ok:  # no motion at all
            return self.heading_default_n
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.where(norm > 0, acf / norm, 0.0)
        lags = np.arange(max(lag_lo, 1), lag_hi + 1)
        rl = r[lags]
        peak = (rl >= r[lags - 1]) & (rl > r[lags + 1])
        if not peak.any():
            return self.heading_default_n
        best = float(rl[peak].max())
        if best < self.stride_min_r:
            return self.heading_default_n
        # the first peak nearly as high as the best: the stride, not a multiple of it
        k = int(lags[peak][np.argmax(rl[peak] >= 0.9 * best)])
        a, b, c = r[k - 1], r[k], r[k + 1]
        den = a - 2 * b + c
        delta = 0.5 * (a - c) / den if den < 0 else 0.0
        return float(k + np.clip(delta, -0.5, 0.5))


def stride_heading(yaw_rad: np.ndarray, t_s: np.ndarray, events, default_window_s: float,
                   turns=(), settled: bool = False):
    """Offline progression heading: the pelvis heading averaged over one stride centred
    on each sample, the window kept clear of turns.

    The pelvis rotates about the walking direction once per stride, so its mean over
    exactly one stride is the walking direction, at any cadence and with no lag (the
    live pipeline's trailing window can do neither). The local stride time is
    interpolated between consecutive ICs (IC to the next-but-one IC); away from walking
    the window is ``default_window_s``. NaN samples are left out of the average.

    ``turns`` (the gait stage's :class:`~sacrum.signal.gait.Turn`): a window that would reach into
    a turn from outside it is slid, still one stride long, to end where the turn starts
    (before it) or to start where it ends (after it), so the stride after a U-turn is
    measured against the new direction rather than a mean of both (about 6° off over that
    stride on a phantom otherwise; clipped to the stretch between two turns closer than a
    stride; at the recording's ends likewise slid inside it). Inside a turn the window
    stays centred (the heading follows the turn).
    With ``settled=True`` it returns (heading, settled), settled the samples outside turns
    whose window is a whole stride (RecordingAnalysis.heading_settled).
    """
    t = np.asarray(t_s, float)
    n = len(t)
    if n == 0:
        return (np.zeros(0), np.zeros(0, bool)) if settled else np.zeros(0)
    dt = float(np.median(np.diff(t))) if n > 1 else 1.0
    ok = np.isfinite(yaw_rad)
    y = np.zeros(n)
    if ok.any():
        y[ok] = np.unwrap(yaw_rad[ok])
    ic = np.array(sorted(e.t_s for e in events if e.kind == "IC"))
    window = np.full(n, default_window_s)
    if ic.size >= 3:
        stride = ic[2:] - ic[:-2]
        mid = ic[1:-1]
        plausible = stride < 3.0  # IC to next-but-one IC within a bout
        if plausible.any():
            inside = (t >= ic[0]) & (t <= ic[-1])
            window[inside] = np.interp(t[inside], mid[plausible], stride[plausible])
    # running sums at fractional sample positions: an exact one-stride mean
    csum = np.r_[0.0, np.cumsum(np.where(ok, y, 0.0))]
    ccnt = np.r_[0.0, np.cumsum(ok)]
    idx = np.arange(n, dtype=float)
    width = window / dt
    lo = idx + 0.5 - 0.5 * width
    hi = lo + width
    # the stretch of samples clear of turns each sample is in: [seg_lo, seg_hi)
    seg_lo, seg_hi = np.zeros(n), np.full(n, float(n))
    in_turn = np.zeros(n, bool)
    for tr in sorted(turns, key=lambda tr: tr.t_start_s):
        a = float(np.searchsorted(t, tr.t_start_s))
        b = float(np.searchsorted(t, tr.t_end_s, "right"))
        in_turn[int(a):int(b)] = True
        seg_hi = np.where(idx < a, np.minimum(seg_hi, a), seg_hi)
        seg_lo = np.where(idx >= b, np.maximum(seg_lo, b), seg_lo)
    # slide the window into the stretch (not turning samples only), then clip to it
    slide = ~in_turn
    shift = np.where(slide, np.maximum(0.0, seg_lo - lo) - np.maximum(0.0, hi - seg_hi), 0.0)
    lo, hi = lo + shift, hi + shift
    lo = np.where(slide, np.maximum(lo, seg_lo), lo)
    hi = np.where(slide, np.minimum(hi, seg_hi), hi)
    full = (hi - lo >= width - 1e-9) & (lo >= 0) & (hi <= n)
    lo, hi = np.clip(lo, 0, n), np.clip(hi, 0, n)
    grid = np.arange(n + 1, dtype=float)
    total = np.interp(hi, grid, csum) - np.interp(lo, grid, csum)
    count = np.interp(hi, grid, ccnt) - np.interp(lo, grid, ccnt)
    with np.errstate(invalid="ignore", divide="ignore"):
        heading = np.where(count > 0.5, total / count, np.nan)
    if not settled:
        return heading
    return heading, full & slide & np.isfinite(heading) & ok


__all__ = ["ProgressionHeading", "stride_heading"]
