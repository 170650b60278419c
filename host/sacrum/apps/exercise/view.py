"""The guided session's window: what the :class:`~sacrum.apps.exercise.guided.GuidedState`
says, drawn (Qt; nothing is computed here).

* the exercise, set and side, and what comes next;
* the repetition count against the target, or the hold timer against the hold time;
* the rest (or get-ready) countdown;
* a per-repetition control bar: the exercise's own metric of every repetition of the set
  (deg), green up to the cue threshold, amber up to the band's poor edge, red beyond, a
  partial repetition grey; the threshold as a line; the signal now as a thin bar while a
  repetition or hold is under way;
* a cue, visual and audible (:class:`~sacrum.apps.live.feedback.Biofeedback`, the live
  view's beep), for each cue the session raised: only inside a repetition or a hold.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field

from PySide6 import QtCore, QtGui, QtWidgets

from sacrum.apps import palette
from sacrum.apps.exercise.guided import (
    EXERCISE,
    FINISHED,
    FINISHING,
    PREPARE,
    REST,
    GuidedCue,
    GuidedState,
)
from sacrum.apps.live.feedback import Biofeedback

_FLASH_MS = 350
GOOD, FAIR, POOR, PARTIAL = "#2e7d32", "#f9a825", "#c62828", "#9e9e9e"
LINE = "#1565c0"   # the cue threshold


@dataclass
class _Cues:
    """What :meth:`Biofeedback.update` reads of a snapshot: the cues so far."""

    cues: list[GuidedCue] = field(default_factory=list)


def bar_colour(value_deg: float, partial: bool, threshold_deg: float, poor_deg: float) -> str:
    """The colour of one repetition's bar (module docstring)."""
    if partial or not math.isfinite(value_deg):
        return PARTIAL
    if value_deg <= threshold_deg:
        return GOOD
    return FAIR if value_deg <= poor_deg else POOR


