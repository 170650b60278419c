"""The live session's analysis: each chunk on the session time axis through the walking scorer,
the running stage beside it and the manual calibration, and the requests from the GUI that
touch them (docs/live.md, "Thread model", and docs/running.md, "Live").

:class:`AnalysisFeed` makes the :class:`~sacrum.scoring.livescore.LiveScorer` and the
:class:`~sacrum.apps.live.running.RunningFeed` at the first chunk with a known rate (the
mounting given, or estimated from the stream: ``LiveScorer(estimate_mounting=True)``), and
feeds them in the engine thread. Walking and running share the stream, so the
:class:`~sacrum.apps.live.running.RunGate` says, at each sample, where the session runs:
the walking mounting estimator does not learn from running samples (the scorer's
``learn_mask``), no walking cue is given for a step that overlaps running (the athlete's
running cue is given there), and once the running stage has its own estimate of the
mounting (from 20 running contacts) that is the mounting (``LiveScorer.adopt_mounting``),
as ``sacrum analyze`` takes it for a session that runs. Only the scorer's public API is
used.

With ``walking=False`` (a session with no walking or running in it: ``sacrum exercise``,
whose programmes are the exercises of docs/exercises.md) the walking parts are not run:
no gait events (so no steps, turns or walking zero), no progression heading (rotation
NaN), no running stage or gate; the orientation, the standing calibration and the pelvic
tilt and obliquity still are. The GUI's threshold and
calibration requests are queued (:meth:`request_threshold`, :meth:`request_calibration`)
and applied before the next chunk. Not thread-safe by itself but for those two and
:meth:`threshold_deg`, which take ``pub``'s lock.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import replace
from typing import Any

import numpy as np

from sacrum.apps.live.calibration import ManualCalibration
from sacrum.apps.live.model import Publisher
from sacrum.apps.live.running import RunGate, RunningFeed
from sacrum.scoring.livescore import LiveScorer

_GAP_BLOCK_S = 10.0  # lost samples are handed to the scorer in blocks of this length (memory)


class AnalysisFeed:
    """The samples through the live analysis (module docstring).

    mount: the ``parse_mount`` spec (None: estimated from the stream); threshold_deg: the
    cue threshold asked for (deg; None: the bands'); keep_s: seconds the scorer keeps (s);
    cue_every: running cues at most once every N running steps; calibrate_s: the manual
    calibration's length (s); pub: the session's lock and publish; walking: False: no gait
    events, progression heading or running stage (module docstring; ``running`` and
    ``gate`` stay None).
    """

    def __init__(self, pub: Publisher, *, mount: str | None, threshold_deg: float | None,
                 keep_s: float, cue_every: int, calibrate_s: float,
                 walking: bool = True) -> None:
        self._pub = pub
        self.walking = bool(walking)
        self.mount = mount
        self.threshold_request = threshold_deg
        self.keep_s = float(keep_s)
        self.cue_every = int(cue_every)
        self.manual = ManualCalibration(calibrate_s)
        self._pending: deque[tuple[str, Any]] = deque()  # requests for the engine thread
        self.scorer: LiveScorer | None = None
        self.running: RunningFeed | None = None
        self.gate: RunGate | None = None
        #: the running's mounting was adopted (``LiveScorer.adopt_mounting``); None: not
        #: (yet)
        self.running_mount: np.ndarray | None = None
        self.rate_hz = math.nan
        self._use_device_q: bool | None = None

    @property
    def started(self) -> bool:
        return self.scorer is not None

    def start(self, chunk, rate_hz: float) -> None:
        """The first chunk: the scorer and the running stage at ``rate_hz``; the device's
        quaternion is used when the first one is a unit quaternion."""
        from sacrum.signal.mounting import parse_mount

        self.rate_hz = rate_hz
        q0 = chunk.q[0]
        self._use_device_q = bool(abs(float(np.dot(q0, q0)) - 1.0) < 0.1)
        # memory flat over any session: the scorer keeps what the display keeps (at least
        # 10 min for the session summary); sacrum analyze covers a whole recording
        walking = self.walking
        self.scorer = LiveScorer(
            rate_hz, parse_mount(self.mount or "recommended"),
            threshold_deg=self.threshold_request, keep_s=self.keep_s,
            estimate_mounting=self.mount is None and walking, walking_zero=walking,
            pipeline_params=None if walking else {"live_heading": False,
                                                  "gait_events": False})
        if walking:
            self.running = RunningFeed(rate_hz, self.scorer, self.threshold_request,
                                       self.cue_every)
            self.gate = RunGate(rate_hz)

    def update(self, t_s: np.ndarray, chunk):
        """One chunk at session times ``t_s``: the scorer's update (LiveUpdate; its cues
        without the steps that overlap running), the running stage (fed again from the kept
        samples when the scorer scored them again), the running's mounting once it has one,
        and a manual calibration that is counting down."""
        q = chunk.q if self._use_device_q else None
        if self.running is None:
            u = self.scorer.update(t_s, chunk.acc_mps2, chunk.gyr_radps, q)
        else:
            u = self.scorer.update(t_s, chunk.acc_mps2, chunk.gyr_radps, q,
                                   learn_mask=~self.gate.update(t_s, chunk.acc_mps2))
            if u.rescored:  # the kept samples in another mounting or zero: the running's too
                self.running.refeed()
            else:
                self.running.update(t_s, chunk.acc_mps2, u)
            self._adopt_running_mount()
        if any(u.cues) and self.gate is not None:
            u = replace(u, cues=[c and not self._overlaps_running(s)
                                 for s, c in zip(u.steps, u.cues, strict=True)])
        if not any(w == "calibrate" for w, _ in self._pending):
            self.manual.step(t_s, u.chunk.q_sensor_to_earth, self.rate_hz,
                             self.scorer.pipeline, self._pub.lock, self._pub.publish)
        return u

    def _overlaps_running(self, step) -> bool:
        """Whether a walking step, from its IC over its stride (or step), overlaps running."""
        dur = step.stride_time_s if math.isfinite(step.stride_time_s) else step.step_time_s
        return self.gate.overlaps(step.t_ic_s, step.t_ic_s + (dur if math.isfinite(dur)
                                                               else 0.0))

    def _adopt_running_mount(self) -> None:
        """Without ``--mount``: the running stage's estimate, once made, is the mounting."""
        est = self.running.stage.running_mount
        if self.mount is not None or est is None or self.running_mount is not None:
            return
        self.running_mount = np.asarray(est, float)
        n = self.running.stage.mount_contacts
        self.scorer.adopt_mounting(est, f"estimated from {n} running contacts (the "
                                   "braking-propulsion direction of each contact; "
                                   "sacrum.signal.running.estimate_running_mount)")

    def gap(self, t0_s: float, n: int):
        """``n`` lost samples from ``t0_s`` (s) as NaN rows, in blocks: yields (t, update)."""
        period = 1.0 / self.rate_hz
        block = max(1, round(_GAP_BLOCK_S / period))
        for k in range(0, n, block):
            m = min(block, n - k)
            t = t0_s + (k + np.arange(m)) * period
            nan3 = np.full((m, 3), np.nan)
            mask = None if self.gate is None else ~self.gate.update(t, nan3)
            u = self.scorer.update(t, nan3, nan3, np.full((m, 4), np.nan)
                                   if self._use_device_q else None, learn_mask=mask)
            if self.running is not None:
                self.running.gap(t)
            yield t, u

    def flush(self):
        """The end of the data: the scorer's last update (its steps still waiting)."""
        u = self.scorer.flush()
        if self.running is not None:
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
                self.scorer.set_threshold(value)
                if self.running is not None:
                    self.running.set_threshold(self.threshold_request)
            elif what == "calibrate":
                self.manual.restart()  # starts with the next sample

    def threshold_deg(self) -> dict[str, float]:
        """The cue threshold per side (deg): the scorer's, or the one asked for."""
        with self._pub.lock:
            if self.scorer is not None and not any(w == "threshold" for w, _ in self._pending):
                return dict(self.scorer.threshold_deg)
        from sacrum.scoring.score import load_bands

        return LiveScorer.cue_thresholds(self.threshold_request, load_bands())


__all__ = ["AnalysisFeed"]
