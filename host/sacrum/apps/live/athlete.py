"""Athlete mode: the drop per side and one big score, readable from a treadmill; when the
athlete runs, the drop of each running step per side, the cadence (against its target when a
metronome is set) and a plain warning when the rate is too low for running metrics."""

from __future__ import annotations

import math

from PySide6 import QtCore, QtWidgets

from sacrum.apps import palette
from sacrum.apps.live.bars import band_colour, band_word, drop_bands
from sacrum.apps.live.running import rate_banner
from sacrum.apps.live.session import LiveSnapshot
from sacrum.scoring.running import load_running_bands
from sacrum.scoring.score import format_score
from sacrum.signal.running import MIN_RUNNING_RATE_HZ

_FLASH_MS = 350


def _css(rgb: tuple[int, int, int]) -> str:
    return f"rgb({rgb[0]},{rgb[1]},{rgb[2]})"


class AthleteView(QtWidgets.QWidget):
    """Big numbers: left- and right-stance drop (deg, coloured by the normal band), the
    live score, cues per minute; the whole view flashes on a cue. Running (the snapshot has
    running steps): each side's drop is that of its newest running step (the median
    beneath), and the score's place shows the cadence, against ``cadence_target_spm`` when
    a metronome is set. A banner on top says when the rate is too low for running metrics.
    """

    def __init__(self, parent=None, cadence_target_spm: float | None = None) -> None:
        super().__init__(parent)
        self.cadence_target_spm = cadence_target_spm
        self.bands = drop_bands()
        # running drops against the running norm (Bramah et al. 2018), not walking's
        self.run_bands = drop_bands(load_running_bands())
        self.setAutoFillBackground(True)
        self.setObjectName("athlete")
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_StyledBackground, True)
        grid = QtWidgets.QGridLayout(self)
        self.banner = QtWidgets.QLabel("")
        self.banner.setWordWrap(True)
        self.banner.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.banner.setStyleSheet(f"font-size: 22px; font-weight: bold; color: white; "
                                  f"background: {palette.POOR}; padding: 6px;")
        self.banner.hide()
        grid.addWidget(self.banner, 0, 0, 1, 2)
        big = "font-size: 96px; font-weight: bold;"
        self.title = {s: QtWidgets.QLabel(f"{w} stance drop") for s, w in
                      (("L", "left"), ("R", "right"))}
        self.drop = {s: QtWidgets.QLabel("–") for s in ("L", "R")}
        for col, s in enumerate(("L", "R")):
            self.title[s].setStyleSheet(f"font-size: 28px; color: {palette.SIDE[s]};")
            self.drop[s].setStyleSheet(big)
            for w in (self.title[s], self.drop[s]):
                w.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
            grid.addWidget(self.title[s], 1, col)
            grid.addWidget(self.drop[s], 2, col)
        self.score = QtWidgets.QLabel("score –")
        self.score.setStyleSheet("font-size: 120px; font-weight: bold;")
        self.score.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        grid.addWidget(self.score, 3, 0, 1, 2)
        self.cues = QtWidgets.QLabel("")
        self.cues.setStyleSheet("font-size: 28px;")
        self.cues.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        grid.addWidget(self.cues, 4, 0, 1, 2)
        self._timer = QtCore.QTimer(self)  # owned: dies with the view
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._unflash)
        self._base = "#athlete { background: white; }"
        self.setStyleSheet(self._base)

    def show_snapshot(self, snap: LiveSnapshot, audio_status: str) -> None:
        run = snap.running
        banner = rate_banner(run)
        running = run is not None and bool(run.steps)
        # the banner once there is running (as the main view's line); before it, walking
        # at 100 Hz is fine, and the cue line says what running would need
        self.banner.setText(f"⚠ {banner}")
        self.banner.setVisible(bool(banner) and running)
        if running:
            self._show_running(snap, audio_status)
            return
        self._titles("")
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
            self.score.setText("no score" if snap.final else "no score yet")
            self.score.setStyleSheet("font-size: 48px; color: gray;")
        thr = max(snap.threshold_deg.values())
        for_running = ""
        if run is not None and not run.rate_ok:
            got = (f"{run.rate_hz:g} Hz here" if run.rate_hz < MIN_RUNNING_RATE_HZ
                   else f"{run.received_hz:.0f} Hz received")
            for_running = (f"<br><span style='font-size: 20px; color: gray;'>running metrics "
                           f"need {MIN_RUNNING_RATE_HZ:.0f} Hz; {got}</span>")
        self.cues.setText(f"cues {snap.cues_per_min:.0f}/min (drop over {thr:.1f}°; not in "
                          f"turns) · {snap.calibration.zero} · {snap.steps_total} steps · "
                          f"{audio_status}{for_running}")

    def _titles(self, suffix: str) -> None:
        self._suffix = suffix
        for s, w in (("L", "left"), ("R", "right")):
            if not self.title[s].text().endswith("⚠"):
                self.title[s].setText(f"{w} stance drop{suffix}")

    def _show_running(self, snap: LiveSnapshot, audio_status: str) -> None:
        """Running: each side's newest step's drop, its median, the cadence vs target."""
        run = snap.running
        self._titles(" · running, per step" if not run.final else " · running, final")
        for s in ("L", "R"):
            v, med = run.last_drop_deg[s], run.drop_deg[s]
            shown = med if run.final else v
            colour = _css(band_colour(shown, self.run_bands[s]))
            sub = (f"median {med:.1f}°" if math.isfinite(med) else "median –")
            if run.final:
                sub = f"median of the run ({band_word(med, self.run_bands[s])})"
            self.drop[s].setText(f"{shown:.1f}°<br><span style='font-size: 36px;'>{sub}"
                                 "</span>" if math.isfinite(shown) else "–")
            self.drop[s].setStyleSheet(f"font-size: 96px; font-weight: bold; color: {colour};")
        cad = run.cadence_spm
        text = f"{cad:.0f}" if math.isfinite(cad) else "–"
        target = self.cadence_target_spm
        colour, word = "black", ""
        if target:
            text += f" / {target:.0f}"
            if math.isfinite(cad):  # on the beat (±3 steps/min: the display's tolerance)
                on = abs(cad - target) <= 3
                colour = palette.NORMAL if on else "black"
                word = (" · on target" if on else
                        f" · {abs(cad - target):.0f} {'below' if cad < target else 'above'}")
        self.score.setText(f"{text}<br><span style='font-size: 30px;'>steps/min"
                           + (" (actual / target)" if target else "") + word + "</span>")
        self.score.setStyleSheet(f"font-size: 110px; font-weight: bold; color: {colour};")
        every = f", at most one every {run.cue_every} steps" if run.cue_every > 1 else ""
        self.cues.setText(f"cues: {len(run.cues)} running steps with a drop over "
                          f"{run.threshold_deg:.1f}°{every} · {len(run.steps)} running steps · "
                          f"{snap.calibration.zero} · {audio_status}")

    def flash(self, side: str) -> None:
        # a pale ground and a thick cue-coloured frame: the numbers, coloured by their band
        # (orange in caution), stay readable while it flashes
        self.setStyleSheet(f"#athlete {{ background: #fff3d9; border: 14px solid {palette.CUE}; }}")
        self.title[side].setText(("left" if side == "L" else "right") + " stance drop  ⚠")
        self._timer.start(_FLASH_MS)

    def _unflash(self) -> None:
        self.setStyleSheet(self._base)
        suffix = getattr(self, "_suffix", "")
        self.title["L"].setText(f"left stance drop{suffix}")
        self.title["R"].setText(f"right stance drop{suffix}")