class ControlBars(QtWidgets.QWidget):
    """The per-repetition control bar (module docstring)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(180)
        self.values: list[float] = []
        self.partial: list[bool] = []
        self.threshold_deg = math.nan
        self.poor_deg = math.nan
        self.live_deg = math.nan
        self.title = ""

    def set_state(self, g: GuidedState) -> None:
        self.values, self.partial = list(g.rep_values_deg), list(g.rep_partial)
        self.threshold_deg, self.poor_deg = g.threshold_deg, g.poor_deg
        self.live_deg = g.live_value_deg
        held = g.block is not None and g.block.held
        self.title = ("control in the hold: the pelvis against the hold's start (°)" if held
                      else f"control per repetition: {g.metric.removesuffix('_deg')} (°)")
        self.update()

    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt's name)
        p = QtGui.QPainter(self)
        p.fillRect(self.rect(), QtGui.QColor("white"))
        w, h = self.width(), self.height()
        left, top, bottom = 44, 22, 24
        ph = h - top - bottom
        finite = [v for v in self.values if math.isfinite(v)]
        ref = self.poor_deg if math.isfinite(self.poor_deg) else 10.0
        top_deg = max([ref * 1.2, *finite, self.live_deg if math.isfinite(self.live_deg)
                       else 0.0]) or 1.0

        def y(v: float) -> float:
            return top + ph * (1 - max(0.0, v) / top_deg)

        p.setPen(QtGui.QColor("#444"))
        p.drawText(4, 14, self.title)
        for v in (0.0, self.threshold_deg, self.poor_deg):
            if math.isfinite(v):
                p.drawText(2, int(y(v)) + 4, f"{v:.0f}°")
        n = max(len(self.values), 1)
        slot = (w - left - 40) / max(n, 10)
        for i, (v, part) in enumerate(zip(self.values, self.partial, strict=True)):
            c = QtGui.QColor(bar_colour(v, part, self.threshold_deg, self.poor_deg))
            x = left + i * slot + 0.15 * slot
            hv = max(0.0, v) if math.isfinite(v) else 0.0
            p.fillRect(QtCore.QRectF(x, y(hv), 0.7 * slot, top + ph - y(hv)), c)
            p.setPen(QtGui.QColor("#444"))
            p.drawText(QtCore.QRectF(x, top + ph + 2, 0.7 * slot, bottom - 2),
                       QtCore.Qt.AlignmentFlag.AlignHCenter, str(i + 1))
        if math.isfinite(self.live_deg):  # the signal now, at the right edge
            c = QtGui.QColor(bar_colour(self.live_deg, False, self.threshold_deg,
                                        self.poor_deg))
            p.fillRect(QtCore.QRectF(w - 30, y(self.live_deg), 18,
                                     top + ph - y(self.live_deg)), c)
            p.drawText(QtCore.QRectF(w - 38, top + ph + 2, 34, bottom - 2),
                       QtCore.Qt.AlignmentFlag.AlignHCenter, "now")
        if math.isfinite(self.threshold_deg):
            pen = QtGui.QPen(QtGui.QColor(LINE), 1.5, QtCore.Qt.PenStyle.DashLine)
            p.setPen(pen)
            p.drawLine(QtCore.QPointF(left, y(self.threshold_deg)),
                       QtCore.QPointF(w - 4, y(self.threshold_deg)))
        p.setPen(QtGui.QColor("#444"))
        p.drawLine(left, top + ph, w - 4, top + ph)
        p.end()


class ExerciseWindow(QtWidgets.QWidget):
    """The guided session's window on an :class:`~sacrum.apps.exercise.session.ExerciseSession`
    (module docstring); ``refresh()`` draws its state now (a QTimer calls it ``fps`` times a
    second once shown)."""

    def __init__(self, session, *, audio: bool = True, fps: float = 20.0,
                 title: str = "sacrum exercise") -> None:
        super().__init__()
        self.session = session
        self.setWindowTitle(title)
        self.setObjectName("exercise")
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_StyledBackground, True)
        self.resize(900, 640)
        lay = QtWidgets.QVBoxLayout(self)
        self.exercise_label = QtWidgets.QLabel("–")
        self.exercise_label.setStyleSheet("font-size: 34px; font-weight: bold;")
        self.set_label = QtWidgets.QLabel("")
        self.set_label.setStyleSheet("font-size: 22px;")
        self.count_label = QtWidgets.QLabel("")
        self.count_label.setStyleSheet("font-size: 110px; font-weight: bold;")
        self.count_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.state_label = QtWidgets.QLabel("")
        self.state_label.setStyleSheet("font-size: 26px;")
        self.state_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.bars = ControlBars()
        self.cue_label = QtWidgets.QLabel("")
        self.cue_label.setStyleSheet("font-size: 18px;")
        self.link_label = QtWidgets.QLabel("")
        self.link_label.setStyleSheet("color: gray;")
        self.skip_button = QtWidgets.QPushButton("Skip (end this set or rest)")
        self.skip_button.clicked.connect(session.skip)
        for wdg in (self.exercise_label, self.set_label, self.count_label, self.state_label,
                    self.bars, self.cue_label):
            lay.addWidget(wdg)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.link_label, 1)
        row.addWidget(self.skip_button)
        lay.addLayout(row)
        self.feedback = Biofeedback(audio=audio, parent=self)
        g = session.state()  # cues given before this view was attached are past: not flashed
        if g is not None:
            self.feedback.reset(_Cues(g.cues))
        self.feedback.flash.connect(self._flash)
        self._flash_timer = QtCore.QTimer(self)
        self._flash_timer.setSingleShot(True)
        self._flash_timer.timeout.connect(self._unflash)
        self._base = "#exercise { background: white; }"
        self.setStyleSheet(self._base)
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(round(1000 / fps))
        self.timer.timeout.connect(self.refresh)

    def showEvent(self, event: QtGui.QShowEvent) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        self.timer.start()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802 (Qt's name)
        self.timer.stop()
        self.session.stop()
        super().closeEvent(event)

    def refresh(self) -> GuidedState | None:
        """Draw the session's state now; returns it (None before the first samples)."""
        g = self.session.state()
        link = self.session.link
        self.link_label.setText(f"{link.kind or ''} {link.state}"
                                + (f": {link.message}" if link.message else "")
                                + (f" · recording {link.recording}" if link.recording else "")
                                + f" · {self.feedback.audio_status}")
        if g is None:
            self.state_label.setText("waiting for the sensor")
            return None
        self.feedback.update(_Cues(g.cues))
        self._draw(g)
        return g

    def _draw(self, g: GuidedState) -> None:
        b = g.block
        if g.state == FINISHED or b is None:
            self.exercise_label.setText("Programme done")
            self.set_label.setText(f"{len(g.results)} sets")
            self.count_label.setText("✓")
            self.state_label.setText("well done")
            last = g.results[-1] if g.results else None
            if last is not None:
                self.bars.values = last.rep_values_deg
                self.bars.partial = last.rep_partial
                self.bars.live_deg = math.nan
                self.bars.update()
            return
        side = {"L": "left", "R": "right"}.get(b.side or "", "")
        self.exercise_label.setText(b.label)
        self.set_label.setText(f"set {b.set_number} of {b.n_sets}"
                               + (f" · {side} side" if side else "")
                               + f" · block {b.index + 1} of {g.n_blocks}")
        if g.state in (PREPARE, REST):
            what = "Get ready" if g.state == PREPARE else "Rest"
            self.count_label.setText(f"{math.ceil(g.remaining_s):.0f} s")
            target = (f"hold {b.hold_s:g} s" if b.held else f"{b.repetitions} repetitions")
            self.state_label.setText(f"{what} — next: {b.label}, {target}")
            self.bars.set_state(g)
            last = g.results[-1] if g.results else None
            if last is not None:
                done = (f"held {last.hold_s:.1f} s" if last.block.held and last.hold_s
                        else "no hold" if last.block.held else
                        f"{last.n_repetitions} repetitions"
                        + (f" (+{last.n_partial} partial)" if last.n_partial else ""))
                self.cue_label.setText(f"last set: {last.block.label}, set "
                                       f"{last.block.set_number} of {last.block.n_sets} — "
                                       f"{done}, {last.cues} cue"
                                       + ("s" if last.cues != 1 else ""))
            return
        if b.held:
            held = 0.0 if not math.isfinite(g.held_s) else g.held_s
            self.count_label.setText(f"{held:.1f} / {b.hold_s:g} s")
            self.state_label.setText("release — well held" if g.hold_done else
                                     ("hold" if math.isfinite(g.held_s)
                                      else "get into position and hold"))
        else:
            self.count_label.setText(f"{g.n_full} / {b.repetitions}")
            more = f" (+{g.n_partial} partial)" if g.n_partial else ""
            self.state_label.setText(("set done" if g.state == FINISHING else
                                      "repetition…" if g.in_repetition else "go") + more)
        if g.state in (EXERCISE, FINISHING):
            self.bars.set_state(g)
        n = sum(c.block == b.index for c in g.cues)
        if not self.cue_label.property("flashing"):
            when = (f"the pelvis moves {g.threshold_deg:.1f}° from the hold's start" if b.held
                    else f"{g.metric.removesuffix('_deg')} passes {g.threshold_deg:.1f}°")
            self.cue_label.setText(f"cues this set: {n} (cue when {when})")

    def _flash(self, _side: str) -> None:
        self.setStyleSheet(f"#exercise {{ background: {palette.CUE}; }}")
        self.cue_label.setProperty("flashing", True)
        self.cue_label.setText("⚠ keep the pelvis still")
        self._flash_timer.start(_FLASH_MS)

    def _unflash(self) -> None:
        self.setStyleSheet(self._base)
        self.cue_label.setProperty("flashing", False)


def run_window(session, *, audio: bool = True, title: str = "sacrum exercise") -> int:
    """Open the window on ``session``, start it, and run Qt until the window is closed."""
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    win = ExerciseWindow(session, audio=audio, title=title)
    win.show()
    session.start()
    app.exec()
    session.stop()
    return 0


__all__ = ["ControlBars", "ExerciseWindow", "bar_colour", "run_window"]
