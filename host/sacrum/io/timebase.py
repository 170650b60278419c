"""Map device time onto host time without the link's delivery jitter."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ClockMap:
    """``host_s = offset_s + (1 + drift) * device_s`` (both in seconds).

    ``drift`` is the device clock's rate error relative to the host (1e-6 =
    1 ppm, the device clock runs slow); ``latency_s`` is the median delivery
    delay above the fitted lower envelope -- a measure of link jitter, not
    applied to sample times.
    """

    offset_s: float
    drift: float
    latency_s: float
    windows: int

    def __call__(self, device_s: np.ndarray | float) -> np.ndarray | float:
        return self.offset_s + (1.0 + self.drift) * device_s


class ClockSync:
    """Robust offset-and-drift fit of host receive times against device times.

    Steps:

    1. For every packet take the device time of its **last** sample ``d`` (the
       earliest the packet could leave the device) and its host receive time
       ``h``; ``h - d`` is offset + drift·d + a non-negative delivery delay.
    2. Split the recording into windows of ``window_s`` seconds of device time
       and keep, in each, the packet with the smallest ``h - d``: the one that
       met the least delay. BLE delivers in connection events and USB in
       polling frames, so the minima sit on a floor while the jitter is above.
    3. Fit a line through the window minima (least squares, then refit after
       dropping minima more than 3 robust SDs above the line, which are windows
       where every packet was delayed, e.g. during a reconnection).
    4. The drift is accepted only within ±``max_drift`` (crystals are within
       ±50 ppm; a larger slope means too little data), else 0 is used.

    With fewer than two windows the offset is the smallest ``h - d`` and the
    drift is 0. Parameters: ``window_s`` (s, default 10), ``max_drift``
    (dimensionless, default 500e-6).

    Reference: the lower-envelope idea is that of NTP's clock filter (Mills,
    "Internet time synchronization: the network time protocol", IEEE Trans.
    Commun. 39(10), 1991): the sample with the least delay is the most accurate.
    """

    def __init__(self, window_s: float = 10.0, max_drift: float = 500e-6) -> None:
        self.window_s = window_s
        self.max_drift = max_drift

    def fit(self, device_s: np.ndarray, host_s: np.ndarray) -> ClockMap:
        d = np.asarray(device_s, dtype=np.float64)
        h = np.asarray(host_s, dtype=np.float64)
        if d.size == 0:
            return ClockMap(0.0, 0.0, 0.0, 0)
        lag = h - d
        # 2. window minima
        win = np.floor((d - d.min()) / self.window_s).astype(np.int64)
        order = np.lexsort((lag, win))
        first = np.ones(order.size, dtype=bool)
        first[1:] = win[order][1:] != win[order][:-1]
        idx = order[first]
        if idx.size < 2:
            offset = float(lag.min())
            return ClockMap(offset, 0.0, float(np.median(lag - offset)), int(idx.size))
        dm, lm = d[idx], lag[idx]
        # 3. line through the minima, refit without outliers above it
        slope, intercept = np.polyfit(dm, lm, 1)
        resid = lm - (intercept + slope * dm)
        mad = np.median(np.abs(resid - np.median(resid))) * 1.4826
        keep = resid <= 3 * max(mad, 1e-4)
        if keep.sum() >= 2 and not keep.all():
            slope, intercept = np.polyfit(dm[keep], lm[keep], 1)
        # 4. plausible drift only
        if abs(slope) > self.max_drift:
            slope = 0.0
            intercept = float(np.median(lm))
        # put the line on the floor: no packet arrives before it was made
        floor = lag - (intercept + slope * d)
        intercept += float(np.min(floor)) if np.min(floor) < 0 else 0.0
        latency = float(np.median(lag - (intercept + slope * d)))
        return ClockMap(float(intercept), float(slope), latency, int(idx.size))
