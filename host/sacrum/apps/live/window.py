"""The live window: draws :class:`~sacrum.apps.live.session.LiveSession` snapshots on a timer.

The window never decodes or analyses: the session does that in its own thread; each
frame (``fps`` per second, a QTimer) takes one snapshot and draws it, and only when the
snapshot changed. Controls call the session's thread-safe methods.
"""

from __future__ import annotations

import math
import time
from collections import deque
from datetime import datetime
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from sacrum.apps import palette
from sacrum.apps.live.athlete import AthleteView
from sacrum.apps.live.bars import DropBars
from sacrum.apps.live.feedback import Biofeedback
from sacrum.apps.live.overlay import StrideOverlay
from sacrum.apps.live.panels import ConnectionPanel, ScorePanel
from sacrum.apps.live.running import Metronome, rate_banner
from sacrum.apps.live.session import TASK_LABELS, LiveSession, LiveSnapshot
from sacrum.apps.live.traces import TracePanel

SCROLL_STEP_S = 2.0
_PANEL_EVERY_S = 0.2  # numbers, bars, overlay and connection panel: at most 5 Hz
_LEAD_S = 0.25  # the traces scroll with the clock at most this far past the newest sample
SHORTCUTS = {  # key: (action, what it does) -- docs/live.md lists these
    "Space": ("freeze", "freeze / follow the live data"),
    "Left": ("back", "scroll back 2 s (frozen)"),
    "Right": ("forward", "scroll forward 2 s (frozen)"),
    "C": ("calibrate", "standing calibration (stand still for the countdown)"),
    "R": ("record", "start / stop recording"),
    "M": ("mark", "add a mark (with the note typed in the note field)"),
    "A": ("athlete", "athlete mode on / off"),
    "Ctrl+D": ("connection", "connect / disconnect"),
    "0": ("task:", "end the current task"),
    **{str(k + 1): (f"task:{t}", f"task: {TASK_LABELS[t]}") for k, t in enumerate(TASK_LABELS)},
    "Ctrl+Q": ("quit", "quit"),
}


