"""The live session engine, without Qt: transport → decoder → scorer → snapshots.

:class:`LiveSession` runs one :class:`~sacrum.io.transports.Transport` in its own thread
with its own asyncio loop (or in the caller's thread: :meth:`LiveSession.run_sync`),
decodes packets with :class:`~sacrum.io.stream.StreamDecoder`, runs
:class:`~sacrum.scoring.livescore.LiveScorer`, optionally records everything into a capture with
:class:`~sacrum.io.capture.CaptureWriter`, and publishes a :class:`LiveSnapshot` that any
thread can take at any time (the window takes one per frame and only draws it).

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

import asyncio
import contextlib
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

import sacrum_protocol as sp
from sacrum.apps.live.buffers import SampleRing
from sacrum.io.capture import CaptureWriter, default_header
from sacrum.io.decode import LossReport
from sacrum.io.transports import LinkEvent, Packet, Transport, TransportInfo

log = logging.getLogger(__name__)

#: Tasks the window offers (SPEC task names) and their labels.
TASK_LABELS = {
    "walk": "walk", "stairs-up": "stairs up", "stairs-down": "stairs down",
    "single-leg-stance-left": "single-leg stance L", "single-leg-stance-right":
    "single-leg stance R", "step-down-left": "step-down L", "step-down-right": "step-down R",
}
#: Tasks scored with the walking bands by LiveScorer (bands.toml [score] tasks).
_STEPPING = ("walk", "stairs-up", "stairs-down")
_GAP_BLOCK_S = 10.0  # lost samples are handed to the scorer in blocks of this length (memory)
_YIELD_EVERY = 32  # items between yields to the loop, so a stop gets through a fast replay
CURVE_POINTS = 101  # gait cycle 0..100 %


@dataclass(frozen=True)
class StrideCurve:
    """One stride from an initial contact, normalised to 0-100 % of the gait cycle.

    side: stance side of the IC ("L" | "R"). obliquity_rad, tilt_rad: (101,) in the sacrum
    convention (docs/pelvic-angles.md). used: the step was used in the summaries.
    drop_deg: the step's contralateral drop (deg, + = swing side down).
    """

    t_ic_s: float
    side: str
    obliquity_rad: np.ndarray
    tilt_rad: np.ndarray
    used: bool
    drop_deg: float


@dataclass(frozen=True)
class Cue:
    """A biofeedback cue: the step at ``t_ic_s`` (session time, s) on ``side`` had a
    contralateral drop of ``drop_deg`` over the threshold; it came out at ``t_emit_s``."""

    t_emit_s: float
    t_ic_s: float
    side: str
    drop_deg: float


@dataclass
class CalibrationState:
    """The manual standing calibration: state "idle" | "countdown" | "accepted" | "rejected".

    remaining_s: of the countdown (s, session time); message: the outcome in words.
    calibrated: whether the pipeline has a calibration (its own, from the first standing,
    or a manual one); reference: its kind, "standing" or "walking" (the still period was
    sitting: zeroed on the walking mean until a standing, docs/pelvic-angles.md "Zero").
    """

    state: str = "idle"
    remaining_s: float = 0.0
    message: str = ""
    calibrated: bool = False
    reference: str = ""

    @property
    def zero(self) -> str:
        """Which zero the angles are shown from, in the words the window uses."""
        if not self.calibrated:
            return "not calibrated: cues off"
        return "relative to walking mean" if self.reference == "walking" else \
            "relative to standing"


@dataclass
class LinkStatus:
    """What the connection panel shows.

    state: "idle" | "connecting" | "connected" | "disconnected" | "ended" | "error" |
    "stopped"; message: details in words; rate_hz: the device's sample rate (Hz).
    """

    state: str = "idle"
    message: str = ""
    kind: str = ""
    device: dict[str, Any] = field(default_factory=dict)
    rate_hz: float = math.nan
    rssi_dbm: int | None = None
    battery_percent: int | None = None
    reconnects: int = 0
    disconnects: int = 0
    loss: LossReport = field(default_factory=LossReport)
    bad_items: int = 0
    analysis_errors: int = 0
    recording: str | None = None  # the capture being written
    recording_bytes: int = 0
    recording_error: str = ""


@dataclass
class LiveSnapshot:
    """A consistent copy of the session's state for drawing (SI inside; the ``*_deg``
    fields come from the scorer's summary, which is in degrees).

    seq: increases with every published change. t_now_s: the newest sample (session time).
    t_s, angles_rad: the last ``span_s`` of samples (NaN rows = lost).
    events: gait events in that span as (t_s, "IC"|"FC", "L"|"R").
    stance: stance phases in that span as (side, t_start_s, t_end_s).
    tasks: (task, t_start_s, t_end_s or None while running); task: the current one.
    marks: (t_s, note). gaps: (t_start_s, t_end_s) of lost samples in the span.
    curves: the last strides for the overlay. cues: all cues so far.
    cues_per_min: cues in the last 60 s of session time.
    steps_total, steps_used: steps that came out so far, and those used.
    cadence_spm, drop_deg ({"L", "R"}): the rolling summary's (NaN before one).
    score: 0-100 or None; score_interval: its 90 % interval (low, high) or None (not
    estimated); components: {name: points or None}; message: the score's. final: these
    numbers are the offline analysis of the session's capture (``LiveSession.converge``, once
    the data has ended), not the live rolling ones.
    During a single-leg stance or step-down/up task these are the task's own (live, by
    sacrum.scoring.livetask), and task_summary is its summary (report units, as ``sacrum
    analyze``'s tasks[]); None otherwise.
    threshold_deg: {"L", "R"} the cue thresholds. newest_arrival_ns: perf_counter_ns of
    the packet that brought the newest sample (for latency measurements).
    turns: the gait stage's turns in the span as (t_start_s, t_end_s, angle_deg; + left),
    known once each has ended. heading_settled: (N,) bool with ``t_s``: the progression
    heading was settled (``PipelineChunk.heading_settled``; where not, the rotation is not
    against a straight walking direction: in a turn and for about a stride after it).
    """

    seq: int
    t_now_s: float
    t_s: np.ndarray
    angles_rad: np.ndarray
    events: list[tuple[float, str, str]]
    stance: list[tuple[str, float, float]]
    tasks: list[tuple[str, float, float | None]]
    task: str | None
    marks: list[tuple[float, str]]
    gaps: list[tuple[float, float]]
    curves: list[StrideCurve]
    cues: list[Cue]
    cues_per_min: float
    steps_total: int
    steps_used: int
    cadence_spm: float
    drop_deg: dict[str, float]
    score: float | None
    components: dict[str, float | None]
    message: str
    threshold_deg: dict[str, float]
    link: LinkStatus
    calibration: CalibrationState
    newest_arrival_ns: int
    task_summary: dict | None = None
    turns: list[tuple[float, float, float]] = field(default_factory=list)
    score_interval: tuple[float, float] | None = None
    final: bool = False
    heading_settled: np.ndarray | None = None


TransportFactory = Callable[[], Transport]


class LiveSession:
    """One live session on one transport (steps in the module docstring).

    open_transport: makes a new transport (called at each :meth:`start`/:meth:`connect`).
    mount: the mounting as ``sacrum.signal.mounting.parse_mount`` reads it (default: the
    recommended one, hardware/MOUNTING.md). threshold_deg: cue threshold on the
    contralateral drop (deg; None: the bands' normal_max, 7°). history_s: samples kept for
    display and scrolling back (s). overlay_strides: strides kept for the overlay.
    calibrate_s: length of a manual standing calibration (s). record_to: start recording
    into this capture as soon as the session starts. script: annotations to apply when the
    packets reach their host time, as (host_time_ns, annotation): a replayed capture's own
    task and mark records (``capture_annotations``), so a replay shows its tasks.
    """

    def __init__(self, open_transport: TransportFactory, *, mount: str = "recommended",
                 threshold_deg: float | None = None, history_s: float = 120.0,
                 overlay_strides: int = 12, calibrate_s: float = 3.0,
                 record_to: str | Path | None = None,
                 script: list[tuple[int, dict[str, Any]]] = (),
                 final_capture: str | Path | None = None) -> None:
        self._factory = open_transport
        # the capture this session's data also is (a replay's file); with a recording, the
        # recording. When the data ends, the session shows its offline analysis (converge)
        self._final_capture = final_capture
        self.final_analysis: dict[str, Any] | None = None
        self._script = deque(sorted(script, key=lambda a: a[0]))
        self.mount = mount
        self.history_s = float(history_s)
        self.calibrate_s = float(calibrate_s)
        self._threshold_request: float | None = threshold_deg
        self._overlay_n = int(overlay_strides)
        self._record_to = record_to
        self._lock = threading.RLock()
        self._rec_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._aio_task: asyncio.Task | None = None
        self._stop = threading.Event()
        self.transport: Transport | None = None
        self.writer: CaptureWriter | None = None
        self._rec_pending: Path | None = None
        self.link = LinkStatus()
        self.calibration = CalibrationState()
        self._pending: deque[tuple[str, Any]] = deque()  # requests for the engine thread
        self._seq = 0
        self._scorer = None
        self._decoder = None
        self._reset_data()

    # -- state -----------------------------------------------------------------------------
    def _reset_data(self) -> None:
        from sacrum.io.stream import StreamDecoder

        self._decoder = StreamDecoder()
        self._scorer = None
        self._ring: SampleRing | None = None
        self._rate_hz = math.nan
        self._use_device_q: bool | None = None
        self._t_offset_s = 0.0
        self._t_next_s = math.nan  # session time of the next expected sample
        self._disconnected_at: float | None = None  # perf_counter when the link went down
        self._events: deque[tuple[float, str, str]] = deque(maxlen=4000)
        self._gaps: deque[tuple[float, float]] = deque(maxlen=1000)
        self._curves: deque[StrideCurve] = deque(maxlen=self._overlay_n)
        self._cues: list[Cue] = []
        self._turns: list[tuple[float, float, float]] = []
        self._tasks: list[tuple[str, float, float | None]] = []
        self._marks: list[tuple[float, str]] = []
        self._task: str | None = None
        self._tracker = None  # sacrum.scoring.livetask.LiveTaskTracker while a held task runs
        self._steps_total = 0
        self._steps_used = 0
        self._summary = None
        self._score = None
        self._message = "waiting for data"
        self._cal_q: list[np.ndarray] = []
        self._cal_t0: float | None = None
        self._newest_arrival_ns = 0
        self._last_packet: tuple[int, int] | None = None  # (host_time_ns, perf_counter_ns)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def scorer(self):
        """The :class:`~sacrum.scoring.livescore.LiveScorer` (None before the first samples). Read
        it
        from the engine thread or once the session has stopped."""
        return self._scorer

    @property
    def t_now_s(self) -> float:
        with self._lock:
            return self._ring.t_last_s if self._ring is not None else math.nan

    # -- running ---------------------------------------------------------------------------
    def start(self) -> None:
        """Connect and run in a background thread (returns at once)."""
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._thread_main, name="sacrum-live",
                                        daemon=True)
        self._thread.start()

    def run_sync(self) -> None:
        """Connect and run in this thread until the transport ends (tests, headless)."""
        self._stop.clear()
        self._thread_main()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Disconnect and wait for the engine thread to end. Data are kept."""
        self._stop.set()
        loop, task = self._loop, self._aio_task
        if loop is not None and task is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                loop.call_soon_threadsafe(task.cancel)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)

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
            if self._ring is not None:
                self._disconnected_at = self._disconnected_at or time.perf_counter()
        self.start()

    def _thread_main(self) -> None:
        try:
            asyncio.run(self._run())
        except Exception as e:  # never out of the engine: the window shows it
            log.exception("live session failed")
            self._set_link("error", f"{type(e).__name__}: {e}")

    async def _run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._aio_task = asyncio.current_task()
        self._set_link("connecting", "opening the transport")
        try:
            transport = self._factory()
            self.transport = transport
            with self._lock:
                self.link.kind = transport.info.kind
                self.link.device = dict(transport.info.device)
            async with transport:
                self._set_link("connected", "")
                if self._record_to is not None:
                    err = self.start_recording(self._record_to)
                    self._record_to = None
                    if err:
                        self._set_link("connected", err)
                n = 0
                async for item in transport:
                    self.handle(item, time.perf_counter_ns())
                    n += 1
                    if n % _YIELD_EVERY == 0:
                        await asyncio.sleep(0)
                    if self._stop.is_set():
                        break
            if self._stop.is_set():
                self._set_link("stopped", "stopped")
            else:
                what = "capture" if transport.info.kind == "replay" else "link"
                self.finish()
                self.converge()
                self._set_link("ended", f"the {what} ended; data kept")
        except asyncio.CancelledError:
            self._set_link("stopped", "stopped")
        except Exception as e:  # the transport failed: say so, keep the data
            log.warning("transport failed: %s", e)
            self._set_link("error", f"{e}; data kept")
        finally:
            self._loop = None
            self._aio_task = None

    def finish(self) -> None:
        """End of the data: the steps still waiting for events that will not come."""
        if self._scorer is None:
            return
        try:
            u = self._scorer.flush()
        except Exception as e:
            log.exception("scorer flush failed")
            with self._lock:
                self.link.analysis_errors += 1
                self._message = f"analysis error at the end: {e}"
            return
        with self._lock:
            self._take_update(u, self._ring.t_last_s if self._ring else math.nan)
            self._publish()

    def converge(self) -> dict[str, Any] | None:
        """End of the data: the offline analysis of the same capture, which from now on is
        what the session shows (score, interval, components, drops, cadence, steps), so the
        window, the headless summary and ``sacrum analyze CAPTURE`` give one answer. The
        capture is the replayed file, or the recording being written (it is flushed per
        record). Returns the analysis document (None: no capture, or it failed: said in
        the message). ``sacrum.analysis.analyze`` with its defaults: the mounting estimated
        from the recording, as ``sacrum analyze`` does."""
        with self._rec_lock:
            path = self._final_capture or (self.writer.path if self.writer else None)
        if path is None:
            return None
        from sacrum.analysis import analyze

        try:
            doc = analyze(path).to_json()
        except Exception as e:  # a capture too short or damaged: the live values stay
            log.warning("final analysis of %s failed: %s", path, e)
            with self._lock:
                self._message = f"the live values (the final analysis failed: {e})"
                self._publish()
            return None
        with self._lock:
            self.final_analysis = doc
            self._publish()
        return doc

    def _set_link(self, state: str, message: str) -> None:
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
        self._last_packet = (item.host_time_ns, arrival_ns)
        with self._rec_lock:  # step 1
            if self._rec_pending is not None:
                path, self._rec_pending = self._rec_pending, None
                self._open_recording(path, item.host_time_ns)
            if self.writer is not None:
                try:
                    self.writer.write_packet(item.channel, item.data, item.host_time_ns)
                except (OSError, ValueError) as e:
                    self._close_recording(f"recording stopped: {e}")
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
                    self._message = f"analysis error: {e}"
                    self._publish()
        while self._script and self._script[0][0] <= item.host_time_ns:
            self._annotate(self._script.popleft()[1])

    def _annotate(self, ann: dict[str, Any]) -> None:
        try:
            if ann.get("type") == "task_start":
                self.set_task(ann.get("task"))
            elif ann.get("type") == "task_stop" and ann.get("task") == self._task:
                self.set_task(None)
            elif ann.get("type") == "mark":
                self.mark(str(ann.get("note", "")))
        except ValueError as e:  # an unknown task in the capture: skip it, say so
            log.warning("annotation skipped: %s", e)
            with self._lock:
                self.link.bad_items += 1

    def _link_event(self, ev: LinkEvent) -> None:
        with self._rec_lock:
            if self.writer is not None:
                try:
                    self.writer.event(ev.type, ev.host_time_ns,
                                      **{k: v for k, v in ev.fields.items() if k != "type"})
                except (OSError, ValueError, TypeError) as e:
                    self._close_recording(f"recording stopped: {e}")
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
        self._scorer = LiveScorer(rate, parse_mount(self.mount),
                                  threshold_deg=self._threshold_request,
                                  keep_s=max(600.0, self.history_s))
        self._ring = SampleRing(round(self.history_s * rate), width=4)
        if self._task is not None and self._task not in _STEPPING:
            self._start_tracker(self._task)  # a held task chosen before the first samples
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
                self._ring.append(t, np.full((len(t), 4), np.nan))
                self._t_next_s = float(t[-1]) + period
            raise
        self._calibrate_step(t, u.chunk.q_sensor_to_earth)  # step 5
        tracker = self._tracker
        if tracker is not None:  # a held task: its own live processor
            self._track(tracker, t, u, chunk.gyr_radps)
        with self._lock:  # step 6
            self._ring.append(t, _ring_rows(u.chunk))
            self._t_next_s = float(t[-1]) + period
            self._newest_arrival_ns = arrival_ns
            self._take_update(u, float(t[-1]))
            self._publish()

    def _track(self, tracker, t_s, u, gyr_radps) -> None:
        """Feed a held task's processor: angles (rad) relative to the calibration, body
        angular rate (rad/s), and the scorer's body acceleration (m/s², z up)."""
        from sacrum.scoring.tasks import to_body_frame

        q_body = self._scorer.pipeline.angles.q_sensor_to_body
        gyr_body = to_body_frame(np.asarray(gyr_radps, float), q_body)
        tracker.update(t_s, u.chunk.angles_rad, gyr_body, u.acc_body_mps2)

    def _fill_gap(self, t0_s: float, n: int, period: float) -> None:
        """Lost samples as NaN rows, through the scorer and into the ring."""
        with self._lock:
            self._gaps.append((t0_s, t0_s + n * period))
        block = max(1, round(_GAP_BLOCK_S / period))
        for k in range(0, n, block):
            m = min(block, n - k)
            t = t0_s + (k + np.arange(m)) * period
            nan3 = np.full((m, 3), np.nan)
            u = self._scorer.update(t, nan3, nan3, np.full((m, 4), np.nan)
                                    if self._use_device_q else None)
            with self._lock:
                self._ring.append(t, _ring_rows(u.chunk))
                self._take_update(u, float(t[-1]))

    def _take_update(self, u, t_now_s: float) -> None:
        """Steps, cues, curves, summary and score of one LiveUpdate (under the lock)."""
        self._events.extend((e.t_s, e.kind, e.side) for e in u.chunk.events)
        for step, cue in zip(u.steps, u.cues, strict=True):
            self._steps_total += 1
            if cue:
                self._cues.append(Cue(t_now_s, step.t_ic_s, step.stance_side,
                                      float(step.contralateral_drop_deg)))
            curve = self._curve(step)
            if curve is not None:
                self._curves.append(curve)
        if u.updated:  # a late turn can exclude steps already out: count them again
            self._steps_used = sum(s.excluded is None for s in self._scorer.steps)
            self._remark_curves()
        self._summary, self._score = u.summary, u.score
        self._message = u.message
        self.calibration.calibrated = bool(u.chunk.calibrated) or self.calibration.calibrated
        cal = self._scorer.pipeline.calibration
        self.calibration.reference = cal.reference if cal is not None else ""
        turns = self._scorer.pipeline.gait.turns
        if len(turns) != len(self._turns):
            self._turns = [(tr.t_start_s, tr.t_end_s, tr.angle_deg) for tr in turns]

    def _remark_curves(self) -> None:
        """The overlay's strides say whether their step is used now (a turn found later
        excludes steps already drawn; the overlay's means must not include them)."""
        if not self._curves:
            return
        t0 = self._curves[0].t_ic_s
        used = {}
        for s in reversed(self._scorer.steps):
            if s.t_ic_s < t0 - 1e-9:
                break
            used[s.t_ic_s] = s.excluded is None
        for k, c in enumerate(self._curves):
            now = used.get(c.t_ic_s, c.used)
            if now != c.used:
                self._curves[k] = replace(c, used=now)

    def _curve(self, step) -> StrideCurve | None:
        if not math.isfinite(step.stride_time_s) or self._ring is None:
            return None
        t0, t1 = step.t_ic_s, step.t_ic_s + step.stride_time_s
        t, a = self._ring.between(t0, t1)
        if len(t) < 4 or not np.all(np.isfinite(a[:, :2])):
            return None
        x = np.linspace(t0, t1, CURVE_POINTS)
        return StrideCurve(step.t_ic_s, step.stance_side, np.interp(x, t, a[:, 1]),
                           np.interp(x, t, a[:, 0]), step.excluded is None,
                           float(step.contralateral_drop_deg))

    # -- requests from the GUI thread ------------------------------------------------------
    def _apply_requests(self) -> None:
        while self._pending:
            what, value = self._pending.popleft()
            if what == "threshold":
                self._scorer.threshold_deg = dict(self._scorer._thresholds(
                    value, self._scorer.bands))
            elif what == "calibrate":
                self._cal_q = []
                self._cal_t0 = None  # starts with the next sample

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
        """Start a manual standing calibration: ``calibrate_s`` of the data from now on."""
        with self._lock:
            self.calibration.state = "countdown"
            self.calibration.remaining_s = self.calibrate_s
            self.calibration.message = f"stand still for {self.calibrate_s:.0f} s"
            self._pending.append(("calibrate", None))
            self._publish()

    def _calibrate_step(self, t: np.ndarray, q: np.ndarray) -> None:
        if self.calibration.state != "countdown" or any(w == "calibrate"
                                                        for w, _ in self._pending):
            return
        if self._cal_t0 is None:
            self._cal_t0 = float(t[0])
        end = self._cal_t0 + self.calibrate_s
        self._cal_q.append(q[t < end])
        with self._lock:
            self.calibration.remaining_s = max(0.0, end - float(t[-1]))
        if t[-1] + 0.5 / self._rate_hz < end:
            return
        from sacrum.signal.angles import CalibrationError

        window = np.concatenate(self._cal_q)
        self._cal_q = []
        try:
            cal = self._scorer.pipeline.calibrate(window)
        except CalibrationError as e:
            state, msg = "rejected", str(e)
        else:
            state = "accepted"
            msg = (f"accepted: tilt {math.degrees(cal.tilt_offset_rad):+.1f}°, obliquity "
                   f"{math.degrees(cal.obliquity_offset_rad):+.1f}° zeroed")
        with self._lock:
            self.calibration.state = state
            self.calibration.message = msg
            self.calibration.remaining_s = 0.0
            self.calibration.calibrated = self._scorer.pipeline.calibration is not None
            self._publish()

    # -- recording and annotations ---------------------------------------------------------
    def _host_now_ns(self) -> int:
        """Host time on the packets' clock: the newest packet's stamp plus the time since it
        arrived (so marks line up with the data also in a replay)."""
        if self._last_packet is None:
            return time.time_ns()
        stamp, arrival = self._last_packet
        return stamp + (time.perf_counter_ns() - arrival)

    def start_recording(self, path: str | Path) -> str:
        """Record into a new capture at ``path``; returns "" or why it could not. Before the
        first packet the file is opened when it comes (its header then carries the packets'
        clock, which for a replay is the recording's)."""
        with self._rec_lock:
            if self.writer is not None or self._rec_pending is not None:
                return f"already recording to {path}"
            if not Path(path).parent.is_dir():
                err = f"cannot record to {path}: no such directory"
                with self._lock:
                    self.link.recording_error = err
                    self._publish()
                return err
            if self._last_packet is None:
                self._rec_pending = Path(path)
                err = ""
            else:
                err = self._open_recording(Path(path), self._host_now_ns())
        if not err:
            with self._lock:
                self.link.recording = str(path)
                self.link.recording_error = ""
                self._publish()
        return err

    def _open_recording(self, path: Path, start_ns: int) -> str:  # under _rec_lock
        info: TransportInfo | None = self.transport.info if self.transport else None
        header = default_header(
            transport=info.kind if info else "unknown", mtu=info.mtu if info else None,
            device=dict(info.device) if info else {}, source="sacrum live",
            start_time_ns=start_ns)
        try:
            self.writer = CaptureWriter(path, header)
            if self._task is not None:
                self.writer.task_start(self._task, start_ns)
        except OSError as e:
            self.writer = None
            with self._lock:
                self.link.recording = None
                self.link.recording_error = f"cannot record to {path}: {e.strerror or e}"
                self._publish()
            return self.link.recording_error
        return ""

    def stop_recording(self) -> str | None:
        """Close the recording (the open task is stopped in it); returns its path."""
        with self._rec_lock:
            if self._rec_pending is not None:  # no packet came: nothing to write
                path, self._rec_pending = str(self._rec_pending), None
                with self._lock:
                    self.link.recording = None
                    self._publish()
                return path
            if self.writer is None:
                return None
            path = str(self.writer.path)
            if self._task is not None:
                self.writer.task_stop(self._task, self._host_now_ns())
            self._close_recording("")
        return path

    def _close_recording(self, error: str) -> None:  # under _rec_lock
        try:
            self.writer.close()
        except OSError as e:
            error = error or f"closing the recording failed: {e}"
        self.writer = None
        with self._lock:
            self.link.recording = None
            self.link.recording_error = error
            self._publish()

    def set_task(self, task: str | None) -> None:
        """Start ``task`` (ending the current one), or end the current one (None); both are
        written as annotation records into the recording, if one is open."""
        if task is not None and task not in sp.TASKS:
            raise ValueError(f"unknown task {task!r}; one of {', '.join(sp.TASKS)}")
        with self._lock:
            if task == self._task:
                return
            now = self.t_now_s if self._ring is not None else 0.0
            old = self._task
            if old is not None and self._tasks:
                name, t0, _ = self._tasks[-1]
                self._tasks[-1] = (name, t0, now)
            if task is not None:
                self._tasks.append((task, now, None))
            self._task = task
            self._publish()
        with self._rec_lock:
            if self.writer is not None:
                stamp = self._host_now_ns()
                if old is not None:
                    self.writer.task_stop(old, stamp)
                if task is not None:
                    self.writer.task_start(task, stamp)
        if task in _STEPPING and self._scorer is not None:
            self._scorer.task = task
        self._start_tracker(task)

    def _start_tracker(self, task: str | None) -> None:
        """Single-leg stance and step-down/up are scored live by their own processors
        (sacrum.scoring.livetask, the same code as sacrum analyze); walking by LiveScorer."""
        from sacrum.scoring.livetask import LiveTaskTracker

        tracker = None
        if task is not None and task not in _STEPPING and self._scorer is not None:
            tracker = LiveTaskTracker(task, bands=self._scorer.bands)
        with self._lock:
            self._tracker = tracker
            self._publish()

    def mark(self, note: str) -> None:
        """A mark with a note at the newest sample (and in the recording)."""
        with self._lock:
            self._marks.append((self.t_now_s if self._ring is not None else 0.0, note))
            self._publish()
        with self._rec_lock:
            if self.writer is not None:
                self.writer.mark(note, self._host_now_ns())

    # -- the snapshot ----------------------------------------------------------------------
    @property
    def seq(self) -> int:
        return self._seq

    def snapshot(self, span_s: float = 10.0) -> LiveSnapshot:
        """The state of the session, with the last ``span_s`` of samples (s)."""
        with self._lock:
            if self._ring is not None and len(self._ring):
                t_now = self._ring.t_last_s
                t, rows = self._ring.since(t_now - span_s)
            else:
                t_now, t, rows = math.nan, np.zeros(0), np.zeros((0, 4))
            a, settled = rows[:, :3], rows[:, 3] > 0.5
            t0 = t_now - span_s if math.isfinite(t_now) else -math.inf
            events = [e for e in self._events if e[0] >= t0 - 2.0]
            stance = _stance(events)
            events = [e for e in events if e[0] >= t0]
            summ = self._summary
            score = self._score
            message = self._message
            held = self._tracker.last if self._tracker is not None else None
            if self._tracker is not None:  # a held task: its own score and reasons
                score = held.score if held is not None else None
                message = (held.score.message if held is not None
                           else f"{self._tracker.task}: waiting for its samples")
            final = self._final_values() if self._tracker is None else None
            link = replace(self.link, device=dict(self.link.device),
                           loss=replace(self._decoder.loss, gap_list=[]))
            t_rec = self.transport.info if self.transport is not None else None
            if t_rec is not None:  # what the transport knows beyond its events
                link.rssi_dbm = link.rssi_dbm if t_rec.rssi_dbm is None else t_rec.rssi_dbm
                link.battery_percent = (link.battery_percent if t_rec.battery_percent is None
                                        else t_rec.battery_percent)
                link.reconnects = max(link.reconnects, t_rec.reconnects)
            if self.writer is not None:
                link.recording_bytes = self.writer.bytes_written
            cues = list(self._cues)
            thr = (dict(self._scorer.threshold_deg) if self._scorer is not None
                   else self.threshold_deg())
            snap = LiveSnapshot(
                seq=self._seq, t_now_s=t_now, t_s=t, angles_rad=a, events=events,
                stance=[s for s in stance if s[2] >= t0],
                tasks=[x for x in self._tasks if x[2] is None or x[2] >= t0],
                task=self._task,
                marks=[m for m in self._marks if m[0] >= t0],
                gaps=[g for g in self._gaps if g[1] >= t0],
                curves=list(self._curves), cues=cues,
                cues_per_min=float(sum(c.t_emit_s > t_now - 60.0 for c in cues)),
                steps_total=self._steps_total, steps_used=self._steps_used,
                cadence_spm=summ.cadence_spm if summ is not None else math.nan,
                drop_deg=(dict(summ.contralateral_drop_deg) if summ is not None
                          else {"L": math.nan, "R": math.nan}),
                score=None if score is None else score.score,
                score_interval=(None if score is None or score.score is None
                                or score.interval is None or score.interval[0] is None
                                else tuple(score.interval)),
                components=({} if score is None else
                            {k: c.score_0_100 for k, c in score.components.items()}),
                message=message, threshold_deg=thr, link=link,
                task_summary=dict(held.summary) if held is not None else None,
                calibration=replace(self.calibration),
                newest_arrival_ns=self._newest_arrival_ns,
                turns=[x for x in self._turns if x[1] >= t0],
                heading_settled=settled,
            )
            return snap if final is None else replace(snap, **final)

    def _final_values(self) -> dict[str, Any] | None:
        """The snapshot's numbers from the final analysis (None before it)."""
        doc = self.final_analysis
        if doc is None:
            return None
        s = doc["summary"]
        drop = s.get("contralateral_drop_deg") or {}
        interval = s.get("score_interval")
        return {
            "score": s.get("score"),
            "score_interval": tuple(interval) if s.get("score") is not None and interval
            else None,
            "components": {k: c.get("score") for k, c in (s.get("components") or {}).items()},
            "drop_deg": {k: math.nan if drop.get(k) is None else float(drop[k]) for k in "LR"},
            "cadence_spm": math.nan if s.get("cadence_spm") is None else float(s["cadence_spm"]),
            "steps_total": len(doc.get("steps") or []),
            "steps_used": int(s.get("n_steps_used") or 0),
            "message": "final: the analysis of the whole capture, as `sacrum analyze` gives it "
                       f"— {s.get('score_message') or ''}",
            "final": True,
        }


def _ring_rows(chunk) -> np.ndarray:
    """A pipeline chunk's rows for the ring: the angles (rad) and the heading settled (0/1)."""
    settled = np.asarray(chunk.heading_settled, float).reshape(-1, 1)
    if len(settled) != len(chunk.angles_rad):
        settled = np.zeros((len(chunk.angles_rad), 1))
    return np.hstack([chunk.angles_rad, settled])


def _stance(events: list[tuple[float, str, str]]) -> list[tuple[str, float, float]]:
    """Stance phases (side, IC time, that foot's next FC time) from time-ordered events."""
    out = []
    open_ic: dict[str, float] = {}
    for t, kind, side in sorted(events):
        if kind == "IC":
            open_ic[side] = t
        elif kind == "FC" and side in open_ic:
            t0 = open_ic.pop(side)
            if t - t0 < 2.5:  # a stance longer than this is standing, not a step
                out.append((side, t0, t))
    return out


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
