"""The live session's analysis: each chunk on the session time axis through the walking scorer,
the running stage beside it and the manual calibration, and the requests from the GUI that
touch them (docs/live.md, "Thread model").

:class:`AnalysisFeed` makes the :class:`~sacrum.scoring.livescore.LiveScorer` and the
:class:`~sacrum.apps.live.running.RunningFeed` at the first chunk with a known rate (the
mounting given, or estimated from the stream: ``LiveScorer(estimate_mounting=True)``), and
feeds them in the engine thread. The GUI's threshold and calibration requests are queued
(:meth:`request_threshold`, :meth:`request_calibration`) and applied before the next
chunk. Not thread-safe by itself but for those two and :meth:`threshold_deg`, which take
``pub``'s lock.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np

from sacrum.apps.live.calibration import ManualCalibration
from sacrum.apps.live.model import Publisher
from sacrum.apps.live.running import RunningFeed

_GAP_BLOCK_S = 10.0  # lost samples are handed to the scorer in blocks of this length (memory)


class AnalysisFeed:
    """The samples through the live analysis (module docstring).

    mount: the ``parse_mount`` spec (None: estimated from the stream); threshold_deg: the
    cue threshold asked for (deg; None: the bands'); keep_s: seconds the scorer keeps (s);
    cue_every: running cues at most once every N running steps; calibrate_s: the manual
    calibration's length (s); pub: the session's lock and publish.
    """

    def __init__(self, pub: Publisher, *, mount: str | None, threshold_deg: float | None,
                 keep_s: float, cue_every: int, calibrate_s: float) -> None:
        self._pub = pub
        self.mount = mount
        self.threshold_request = threshold_deg
        self.keep_s = float(keep_s)
        self.cue_every = int(cue_every)
        self.manual = ManualCalibration(calibrate_s)
        self._pending: deque[tuple[str, Any]] = deque()  # requests for the engine thread
        self.scorer = None
        self.running: RunningFeed | None = None
        self.rate_hz = math.nan
        self._use_device_q: bool | None = None

    @property
    def started(self) -> bool:
        return self.scorer is not None

    def start(self, chunk, rate_hz: float) -> None:
        """The first chunk: the scorer and the running stage at ``rate_hz``; the device's
        quaternion is used when the first one is a unit quaternion."""
        from sacrum.scoring.livescore import LiveScorer
        from sacrum.signal.mounting import parse_mount

        self.rate_hz = rate_hz
        q0 = chunk.q[0]
        self._use_device_q = bool(abs(float(np.dot(q0, q0)) - 1.0) < 0.1)
        # memory flat over any session: the scorer keeps what the display keeps (at least
        # 10 min for the session summary); sacrum analyze covers a whole recording
        self.scorer = LiveScorer(rate_hz, parse_mount(self.mount or "recommended"),
                                 threshold_deg=self.threshold_request, keep_s=self.keep_s,
                                 estimate_mounting=self.mount is None, walking_zero=True)
        self.running = RunningFeed(rate_hz, self.scorer, self.threshold_request,
                                   self.cue_every)

    def update(self, t_s: np.ndarray, chunk):
        """One chunk at session times ``t_s``: the scorer's update (LiveUpdate), the running
        stage, and a manual calibration that is counting down."""
        q = chunk.q if self._use_device_q else None
        u = self.scorer.update(t_s, chunk.acc_mps2, chunk.gyr_radps, q)
        self.running.update(t_s, chunk.acc_mps2, u)
        if not any(w == "calibrate" for w, _ in self._pending):
            self.manual.step(t_s, u.chunk.q_sensor_to_earth, self.rate_hz,
                             self.scorer.pipeline, self._pub.lock, self._pub.publish)
        return u

    def gap(self, t0_s: float, n: int):
        """``n`` lost samples from ``t0_s`` (s) as NaN rows, in blocks: yields (t, update)."""
        period = 1.0 / self.rate_hz
        block = max(1, round(_GAP_BLOCK_S / period))
        for k in range(0, n, block):
            m = min(block, n - k)
            t = t0_s + (k + np.arange(m)) * period
            nan3 = np.full((m, 3), np.nan)
            u = self.scorer.update(t, nan3, nan3, np.full((m, 4), np.nan)
                                   if self._use_device_q else None)
            self.running.gap(t)
            yield t, u

    def flush(self):
        """The end of the data: the scorer's last update (its steps still waiting)."""
        u = self.scorer.flush()
        self.running.flush()
        return u

    # -- requests from the GUI thread ------------------------------------------------------
    def request_threshold(self, threshold_deg: float | None) -> None:
        with self._pub.lock:
            self.threshold_request = threshold_deg
            self._pending.append(("threshold", threshold_deg))

    def request_calibration(self) -> None:
        with self._pub.lock:
            self.manual.request()
            self._pending.append(("calibrate", None))

    def apply_requests(self) -> None:
        """The engine thread, before a chunk: the requests queued since the last."""
        while self._pending:
            what, value = self._pending.popleft()
            if what == "threshold":
                self.scorer.threshold_deg = dict(self.scorer._thresholds(
                    value, self.scorer.bands))
                self.running.set_threshold(self.threshold_request)
            elif what == "calibrate":
                self.manual.restart()  # starts with the next sample

    def threshold_deg(self) -> dict[str, float]:
        """The cue threshold per side (deg): the scorer's, or the one asked for."""
        with self._pub.lock:
            if self.scorer is not None and not any(w == "threshold" for w, _ in self._pending):
                return dict(self.scorer.threshold_deg)
        from sacrum.scoring.livescore import LiveScorer
        from sacrum.scoring.score import load_bands

        return LiveScorer._thresholds(self.threshold_request, load_bands())


__all__ = ["AnalysisFeed"]