class LiveWindow(QtWidgets.QMainWindow):
    """The clinician's view (traces, overlay, numbers, connection, controls) and the
    athlete's (big numbers), over one session.

    span_s: width of the scrolling traces (s). fps: frames per second drawn.
    record_dir: where "start recording" writes (auto-named) when ``record_path`` is None.
    audio: whether cues may make sounds. autostart: start the session when the window is
    first shown (False: the caller feeds it, e.g. ``LiveSession.handle`` in tests).
    """

    def __init__(self, session: LiveSession, *, span_s: float = 10.0, fps: float = 50.0,
                 athlete: bool = False, record_dir: str | Path = ".",
                 record_path: str | Path | None = None, audio: bool = True,
                 autostart: bool = True, title: str = "sacrum live",
                 cadence_target_spm: float | None = None) -> None:
        super().__init__()
        self.session = session
        self.span_s = float(span_s)
        self.record_dir = Path(record_dir)
        self.record_path = record_path
        self.autostart = autostart
        self.setWindowTitle(title)
        self.resize(1400, 860)
        self._last_seq = -1
        self._frozen: LiveSnapshot | None = None
        self._view_end_s = math.nan
        self.last_snapshot: LiveSnapshot | None = None
        self.frame_times: deque[float] = deque(maxlen=600)  # perf_counter of drawn frames
        self.latencies_ns: deque[int] = deque(maxlen=100_000)  # arrival → frame drawn
        self._last_arrival = 0
        self._pending_arrival = 0
        self._panels_at = -math.inf
        self.feedback = Biofeedback(audio=audio, parent=self)
        # a window attached to a session that has already cued (a replay that has ended, a
        # second window) shows only the cues that come after it, not every past one at once
        self.feedback.reset(session.snapshot(0.0))

        self.traces = TracePanel()
        self.traces.viewport().installEventFilter(self)
        self.overlay = StrideOverlay(session.view.overlay_n)
        self.score_panel = ScorePanel()
        self.drops = DropBars()
        self.drops.setMinimumHeight(200)
        self.conn = ConnectionPanel()
        controls = self._controls()
        self.cue_label = QtWidgets.QLabel("")
        self.cue_label.setAutoFillBackground(True)
        self.cue_label.setWordWrap(True)
        self.cue_label.setMinimumHeight(2 * self.cue_label.fontMetrics().lineSpacing() + 4)

        right = QtWidgets.QWidget()
        rl = QtWidgets.QVBoxLayout(right)
        self.rate_label = QtWidgets.QLabel("")  # running at too low a rate: said plainly
        self.rate_label.setWordWrap(True)
        self.rate_label.setStyleSheet(f"background: {palette.POOR}; color: white; "
                                      "font-weight: bold; padding: 4px;")
        self.rate_label.hide()
        rl.addWidget(self.rate_label)
        rl.addWidget(self.score_panel)
        rl.addWidget(self.drops, 1)
        rl.addWidget(self.cue_label)
        rl.addWidget(self.conn)
        rl.addWidget(controls)
        right.setFixedWidth(430)

        plots = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        plots.addWidget(self.traces)
        plots.addWidget(self.overlay)
        plots.setSizes([640, 330])
        clinic = QtWidgets.QWidget()
        cl = QtWidgets.QHBoxLayout(clinic)
        cl.addWidget(plots, 1)
        cl.addWidget(right)
        self.athlete_view = AthleteView(cadence_target_spm=cadence_target_spm)
        self.stack = QtWidgets.QStackedWidget()
        self.stack.addWidget(clinic)
        self.stack.addWidget(self.athlete_view)
        self.setCentralWidget(self.stack)
        self.feedback.flash.connect(self._flash)
        self._flash_timer = QtCore.QTimer(self)  # owned: dies with the window
        self._flash_timer.setSingleShot(True)
        self._flash_timer.timeout.connect(self._unflash)
        self._shortcuts()
        self.set_athlete(athlete)
        self.statusBar().showMessage(self.feedback.audio_status)

        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(max(1, round(1000 / fps)))
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        # the cadence metronome: its own precise timer, the beat kept by Metronome
        self.metronome = Metronome(cadence_target_spm) if cadence_target_spm else None
        self._beat = QtCore.QTimer(self)
        self._beat.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self._beat.setInterval(5)
        self._beat.timeout.connect(self._metronome_step)
        if self.metronome is not None:
            self._beat.start()

    def _metronome_step(self) -> None:
        if self.metronome is not None and self.metronome.due(time.monotonic()):
            self.feedback.tick()

    # -- building --------------------------------------------------------------------------
    def _controls(self) -> QtWidgets.QGroupBox:
        box = QtWidgets.QGroupBox("controls")
        g = QtWidgets.QGridLayout(box)
        self.connect_btn = QtWidgets.QPushButton("Disconnect")
        self.connect_btn.clicked.connect(self.toggle_connection)
        self.record_btn = QtWidgets.QPushButton("Start recording (R)")
        self.record_btn.clicked.connect(self.toggle_recording)
        self.calibrate_btn = QtWidgets.QPushButton("Calibrate (C)")
        self.calibrate_btn.clicked.connect(self.calibrate)
        self.calibration_label = QtWidgets.QLabel("")
        self.calibration_label.setWordWrap(True)
        self.calibration_label.setMinimumHeight(
            2 * self.calibration_label.fontMetrics().lineSpacing() + 4)
        self.task_box = QtWidgets.QComboBox()
        self.task_box.addItem("(no task)", None)
        for name, label in TASK_LABELS.items():
            self.task_box.addItem(label, name)
        self.task_box.currentIndexChanged.connect(self._task_changed)
        self.note = QtWidgets.QLineEdit()
        self.note.setPlaceholderText("note for a mark")
        self.note.returnPressed.connect(self.add_mark)
        mark_btn = QtWidgets.QPushButton("Mark (M)")
        mark_btn.clicked.connect(self.add_mark)
        self.freeze_btn = QtWidgets.QPushButton("Freeze (Space)")
        self.freeze_btn.setCheckable(True)
        self.freeze_btn.toggled.connect(self.set_frozen)
        self.athlete_btn = QtWidgets.QPushButton("Athlete mode (A)")
        self.athlete_btn.setCheckable(True)
        self.athlete_btn.toggled.connect(self.set_athlete)
        self.threshold = QtWidgets.QDoubleSpinBox()
        self.threshold.setRange(1.0, 25.0)
        self.threshold.setSingleStep(0.5)
        self.threshold.setSuffix(" °")
        self.threshold.setValue(max(self.session.threshold_deg().values()))
        self.threshold.valueChanged.connect(self.session.set_threshold_deg)
        g.addWidget(self.connect_btn, 0, 0)
        g.addWidget(self.record_btn, 0, 1)
        g.addWidget(self.calibrate_btn, 1, 0)
        g.addWidget(self.freeze_btn, 1, 1)
        g.addWidget(self.calibration_label, 2, 0, 1, 2)  # the zero in use: a whole row
        g.addWidget(QtWidgets.QLabel("task"), 3, 0)
        g.addWidget(self.task_box, 3, 1)
        g.addWidget(self.note, 4, 0)
        g.addWidget(mark_btn, 4, 1)
        g.addWidget(self.athlete_btn, 5, 0)
        g.addWidget(QtWidgets.QLabel("cue when drop >"), 6, 0)
        g.addWidget(self.threshold, 6, 1)
        return box

    def _shortcuts(self) -> None:
        self._shortcut_objs = []
        for key, (action, _doc) in SHORTCUTS.items():
            sc = QtGui.QShortcut(QtGui.QKeySequence(key), self)
            sc.activated.connect(lambda a=action: self.do(a))
            self._shortcut_objs.append(sc)

    def do(self, action: str) -> None:
        """Run a shortcut's action by name (SHORTCUTS)."""
        if action == "freeze":
            self.freeze_btn.toggle()
        elif action in ("back", "forward") and self._frozen is not None:
            step = SCROLL_STEP_S if action == "forward" else -SCROLL_STEP_S
            lo = float(self._frozen.t_s[0]) + self.span_s if len(self._frozen.t_s) else 0.0
            self._view_end_s = min(max(self._view_end_s + step, lo), self._frozen.t_now_s)
            self._draw(self._frozen)
        elif action == "calibrate":
            self.calibrate()
        elif action == "record":
            self.toggle_recording()
        elif action == "mark":
            self.add_mark()
        elif action == "athlete":
            self.athlete_btn.toggle()
        elif action == "connection":
            self.toggle_connection()
        elif action.startswith("task:"):
            self.task_box.setCurrentIndex(max(0, self.task_box.findData(action[5:] or None)))
        elif action == "quit":
            self.close()

    # -- controls --------------------------------------------------------------------------
    def toggle_connection(self) -> None:
        if self.session.running:
            self.session.disconnect()
        else:
            self.session.connect()

    def toggle_recording(self) -> None:
        if self.session.writer is not None:
            path = self.session.stop_recording()
            self.statusBar().showMessage(f"recording saved: {path}")
            return
        path = self.record_path or self.record_dir / datetime.now().strftime(
            "sacrum-%Y%m%d-%H%M%S.sacrum")
        err = self.session.start_recording(path)
        self.statusBar().showMessage(err or f"recording to {path}")

    def calibrate(self) -> None:
        self.session.calibrate()

    def _task_changed(self, _index: int) -> None:
        self.session.set_task(self.task_box.currentData())

    def add_mark(self) -> None:
        note = self.note.text().strip()
        self.session.mark(note)
        self.note.clear()
        self.statusBar().showMessage(f"mark added: {note or '(no note)'}")

    def set_frozen(self, on: bool) -> None:
        if on:
            self._frozen = self.session.snapshot(self.session.history_s)
            self._view_end_s = self._frozen.t_now_s
            self.freeze_btn.setText("Follow live (Space)")
        else:
            self._frozen = None
            self._last_seq = -1
            self.freeze_btn.setText("Freeze (Space)")
        self.traces.set_scrollable(on)

    def set_athlete(self, on: bool) -> None:
        self.stack.setCurrentIndex(1 if on else 0)
        if self.athlete_btn.isChecked() != on:
            self.athlete_btn.setChecked(on)

    @property
    def athlete_mode(self) -> bool:
        return self.stack.currentIndex() == 1

    def _flash(self, side: str) -> None:
        self.athlete_view.flash(side)
        word = "left" if side == "L" else "right"
        self.cue_label.setStyleSheet(f"background: {palette.CUE}; font-weight: bold;")
        cue = self.feedback.last  # the cue this flash is for (set before the signal)
        drop = f" {cue.drop_deg:.1f}°," if cue is not None else ""
        self.cue_label.setText(f"⚠ {word} stance: drop{drop} over the threshold")
        self._flash_timer.start(350)

    def _unflash(self) -> None:
        self.cue_label.setStyleSheet("")
        if self.last_snapshot is not None:
            self._cue_text(self.last_snapshot)

    def _cue_text(self, snap: LiveSnapshot) -> None:
        zero = snap.calibration.zero
        self.cue_label.setText(f"biofeedback: {snap.cues_per_min:.0f} cues/min, "
                               f"{len(snap.cues)} in all (counted steps only, not in turns)"
                               f" · {zero} · {self.feedback.audio_status}")

    # -- drawing ---------------------------------------------------------------------------
    def refresh(self) -> None:
        """One frame: a new snapshot if the session changed; the traces scroll with the
        clock between packets (at most ``_LEAD_S`` ahead of the newest sample)."""
        if self._frozen is not None:
            snap = self.session.snapshot(0.0)  # still deliver cues and link state
            self.feedback.update(snap)
            self.conn.show_link(snap.link)
            return
        now = time.perf_counter_ns()
        if self._last_seq == -1:
            self._panels_at = -math.inf  # a forced redraw redraws everything
        if self.session.seq != self._last_seq:
            snap = self.session.snapshot(self.span_s)
            self._last_seq = snap.seq
            self._view_end_s = snap.t_now_s
            self._draw(snap)
            self.feedback.update(snap)
            if snap.newest_arrival_ns and snap.newest_arrival_ns != self._last_arrival:
                self._last_arrival = snap.newest_arrival_ns
                self._pending_arrival = snap.newest_arrival_ns
        elif (self.last_snapshot is not None and self._last_arrival
              and self.session.running and not self.athlete_mode):
            ahead = min((now - self._last_arrival) * 1e-9, _LEAD_S)
            self.traces.scroll_to(self.last_snapshot.t_now_s + ahead, self.span_s)
        else:
            return
        self.frame_times.append(now * 1e-9)

    def eventFilter(self, obj: QtCore.QObject, event: QtCore.QEvent) -> bool:  # noqa: N802
        # latency ends when the traces are painted with the newest packet's samples
        if event.type() == QtCore.QEvent.Type.Paint and self._pending_arrival:
            self.latencies_ns.append(time.perf_counter_ns() - self._pending_arrival)
            self._pending_arrival = 0
        return False

    def _draw(self, snap: LiveSnapshot) -> None:
        self.last_snapshot = snap
        span = self.span_s
        banner = rate_banner(snap.running)
        self.rate_label.setText(f"⚠ {banner}")
        self.rate_label.setVisible(bool(banner) and bool(snap.running.steps))
        if self.athlete_mode:
            self.athlete_view.show_snapshot(snap, self.feedback.audio_status)
        else:
            self.traces.show_snapshot(snap, self._view_end_s, span)
            now = time.perf_counter()
            # the rest changes with strides, not packets: redraw it a few times a second
            if (now - self._panels_at >= _PANEL_EVERY_S or self._frozen is not None
                    or snap.link.state != self.conn.shown_state):  # a drop shows at once
                self._panels_at = now
                self.overlay.show_snapshot(snap)
                self.score_panel.show_snapshot(snap)
                self.drops.set_values(snap.drop_deg, snap.threshold_deg)
                self.conn.show_link(snap.link)
                if not self.cue_label.styleSheet():  # not while a cue flashes
                    self._cue_text(snap)
        cal = snap.calibration
        if cal.state == "countdown":
            text = f"stand still… {cal.remaining_s:.1f} s"
        elif cal.state in ("accepted", "rejected"):
            text = f"{cal.message} · {cal.zero}"
        else:
            text = (f"{cal.zero} (the still period was sitting): stand still, or Calibrate"
                    if cal.reference == "walking"
                    else f"{cal.zero} (automatic)" if cal.calibrated
                    else f"{cal.zero}: stand still, or Calibrate")
        self.calibration_label.setText(text)
        self.calibration_label.setStyleSheet(
            {"accepted": f"color: {palette.NORMAL}",
             "rejected": f"color: {palette.POOR}"}.get(cal.state, ""))
        # follow a task set elsewhere (a replayed capture's records, a script)
        if self.task_box.currentData() != snap.task:
            i = self.task_box.findData(snap.task)
            if i >= 0:
                self.task_box.blockSignals(True)   # showing it is not choosing it again
                self.task_box.setCurrentIndex(i)
                self.task_box.blockSignals(False)
        running = self.session.running
        self.connect_btn.setText("Disconnect (Ctrl+D)" if running else "Connect (Ctrl+D)")
        rec = self.session.writer is not None
        self.record_btn.setText("Stop recording (R)" if rec else "Start recording (R)")

    def fps(self, window_s: float = 2.0) -> float:
        """Frames drawn per second over the last ``window_s`` (s)."""
        if len(self.frame_times) < 2:
            return 0.0
        t = list(self.frame_times)
        recent = [x for x in t if x >= t[-1] - window_s]
        span = recent[-1] - recent[0]
        return (len(recent) - 1) / span if span > 0 else 0.0

    def showEvent(self, event: QtGui.QShowEvent) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        if self.autostart and not self.session.running and self.session.link.state == "idle":
            self.session.start()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802 (Qt's name)
        self.timer.stop()
        self.session.stop()
        if self.session.writer is not None:
            self.session.stop_recording()
        super().closeEvent(event)
