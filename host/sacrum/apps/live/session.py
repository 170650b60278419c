"""The live session, without Qt: transport → decoder → scorer → snapshots.

:class:`LiveSession` runs one :class:`~sacrum.io.transports.Transport` in its own thread
with its own asyncio loop (or in the caller's thread: :meth:`LiveSession.run_sync`),
decodes packets with :class:`~sacrum.io.stream.StreamDecoder`, runs
:class:`~sacrum.scoring.livescore.LiveScorer`, optionally records everything into a capture,
and publishes a :class:`~sacrum.apps.live.model.LiveSnapshot` that any thread can take at
any time (the window takes one per frame and only draws it). Its parts, one job each:

* :mod:`sacrum.apps.live.engine` - the engine thread and its transport;
* this module - each item from it: decoded, put on the session time axis, scored;
* :mod:`sacrum.apps.live.model` - the state the window draws and its snapshot;
* :mod:`sacrum.apps.live.recording` - the capture being written;
* :mod:`sacrum.apps.live.calibration` - the manual standing calibration;
* :mod:`sacrum.apps.live.converge` - the offline analysis shown once the data end.

Steps, per item from the transport:

1. A :class:`~sacrum.io.transports.Packet` is written to the recording (if one is open)
   exactly as it arrived, then decoded. Anything that does not decode is counted by the
   decoder; anything that is not a packet or a link event is counted as ``bad_items``.
2. The samples of a decoded chunk go on the session time axis (device time since the
   first packet, s; after a reconnection, continued by the wall-clock time between).
   Lost samples become NaN rows at their place (the pipeline's convention).
3. Requests from the GUI that touch the analysis (threshold, calibration) are applied.
4. ``LiveScorer.update``: angles, gait events, steps, rolling summary, score, cues. An
   exception there is logged and counted; the samples are kept (as NaN angles).
5. A manual calibration collects ``calibrate_s`` of orientations from the request on,
   then calls ``Pipeline.calibrate``: accepted, or rejected with the reason.
6. Everything the window needs is published under a lock: the ring of the last
   ``history_s`` of angles, gait events, per-stride curves, cues, tasks, marks, the
   summary, score and link state.

A :class:`~sacrum.io.transports.LinkEvent` updates the link state (disconnected,
reconnected, battery, RSSI) and is recorded as an EVENT record. The session never
raises out of its thread: a transport that fails or ends sets ``state`` and
``message``, and the data already received stay.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

import sacrum_protocol as sp
from sacrum.apps.live.calibration import ManualCalibration
from sacrum.apps.live.converge import analyse_capture, final_values
from sacrum.apps.live.engine import TransportRunner
from sacrum.apps.live.model import (
    CURVE_POINTS,
    TASK_LABELS,
    CalibrationState,
    Cue,
    LinkStatus,
    LiveSnapshot,
    LiveView,
    StrideCurve,
)
from sacrum.apps.live.recording import SessionRecording
from sacrum.apps.live.running import final_running_state
from sacrum.io.capture import CaptureWriter
from sacrum.io.transports import LinkEvent, Packet, Transport

log = logging.getLogger(__name__)

#: Tasks scored with the walking bands by LiveScorer (bands.toml [score] tasks).
_STEPPING = ("walk", "stairs-up", "stairs-down")
_GAP_BLOCK_S = 10.0  # lost samples are handed to the scorer in blocks of this length (memory)

TransportFactory = Callable[[], Transport]


class LiveSession:
    """One live session on one transport (steps in the module docstring).

    open_transport: makes a new transport (called at each :meth:`start`/:meth:`connect`).
    mount: the mounting as ``sacrum.signal.mounting.parse_mount`` reads it; None (the
    default): estimated from the stream as ``sacrum analyze`` estimates it from the
    recording (``LiveScorer(estimate_mounting=True)``: the recommended one,
    hardware/MOUNTING.md, until the estimate is confident, then the steps so far are scored
    again with the estimate). threshold_deg: cue threshold on the
    contralateral drop (deg; None: the bands' normal_max, 7°). history_s: samples kept for
    display and scrolling back (s). overlay_strides: strides kept for the overlay.
    calibrate_s: length of a manual standing calibration (s). record_to: start recording
    into this capture as soon as the session starts. script: annotations to apply when the
    packets reach their host time, as (host_time_ns, annotation): a replayed capture's own
    task and mark records (``capture_annotations``), so a replay shows its tasks.
    final_capture: the capture this session's data also is (a replay's file); without it,
    the recording. When the data end, the session shows its offline analysis
    (:meth:`converge`). cue_every: running cues at most once every this many running
    steps (``sacrum.scoring.running.LiveRunning``, which runs beside the walking scorer:
    the snapshot's ``running``).
    """

    def __init__(self, open_transport: TransportFactory, *, mount: str | None = None,
                 threshold_deg: float | None = None, history_s: float = 120.0,
                 overlay_strides: int = 12, calibrate_s: float = 3.0,
                 record_to: str | Path | None = None,
                 script: list[tuple[int, dict[str, Any]]] = (),
                 final_capture: str | Path | None = None, cue_every: int = 1) -> None:
        self._factory = open_transport
        self.cue_every = int(cue_every)
        self._final_capture = final_capture
        self.final_analysis: dict[str, Any] | None = None
        self._script = deque(sorted(script, key=lambda a: a[0]))
        self.mount = mount
        self.history_s = float(history_s)
        self._threshold_request: float | None = threshold_deg
        self._overlay_n = int(overlay_strides)
        self._record_to = record_to
        self._lock = threading.RLock()
        self._runner = TransportRunner(self)
        self._recording = SessionRecording(self._recording_status)
        self._manual = ManualCalibration(calibrate_s)
        self.transport: Transport | None = None
        self.link = LinkStatus()
        self.calibration: CalibrationState = self._manual.state
        self._pending: deque[tuple[str, Any]] = deque()  # requests for the engine thread
        self._seq = 0
        self._scorer = None
        #: called in the engine thread with (t_s, chunk, update) after each chunk is scored
        #: (the decoded chunk, the LiveScorer's update): another live processor on the same
        #: samples and fusion (``sacrum exercise``'s guided session). Exceptions count as
        #: analysis errors, as the scorer's do.
        self.sample_hook: Callable[[np.ndarray, Any, Any], None] | None = None
        self._decoder = None
        self.view = LiveView(self._overlay_n)
        self._reset_data()

    # -- state -----------------------------------------------------------------------------
    def _reset_data(self) -> None:
        from sacrum.io.stream import StreamDecoder

        self._decoder = StreamDecoder()
        self._scorer = None
        self._running = None  # sacrum.scoring.running.LiveRunning
        self.view.reset()
        self._rate_hz = math.nan
        self._use_device_q: bool | None = None
        self._t_offset_s = 0.0
        self._t_next_s = math.nan  # session time of the next expected sample
        self._disconnected_at: float | None = None  # perf_counter when the link went down
        self._tracker = None  # sacrum.scoring.livetask.LiveTaskTracker while a held task runs
        self._manual.restart()

    @property
    def calibrate_s(self) -> float:
        """Length of a manual standing calibration (s)."""
        return self._manual.calibrate_s

    @property
    def writer(self) -> CaptureWriter | None:
        """The capture being written (None: not recording)."""
        return self._recording.writer

    @property
    def running(self) -> bool:
        return self._runner.running

    @property
    def scorer(self):
        """The :class:`~sacrum.scoring.livescore.LiveScorer` (None before the first samples).
        Read it from the engine thread or once the session has stopped."""
        return self._scorer

    @property
    def running_stage(self):
        """The :class:`~sacrum.scoring.running.LiveRunning` beside the scorer (None before
        the first samples): its live values, which the snapshot replaces by the final
        analysis' once the data end. Read it as :attr:`scorer`."""
        return self._running

    @property
    def t_now_s(self) -> float:
        with self._lock:
            return self.view.t_now_s

    # -- running (sacrum.apps.live.engine) ---------------------------------------------------
    def start(self) -> None:
        """Connect and run in a background thread (returns at once)."""
        self._runner.start()

    def run_sync(self) -> None:
        """Connect and run in this thread until the transport ends (tests, headless)."""
        self._runner.run_sync()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Disconnect and wait for the engine thread to end. Data are kept."""
        self._runner.stop(timeout_s)

    def disconnect(self) -> None:
        """The window's disconnect: stop the link, keep the data."""
        self.stop()
        with self._lock:
            self.link.state = "disconnected"
            self.link.message = "disconnected by the user; data kept"
            self._disconnected_at = time.perf_counter()
            self._publish()

    def connect(self) -> None:
        """The window's connect: a new transport, continuing this session's time axis."""
        if self.running:
            return
        with self._lock:
            self._decoder.reset()  # the device may have restarted its counters
            if self.view.ring is not None:
                self._disconnected_at = self._disconnected_at or time.perf_counter()
        self.start()

    def open_transport(self) -> Transport:
        """The engine's: a new transport from the factory, its kind and device noted."""
        transport = self._factory()
        self.transport = transport
        with self._lock:
            self.link.kind = transport.info.kind
            self.link.device = dict(transport.info.device)
        return transport

    def connected(self) -> None:
        """The engine's: the transport is open (a recording asked for starts now)."""
        self.set_link("connected", "")
        if self._record_to is not None:
            err = self.start_recording(self._record_to)
            self._record_to = None
            if err:
                self.set_link("connected", err)

    def data_ended(self, kind: str) -> None:
        """The engine's: the capture (a replay) or the link ended by itself."""
        what = "capture" if kind == "replay" else "link"
        self.finish()
        self.converge()
        self.set_link("ended", f"the {what} ended; data kept")

    def finish(self) -> None:
        """End of the data: the steps still waiting for events that will not come."""
        if self._scorer is None:
            return
        try:
            u = self._scorer.flush()
            if self._running is not None:
                self._running.flush()
        except Exception as e:
            log.exception("scorer flush failed")
            with self._lock:
                self.link.analysis_errors += 1
                self.view.message = f"analysis error at the end: {e}"
            return
        with self._lock:
            self.view.take_update(u, self.view.t_now_s, self._scorer, self.calibration)
            self._publish()

    def converge(self) -> dict[str, Any] | None:
        """End of the data: the offline analysis of the same capture, which from now on is
        what the session shows (score, interval, components, drops, cadence, steps), so the
        window, the headless summary and ``sacrum analyze CAPTURE`` give one answer. The
        capture is the replayed file, or the recording being written (it is flushed per
        record). Returns the analysis document (None: no capture, or it failed: said in
        the message). ``sacrum.analysis.analyze`` with its defaults: the mounting estimated
        from the recording, as ``sacrum analyze`` does (:mod:`sacrum.apps.live.converge`)."""
        path = self._final_capture or self._recording.path
        if path is None:
            return None
        try:
            doc = analyse_capture(path)
        except Exception as e:  # a capture too short or damaged: the live values stay
            log.warning("final analysis of %s failed: %s", path, e)
            with self._lock:
                self.view.message = f"the live values (the final analysis failed: {e})"
                self._publish()
            return None
        with self._lock:
            self.final_analysis = doc
            self._publish()
        return doc

    def set_link(self, state: str, message: str) -> None:
        """The link state and message the connection panel shows."""
        with self._lock:
            self.link.state = state
            self.link.message = message
            self._publish()

    def _publish(self) -> None:
        self._seq += 1

    # -- the items -------------------------------------------------------------------------
    def handle(self, item: Any, arrival_ns: int | None = None) -> None:
        """Process one item from a transport (steps 1-6); never raises."""
        arrival_ns = time.perf_counter_ns() if arrival_ns is None else arrival_ns
        if isinstance(item, LinkEvent):
            self._link_event(item)
            return
        if not isinstance(item, Packet):
            with self._lock:
                self.link.bad_items += 1
                self._publish()
            return
        self._recording.packet(item, arrival_ns, self._info(), self.view.task)  # step 1
        try:
            chunk = self._decoder.update(item)
        except Exception as e:  # the decoder counts what it knows; anything else here
            log.warning("undecodable packet: %s", e)
            with self._lock:
                self.link.bad_items += 1
            return
        if chunk is not None:
            try:
                self._chunk(chunk, arrival_ns)
            except Exception as e:
                log.exception("live analysis failed")
                with self._lock:
                    self.link.analysis_errors += 1
                    self.view.message = f"analysis error: {e}"
                    self._publish()
        while self._script and self._script[0][0] <= item.host_time_ns:
            self._annotate(self._script.popleft()[1])

    def _info(self):
        return self.transport.info if self.transport else None

    def _annotate(self, ann: dict[str, Any]) -> None:
        try:
            if ann.get("type") == "task_start":
                self.set_task(ann.get("task"))
            elif ann.get("type") == "task_stop" and ann.get("task") == self.view.task:
                self.set_task(None)
            elif ann.get("type") == "mark":
                self.mark(str(ann.get("note", "")))
        except ValueError as e:  # an unknown task in the capture: skip it, say so
            log.warning("annotation skipped: %s", e)
            with self._lock:
                self.link.bad_items += 1

    def _link_event(self, ev: LinkEvent) -> None:
        self._recording.event(ev)
        with self._lock:
            f = ev.fields
            if ev.type == "disconnected":
                self.link.state = "disconnected"
                self.link.disconnects += 1
                self.link.message = ("link lost" + (f": {f['reason']}" if f.get("reason")
                                                    else "") + "; data kept, waiting for it")
            elif ev.type in ("connected", "reconnected"):
                self.link.state = "connected"
                self.link.message = "reconnected" if ev.type == "reconnected" else ""
                if ev.type == "reconnected":
                    self.link.reconnects += 1
            elif ev.type == "rssi" and "rssi_dbm" in f:
                self.link.rssi_dbm = f["rssi_dbm"]
            elif ev.type == "battery" and "battery_percent" in f:
                self.link.battery_percent = f["battery_percent"]
            elif ev.type == "device":
                self.link.device.update(f)
            self._publish()

    def _rate_of(self, chunk) -> float:
        rate = self.link.device.get("rate_hz")
        if rate:
            return float(rate)
        if len(chunk.t_device_s) >= 2:
            dt = float(chunk.t_device_s[1] - chunk.t_device_s[0])
            if dt > 0:
                # the nearest of the rates the protocol allows; else as measured
                return float(min(sp.RATES_HZ, key=lambda r: abs(r - 1 / dt))
                             if min(abs(r * dt - 1) for r in sp.RATES_HZ) < 0.05 else 1 / dt)
        return math.nan

    def _start_scoring(self, chunk) -> bool:
        from sacrum.scoring.livescore import LiveScorer
        from sacrum.signal.mounting import parse_mount

        rate = self._rate_of(chunk)
        if not math.isfinite(rate):
            return False  # a one-sample chunk: wait for the next
        self._rate_hz = rate
        q0 = chunk.q[0]
        self._use_device_q = bool(abs(float(np.dot(q0, q0)) - 1.0) < 0.1)
        # memory flat over any session: the scorer keeps what the display keeps (at least
        # 10 min for the session summary); sacrum analyze covers a whole recording
        self._scorer = LiveScorer(rate, parse_mount(self.mount or "recommended"),
                                  threshold_deg=self._threshold_request,
                                  keep_s=max(600.0, self.history_s),
                                  estimate_mounting=self.mount is None,
                                  walking_zero=True)
        from sacrum.scoring.running import LiveRunning

        self._running = LiveRunning(rate, self._scorer.pipeline.angles.q_sensor_to_body,
                                    threshold_deg=self._running_threshold(),
                                    cue_every=self.cue_every)
        self.view.start(round(self.history_s * rate))
        if self.view.task is not None and self.view.task not in _STEPPING:
            self._start_tracker(self.view.task)  # a held task chosen before the first samples
        self._t_offset_s = -float(chunk.t_device_s[0])
        with self._lock:
            self.link.rate_hz = rate
        return True

    def _chunk(self, chunk, arrival_ns: int) -> None:
        if self._scorer is None and not self._start_scoring(chunk):
            return
        period = 1.0 / self._rate_hz
        if self._disconnected_at is not None:  # after a reconnection: wall-clock time
            gap_s = time.perf_counter() - self._disconnected_at
            self._disconnected_at = None
            self._t_offset_s = (self._t_next_s - float(chunk.t_device_s[0])
                                + round(gap_s / period) * period)
        t = chunk.t_device_s + self._t_offset_s  # step 2
        if math.isfinite(self._t_next_s) and t[0] < self._t_next_s - 0.5 * period:
            # the device clock went back (a restart): continue the axis where it was
            self._t_offset_s += self._t_next_s - float(t[0])
            t = chunk.t_device_s + self._t_offset_s
        lost = chunk.lost_before
        if math.isfinite(self._t_next_s):
            lost = max(lost, round((t[0] - self._t_next_s) / period))
        if lost > 0:
            self._fill_gap(t[0] - lost * period, lost, period)
        self._apply_requests()  # step 3
        q = chunk.q if self._use_device_q else None
        try:  # step 4
            u = self._scorer.update(t, chunk.acc_mps2, chunk.gyr_radps, q)
        except Exception:
            with self._lock:
                self.view.ring.append(t, np.full((len(t), 4), np.nan))
                self._t_next_s = float(t[-1]) + period
            raise
        self._running.update(t, chunk.acc_mps2, u.chunk.q_sensor_to_earth, u.chunk.angles_rad,
                             q_sensor_to_body=self._scorer.pipeline.angles.q_sensor_to_body)
        if not any(w == "calibrate" for w, _ in self._pending):  # step 5
            self._manual.step(t, u.chunk.q_sensor_to_earth, self._rate_hz,
                              self._scorer.pipeline, self._lock, self._publish)
        tracker = self._tracker
        if tracker is not None:  # a held task: its own live processor
            self._track(tracker, t, u, chunk.gyr_radps)
        if self.sample_hook is not None:
            self.sample_hook(t, chunk, u)
        with self._lock:  # step 6
            self.view.append(t, u.chunk)
            self._t_next_s = float(t[-1]) + period
            self.view.newest_arrival_ns = arrival_ns
            self.view.take_update(u, float(t[-1]), self._scorer, self.calibration)
            self._publish()

    def _track(self, tracker, t_s, u, gyr_radps) -> None:
        """Feed a held task's processor: angles (rad) relative to the calibration, body
        angular rate (rad/s), and the scorer's body acceleration (m/s², z up)."""
        from sacrum.scoring.tasks.frames import to_body_frame

        q_body = self._scorer.pipeline.angles.q_sensor_to_body
        gyr_body = to_body_frame(np.asarray(gyr_radps, float), q_body)
        tracker.update(t_s, u.chunk.angles_rad, gyr_body, u.acc_body_mps2)

    def _fill_gap(self, t0_s: float, n: int, period: float) -> None:
        """Lost samples as NaN rows, through the scorer and into the ring."""
        with self._lock:
            self.view.gaps.append((t0_s, t0_s + n * period))
        block = max(1, round(_GAP_BLOCK_S / period))
        for k in range(0, n, block):
            m = min(block, n - k)
            t = t0_s + (k + np.arange(m)) * period
            nan3 = np.full((m, 3), np.nan)
            u = self._scorer.update(t, nan3, nan3, np.full((m, 4), np.nan)
                                    if self._use_device_q else None)
            self._running.update(t, nan3, np.full((m, 4), np.nan), nan3)
            with self._lock:
                self.view.append(t, u.chunk)
                self.view.take_update(u, float(t[-1]), self._scorer, self.calibration)

    # -- requests from the GUI thread ------------------------------------------------------
    def _apply_requests(self) -> None:
        while self._pending:
            what, value = self._pending.popleft()
            if what == "threshold":
                self._scorer.threshold_deg = dict(self._scorer._thresholds(
                    value, self._scorer.bands))
                self._running.threshold_deg = self._running_threshold()
            elif what == "calibrate":
                self._manual.restart()  # starts with the next sample

    def _running_threshold(self) -> float:
        """The running cue threshold (deg): the one asked for, else the walking cue's."""
        if self._threshold_request is not None:
            return float(self._threshold_request)
        return float(max(self._scorer.threshold_deg.values()))

    def set_threshold_deg(self, threshold_deg: float | None) -> None:
        """The cue threshold on the contralateral drop (deg, both sides; None: the bands')."""
        with self._lock:
            self._threshold_request = threshold_deg
            self._pending.append(("threshold", threshold_deg))
            self._publish()

    def threshold_deg(self) -> dict[str, float]:
        with self._lock:
            if self._scorer is not None and not any(w == "threshold" for w, _ in self._pending):
                return dict(self._scorer.threshold_deg)
        from sacrum.scoring.livescore import LiveScorer
        from sacrum.scoring.score import load_bands

        return LiveScorer._thresholds(self._threshold_request, load_bands())

    def calibrate(self) -> None:
        """Start a manual standing calibration: ``calibrate_s`` of the data from now on
        (:mod:`sacrum.apps.live.calibration`)."""
        with self._lock:
            self._manual.request()
            self._pending.append(("calibrate", None))
            self._publish()

    # -- recording and annotations (sacrum.apps.live.recording) ------------------------------
    def _recording_status(self, recording: str | None, error: str | None) -> None:
        with self._lock:
            self.link.recording = recording
            if error is not None:
                self.link.recording_error = error
            self._publish()

    def start_recording(self, path: str | Path) -> str:
        """Record into a new capture at ``path``; returns "" or why it could not. Before the
        first packet the file is opened when it comes (its header then carries the packets'
        clock, which for a replay is the recording's)."""
        return self._recording.start(path, self._info(), self.view.task)

    def stop_recording(self) -> str | None:
        """Close the recording (the open task is stopped in it); returns its path."""
        return self._recording.stop(self.view.task)

    def set_task(self, task: str | None) -> None:
        """Start ``task`` (ending the current one), or end the current one (None); both are
        written as annotation records into the recording, if one is open."""
        if task is not None and task not in sp.TASKS:
            raise ValueError(f"unknown task {task!r}; one of {', '.join(sp.TASKS)}")
        view = self.view
        with self._lock:
            if task == view.task:
                return
            now = self.t_now_s if view.ring is not None else 0.0
            old = view.task
            if old is not None and view.tasks:
                name, t0, _ = view.tasks[-1]
                view.tasks[-1] = (name, t0, now)
            if task is not None:
                view.tasks.append((task, now, None))
            view.task = task
            self._publish()
        self._recording.task_change(old, task)
        if task in _STEPPING and self._scorer is not None:
            self._scorer.task = task
        self._start_tracker(task)

    def _start_tracker(self, task: str | None) -> None:
        """Single-leg stance and step-down/up are scored live by their own processors
        (sacrum.scoring.livetask, the same code as sacrum analyze); walking by LiveScorer."""
        from sacrum.scoring.livetask import LiveTaskTracker
        from sacrum.scoring.task_kinds import task_kind

        tracker = None
        if (task is not None and task not in _STEPPING and self._scorer is not None
                and task_kind(task)[0] in ("stance", "repetitions")):
            # exercises and running have no live tracker here (sacrum exercise feeds the
            # exercise segmenters through sample_hook)
            tracker = LiveTaskTracker(task, bands=self._scorer.bands)
        with self._lock:
            self._tracker = tracker
            self._publish()

    def mark(self, note: str) -> None:
        """A mark with a note at the newest sample (and in the recording)."""
        with self._lock:
            self.view.marks.append((self.t_now_s if self.view.ring is not None else 0.0, note))
            self._publish()
        self._recording.mark(note)

    # -- the snapshot (sacrum.apps.live.model) -----------------------------------------------
    @property
    def seq(self) -> int:
        return self._seq

    def snapshot(self, span_s: float = 10.0) -> LiveSnapshot:
        """The state of the session, with the last ``span_s`` of samples (s)."""
        with self._lock:
            link = replace(self.link, device=dict(self.link.device),
                           loss=replace(self._decoder.loss, gap_list=[]))
            t_rec = self.transport.info if self.transport is not None else None
            if t_rec is not None:  # what the transport knows beyond its events
                link.rssi_dbm = link.rssi_dbm if t_rec.rssi_dbm is None else t_rec.rssi_dbm
                link.battery_percent = (link.battery_percent if t_rec.battery_percent is None
                                        else t_rec.battery_percent)
                link.reconnects = max(link.reconnects, t_rec.reconnects)
            if self._recording.writer is not None:
                link.recording_bytes = self._recording.bytes_written
            thr = (dict(self._scorer.threshold_deg) if self._scorer is not None
                   else self.threshold_deg())
            final = final_values(self.final_analysis) if self._tracker is None else None
            snap = self.view.snapshot(span_s, seq=self._seq, link=link,
                                      calibration=replace(self.calibration),
                                      threshold_deg=thr, tracker=self._tracker, final=final)
            running = (final_running_state(self.final_analysis, self._running.state())
                       if self._running is not None else None)
            return replace(snap, running=running)


def capture_annotations(path: str | Path) -> list[tuple[int, dict[str, Any]]]:
    """The task and mark records of a capture as (host_time_ns, annotation), for ``script``."""
    from sacrum.io.capture import CaptureReader

    out = []
    for rec in CaptureReader(path).records():
        if rec.kind == sp.KIND_ANNOTATION:
            try:
                out.append((rec.host_time_ns, rec.json()))
            except ValueError:
                log.warning("unreadable annotation at byte %d skipped", rec.offset)
    return out


__all__ = ["CURVE_POINTS", "TASK_LABELS", "CalibrationState", "Cue", "LinkStatus",
           "LiveSession", "LiveSnapshot", "StrideCurve", "capture_annotations"]
