"""The live view's manual standing calibration (its Calibrate button).

A request starts a countdown of ``calibrate_s``; the orientations of that much data from
the next sample on are collected, then handed to ``Pipeline.calibrate``: accepted (tilt and
obliquity zeroed, said with the offsets) or rejected with the reason (not still, not
upright; ``sacrum.signal.angles.CalibrationError``). The state the window shows is a
:class:`~sacrum.apps.live.model.CalibrationState`.
"""

from __future__ import annotations

import math

import numpy as np

from sacrum.apps.live.model import CalibrationState


class ManualCalibration:
    """Collects ``calibrate_s`` of orientations after a request and calibrates the
    pipeline on them (module docstring). ``state`` is what the window shows; the session
    changes it under its lock."""

    def __init__(self, calibrate_s: float = 3.0) -> None:
        self.calibrate_s = float(calibrate_s)
        self.state = CalibrationState()
        self.restart()

    def request(self) -> None:
        """The button: a countdown from the next sample on (GUI thread, under the lock)."""
        self.state.state = "countdown"
        self.state.remaining_s = self.calibrate_s
        self.state.message = f"stand still for {self.calibrate_s:.0f} s"

    def restart(self) -> None:
        """Collect from the next sample on (engine thread, when the request is applied)."""
        self._q: list[np.ndarray] = []
        self._t0: float | None = None

    def step(self, t: np.ndarray, q: np.ndarray, rate_hz: float, pipeline, lock,
             publish) -> bool:
        """The chunk's orientations ``q`` at times ``t``: collected while counting down, and
        the pipeline calibrated once ``calibrate_s`` is in. Returns True when it decided
        (the state then says accepted or rejected; ``publish()`` called under ``lock``)."""
        if self.state.state != "countdown":
            return False
        if self._t0 is None:
            self._t0 = float(t[0])
        end = self._t0 + self.calibrate_s
        self._q.append(q[t < end])
        with lock:
            self.state.remaining_s = max(0.0, end - float(t[-1]))
        if t[-1] + 0.5 / rate_hz < end:
            return False
        from sacrum.signal.angles import CalibrationError

        window = np.concatenate(self._q)
        self._q = []
        try:
            cal = pipeline.calibrate(window)
        except CalibrationError as e:
            state, msg = "rejected", str(e)
        else:
            state = "accepted"
            msg = (f"accepted: tilt {math.degrees(cal.tilt_offset_rad):+.1f}°, obliquity "
                   f"{math.degrees(cal.obliquity_offset_rad):+.1f}° zeroed")
        with lock:
            self.state.state = state
            self.state.message = msg
            self.state.remaining_s = 0.0
            self.state.calibrated = pipeline.calibration is not None
            publish()
        return True


__all__ = ["ManualCalibration"]
