"""Text panels of the window: live numbers and score, the connection."""

from __future__ import annotations

import math

from PySide6 import QtWidgets

from sacrum.apps import palette
from sacrum.apps.live.model import steps_used_words
from sacrum.apps.live.session import LinkStatus, LiveSnapshot
from sacrum.scoring.score import format_score

_STATE_COLOUR = {"connected": palette.NORMAL, "connecting": palette.CAUTION,
                 "disconnected": palette.POOR, "error": palette.POOR, "ended": palette.EXCLUDED,
                 "stopped": palette.EXCLUDED, "idle": palette.EXCLUDED}  # and said in words


def _fmt(v: float | None, fmt: str, empty: str = "–") -> str:
    return empty if v is None or not math.isfinite(v) else format(v, fmt)


class ScorePanel(QtWidgets.QGroupBox):
    """The live score (0-100) with its components, cadence and the steps counted."""

    def __init__(self, parent=None) -> None:
        super().__init__("live score", parent)
        lay = QtWidgets.QVBoxLayout(self)
        self.score = QtWidgets.QLabel("–")
        self.score.setStyleSheet("font-size: 40px; font-weight: bold;")
        self.components = QtWidgets.QLabel("")
        self.numbers = QtWidgets.QLabel("")
        self.message = QtWidgets.QLabel("")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #555; font-size: 11px;")
        # room for the longest reasons (6 lines at 11 px): a wrapped label is otherwise
        # squeezed; longer ones are in its tooltip
        self.message.setMinimumHeight(6 * self.message.fontMetrics().lineSpacing() + 4)
        for w in (self.score, self.components, self.numbers, self.message):
            lay.addWidget(w)

    def show_snapshot(self, snap: LiveSnapshot) -> None:
        self.setTitle("score: final, the whole capture" if snap.final else "live score")
        # the score as the report and the CLI print it: "78 (70–85)" (its 90 % interval)
        self.score.setText(("no score" if snap.final else "no score yet") if snap.score is None
                           else format_score(snap.score, snap.score_interval))
        self.components.setText("  ".join(f"{k} {_fmt(v, '.0f')}"
                                          for k, v in snap.components.items()))
        # (no stride count: half the steps is none, and the overlay counts the used ones)
        self.numbers.setText(f"cadence {_fmt(snap.cadence_spm, '.0f')} steps/min · "
                             f"steps {snap.steps_total} ({steps_used_words(snap)})")
        self.message.setText(snap.message)
        self.message.setToolTip(snap.message)


class ConnectionPanel(QtWidgets.QGroupBox):
    """Device, transport, rate, loss and gaps, battery, RSSI, recording."""

    FIELDS = ("state", "device", "transport", "rate", "loss", "battery", "signal", "recording")

    def __init__(self, parent=None) -> None:
        super().__init__("connection", parent)
        form = QtWidgets.QFormLayout(self)
        self.labels = {k: QtWidgets.QLabel("–") for k in self.FIELDS}
        self.shown_state = ""
        for k in self.FIELDS:
            self.labels[k].setWordWrap(k in ("state", "loss", "recording"))
            form.addRow(k, self.labels[k])

    def show_link(self, link: LinkStatus) -> None:
        self.shown_state = link.state
        lab = self.labels
        colour = _STATE_COLOUR.get(link.state, "black")
        lab["state"].setText(f"<b style='color:{colour}'>{link.state}</b> {link.message}")
        dev = link.device
        lab["device"].setText(f"{dev.get('name', '?')} (firmware: {dev.get('firmware', '?')})")
        lab["transport"].setText(link.kind or "–")
        lab["rate"].setText(f"{_fmt(link.rate_hz, '.0f')} Hz")
        loss = link.loss
        extra = []
        if loss.corrupt_packets or link.bad_items:
            extra.append(f"{loss.corrupt_packets + link.bad_items} bad packets")
        if link.analysis_errors:
            extra.append(f"{link.analysis_errors} analysis errors")
        lab["loss"].setText(
            f"{100 * loss.loss_fraction:.2f} % ({loss.samples_lost:,} samples), "
            f"{loss.gaps} gaps, longest {loss.longest_gap_s:.2f} s"
            + ("; " + ", ".join(extra) if extra else ""))
        lab["battery"].setText("–" if link.battery_percent is None
                               else f"{link.battery_percent} %")
        sig = "–" if link.rssi_dbm is None else f"{link.rssi_dbm} dBm"
        if link.reconnects or link.disconnects:
            sig += f" · {link.disconnects} drops, {link.reconnects} reconnections"
        lab["signal"].setText(sig)
        if link.recording:
            lab["recording"].setText(f"<b style='color:{palette.POOR}'>● REC</b> {link.recording} "
                                     f"({link.recording_bytes / 1e6:.1f} MB)")
        else:
            lab["recording"].setText(link.recording_error or "not recording")
