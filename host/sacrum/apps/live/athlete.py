"""Athlete mode: the drop per side and one big score, readable from a treadmill."""

from __future__ import annotations

import math

from PySide6 import QtCore, QtWidgets

from sacrum.apps import palette
from sacrum.apps.live.bars import band_colour, band_word, drop_bands
from sacrum.apps.live.session import LiveSnapshot
from sacrum.scoring.score import format_score

_FLASH_MS = 350


def _css(rgb: tuple[int, int, int]) -> str:
    return f"rgb({rgb[0]},{rgb[1]},{rgb[2]})"


class AthleteView(QtWidgets.QWidget):
    """Big numbers: left- and right-stance drop (deg, coloured by the normal band), the
    live score, cues per minute; the whole view flashes on a cue."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.bands = drop_bands()
        self.setAutoFillBackground(True)
        self.setObjectName("athlete")
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_StyledBackground, True)
        grid = QtWidgets.QGridLayout(self)
        big = "font-size: 96px; font-weight: bold;"
        self.title = {s: QtWidgets.QLabel(f"{w} stance drop") for s, w in
                      (("L", "left"), ("R", "right"))}
        self.drop = {s: QtWidgets.QLabel("–") for s in ("L", "R")}
        for col, s in enumerate(("L", "R")):
            self.title[s].setStyleSheet(f"font-size: 28px; color: {palette.SIDE[s]};")
            self.drop[s].setStyleSheet(big)
            for w in (self.title[s], self.drop[s]):
                w.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
            grid.addWidget(self.title[s], 0, col)
            grid.addWidget(self.drop[s], 1, col)
        self.score = QtWidgets.QLabel("score –")
        self.score.setStyleSheet("font-size: 120px; font-weight: bold;")
        self.score.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        grid.addWidget(self.score, 2, 0, 1, 2)
        self.cues = QtWidgets.QLabel("")
        self.cues.setStyleSheet("font-size: 28px;")
        self.cues.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        grid.addWidget(self.cues, 3, 0, 1, 2)
        self._timer = QtCore.QTimer(self)  # owned: dies with the view
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._unflash)
        self._base = "#athlete { background: white; }"
        self.setStyleSheet(self._base)

    def show_snapshot(self, snap: LiveSnapshot, audio_status: str) -> None:
        for s in ("L", "R"):
            v = snap.drop_deg.get(s, math.nan)
            self.drop[s].setText(f"{v:.1f}°<br><span style='font-size: 36px;'>"
                                 f"{band_word(v, self.bands[s])}</span>"
                                 if math.isfinite(v) else "–")
            colour = _css(band_colour(v, self.bands[s]))
            self.drop[s].setStyleSheet(f"font-size: 96px; font-weight: bold; color: {colour};")
        if snap.score is not None:
            self.score.setText(format_score(snap.score, snap.score_interval))
            self.score.setStyleSheet("font-size: 120px; font-weight: bold;")
        else:
            self.score.setText("no score yet")
            self.score.setStyleSheet("font-size: 48px; color: gray;")
        thr = max(snap.threshold_deg.values())
        self.cues.setText(f"cues {snap.cues_per_min:.0f}/min (drop over {thr:.1f}°; not in "
                          f"turns) · {snap.calibration.zero} · {snap.steps_total} steps · "
                          f"{audio_status}")

    def flash(self, side: str) -> None:
        self.setStyleSheet(f"#athlete {{ background: {palette.CUE}; }}")
        self.title[side].setText(("left" if side == "L" else "right") + " stance drop  ⚠")
        self._timer.start(_FLASH_MS)

    def _unflash(self) -> None:
        self.setStyleSheet(self._base)
        self.title["L"].setText("left stance drop")
        self.title["R"].setText("right stance drop")
