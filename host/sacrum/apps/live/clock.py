"""The live session's time axis: each decoded chunk's samples placed on it, and the samples
lost before it counted (docs/live.md, "Thread model").

The axis is the device's sample clock (``SampleChunk.t_device_s``) shifted once, at the
first chunk. With a capture the samples are put on the capture's time, as ``sacrum
analyze`` reads it (s since the header's ``start_time_ns``, the device clock mapped onto
host time), so a step live and in the final analysis has one time: a replay's file gives
its first sample's time and the clock's drift (``sacrum.io.timebase.ClockMap``, fitted
over the whole capture); a recording opened with the first packet gives only that packet's
arrival (its last sample at the host time it came: later than the offline map by that
packet's delivery delay over the least, a few ms on BLE, and no drift). Without a capture
the axis starts at the first sample. A reconnection continues it by
the wall-clock time the link was down; a device clock that went back (a restart)
continues it where it was. Lost samples are the decoder's count, or the gap the axis
shows, whichever is more.
"""

from __future__ import annotations

import math
import time

import numpy as np

import sacrum_protocol as sp


class SessionClock:
    """The session time axis (module docstring). ``t_next_s``: the session time of the next
    expected sample (NaN before the first chunk)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """A new session: no axis yet."""
        self.period_s = math.nan
        self._t_offset_s = 0.0
        self._scale = 1.0  # 1 + the device clock's drift against the capture's time
        self.t_next_s = math.nan
        self._disconnected_at: float | None = None  # perf_counter when the link went down

    @staticmethod
    def rate_of(chunk, device_rate_hz: float | None) -> float:
        """The sample rate (Hz): the device's if it said, else the nearest of the rates the
        protocol allows to the chunk's sample interval, else as measured (NaN: a
        one-sample chunk)."""
        if device_rate_hz:
            return float(device_rate_hz)
        if len(chunk.t_device_s) >= 2:
            dt = float(chunk.t_device_s[1] - chunk.t_device_s[0])
            if dt > 0:
                return float(min(sp.RATES_HZ, key=lambda r: abs(r - 1 / dt))
                             if min(abs(r * dt - 1) for r in sp.RATES_HZ) < 0.05 else 1 / dt)
        return math.nan

    def start(self, chunk, rate_hz: float, t_first_s: float | None = None,
              drift: float = 0.0) -> None:
        """The first chunk: its first sample at ``t_first_s`` (s; None: 0), the device's
        time scaled by 1 + ``drift`` (module docstring)."""
        self.period_s = 1.0 / rate_hz
        self._scale = 1.0 + float(drift)
        t0 = 0.0 if t_first_s is None else float(t_first_s)
        self._t_offset_s = t0 - float(chunk.t_device_s[0]) * self._scale

    @staticmethod
    def arrival_time_s(chunk, start_time_ns: int) -> float:
        """The capture time (s since ``start_time_ns``) of the chunk's first sample, from
        its packet's arrival (the last sample then)."""
        return ((chunk.host_time_ns - start_time_ns) * 1e-9
                - float(chunk.t_device_s[-1] - chunk.t_device_s[0]))

    def place(self, chunk) -> tuple[np.ndarray, int]:
        """The chunk's sample times on the axis (s) and the samples lost before it."""
        period = self.period_s
        if self._disconnected_at is not None:  # after a reconnection: wall-clock time
            gap_s = time.perf_counter() - self._disconnected_at
            self._disconnected_at = None
            self._t_offset_s = (self.t_next_s - float(chunk.t_device_s[0]) * self._scale
                                + round(gap_s / period) * period)
        t = chunk.t_device_s * self._scale + self._t_offset_s
        if math.isfinite(self.t_next_s) and t[0] < self.t_next_s - 0.5 * period:
            # the device clock went back (a restart): continue the axis where it was
            self._t_offset_s += self.t_next_s - float(t[0])
            t = chunk.t_device_s * self._scale + self._t_offset_s
        lost = chunk.lost_before
        if math.isfinite(self.t_next_s):
            lost = max(lost, round((t[0] - self.t_next_s) / period))
        return t, lost

    def advance(self, t_s: np.ndarray) -> None:
        """Samples up to ``t_s[-1]`` are on the axis."""
        self.t_next_s = float(t_s[-1]) + self.period_s

    def link_down(self) -> None:
        """The link went down now (the user's disconnect)."""
        self._disconnected_at = time.perf_counter()

    def link_resuming(self) -> None:
        """A new transport continues the axis: the time since the link went down (or from
        now, if it did not say) is a gap."""
        self._disconnected_at = self._disconnected_at or time.perf_counter()


__all__ = ["SessionClock"]
