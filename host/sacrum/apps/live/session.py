"""The live session, without Qt: transport → decoder → scorer → snapshots.

:class:`LiveSession` runs one :class:`~sacrum.io.transports.Transport` in its own thread
with its own asyncio loop (or in the caller's thread: :meth:`LiveSession.run_sync`),
decodes packets with :class:`~sacrum.io.stream.StreamDecoder`, runs
:class:`~sacrum.scoring.livescore.LiveScorer`, optionally records everything into a capture,
and publishes a :class:`~sacrum.apps.live.model.LiveSnapshot` that any thread can take at
any time (the window takes one per frame and only draws it). It is a facade over its
parts, one job each:

* :mod:`sacrum.apps.live.engine` - the engine thread and its transport;
* :mod:`sacrum.apps.live.link` - the link state the connection panel shows;
* :mod:`sacrum.apps.live.clock` - the session time axis and the samples lost;
* :mod:`sacrum.apps.live.feed` - the samples through the scorer, the running stage
  (:mod:`sacrum.apps.live.running`) and the manual calibration
  (:mod:`sacrum.apps.live.calibration`), and the GUI's requests to them;
* :mod:`sacrum.apps.live.tasks` - the tasks and marks, and a held task's processor;
* :mod:`sacrum.apps.live.recording` - the capture being written;
* :mod:`sacrum.apps.live.model` - the state the window draws and its snapshot;
* :mod:`sacrum.apps.live.converge` - the offline analysis shown once the data end.

Steps, per item from the transport (:meth:`LiveSession.handle`):

1. A :class:`~sacrum.io.transports.Packet` is written to the recording (if one is open)
   exactly as it arrived, then decoded. Anything that does not decode is counted by the
   decoder; anything that is not a packet or a link event is counted as ``bad_items``.
2. The samples of a decoded chunk go on the session time axis (the device clock on the
   capture's time, s, as ``sacrum analyze`` gives it, or from the first sample without a
   capture: :mod:`sacrum.apps.live.clock`; after a reconnection, continued by the
   wall-clock time between).
   Lost samples become NaN rows at their place (the pipeline's convention).
3. Requests from the GUI that touch the analysis (threshold, calibration) are applied.
4. ``LiveScorer.update``: angles, gait events, steps, rolling summary, score, cues; the
   running stage on the same samples. An exception there is logged and counted; the
   samples are kept (as NaN angles).
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
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

import sacrum_protocol as sp
from sacrum.apps.live.clock import SessionClock
from sacrum.apps.live.converge import Convergence
from sacrum.apps.live.engine import TransportRunner
from sacrum.apps.live.feed import AnalysisFeed
from sacrum.apps.live.link import LinkMonitor
from sacrum.apps.live.model import (
    CURVE_POINTS,
    TASK_LABELS,
    CalibrationState,
    Cue,
    LinkStatus,
    LiveSnapshot,
    LiveView,
    Publisher,
    StrideCurve,
)
from sacrum.apps.live.recording import SessionRecording
from sacrum.apps.live.tasks import TaskMarks
from sacrum.io.capture import CaptureWriter
from sacrum.io.transports import LinkEvent, Packet, Transport

log = logging.getLogger(__name__)

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
    the snapshot's ``running``). walking: False for a session with no walking or running
    in it (``sacrum exercise``): no gait events, progression heading or running stage
    (:class:`~sacrum.apps.live.feed.AnalysisFeed`; no steps, turns, walking score or
    snapshot ``running``); the orientation and the tilt and obliquity still are.
    """

    def __init__(self, open_transport: TransportFactory, *, mount: str | None = None,
                 threshold_deg: float | None = None, history_s: float = 120.0,
                 overlay_strides: int = 12, calibrate_s: float = 3.0,
                 record_to: str | Path | None = None,
                 script: list[tuple[int, dict[str, Any]]] = (),
                 final_capture: str | Path | None = None, cue_every: int = 1,
                 walking: bool = True) -> None:
        from sacrum.io.stream import StreamDecoder

        self._factory = open_transport
        self.mount = mount
        self.cue_every = int(cue_every)
        self.history_s = float(history_s)
        self._record_to = record_to
        self._pub = Publisher()
        self._lock = self._pub.lock
        self._runner = TransportRunner(self)
        self._link = LinkMonitor(self._pub)
        self._recording = SessionRecording(self._link.recording)
        self.link: LinkStatus = self._link.status
        self._clock = SessionClock()
        self._feed = AnalysisFeed(self._pub, mount=mount, threshold_deg=threshold_deg,
                                  keep_s=max(600.0, self.history_s), cue_every=cue_every,
                                  calibrate_s=calibrate_s, walking=walking)
        self.calibration: CalibrationState = self._feed.manual.state
        self.view = LiveView(int(overlay_strides))
        self._tasks = TaskMarks(self.view, self._recording, self._pub, script=script,
                                on_bad=self._link.bad_item)
        self._final = Convergence(final_capture)
        self._decoder = StreamDecoder()
        self.transport: Transport | None = None
        #: called in the engine thread with (t_s, chunk, update) after each chunk is scored
        #: (the decoded chunk, the LiveScorer's update): another live processor on the same
        #: samples and fusion (``sacrum exercise``'s guided session). Exceptions count as
        #: analysis errors, as the scorer's do.
        self.sample_hook: Callable[[np.ndarray, Any, Any], None] | None = None

    # -- what callers read -----------------------------------------------------------------
    @property
    def calibrate_s(self) -> float:
        """Length of a manual standing calibration (s)."""
        return self._feed.manual.calibrate_s

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
        return self._feed.scorer

    @property
    def running_stage(self):
        """The :class:`~sacrum.scoring.running.LiveRunning` beside the scorer (None before
        the first samples): its live values, which the snapshot replaces by the final
        analysis' once the data end. Read it as :attr:`scorer`."""
        return self._feed.running.stage if self._feed.running is not None else None

    @property
    def rate_hz(self) -> float:
        """The sample rate (Hz; NaN before the first samples)."""
        return self._feed.rate_hz

    @property
    def final_analysis(self) -> dict[str, Any] | None:
        """The final analysis document (:meth:`converge`; None before the data end)."""
        return self._final.doc

    @final_analysis.setter
    def final_analysis(self, doc: dict[str, Any] | None) -> None:
        with self._lock:
            self._final.doc, self._final.series = doc, None  # its numbers, not its series
            self._publish()

    @property
    def t_now_s(self) -> float:
        with self._lock:
            return self.view.t_now_s

    @property
    def seq(self) -> int:
        return self._pub.seq

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
            self._clock.link_down()
            self._publish()

    def connect(self) -> None:
        """The window's connect: a new transport, continuing this session's time axis."""
        if self.running:
            return
        with self._lock:
            self._decoder.reset()  # the device may have restarted its counters
            if self.view.ring is not None:
                self._clock.link_resuming()
            # live again: the live values, until the data end and converge once more
            self._final.doc, self._final.series = None, None
            self._publish()
        self.start()

    def open_transport(self) -> Transport:
        """The engine's: a new transport from the factory, its kind and device noted."""
        transport = self._factory()
        self.transport = transport
        self._link.opened(transport.info)
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

    def set_link(self, state: str, message: str) -> None:
        """The link state and message the connection panel shows."""
        self._link.set(state, message)

    def _publish(self) -> None:
        self._pub.publish()

    # -- the end of the data (sacrum.apps.live.converge) -------------------------------------
    def finish(self) -> None:
        """End of the data: the steps still waiting for events that will not come."""
        if not self._feed.started:
            return
        try:
            u = self._feed.flush()
        except Exception as e:
            log.exception("scorer flush failed")
            with self._lock:
                self.link.analysis_errors += 1
                self.view.message = f"analysis error at the end: {e}"
            return
        with self._lock:
            self.view.take_update(u, self.view.t_now_s, self.scorer, self.calibration)
            self._publish()

    def converge(self) -> dict[str, Any] | None:
        """End of the data: the offline analysis of the same capture, which from now on is
        what the session shows (score, interval, components, drops, cadence, steps), so the
        window, the headless summary and ``sacrum analyze CAPTURE`` give one answer. The
        capture is the replayed file, or the recording being written (it is flushed per
        record). Returns the analysis document (None: no capture, or it failed: said in
        the message). ``sacrum.analysis.analyze`` with its defaults: the mounting estimated
        from the recording, as ``sacrum analyze`` does (:mod:`sacrum.apps.live.converge`)."""
        doc, series, why = self._final.run(self._recording.path)
        with self._lock:
            if doc is not None:
                # from now on the snapshot's numbers, traces, steps, turns and strides are
                # the final analysis' (Convergence.values)
                self._final.doc, self._final.series = doc, series
            elif why:
                self.view.message = f"the live values (the final analysis failed: {why})"
            else:
                return None
            self._publish()
        return doc

    # -- the items -------------------------------------------------------------------------
    def handle(self, item: Any, arrival_ns: int | None = None) -> None:
        """Process one item from a transport (steps 1-6); never raises."""
        arrival_ns = time.perf_counter_ns() if arrival_ns is None else arrival_ns
        if isinstance(item, LinkEvent):
            self._recording.event(item)
            self._link.event(item)
            return
        if not isinstance(item, Packet):
            self._link.bad_item(publish=True)
            return
        self._recording.packet(item, arrival_ns, self._info(), self.view.task)  # step 1
        try:
            chunk = self._decoder.update(item)
        except Exception as e:  # the decoder counts what it knows; anything else here
            log.warning("undecodable packet: %s", e)
            self._link.bad_item()
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
        self._tasks.due(item.host_time_ns, self.set_task, self.mark)

    def _info(self):
        return self.transport.info if self.transport else None

    def _start(self, chunk) -> bool:
        """The first chunk with a known rate: the axis, the analysis and the ring start."""
        rate = self._clock.rate_of(chunk, self.link.device.get("rate_hz"))
        if not math.isfinite(rate):
            return False  # a one-sample chunk: wait for the next
        self._feed.start(chunk, rate)
        self.view.start(round(self.history_s * rate))
        self._tasks.started(self.scorer)  # a held task chosen before the first samples
        self._clock.start(chunk, rate, *self._capture_time(chunk))
        with self._lock:
            self.link.rate_hz = rate
        return True

    def _capture_time(self, chunk) -> tuple[float | None, float]:
        """(time of the chunk's first sample, drift) on the capture the session converges
        to: the replayed file's clock map, or the arrival of the chunk in the recording
        opened with the first packet; (None, 0): no capture (:mod:`sacrum.apps.live.clock`)."""
        if self._final.capture is not None:
            from sacrum.io.decode import decode_capture

            try:
                table = decode_capture(self._final.capture)
                return float(table.t_s[0]), float(table.clock.drift)
            except Exception as e:  # the final analysis will say what is wrong
                log.warning("the capture's clock not read: %s", e)
                return None, 0.0
        writer = self._recording.writer
        start_ns = writer.header.get("start_time_ns") if writer is not None else None
        if not isinstance(start_ns, int):
            return None, 0.0
        return self._clock.arrival_time_s(chunk, start_ns), 0.0

    def _chunk(self, chunk, arrival_ns: int) -> None:
        if not self._feed.started and not self._start(chunk):
            return
        t, lost = self._clock.place(chunk)  # step 2
        if lost > 0:
            self._fill_gap(t[0] - lost * self._clock.period_s, lost)
        self._feed.apply_requests()  # step 3
        try:  # steps 4, 5
            u = self._feed.update(t, chunk)
        except Exception:
            with self._lock:
                self.view.ring.append(t, np.full((len(t), 4), np.nan))
                self._clock.advance(t)
            raise
        self._tasks.track(t, u, chunk.gyr_radps, self.scorer.pipeline.angles.q_sensor_to_body)
        if self.sample_hook is not None:
            self.sample_hook(t, chunk, u)
        with self._lock:  # step 6
            self.view.append(t, u.chunk)
            self._clock.advance(t)
            self.view.newest_arrival_ns = arrival_ns
            self.view.take_update(u, float(t[-1]), self.scorer, self.calibration)
            self._publish()

    def _fill_gap(self, t0_s: float, n: int) -> None:
        """Lost samples as NaN rows, through the analysis and into the ring."""
        with self._lock:
            self.view.gaps.append((t0_s, t0_s + n * self._clock.period_s))
        for t, u in self._feed.gap(t0_s, n):
            with self._lock:
                self.view.append(t, u.chunk)
                self.view.take_update(u, float(t[-1]), self.scorer, self.calibration)

    # -- requests from the GUI thread ------------------------------------------------------
    def set_threshold_deg(self, threshold_deg: float | None) -> None:
        """The cue threshold on the contralateral drop (deg, both sides; None: the bands')."""
        with self._lock:
            self._feed.request_threshold(threshold_deg)
            self._publish()

    def threshold_deg(self) -> dict[str, float]:
        return self._feed.threshold_deg()

    def calibrate(self) -> None:
        """Start a manual standing calibration: ``calibrate_s`` of the data from now on
        (:mod:`sacrum.apps.live.calibration`)."""
        with self._lock:
            self._feed.request_calibration()
            self._publish()

    # -- recording, tasks and marks (sacrum.apps.live.recording, .tasks) ---------------------
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
        with self._lock:
            now = self.t_now_s if self.view.ring is not None else 0.0
        self._tasks.set(task, now, self.scorer)

    def mark(self, note: str) -> None:
        """A mark with a note at the newest sample (and in the recording)."""
        with self._lock:
            now = self.t_now_s if self.view.ring is not None else 0.0
        self._tasks.mark(note, now)

    def annotate(self, annotation: dict[str, Any]) -> bool:
        """Write an annotation record into the recording now (``CaptureWriter.annotate``'s
        dict with its ``"type"``, SPEC §5.2, e.g. a ``mounting``); whether it was written
        (False: not recording). Not shown in the view: tasks and marks go through
        :meth:`set_task` and :meth:`mark`."""
        return self._recording.annotate(annotation)

    # -- the snapshot (sacrum.apps.live.model) -----------------------------------------------
    def snapshot(self, span_s: float = 10.0) -> LiveSnapshot:
        """The state of the session, with the last ``span_s`` of samples (s)."""
        with self._lock:
            link = self._link.copy(self._decoder.loss, self._info(),
                                   self._recording.bytes_written
                                   if self._recording.writer is not None else None)
            scorer = self.scorer
            thr = (dict(scorer.threshold_deg) if scorer is not None else self.threshold_deg())
            tracker = self._tasks.tracker
            t_now = self.view.t_now_s
            final = (self._final.values(t_now - span_s, t_now) if math.isfinite(t_now)
                     else self._final.values()) if tracker is None else None
            snap = self.view.snapshot(span_s, seq=self.seq, link=link,
                                      calibration=replace(self.calibration),
                                      threshold_deg=thr, tracker=tracker, final=final)
            running = self._feed.running
            return replace(snap, running=running.state(self._final.doc)
                           if running is not None else None)


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
